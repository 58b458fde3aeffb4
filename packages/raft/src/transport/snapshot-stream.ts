// Both ends of the Snapshot RPC: the sender streams a MsgSnap's header and then its data in
// chunks, paced by a shared byte-rate limiter and by the stream's flow control; the receiver
// reassembles the data and rebuilds the MsgSnap.

import * as grpc from '@grpc/grpc-js'
import { setTimeout as sleep } from 'node:timers/promises'

import { decodeSnapshotHeader, encodeSnapshotHeader } from './frame-codec.js'
import type { SnapshotHeader } from './frame-codec.js'
import { deserializeResponse, serializeSnapshotPart, SNAPSHOT_METHOD_PATH } from './raft-service.js'
import type { ByteRateLimiter } from './rate-limiter.js'
import type { SnapshotReceiveBudget } from './snapshot-budget.js'
import type { GroupMessage } from './transport.js'
import { TransportError } from './transport-error.js'

/** How one snapshot is sent. */
export interface SnapshotSendOptions {
  /** Bytes per data message. */
  chunkBytes: number
  /** Shared pacing of all snapshot bytes this node sends. */
  limiter: ByteRateLimiter
  /** The RPC fails if it has not completed by this time (ms since the epoch). */
  deadline: number
  /** Called with `active` true once the call exists and false when it is over (so close() can cancel it). */
  track: (call: grpc.ClientWritableStream<Uint8Array>, active: boolean) => void
}

/**
 * Streams `header` and then `data` over a Snapshot RPC on `client`. Resolves once the receiver
 * has the whole snapshot and has handed it to its host; rejects on any failure (network,
 * deadline, the receiver refusing it, cancellation).
 */
export function sendSnapshot(
  client: grpc.Client,
  header: SnapshotHeader,
  data: Uint8Array,
  o: SnapshotSendOptions,
): Promise<void> {
  // Encode before opening the call: an unencodable header fails without touching the network.
  const headerBytes = encodeSnapshotHeader(header)
  return new Promise<void>((resolve, reject) => {
    let over = false
    const call = client.makeClientStreamRequest<Uint8Array, Buffer>(
      SNAPSHOT_METHOD_PATH,
      serializeSnapshotPart,
      deserializeResponse,
      new grpc.Metadata(),
      { deadline: o.deadline },
      (err) => {
        over = true
        o.track(call, false)
        if (err) reject(err)
        else resolve()
      },
    )
    o.track(call, true)
    // Failures arrive through the callback; an unhandled 'error' event would crash the process.
    call.on('error', ignore)
    const writable = (): Promise<void> =>
      new Promise<void>((done) => {
        const finish = () => {
          call.off('drain', finish)
          call.off('status', finish)
          call.off('close', finish)
          done()
        }
        call.on('drain', finish)
        call.on('status', finish)
        call.on('close', finish)
      })
    const pump = async (): Promise<void> => {
      if (!call.write(headerBytes)) await writable()
      const chunk = o.chunkBytes
      for (let off = 0; off < data.byteLength && !over; off += chunk) {
        const piece = data.subarray(off, Math.min(off + chunk, data.byteLength))
        const wait = o.limiter.reserve(piece.byteLength)
        if (wait >= 1) await sleep(wait)
        if (over) return
        if (!call.write(piece)) await writable()
      }
      if (!over) call.end()
    }
    pump().catch((e: unknown) => {
      if (!over) call.cancel()
      reject(e)
    })
  })
}

/** What the receiving end needs from its transport. */
export interface SnapshotReceiverHost {
  /** This node's id: headers addressed elsewhere are refused. */
  nodeId: number
  /** Largest snapshot accepted, in data bytes. */
  maxSnapshotBytes: number
  /**
   * Shared by every stream this node receives: a stream needs a slot from its start, and
   * reserves its announced data length before its data arrives.
   */
  budget: SnapshotReceiveBudget
  /** A stream that brings nothing new for this long is refused, and frees its slot and bytes. */
  stallMs: number
  /**
   * Why a snapshot for replica `to` of group `groupId` would not be taken in here, or
   * undefined if it would. Asked once the header arrives, before any data.
   */
  refusal(groupId: number, to: number): string | undefined
  /** Hands the rebuilt MsgSnap to the host; throws if the host refuses it or is closed. */
  deliver(from: number, to: number, message: GroupMessage): void
  warn(msg: string): void
}

/**
 * Serves one Snapshot RPC: admits the stream, checks the header and reserves its data length,
 * collects exactly `dataLength` bytes, rebuilds the MsgSnap and delivers it; answers OK only
 * after delivery, an error status otherwise (RESOURCE_EXHAUSTED when the budget is spent).
 */
export function receiveSnapshot(
  host: SnapshotReceiverHost,
  call: grpc.ServerReadableStream<Buffer, Buffer>,
  respond: grpc.sendUnaryData<Buffer>,
): void {
  const admission = host.budget.admit()
  if (admission === undefined) {
    // An unhandled 'error' event would crash the process.
    call.on('error', ignore)
    host.warn(`raft transport: refused a snapshot from ${call.getPeer()}: ${host.budget.maxStreams} snapshot streams are open already`)
    respond({ code: grpc.status.RESOURCE_EXHAUSTED, details: `node ${host.nodeId} is receiving ${host.budget.maxStreams} snapshots already` })
    return
  }
  let header: SnapshotHeader | undefined
  /** The snapshot's data, allocated at its first chunk (only once the header was accepted). */
  let data: Uint8Array | undefined
  let received = 0
  let over = false
  /** `received` (plus one for the header) at the last stall check. */
  let progress = 0
  const stall = setTimeout(() => {
    const now = received + (header === undefined ? 0 : 1)
    if (now === progress) return fail(grpc.status.DEADLINE_EXCEEDED, `nothing arrived for ${host.stallMs} ms`)
    progress = now
    stall.refresh()
  }, host.stallMs)
  stall.unref()
  const finish = (): void => {
    over = true
    data = undefined
    clearTimeout(stall)
    admission.release()
  }
  const fail = (code: grpc.status, details: string): void => {
    if (over) return
    finish()
    host.warn(`raft transport: refused a snapshot from ${call.getPeer()}: ${details}`)
    respond({ code, details })
  }
  call.on('data', (buf: Buffer) => {
    if (over) return
    if (header === undefined) {
      let h: SnapshotHeader
      try {
        h = decodeSnapshotHeader(buf)
      } catch (e) {
        fail(grpc.status.INVALID_ARGUMENT, e instanceof TransportError ? e.message : 'bad snapshot header')
        return
      }
      const refused = checkHeader(host, h)
      if (refused !== undefined) fail(refused.code, refused.details)
      else if (admission.reserve(h.dataLength)) header = h
      else {
        const { reservedBytes, maxBytes } = host.budget
        fail(grpc.status.RESOURCE_EXHAUSTED, `snapshot of ${h.dataLength} bytes does not fit: ${reservedBytes} of ${maxBytes} bytes are held by snapshots being received`)
      }
      return
    }
    if (received + buf.byteLength > header.dataLength) {
      fail(grpc.status.INVALID_ARGUMENT, `more than the announced ${header.dataLength} bytes`)
      return
    }
    data ??= new Uint8Array(header.dataLength)
    data.set(buf, received)
    received += buf.byteLength
  })
  call.on('end', () => {
    if (over) return
    if (header === undefined) return fail(grpc.status.INVALID_ARGUMENT, 'empty snapshot stream')
    if (received !== header.dataLength) {
      return fail(grpc.status.INVALID_ARGUMENT, `got ${received} of ${header.dataLength} snapshot bytes`)
    }
    const msg = header.message
    msg.snapshot = { data: data ?? new Uint8Array(0), metadata: msg.snapshot!.metadata }
    finish()
    try {
      host.deliver(header.from, header.to, { groupId: header.groupId, msg })
    } catch (e) {
      const details = `not delivered: ${e instanceof Error ? e.message : String(e)}`
      host.warn(`raft transport: refused a snapshot from ${call.getPeer()}: ${details}`)
      return respond({ code: grpc.status.UNAVAILABLE, details })
    }
    respond(null, Buffer.alloc(0))
  })
  call.on('cancelled', finish)
  call.on('error', finish)
}

/** The status refusing a snapshot with header `h` before its data, or undefined if it may come. */
function checkHeader(host: SnapshotReceiverHost, h: SnapshotHeader): { code: grpc.status; details: string } | undefined {
  if (h.to !== host.nodeId) {
    return { code: grpc.status.INVALID_ARGUMENT, details: `snapshot addressed to node ${h.to}, this is node ${host.nodeId}` }
  }
  if (h.message.type !== 'MsgSnap' || h.message.snapshot === undefined) {
    return { code: grpc.status.INVALID_ARGUMENT, details: `snapshot stream carries a ${h.message.type} without a snapshot` }
  }
  if (h.dataLength > host.maxSnapshotBytes) {
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: `snapshot of ${h.dataLength} bytes exceeds ${host.maxSnapshotBytes}` }
  }
  const refusal = host.refusal(h.groupId, h.message.to)
  return refusal === undefined ? undefined : { code: grpc.status.FAILED_PRECONDITION, details: refusal }
}

function ignore(): void {}

// Both ends of the Snapshot RPC: the sender streams a MsgSnap's header and then its data in
// chunks, paced by a shared byte-rate limiter and by the stream's flow control; the receiver
// reassembles the data and rebuilds the MsgSnap.

import * as grpc from '@grpc/grpc-js'
import { setTimeout as sleep } from 'node:timers/promises'

import { decodeSnapshotHeader, encodeSnapshotHeader } from './frame-codec.js'
import type { SnapshotHeader } from './frame-codec.js'
import { deserializeResponse, serializeSnapshotPart, SNAPSHOT_METHOD_PATH } from './raft-service.js'
import type { ByteRateLimiter } from './rate-limiter.js'
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
  /** Hands the rebuilt MsgSnap to the host; throws if the host refuses it or is closed. */
  deliver(from: number, to: number, message: GroupMessage): void
  warn(msg: string): void
}

/**
 * Serves one Snapshot RPC: checks the header, collects exactly `dataLength` bytes, rebuilds
 * the MsgSnap and delivers it; answers OK only after delivery, an error status otherwise.
 */
export function receiveSnapshot(
  host: SnapshotReceiverHost,
  call: grpc.ServerReadableStream<Buffer, Buffer>,
  respond: grpc.sendUnaryData<Buffer>,
): void {
  let header: SnapshotHeader | undefined
  let chunks: Buffer[] = []
  let received = 0
  let over = false
  const fail = (code: grpc.status, details: string): void => {
    if (over) return
    over = true
    chunks = []
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
      if (h.to !== host.nodeId) {
        fail(grpc.status.INVALID_ARGUMENT, `snapshot addressed to node ${h.to}, this is node ${host.nodeId}`)
      } else if (h.message.type !== 'MsgSnap' || h.message.snapshot === undefined) {
        fail(grpc.status.INVALID_ARGUMENT, `snapshot stream carries a ${h.message.type} without a snapshot`)
      } else if (h.dataLength > host.maxSnapshotBytes) {
        fail(grpc.status.RESOURCE_EXHAUSTED, `snapshot of ${h.dataLength} bytes exceeds ${host.maxSnapshotBytes}`)
      } else {
        header = h
      }
      return
    }
    received += buf.byteLength
    if (received > header.dataLength) {
      fail(grpc.status.INVALID_ARGUMENT, `more than the announced ${header.dataLength} bytes`)
      return
    }
    chunks.push(buf)
  })
  call.on('end', () => {
    if (over) return
    if (header === undefined) return fail(grpc.status.INVALID_ARGUMENT, 'empty snapshot stream')
    if (received !== header.dataLength) {
      return fail(grpc.status.INVALID_ARGUMENT, `got ${received} of ${header.dataLength} snapshot bytes`)
    }
    const data = new Uint8Array(received)
    let at = 0
    for (const c of chunks) {
      data.set(c, at)
      at += c.byteLength
    }
    chunks = []
    const msg = header.message
    msg.snapshot = { data, metadata: msg.snapshot!.metadata }
    try {
      host.deliver(header.from, header.to, { groupId: header.groupId, msg })
    } catch (e) {
      return fail(grpc.status.UNAVAILABLE, `not delivered: ${e instanceof Error ? e.message : String(e)}`)
    }
    over = true
    respond(null, Buffer.alloc(0))
  })
  const abandon = (): void => {
    over = true
    chunks = []
  }
  call.on('cancelled', abandon)
  call.on('error', abandon)
}

function ignore(): void {}

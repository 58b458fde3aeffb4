// The outbound half of one ordered node pair: a long-lived gRPC Frames stream from this node
// to one peer, with a bounded queue in front of it, reconnection with backoff, and
// adaptive batching (frames that queue up behind a busy stream go out as one gRPC message).

import * as grpc from '@grpc/grpc-js'

import type { ExponentialBackoff } from './backoff.js'
import { deserializeResponse, FRAMES_METHOD_PATH, serializeFrames } from './raft-service.js'
import type { TransportLogger } from './transport-logger.js'

/** How a PeerStream is wired to its transport. */
export interface PeerStreamOptions {
  /** This node's id (for log lines). */
  nodeId: number
  /** The peer's node id. */
  peer: number
  /** The peer's current address, looked up again at every (re)connection. */
  resolve: (nodeId: number) => string | undefined
  /** The options of a client to the peer at `address`. */
  clientOptions: (address: string) => grpc.ClientOptions
  /** The channel's credentials (TLS with this node's certificate, or none). */
  credentials: grpc.ChannelCredentials
  /** Frames waiting for the stream beyond this count are dropped, oldest first. */
  maxQueuedFrames: number
  /** Bytes waiting for the stream beyond this total are dropped, oldest frames first. */
  maxQueuedBytes: number
  /** Upper bound of one batched gRPC message (the peer's maxFrameBytes). */
  maxBatchBytes: number
  backoff: ExponentialBackoff
  logger: TransportLogger
  /** Frames to the peer were (or may have been) lost. Called at most every few ms. */
  onUnreachable: (peer: number) => void
  /** The open stream to the peer broke (see TransportHandler.onPeerLost). */
  onPeerLost: (peer: number) => void
}

type State =
  /** No stream and no attempt scheduled: the next send() connects. */
  | 'idle'
  /** Backing off after a failure; a timer will connect. */
  | 'waiting'
  /** The stream is being set up; frames wait in the queue. */
  | 'connecting'
  /** The peer accepted the stream; frames are written. */
  | 'open'
  | 'closed'

/**
 * Messages handed to grpc-js but not yet acknowledged by its write callback. Two keep the
 * pipe busy while the next batch builds up in the queue.
 */
const MAX_INFLIGHT_WRITES = 2
/** Dropped frames are reported as unreachable at most this often (one report covers all). */
const UNREACHABLE_REPORT_INTERVAL_MS = 20

/**
 * Carries encoded frames to one peer in order (FIFO) over one stream at a time. Never
 * throws on network trouble: lost frames are reported through `onUnreachable`.
 */
export class PeerStream {
  private readonly o: PeerStreamOptions
  private state: State = 'idle'
  /** Frames not yet handed to grpc-js: queue[head..]. */
  private queue: Uint8Array[] = []
  private head = 0
  private queuedBytes = 0
  private client: grpc.Client | undefined
  private clientAddress: string | undefined
  private call: grpc.ClientDuplexStream<Uint8Array, Buffer> | undefined
  private onWritten: (err?: Error | null) => void = () => {}
  private inflight = 0
  private timer: NodeJS.Timeout | undefined
  /** Earliest time (performance.now) of the next connection attempt. */
  private retryAt = 0
  private lastUnreachableAt = Number.NEGATIVE_INFINITY
  /** Whether the last attempt failed (so the next success is logged as a recovery). */
  private down = false
  /** Whether {@link peerIsUp} already cut this outage's backoff short (once per outage). */
  private hurried = false

  constructor(options: PeerStreamOptions) {
    this.o = options
  }

  /** Number of frames waiting for the stream (for tests and metrics). */
  get queued(): number {
    return this.queue.length - this.head
  }

  /** Queues one encoded frame (or several back to back) for the peer. */
  send(bytes: Uint8Array): void {
    const state = this.state
    if (state === 'open' && this.inflight < MAX_INFLIGHT_WRITES && this.head === this.queue.length) {
      this.write(bytes)
      return
    }
    if (state === 'closed') return
    this.enqueue(bytes)
    if (state === 'open') this.flush()
    else if (state === 'idle') this.connectWhenAllowed()
  }

  /**
   * Tells the stream that the peer is up (a frame from it arrived). If the stream is down
   * and waiting out its reconnect backoff, it reconnects now, on a fresh channel, so a
   * restarted peer hears from this node at once instead of up to a backoff later. Once per
   * outage: if that attempt fails too, the backoff goes on as before. If the stream is still
   * connecting to an address the peer no longer has (it restarted at another one), it
   * connects to the new one now: see {@link abandonStaleAttempt}.
   */
  peerIsUp(): void {
    if (this.state === 'connecting') {
      this.abandonStaleAttempt()
      return
    }
    if (!this.down || this.hurried || (this.state !== 'idle' && this.state !== 'waiting')) return
    this.hurried = true
    this.retryAt = 0
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    // The old channel may be waiting out grpc-js's own reconnect backoff.
    this.client?.close()
    this.client = undefined
    if (this.head < this.queue.length) this.connect()
    else this.state = 'idle'
  }

  /**
   * Gives up a connection attempt to an address the peer has left, and connects to where it
   * is now. grpc-js sets no connect timeout, and a TCP connect to an address nobody holds any
   * more is not refused but unanswered: measured in network namespaces, 71 s before
   * EHOSTUNREACH (neighbour discovery gives up), up to the SYN retries' 127 s. Meanwhile every
   * frame to the peer waited, though its new address was known — so a Raft group that needed
   * it for a quorum could elect no leader (the netns e2e test, with another node stopped).
   */
  private abandonStaleAttempt(): void {
    const address = this.o.resolve(this.o.peer)
    if (address === undefined || address === this.clientAddress) return
    this.o.logger.info(`raft transport: node ${this.o.nodeId} stops connecting to node ${this.o.peer} at ${this.clientAddress ?? 'no address'}: it is at ${address} now`)
    const call = this.call
    this.call = undefined
    call?.cancel()
    this.client?.close()
    this.client = undefined
    this.connect()
  }

  /** Cancels the stream, drops queued frames and closes the channel. */
  close(): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const call = this.call
    this.call = undefined
    call?.cancel()
    this.client?.close()
    this.client = undefined
    this.queue = []
    this.head = 0
    this.queuedBytes = 0
  }

  private enqueue(bytes: Uint8Array): void {
    this.queue.push(bytes)
    this.queuedBytes += bytes.byteLength
    let dropped = false
    while (
      this.queue.length - this.head > 1 &&
      (this.queue.length - this.head > this.o.maxQueuedFrames || this.queuedBytes > this.o.maxQueuedBytes)
    ) {
      this.queuedBytes -= this.queue[this.head]!.byteLength
      this.queue[this.head++] = EMPTY
      dropped = true
    }
    if (dropped) {
      this.compact()
      this.reportUnreachable(false)
    }
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  /** Hands queued frames to the stream, batching what fits into one message. */
  private flush(): void {
    while (this.state === 'open' && this.inflight < MAX_INFLIGHT_WRITES && this.head < this.queue.length) {
      const first = this.queue[this.head]!
      let end = this.head + 1
      let total = first.byteLength
      while (end < this.queue.length && total + this.queue[end]!.byteLength <= this.o.maxBatchBytes) {
        total += this.queue[end]!.byteLength
        end++
      }
      let batch: Uint8Array
      if (end === this.head + 1) {
        batch = first
        this.queue[this.head] = EMPTY
      } else {
        batch = Buffer.allocUnsafe(total)
        let at = 0
        for (let i = this.head; i < end; i++) {
          const part = this.queue[i]!
          batch.set(part, at)
          at += part.byteLength
          this.queue[i] = EMPTY
        }
      }
      this.head = end
      this.queuedBytes -= total
      this.compact()
      this.write(batch)
    }
  }

  private write(bytes: Uint8Array): void {
    this.inflight++
    this.call!.write(bytes, this.onWritten)
  }

  private connectWhenAllowed(): void {
    const wait = this.retryAt - performance.now()
    if (wait <= 0) {
      this.connect()
      return
    }
    this.state = 'waiting'
    this.timer = setTimeout(this.onRetryTimer, wait)
  }

  private readonly onRetryTimer = (): void => {
    this.timer = undefined
    if (this.state !== 'waiting') return
    if (this.head === this.queue.length) this.state = 'idle'
    else this.connect()
  }

  private connect(): void {
    const address = this.o.resolve(this.o.peer)
    if (address === undefined) {
      this.failed('no known address')
      return
    }
    if (address !== this.clientAddress || this.client === undefined) {
      this.client?.close()
      this.client = new grpc.Client(address, this.o.credentials, this.o.clientOptions(address))
      this.clientAddress = address
    }
    let call: grpc.ClientDuplexStream<Uint8Array, Buffer>
    try {
      call = this.client.makeBidiStreamRequest(FRAMES_METHOD_PATH, serializeFrames, deserializeResponse)
    } catch (e) {
      this.failed(e instanceof Error ? e.message : String(e))
      return
    }
    this.call = call
    this.state = 'connecting'
    this.inflight = 0
    // One closure per stream (not per frame): stale callbacks of an old stream are ignored.
    this.onWritten = () => {
      if (this.call !== call) return
      this.inflight--
      if (this.head < this.queue.length) this.flush()
    }
    call.on('metadata', () => {
      if (this.call !== call || this.state !== 'connecting') return
      this.state = 'open'
      this.o.backoff.reset()
      if (this.down) this.o.logger.info(`raft transport: node ${this.o.nodeId} reconnected to node ${this.o.peer} at ${address}`)
      this.down = false
      this.hurried = false
      this.flush()
    })
    call.on('status', (status: grpc.StatusObject) => {
      if (this.call !== call) return
      this.call = undefined
      this.failed(`${grpc.status[status.code] ?? status.code}: ${status.details}`)
    })
    // Errors also arrive as 'status'; without a listener an 'error' event would crash the process.
    call.on('error', ignore)
    // The server sends no messages; keep the readable side flowing so the status arrives.
    call.on('data', ignore)
  }

  /** The stream could not be opened or broke: report, then back off before reconnecting. */
  private failed(why: string): void {
    if (this.state === 'closed') return
    const wasOpen = this.state === 'open'
    this.inflight = 0
    if (wasOpen || !this.down) {
      this.o.logger.warn(`raft transport: node ${this.o.nodeId} lost node ${this.o.peer} (${this.clientAddress ?? 'no address'}): ${why}`)
    }
    this.down = true
    this.reportUnreachable(true)
    if (wasOpen) this.o.onPeerLost(this.o.peer)
    this.retryAt = performance.now() + this.o.backoff.next()
    this.state = 'idle'
    if (this.head < this.queue.length) this.connectWhenAllowed()
  }

  private reportUnreachable(always: boolean): void {
    const now = performance.now()
    if (!always && now - this.lastUnreachableAt < UNREACHABLE_REPORT_INTERVAL_MS) return
    this.lastUnreachableAt = now
    this.o.onUnreachable(this.o.peer)
  }
}

const EMPTY = new Uint8Array(0)

function ignore(): void {}

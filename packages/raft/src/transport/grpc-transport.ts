// The Transport of real nodes, over @grpc/grpc-js. Per ordered node pair there is one
// long-lived Frames stream (this node → peer; the peer's frames come back on the peer's own
// stream). MsgSnap messages leave their frame and travel over a separate Snapshot RPC, in
// paced chunks, on a separate connection, so a large snapshot never holds up heartbeats.

import * as grpc from '@grpc/grpc-js'

import type { Message } from '../core/types.js'
import { ExponentialBackoff } from './backoff.js'
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame } from './frame-codec.js'
import type { NetworkFaults } from './network-faults.js'
import { PeerStream } from './peer-stream.js'
import { raftTransportService } from './raft-service.js'
import type { DecodedFrames } from './raft-service.js'
import { ByteRateLimiter } from './rate-limiter.js'
import { SnapshotReceiveBudget } from './snapshot-budget.js'
import { receiveSnapshot, sendSnapshot } from './snapshot-stream.js'
import type { SnapshotReceiverHost } from './snapshot-stream.js'
import type { GroupMessage, RaftFrame, Transport, TransportHandler } from './transport.js'
import { TransportError, TransportErrorCode } from './transport-error.js'
import { NOOP_TRANSPORT_LOGGER } from './transport-logger.js'
import type { TransportLogger } from './transport-logger.js'

/** Configuration of a GrpcTransport. */
export interface GrpcTransportOptions {
  /** This node's (store's) id; frames addressed to another id are dropped. */
  nodeId: number
  /** host:port to listen on; port 0 picks a free port (see `address`). Give this or `server`. */
  listen?: string
  /**
   * A gRPC server the caller owns, binds and shuts down (a node serves everything on one
   * port). The transport adds its service at construction, so construct it before binding.
   * Give this or `listen`.
   */
  server?: grpc.Server
  /** The address (host:port) of a node, or undefined if unknown; asked at every (re)connect. */
  resolve: (nodeId: number) => string | undefined
  /** Largest gRPC message sent or accepted (one frame, or a batch of frames). Default 64 MiB. */
  maxFrameBytes?: number
  /** Bytes of snapshot data per chunk. Default 64 KiB. */
  snapshotChunkBytes?: number
  /** Rate limit of all snapshot data this node sends. Default 64 MiB/s. */
  snapshotBytesPerSec?: number
  /** Largest snapshot accepted from a peer, in bytes; at most maxSnapshotReceiveBytes. Default 1 GiB, or maxSnapshotReceiveBytes if less. */
  maxSnapshotBytes?: number
  /**
   * Bytes of data the snapshots being received may hold at once, between them: a snapshot
   * whose announced length does not fit is refused (RESOURCE_EXHAUSTED) before its data.
   * Default 1 GiB.
   */
  maxSnapshotReceiveBytes?: number
  /** Snapshot streams received at once; more are refused (RESOURCE_EXHAUSTED). Default 8. */
  maxSnapshotStreams?: number
  /** An incoming snapshot stream that brings nothing for this long is refused. Default 30 s. */
  snapshotStallMs?: number
  /** Per peer: frames waiting for the stream beyond this count drop, oldest first. Default 4096. */
  maxQueuedFrames?: number
  /** Per peer: bytes waiting for the stream beyond this total drop, oldest first. Default 64 MiB. */
  maxQueuedBytes?: number
  /**
   * Reconnect backoff of a stream to a peer that cannot be reached: the first delay and the
   * cap it doubles up to, in ms. A frame arriving from that peer cuts the wait short. Default
   * 50 and 2,000.
   */
  reconnectBackoffMs?: { initial: number; max: number }
  /** Receives connection changes and rejected input. Default: discards. */
  logger?: TransportLogger
  /** Injected partitions (fault-injection tests): calls to blocked peers fail. Default: none. */
  faults?: NetworkFaults
  /** Credentials of the channels to peers: TLS with this node's certificate (mutual TLS). Default: plaintext. */
  credentials?: grpc.ChannelCredentials
}

const DEFAULT_SNAPSHOT_CHUNK_BYTES = 64 * 1024
const DEFAULT_SNAPSHOT_BYTES_PER_SEC = 64 * 1024 * 1024
const DEFAULT_MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024
const DEFAULT_MAX_SNAPSHOT_RECEIVE_BYTES = 1024 * 1024 * 1024
const DEFAULT_MAX_SNAPSHOT_STREAMS = 8
const DEFAULT_SNAPSHOT_STALL_MS = 30_000
const DEFAULT_MAX_QUEUED_FRAMES = 4096
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024
const DEFAULT_RECONNECT_BACKOFF_MS = { initial: 50, max: 2000 }
/** A snapshot RPC gets this long plus 4x its transfer time at the configured rate. */
const SNAPSHOT_BASE_DEADLINE_MS = 30_000
/** close() waits at most this long for the server's sockets to close. */
const CLOSE_TIMEOUT_MS = 2_000

type State = 'new' | 'starting' | 'running' | 'closed'

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt
  if (!Number.isSafeInteger(x) || x <= 0) {
    throw new TransportError(TransportErrorCode.INVALID_OPTIONS, `${name} must be a positive integer, got ${String(v)}`)
  }
  return x
}

/**
 * A Transport over gRPC. Delivery is best effort and FIFO per destination; lost frames are
 * reported via onUnreachable, snapshot outcomes via onSnapshotStatus. Not reusable: after
 * close() make a new one.
 */
export class GrpcTransport implements Transport {
  private readonly nodeId: number
  private readonly listen: string | undefined
  private readonly resolve: (nodeId: number) => string | undefined
  private readonly maxFrameBytes: number
  private readonly snapshotChunkBytes: number
  private readonly snapshotBytesPerSec: number
  private readonly maxQueuedFrames: number
  private readonly maxQueuedBytes: number
  private readonly reconnectBackoffMs: { initial: number; max: number }
  private readonly logger: TransportLogger
  private readonly faults: NetworkFaults | undefined
  private readonly credentials: grpc.ChannelCredentials
  private readonly channelOptions: grpc.ChannelOptions
  private readonly limiter: ByteRateLimiter

  private state: State = 'new'
  private handler: TransportHandler | undefined
  private server: grpc.Server | undefined
  private boundAddress: string | undefined
  private closing: Promise<void> | undefined
  private readonly peers = new Map<number, PeerStream>()
  private readonly snapshotClients = new Map<number, { address: string; client: grpc.Client }>()
  private readonly snapshotCalls = new Set<grpc.ClientWritableStream<Uint8Array>>()
  private readonly snapshotHost: SnapshotReceiverHost

  constructor(options: GrpcTransportOptions) {
    this.nodeId = options.nodeId
    if (!Number.isSafeInteger(this.nodeId) || this.nodeId <= 0) {
      throw new TransportError(TransportErrorCode.INVALID_OPTIONS, `nodeId must be a positive integer, got ${options.nodeId}`)
    }
    if ((options.listen === undefined) === (options.server === undefined)) {
      throw new TransportError(TransportErrorCode.INVALID_OPTIONS, 'give exactly one of listen and server')
    }
    this.listen = options.listen
    this.resolve = options.resolve
    this.maxFrameBytes = positiveInt('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES)
    this.snapshotChunkBytes = positiveInt('snapshotChunkBytes', options.snapshotChunkBytes, DEFAULT_SNAPSHOT_CHUNK_BYTES)
    if (this.snapshotChunkBytes > this.maxFrameBytes) {
      throw new TransportError(TransportErrorCode.INVALID_OPTIONS, 'snapshotChunkBytes must not exceed maxFrameBytes')
    }
    this.snapshotBytesPerSec = positiveInt('snapshotBytesPerSec', options.snapshotBytesPerSec, DEFAULT_SNAPSHOT_BYTES_PER_SEC)
    const receiveBytes = positiveInt('maxSnapshotReceiveBytes', options.maxSnapshotReceiveBytes, DEFAULT_MAX_SNAPSHOT_RECEIVE_BYTES)
    const maxSnapshotBytes = positiveInt('maxSnapshotBytes', options.maxSnapshotBytes, Math.min(DEFAULT_MAX_SNAPSHOT_BYTES, receiveBytes))
    if (maxSnapshotBytes > receiveBytes) {
      throw new TransportError(TransportErrorCode.INVALID_OPTIONS, 'maxSnapshotBytes must not exceed maxSnapshotReceiveBytes')
    }
    const streams = positiveInt('maxSnapshotStreams', options.maxSnapshotStreams, DEFAULT_MAX_SNAPSHOT_STREAMS)
    this.maxQueuedFrames = positiveInt('maxQueuedFrames', options.maxQueuedFrames, DEFAULT_MAX_QUEUED_FRAMES)
    this.maxQueuedBytes = positiveInt('maxQueuedBytes', options.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES)
    this.reconnectBackoffMs = {
      initial: positiveInt('reconnectBackoffMs.initial', options.reconnectBackoffMs?.initial, DEFAULT_RECONNECT_BACKOFF_MS.initial),
      max: positiveInt('reconnectBackoffMs.max', options.reconnectBackoffMs?.max, DEFAULT_RECONNECT_BACKOFF_MS.max),
    }
    if (this.reconnectBackoffMs.initial > this.reconnectBackoffMs.max) {
      throw new TransportError(TransportErrorCode.INVALID_OPTIONS, 'reconnectBackoffMs.initial must not exceed reconnectBackoffMs.max')
    }
    this.logger = options.logger ?? NOOP_TRANSPORT_LOGGER
    this.faults = options.faults
    this.credentials = options.credentials ?? grpc.credentials.createInsecure()
    this.limiter = new ByteRateLimiter(this.snapshotBytesPerSec)
    this.channelOptions = {
      // Each transport (and each of its two channels per peer) gets its own connection, even
      // when several transports live in one process.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_send_message_length': this.maxFrameBytes,
      'grpc.max_receive_message_length': 1024,
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      // The transport reconnects on its own; grpc-js retries would only buffer copies.
      'grpc.enable_retries': 0,
      // No retry buffer: a write's callback then means "handed to the socket", which is what
      // PeerStream's in-flight limit (and thus its batching) relies on.
      'grpc.per_rpc_retry_buffer_size': 0,
    }
    this.snapshotHost = {
      nodeId: this.nodeId,
      maxSnapshotBytes,
      budget: new SnapshotReceiveBudget(streams, receiveBytes),
      stallMs: positiveInt('snapshotStallMs', options.snapshotStallMs, DEFAULT_SNAPSHOT_STALL_MS),
      refusal: (groupId, to) => {
        const h = this.handler
        if (h === undefined) return 'the transport is closed'
        if (h.hostsReplica !== undefined && !h.hostsReplica(groupId, to)) return `node ${this.nodeId} hosts no replica ${to} of group ${groupId}`
        return undefined
      },
      deliver: (from, to, message) => {
        const h = this.handler
        if (h === undefined) throw new Error('transport is closed')
        h.onFrame({ from, to, messages: [message], heartbeats: [], heartbeatResponses: [], quiesce: [] })
      },
      warn: (msg) => this.logger.warn(msg),
    }
    options.server?.addService(raftTransportService(this.maxFrameBytes), { frames: this.onFramesCall, snapshot: this.onSnapshotCall })
  }

  /** Snapshot streams being received now, and the data bytes they reserved (for tests and metrics). */
  get receivingSnapshots(): { streams: number; bytes: number } {
    const { budget } = this.snapshotHost
    return { streams: budget.openStreams, bytes: budget.reservedBytes }
  }

  /** The bound host:port (the real port when `listen` asked for port 0). Only after start(), and only with `listen`. */
  get address(): string {
    if (this.boundAddress === undefined) {
      throw new TransportError(TransportErrorCode.INVALID_STATE, 'GrpcTransport.address is known only after start()')
    }
    return this.boundAddress
  }

  /**
   * Listens on `listen` and delivers incoming frames to `handler`. Throws TransportError
   * ERR_TRANSPORT_LISTEN_FAILED if the address cannot be bound, ERR_TRANSPORT_INVALID_STATE if
   * called twice or after close().
   */
  async start(handler: TransportHandler): Promise<void> {
    if (this.state !== 'new') {
      throw new TransportError(TransportErrorCode.INVALID_STATE, `cannot start a transport that is ${this.state}`)
    }
    const listen = this.listen
    if (listen === undefined) {
      // On the caller's server: the service is there already; frames flow from now on.
      this.handler = handler
      this.state = 'running'
      return
    }
    this.state = 'starting'
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.maxFrameBytes,
      'grpc.max_send_message_length': 1024,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    })
    server.addService(raftTransportService(this.maxFrameBytes), {
      frames: this.onFramesCall,
      snapshot: this.onSnapshotCall,
    })
    this.server = server
    this.handler = handler
    let port: number
    try {
      port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)))
      })
    } catch (e) {
      this.handler = undefined
      this.server = undefined
      server.forceShutdown()
      if (this.state !== 'starting') {
        throw new TransportError(TransportErrorCode.INVALID_STATE, 'transport closed while starting', { cause: e })
      }
      this.state = 'new'
      throw new TransportError(
        TransportErrorCode.LISTEN_FAILED,
        `cannot listen on ${listen}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      )
    }
    if (this.state !== 'starting') {
      // close() ran while binding; make sure nothing stays bound.
      server.forceShutdown()
      throw new TransportError(TransportErrorCode.INVALID_STATE, 'transport closed while starting')
    }
    const colon = listen.lastIndexOf(':')
    this.boundAddress = `${colon < 0 ? listen : listen.slice(0, colon)}:${port}`
    this.state = 'running'
    this.logger.info(`raft transport: node ${this.nodeId} listening on ${this.boundAddress}`)
  }

  /**
   * Queues `frame` for `frame.to`; returns at once and never throws. MsgSnap messages are
   * taken out and streamed separately. Frames sent before start() or after close() are dropped.
   */
  send(frame: RaftFrame): void {
    if (this.state !== 'running') return
    const msgs = frame.messages
    for (let i = 0; i < msgs.length; i++) {
      if (msgs[i]!.msg.type === 'MsgSnap') {
        frame = this.takeSnapshots(frame)
        break
      }
    }
    // An empty frame is still sent: it is the node-level keepalive quiesced ranges rely on.
    let bytes: Uint8Array
    try {
      bytes = encodeFrame(frame, this.maxFrameBytes)
    } catch (e) {
      this.sendUnencodable(frame, e)
      return
    }
    this.peer(frame.to).send(bytes)
  }

  /** Stops the server, cancels every stream; idempotent. In-flight frames may be lost. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    this.state = 'closed'
    this.handler = undefined
    for (const p of this.peers.values()) p.close()
    this.peers.clear()
    for (const call of this.snapshotCalls) call.cancel()
    this.snapshotCalls.clear()
    for (const { client } of this.snapshotClients.values()) client.close()
    this.snapshotClients.clear()
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)
      timer.unref()
      // tryShutdown's callback fires once listeners and sessions are closed; forceShutdown
      // makes that immediate by cancelling every call (peers' streams never end on their own).
      server.tryShutdown(() => {
        clearTimeout(timer)
        resolve()
      })
      server.forceShutdown()
    })
  }

  private peer(to: number): PeerStream {
    let p = this.peers.get(to)
    if (p === undefined) {
      p = new PeerStream({
        nodeId: this.nodeId,
        peer: to,
        resolve: this.resolve,
        clientOptions: (address) => this.clientOptions(address),
        credentials: this.credentials,
        maxQueuedFrames: this.maxQueuedFrames,
        maxQueuedBytes: this.maxQueuedBytes,
        maxBatchBytes: this.maxFrameBytes,
        backoff: new ExponentialBackoff(this.reconnectBackoffMs.initial, this.reconnectBackoffMs.max),
        logger: this.logger,
        onUnreachable: this.reportUnreachable,
        onPeerLost: this.reportPeerLost,
      })
      this.peers.set(to, p)
    }
    return p
  }

  private readonly reportUnreachable = (peer: number): void => {
    const h = this.handler
    if (h === undefined) return
    try {
      h.onUnreachable(peer)
    } catch (e) {
      this.logger.warn(`raft transport: onUnreachable(${peer}) threw: ${describe(e)}`)
    }
  }

  private readonly reportPeerLost = (peer: number): void => {
    try {
      this.handler?.onPeerLost?.(peer)
    } catch (e) {
      this.logger.warn(`raft transport: onPeerLost(${peer}) threw: ${describe(e)}`)
    }
  }

  /** A frame that cannot be encoded: split it if it is only too large, else drop it. */
  private sendUnencodable(frame: RaftFrame, e: unknown): void {
    if (e instanceof TransportError && e.code === TransportErrorCode.FRAME_TOO_LARGE) {
      const halves = splitFrame(frame)
      if (halves !== undefined) {
        this.send(halves[0])
        this.send(halves[1])
        return
      }
    }
    this.logger.warn(`raft transport: dropped a frame from node ${frame.from} to node ${frame.to}: ${describe(e)}`)
    this.reportUnreachable(frame.to)
  }

  /** Starts streaming every MsgSnap of `frame`; returns the frame without them. */
  private takeSnapshots(frame: RaftFrame): RaftFrame {
    const rest: GroupMessage[] = []
    for (const gm of frame.messages) {
      if (gm.msg.type === 'MsgSnap') this.startSnapshot(frame.from, frame.to, gm.groupId, gm.msg)
      else rest.push(gm)
    }
    return { ...frame, messages: rest }
  }

  private startSnapshot(from: number, to: number, groupId: number, msg: Message): void {
    const data = msg.snapshot?.data ?? new Uint8Array(0)
    const client = this.snapshotClient(to)
    const report = (status: 'finish' | 'failure', err?: unknown): void => {
      const h = this.handler
      if (h === undefined) return
      if (status === 'failure') {
        this.logger.warn(`raft transport: snapshot of group ${groupId} to node ${to} failed: ${describe(err)}`)
      }
      try {
        h.onSnapshotStatus(groupId, msg.to, status)
      } catch (e) {
        this.logger.warn(`raft transport: onSnapshotStatus threw: ${describe(e)}`)
      }
    }
    if (client === undefined) {
      // Report asynchronously, as every other outcome is.
      queueMicrotask(() => report('failure', new Error(`no address for node ${to}`)))
      return
    }
    let promise: Promise<void>
    try {
      promise = sendSnapshot(client, { from, to, groupId, message: msg, dataLength: data.byteLength }, data, {
        chunkBytes: this.snapshotChunkBytes,
        limiter: this.limiter,
        deadline: Date.now() + SNAPSHOT_BASE_DEADLINE_MS + (data.byteLength / this.snapshotBytesPerSec) * 4000,
        track: this.trackSnapshotCall,
      })
    } catch (e) {
      queueMicrotask(() => report('failure', e))
      return
    }
    promise.then(
      () => report('finish'),
      (e: unknown) => report('failure', e),
    )
  }

  private readonly trackSnapshotCall = (call: grpc.ClientWritableStream<Uint8Array>, active: boolean): void => {
    if (active) this.snapshotCalls.add(call)
    else this.snapshotCalls.delete(call)
  }

  /** Options of a client to `address`: the channel options, and the fault interceptor if any. */
  private clientOptions(address: string): grpc.ClientOptions {
    return this.faults ? { ...this.channelOptions, interceptors: [this.faults.interceptor(address)] } : this.channelOptions
  }

  /** The channel snapshots to `to` use: separate from its frame stream's connection. */
  private snapshotClient(to: number): grpc.Client | undefined {
    const address = this.resolve(to)
    if (address === undefined) return undefined
    const known = this.snapshotClients.get(to)
    if (known !== undefined && known.address === address) return known.client
    known?.client.close()
    const client = new grpc.Client(address, this.credentials, this.clientOptions(address))
    this.snapshotClients.set(to, { address, client })
    return client
  }

  // --- server side ---

  private readonly onFramesCall = (call: grpc.ServerDuplexStream<DecodedFrames, Buffer>): void => {
    let malformed = 0
    call.on('data', (decoded: DecodedFrames) => {
      if (decoded instanceof TransportError) {
        // Log the first few and then every 1000th, so a broken peer cannot flood the log.
        if (++malformed <= 3 || malformed % 1000 === 0) {
          this.logger.warn(`raft transport: dropped malformed frames #${malformed} from ${call.getPeer()}: ${decoded.message}`)
        }
        return
      }
      this.deliverFrames(decoded)
    })
    call.on('end', () => call.end())
    call.on('error', ignore)
    // Tells the client the stream is accepted (it starts writing on this).
    call.sendMetadata(new grpc.Metadata())
  }

  private deliverFrames(frames: RaftFrame[]): void {
    const h = this.handler
    if (h === undefined) return
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!
      if (f.to !== this.nodeId) {
        this.logger.warn(`raft transport: node ${this.nodeId} dropped a frame addressed to node ${f.to}`)
        continue
      }
      // A frame from a peer shows it is up: a stream to it that is backing off reconnects, and
      // one still connecting to an address the peer left connects to its new one.
      this.peers.get(f.from)?.peerIsUp()
      try {
        h.onFrame(f)
      } catch (e) {
        this.logger.warn(`raft transport: onFrame threw: ${describe(e)}`)
      }
    }
  }

  private readonly onSnapshotCall = (
    call: grpc.ServerReadableStream<Buffer, Buffer>,
    respond: grpc.sendUnaryData<Buffer>,
  ): void => {
    receiveSnapshot(this.snapshotHost, call, respond)
  }
}

/** Two smaller frames carrying everything `frame` carries, or undefined if it is one message. */
function splitFrame(frame: RaftFrame): [RaftFrame, RaftFrame] | undefined {
  const empty = { from: frame.from, to: frame.to, messages: [], heartbeats: [], heartbeatResponses: [], quiesce: [] }
  const n = frame.messages.length
  if (n >= 2) {
    const mid = n >> 1
    return [
      { ...frame, messages: frame.messages.slice(0, mid) },
      { ...empty, messages: frame.messages.slice(mid) },
    ]
  }
  if (n === 1 && (frame.heartbeats.length > 0 || frame.heartbeatResponses.length > 0 || frame.quiesce.length > 0)) {
    return [
      { ...frame, messages: [] },
      { ...empty, messages: frame.messages },
    ]
  }
  return undefined
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function ignore(): void {}

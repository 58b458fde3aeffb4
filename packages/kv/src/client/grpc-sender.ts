// The sender to remote nodes: each node gets one channel and one command stream; requests are
// encoded to the service's binary messages (api/kv-wire.ts) and answers decoded back. A
// request is checked before it leaves (api/request-check.ts, as the node checks it): one the
// schema cannot carry, such as a negative generation, gets the node's own refusal. The
// cluster-map and checksum requests, rare and answered by any node, go as unary calls.

import { Client, credentials, status, type ChannelCredentials, type Interceptor, type ServiceError } from '@grpc/grpc-js'
import { KvError } from '../api/errors.js'
import { KV_SERVICE } from '../api/protocol.js'
import { checkRequest } from '../api/request-check.js'
import type { KvRequest, KvResponse, NodeAddress } from '../api/requests.js'
import { unaryCall } from '../api/unary-call.js'
import { CommandStream } from './command-stream.js'
import { SendError, type KvSender } from './sender.js'

/** Options of a {@link GrpcSender}. */
export interface GrpcSenderOptions {
  /**
   * An interceptor for the channel to each address (a node's own client under fault-injection
   * tests cuts itself off from peers this way). Default: none.
   */
  interceptor?: (address: string) => Interceptor
  /** The channels' credentials: TLS with a client or node certificate (mutual TLS). Default: plaintext. */
  credentials?: ChannelCredentials
}

/** Largest response a client accepts (a node accepts requests as large). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/** Sends requests over gRPC command streams; see the file comment. */
export class GrpcSender implements KvSender {
  private readonly channels = new Map<string, Client>()
  private readonly streams = new Map<string, CommandStream>()

  constructor(private readonly o: GrpcSenderOptions = {}) {}

  /** Sends each request on the node's command stream (those of one event-loop turn travel in one message), or as a unary call (see the file comment). */
  send(node: NodeAddress, requests: readonly KvRequest[], deadline: number): Promise<KvResponse[]> {
    const stream = this.streamTo(node.address)
    return Promise.all(
      requests.map(async (req) => {
        try {
          checkRequest(req)
        } catch (err) {
          if (err instanceof KvError) return { error: err }
          throw err
        }
        try {
          if (req.op === 'ranges') return await unaryCall(this.channel(node.address), KV_SERVICE.ranges, req, deadline)
          if (req.op === 'checksum') return await unaryCall(this.channel(node.address), KV_SERVICE.checksum, req, deadline)
          return await stream.send(req, deadline)
        } catch (err) {
          throw sendError(err as ServiceError, node)
        }
      }),
    )
  }

  /** Closes every stream and channel. */
  close(): void {
    for (const s of this.streams.values()) s.close()
    this.streams.clear()
    for (const c of this.channels.values()) c.close()
    this.channels.clear()
  }

  private streamTo(address: string): CommandStream {
    let s = this.streams.get(address)
    if (!s) this.streams.set(address, (s = new CommandStream(this.channel(address))))
    return s
  }

  private channel(address: string): Client {
    let channel = this.channels.get(address)
    if (!channel) {
      const interceptors = this.o.interceptor ? [this.o.interceptor(address)] : []
      channel = new Client(address, this.o.credentials ?? credentials.createInsecure(), { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, interceptors })
      this.channels.set(address, channel)
    }
    return channel
  }
}

/** The command stream's gRPC-style failure as a {@link SendError}. */
function sendError(err: ServiceError, node: NodeAddress): SendError {
  const failure = err.code === status.UNAVAILABLE ? 'unavailable' : err.code === status.DEADLINE_EXCEEDED ? 'deadline' : 'ambiguous'
  return new SendError(failure, `node ${node.nodeId || '?'} at ${node.address}: ${err.message}`, { cause: err })
}

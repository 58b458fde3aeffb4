// One client's command stream to one node: every request made in one event-loop turn
// travels in one message, and answers come back as soon as each is ready.

import { Metadata, status, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js'
import { responseFromWire, type NumberedRequest, type WireResponse } from '../api/kv-wire.js'
import { messageCost, splitMessages } from '../api/message-split.js'
import { KV_SERVICE } from '../api/protocol.js'
import type { KvOp, KvRequest, KvResponse } from '../api/requests.js'

interface Waiting {
  op: KvOp
  resolve: (res: KvResponse) => void
  reject: (err: ServiceError) => void
  timer: NodeJS.Timeout
}

/** The largest request id: ids travel as 32 bits and wrap around (a stream never has 2^32 requests waiting). */
const MAX_ID = 0xffff_ffff

/** A command stream over a channel; opened on first use, reopened after a failure. */
export class CommandStream {
  private call: ClientDuplexStream<readonly NumberedRequest[], WireResponse[]> | undefined
  private readonly waiting = new Map<number, Waiting>()
  private queue: NumberedRequest[] = []
  private flushScheduled = false
  private nextId = 1

  constructor(private readonly channel: Client) {}

  /**
   * Sends one request and resolves with its answer. Rejects with a gRPC-style error:
   * UNAVAILABLE if no connection to the node could be made (the request never left), else
   * DEADLINE_EXCEEDED at `deadline` or UNKNOWN if the stream broke — in those two cases the
   * request may or may not have been carried out.
   */
  send(request: KvRequest, deadline: number): Promise<KvResponse> {
    return new Promise<KvResponse>((resolve, reject) => {
      const id = this.nextId
      this.nextId = id === MAX_ID ? 1 : id + 1
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(serviceError(status.DEADLINE_EXCEEDED, `${request.op} got no answer before its deadline`))
      }, Math.max(0, deadline - Date.now()))
      this.waiting.set(id, { op: request.op, resolve, reject, timer })
      this.queue.push({ id, request })
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Closes the stream; requests still waiting fail as if it broke. */
  close(): void {
    this.call?.cancel()
  }

  private flush(): void {
    this.flushScheduled = false
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    let stream: ClientDuplexStream<readonly NumberedRequest[], WireResponse[]>
    try {
      stream = this.stream()
    } catch (err) {
      // The channel was closed under requests still queued (the client is shutting down): they never left.
      for (const r of batch) {
        const w = this.waiting.get(r.id)
        if (!w) continue
        this.waiting.delete(r.id)
        clearTimeout(w.timer)
        w.reject(serviceError(status.UNAVAILABLE, `no command stream: ${err instanceof Error ? err.message : String(err)}`))
      }
      return
    }
    // A turn's queue beyond one message's limits goes out in several (api/message-split.ts).
    for (const part of splitMessages(batch, (r) => messageCost(r.request))) stream.write(part)
  }

  private stream(): ClientDuplexStream<readonly NumberedRequest[], WireResponse[]> {
    if (this.call) return this.call
    const m = KV_SERVICE.commands
    const call = this.channel.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new Metadata())
    call.on('data', (responses: WireResponse[]) => {
      for (const r of responses) {
        const w = this.waiting.get(r.id)
        if (!w) continue
        this.waiting.delete(r.id)
        clearTimeout(w.timer)
        w.resolve(responseFromWire(w.op, r))
      }
    })
    const broken = (code: status, reason: string) => {
      if (this.call !== call) return
      this.call = undefined
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer)
        w.reject(serviceError(code, `command stream broke: ${reason}`))
      }
      this.waiting.clear()
    }
    call.on('error', (err: ServiceError) => broken(neverConnected(err) ? status.UNAVAILABLE : status.UNKNOWN, err.message))
    call.on('end', () => broken(status.UNKNOWN, 'the node ended it'))
    this.call = call
    return call
  }
}

/**
 * Whether a stream failed before any connection to the node existed, so nothing it carried
 * can have arrived. grpc-js says so only in the text of the UNAVAILABLE it raises when no
 * subchannel could connect; a connection lost later is UNAVAILABLE too, but ambiguous.
 */
function neverConnected(err: ServiceError): boolean {
  return err.code === status.UNAVAILABLE && /No connection established/.test(err.details ?? err.message)
}

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() })
}

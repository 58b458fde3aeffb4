// One client's command stream to one node: every request made in one event-loop turn
// travels in one message, and responses come back as soon as each is ready.

import { Metadata, status, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js'
import { KV_SERVICE, type CommandRequest, type CommandResponse, type WireResponse } from '../api/protocol.js'
import type { KvOp } from '../api/requests.js'

interface Waiting {
  resolve: (body: WireResponse) => void
  reject: (err: ServiceError) => void
  timer: NodeJS.Timeout
}

/** A command stream over a channel; opened on first use, reopened after a failure. */
export class CommandStream {
  private call: ClientDuplexStream<CommandRequest[], CommandResponse[]> | undefined
  private readonly waiting = new Map<number, Waiting>()
  private queue: CommandRequest[] = []
  private flushScheduled = false
  private nextId = 1

  constructor(private readonly channel: Client) {}

  /**
   * Sends one request and resolves with its response body. Rejects with a gRPC-style error:
   * UNAVAILABLE if no connection to the node could be made (the request never left), else
   * DEADLINE_EXCEEDED at `deadline` or UNKNOWN if the stream broke — in those two cases the
   * request may or may not have been carried out.
   */
  send(op: KvOp, body: unknown, deadline: number): Promise<WireResponse> {
    return new Promise<WireResponse>((resolve, reject) => {
      const id = this.nextId++
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(serviceError(status.DEADLINE_EXCEEDED, `${op} got no answer before its deadline`))
      }, Math.max(0, deadline - Date.now()))
      this.waiting.set(id, { resolve, reject, timer })
      this.queue.push({ id, op, body })
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
    let stream: ClientDuplexStream<CommandRequest[], CommandResponse[]>
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
    stream.write(batch)
  }

  private stream(): ClientDuplexStream<CommandRequest[], CommandResponse[]> {
    if (this.call) return this.call
    const m = KV_SERVICE.commands
    const call = this.channel.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new Metadata())
    call.on('data', (responses: CommandResponse[]) => {
      for (const r of responses) {
        const w = this.waiting.get(r.id)
        if (!w) continue
        this.waiting.delete(r.id)
        clearTimeout(w.timer)
        w.resolve(r.body)
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

// A node's timestamp fetches to the PD leader on one long-lived gRPC call (PD_SERVICE.tsoStream)
// rather than a unary call each: a unary call sets up an HTTP/2 stream, headers and trailers
// both ways, and in a point-SELECT profile those calls were an eighth of the cluster's CPU.
// Requests are numbered and answered under their number; a request whose answer does not
// come in time, or whose stream breaks, fails (the caller asks again the unary way).

import type { ClientDuplexStream } from '@grpc/grpc-js'
import type { PdTsoResponse, PdTsoStreamRequest, PdTsoStreamResponse } from './pd-protocol.js'

interface Waiting {
  resolve: (res: PdTsoResponse) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** A timestamp stream to one node, opened on first use and again after it broke; see the file comment. */
export class TsoStream {
  private call: ClientDuplexStream<PdTsoStreamRequest, PdTsoStreamResponse> | undefined
  private readonly waiting = new Map<number, Waiting>()
  private nextId = 1

  constructor(
    /** Opens the call to the node. */
    private readonly open: () => ClientDuplexStream<PdTsoStreamRequest, PdTsoStreamResponse>,
    /** How long a request waits for its answer. */
    private readonly timeoutMs: number,
  ) {}

  /**
   * `count` fresh timestamps from the node's oracle — or the error a `tso` call would have
   * answered there (NOT_LEADER when it does not lead the PD group). Rejects when the stream
   * could not be opened, broke, or gave no answer within the timeout.
   */
  fetch(count: number): Promise<PdTsoResponse> {
    return new Promise((resolve, reject) => {
      let call: ClientDuplexStream<PdTsoStreamRequest, PdTsoStreamResponse>
      try {
        call = this.stream()
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)))
        return
      }
      const id = this.nextId++
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(new Error(`no timestamps within ${this.timeoutMs} ms`))
      }, this.timeoutMs)
      this.waiting.set(id, { resolve, reject, timer })
      call.write({ id, count })
    })
  }

  /** Ends the stream; requests still waiting fail. */
  close(): void {
    this.call?.cancel()
  }

  private stream(): ClientDuplexStream<PdTsoStreamRequest, PdTsoStreamResponse> {
    if (this.call) return this.call
    const call = this.open()
    call.on('data', (res: PdTsoStreamResponse) => {
      const w = this.waiting.get(res.id)
      if (!w) return
      this.waiting.delete(res.id)
      clearTimeout(w.timer)
      w.resolve(res.error ? { error: res.error } : { first: res.first, count: res.count })
    })
    const broken = (reason: string) => {
      if (this.call !== call) return
      this.call = undefined
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer)
        w.reject(new Error(`the timestamp stream broke: ${reason}`))
      }
      this.waiting.clear()
    }
    call.on('error', (err: Error) => broken(err.message))
    call.on('end', () => broken('the node ended it'))
    this.call = call
    return call
  }
}

// Timestamps for transactions, fetched from the placement driver's oracle in batches: the
// requests of one event-loop turn share one fetch, and a fetch starts as soon as its turn
// ends, without waiting for earlier fetches. A timestamp is therefore always handed out by a
// fetch that began after it was requested, so it is greater than every timestamp handed out
// before the request (what snapshot isolation needs).

import { Client, credentials } from '@grpc/grpc-js'
import { KvError, KvErrorCode, unaryCall, type TimestampSource } from '@mrdb/kv'
import { PD_SERVICE, type PdTsoRequest, type PdTsoResponse } from './pd-protocol.js'

/** Most timestamps one fetch asks for (the oracle's batch limit is 2^18). */
const MAX_BATCH = 4096

/** See the file comment. */
export class TimestampBatcher implements TimestampSource {
  private queue: Array<{ resolve: (ts: bigint) => void; reject: (err: unknown) => void }> = []
  private scheduled = false

  /**
   * `fetch(count)` gets `count` consecutive fresh timestamps from the oracle, as its PD
   * service answers. A failed fetch is tried again (the PD may be electing a leader) for up
   * to `timeoutMs`.
   */
  constructor(
    private readonly fetch: (req: PdTsoRequest) => Promise<PdTsoResponse>,
    private readonly timeoutMs = 10_000,
  ) {}

  /** A fresh timestamp. */
  timestamp(): Promise<bigint> {
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject })
      if (this.scheduled) return
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        while (this.queue.length > 0) void this.serve(this.queue.splice(0, MAX_BATCH))
      })
    })
  }

  /** Fetches timestamps for `waiting`, which asked before this call. */
  private async serve(waiting: Array<{ resolve: (ts: bigint) => void; reject: (err: unknown) => void }>): Promise<void> {
    try {
      const first = await this.fetchRetrying(waiting.length)
      waiting.forEach((w, i) => w.resolve(first + BigInt(i)))
    } catch (err) {
      for (const w of waiting) w.reject(err)
    }
  }

  /** The first of `count` fresh timestamps; UNAVAILABLE when none came within the timeout. */
  private async fetchRetrying(count: number): Promise<bigint> {
    const deadline = Date.now() + this.timeoutMs
    for (let attempt = 0; ; attempt++) {
      let reason: string
      try {
        const res = await this.fetch({ count })
        if (!res.error && res.first !== undefined && (res.count ?? 0) >= count) return BigInt(res.first)
        reason = res.error?.message ?? 'a short batch'
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err)
      }
      if (Date.now() >= deadline) throw new KvError(KvErrorCode.UNAVAILABLE, `no timestamps from the placement driver: ${reason}`)
      await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** Math.min(attempt, 5))))
    }
  }
}

/** Timestamps for a client outside the cluster: fetched through the PD service of `hosts`, moving to the next host when one fails. */
export function remoteTimestamps(hosts: readonly string[], timeoutMs = 10_000): TimestampBatcher & { close(): void } {
  const channels = hosts.map((h) => new Client(h, credentials.createInsecure()))
  let next = 0
  const batcher = new TimestampBatcher(async (req) => {
    try {
      return await unaryCall(channels[next % channels.length]!, PD_SERVICE.tso, req, Date.now() + timeoutMs)
    } catch (err) {
      next++
      throw err
    }
  }, timeoutMs)
  return Object.assign(batcher, { close: () => channels.forEach((c) => c.close()) })
}

// Timestamps for transactions, fetched from the placement driver's oracle in batches: a fetch
// carries every request that arrived since the last one started (those of at least one
// event-loop turn), as TiKV's PD client does, and up to MAX_IN_FLIGHT fetches are out at a
// time, so a request that arrives while one is out waits for a fetch of its own, not for that
// one to come back first (with one fetch at a time it waited 1.5 oracle round trips on
// average). A timestamp is always handed out by a fetch that began after it was requested, so
// it is greater than every timestamp handed out before the request (what snapshot isolation
// needs): fetches that overlap serve requests that overlap, which need no order.
// Each fetch asks for two timestamps per request and hands out every other one: the successor
// of each timestamp handed out is reserved, never handed out by anyone (TimestampSource's
// reservesSuccessors), which spares a one-phase commit with conditions a fetch of its own.

import { Client, credentials } from '@grpc/grpc-js'
import { KvError, KvErrorCode, unaryCall, type TimestampSource } from '@mrdb/kv'
import { PD_SERVICE, type PdTsoRequest, type PdTsoResponse } from './pd-protocol.js'

/** Most requests one fetch serves (twice as many timestamps; the oracle's batch limit is 2^18). */
const MAX_BATCH = 4096
/**
 * Most fetches out at once. Each costs the PD leader a call; beyond a few, a gateway's
 * requests of one round trip are spread thinner over more calls for no shorter wait.
 */
const MAX_IN_FLIGHT = 4

/** How many timestamps a {@link TimestampBatcher} handed out and how many oracle fetches that took. */
export interface TimestampCounts {
  /** Timestamps asked for (one per transaction start or two-phase commit), each with its reserved successor. */
  requests: number
  /** Fetches from the oracle (round trips to the placement driver). */
  fetches: number
}

type Waiter = { resolve: (ts: bigint) => void; reject: (err: unknown) => void }

/** See the file comment. */
export class TimestampBatcher implements TimestampSource {
  private queue: Waiter[] = []
  private scheduled = false
  /** Fetches out now (at most MAX_IN_FLIGHT). */
  private fetching = 0
  /** What this batcher did since it was made. */
  readonly counts: TimestampCounts = { requests: 0, fetches: 0 }
  /** See the file comment. */
  readonly reservesSuccessors = true

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
      this.counts.requests++
      this.schedule()
    })
  }

  /** Starts the next fetch at the end of this event-loop turn, unless MAX_IN_FLIGHT are out (the end of one starts the next). */
  private schedule(): void {
    if (this.scheduled || this.fetching >= MAX_IN_FLIGHT || this.queue.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      if (this.fetching >= MAX_IN_FLIGHT || this.queue.length === 0) return
      this.fetching++
      void this.serve(this.queue.splice(0, MAX_BATCH)).finally(() => {
        this.fetching--
        this.schedule()
      })
    })
  }

  /** Fetches timestamps for `waiting`, which asked before this call. */
  private async serve(waiting: Waiter[]): Promise<void> {
    try {
      const first = await this.fetchRetrying(2 * waiting.length)
      waiting.forEach((w, i) => w.resolve(first + BigInt(2 * i)))
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
        this.counts.fetches++
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

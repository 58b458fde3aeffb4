// The timestamp oracle: strictly increasing hybrid timestamps for transactions, handed out
// by the PD leader from memory. Safety across leader changes comes from a persisted upper
// bound: the oracle never hands out a timestamp at or above the bound it has persisted
// through the PD group, and a new leader starts above the bound its predecessor persisted.

import { LOGICAL_BITS, composeTimestamp, physicalMs } from '@mrdb/storage'
import { PdError, PdErrorCode } from './errors.js'

/** Timestamps one call may ask for: a millisecond's worth of logical counter (2^18). */
export const MAX_TSO_BATCH = 1 << Number(LOGICAL_BITS)

/** How a {@link TimestampOracle} persists its bound and reads time. */
export interface TimestampOracleOptions {
  /**
   * Persists a higher upper bound through the PD group (the raiseTsoLimit command) and
   * resolves with the bound stored now, which is never lower than the one asked for.
   */
  raiseLimit: (limit: bigint) => Promise<bigint>
  /** Wall clock in ms; default Date.now. */
  clock?: () => number
  /** How far past the clock (or past the last timestamp, if that is ahead) a raise puts the bound; default 3000 ms. */
  windowMs?: number
}

/** A run of `count` consecutive timestamps starting at `first`. */
export interface TimestampBatch {
  first: bigint
  count: number
}

/**
 * Hands out timestamps on the PD leader; see the file comment. A timestamp is
 * composeTimestamp(ms, logical) with an 18-bit logical counter: a batch is consecutive
 * numbers, so when a millisecond's counter runs out the batch carries into the next
 * millisecond (logical 0). Create one per leadership term and drop it when leadership is lost.
 */
export class TimestampOracle {
  private readonly clock: () => number
  private readonly windowMs: number
  /** The last timestamp handed out (or the persisted bound at start). Invariant: last < limit once handed out. */
  private last: bigint | undefined
  /** The bound persisted through the PD group. */
  private limit = 0n
  /** The raise under way; every caller that needs a higher bound waits for this one. */
  private raising: Promise<void> | undefined

  constructor(private readonly o: TimestampOracleOptions) {
    this.clock = o.clock ?? Date.now
    this.windowMs = o.windowMs ?? 3000
    if (!Number.isSafeInteger(this.windowMs) || this.windowMs < 1) throw new PdError(PdErrorCode.INVALID_ARGUMENT, 'windowMs must be a positive integer')
  }

  /**
   * Starts handing out timestamps strictly above `persistedLimit`, the bound in the PD state
   * (read it after a read barrier, so every raise of the previous leader is in it).
   */
  start(persistedLimit: bigint): void {
    this.last = persistedLimit
    this.limit = persistedLimit
  }

  /**
   * `count` fresh timestamps (1 to {@link MAX_TSO_BATCH}), above every one handed out before,
   * by this oracle or by an earlier leader. Raises the persisted bound first when they would
   * reach it; rejects if the raise fails (UNAVAILABLE, NOT_LEADER, TIMEOUT from the PD group).
   */
  async next(count = 1): Promise<TimestampBatch> {
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_TSO_BATCH) {
      throw new PdError(PdErrorCode.INVALID_ARGUMENT, `count must be an integer in [1, ${MAX_TSO_BATCH}], got ${count}`)
    }
    for (;;) {
      if (this.last === undefined) throw new PdError(PdErrorCode.UNAVAILABLE, 'the timestamp oracle is not started')
      const now = composeTimestamp(this.clock())
      const first = now > this.last ? now : this.last + 1n
      const end = first + BigInt(count - 1)
      if (end < this.limit) {
        this.last = end
        return { first, count }
      }
      await this.raise(end)
    }
  }

  /** Raises the bound above `end` unless a raise is under way already (its callers then look again). */
  private raise(end: bigint): Promise<void> {
    if (!this.raising) {
      const target = composeTimestamp(Math.max(this.clock(), physicalMs(end)) + this.windowMs)
      // Through .then, so the cleanup below runs after `raising` is set even if raiseLimit throws at once.
      this.raising = Promise.resolve(target)
        .then((t) => this.o.raiseLimit(t))
        .then((stored) => {
          if (stored > this.limit) this.limit = stored
          if (stored < target) throw new PdError(PdErrorCode.UNAVAILABLE, `the PD stored TSO limit ${stored}, below the ${target} asked for`)
        })
        .finally(() => (this.raising = undefined))
    }
    return this.raising
  }
}

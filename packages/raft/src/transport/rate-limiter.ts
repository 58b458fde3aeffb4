// Paces a byte stream to a target rate (used for snapshot chunks, so that streaming a large
// snapshot does not starve the frame traffic that keeps groups alive).

/**
 * A pacing limiter shared by every caller that reserves from it: reservations are served
 * back to back at `bytesPerSec`, so n concurrent streams each get about 1/n of the rate.
 * The clock is injected so tests can drive it.
 */
export class ByteRateLimiter {
  /** The time (ms, on `now`'s clock) at which everything reserved so far has been sent. */
  private next = Number.NEGATIVE_INFINITY

  constructor(
    private readonly bytesPerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(bytesPerSec > 0)) throw new RangeError(`bytesPerSec must be > 0, got ${bytesPerSec}`)
  }

  /** Reserves `n` bytes and returns how many ms the caller must wait before sending them. */
  reserve(n: number): number {
    const now = this.now()
    const start = this.next > now ? this.next : now
    this.next = start + (n * 1000) / this.bytesPerSec
    return start - now
  }
}

// Exponential reconnect backoff with jitter, so that peers that lost each other do not
// retry in lockstep.

/** Delays that double from `initialMs` up to `maxMs`, each jittered by ±25% (capped at maxMs). */
export class ExponentialBackoff {
  private current: number

  constructor(
    private readonly initialMs = 50,
    private readonly maxMs = 2000,
    private readonly random: () => number = Math.random,
  ) {
    this.current = initialMs
  }

  /** The delay before the next attempt; each call doubles the following one. */
  next(): number {
    const base = this.current
    this.current = Math.min(this.maxMs, base * 2)
    return Math.min(this.maxMs, base * (0.75 + 0.5 * this.random()))
  }

  /** Starts over from `initialMs` (after a successful connection). */
  reset(): void {
    this.current = this.initialMs
  }
}

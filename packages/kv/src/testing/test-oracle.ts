import { composeTimestamp } from '@mrdb/storage'
import type { TimestampSource } from '../api/types.js'

/** A timestamp oracle in memory, counting up from now; {@link held} makes callers wait until {@link release}. */
export class TestOracle implements TimestampSource {
  private next = composeTimestamp(Date.now())
  private waiting: Array<() => void> = []
  /** While true, timestamps are handed out only at the next {@link release}. */
  held = false

  /** The next timestamp (once released, if held). */
  timestamp(): Promise<bigint> {
    if (!this.held) return Promise.resolve(this.next++)
    return new Promise((resolve) => this.waiting.push(() => resolve(this.next++)))
  }

  /** Hands out the timestamps asked for while held. */
  release(): void {
    this.held = false
    for (const w of this.waiting.splice(0)) w()
  }
}

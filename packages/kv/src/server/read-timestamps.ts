// The highest timestamps a range's leader served snapshot reads at, by key and by span (what
// CockroachDB calls the timestamp cache, TiKV its max_ts, per key here): a one-phase commit
// lands above those of its keys, so it never changes what a read already served saw. Bounded:
// past its limits it forgets entries by folding them into a floor every key is above, which
// only ever raises what it answers (safe, if less precise).

import { compareBytes, toHex } from '@mrdb/storage'

/** Most keys remembered one by one before they are folded into the floor. */
const MAX_KEYS = 10_000
/** Most spans remembered one by one before they are folded into the floor. */
const MAX_SPANS = 256

/** See the file comment. */
export class ReadTimestamps {
  /** Invariant: every read served is at or below the floor, or at or below the entry of each key it read. */
  private floor = 0n
  private readonly keys = new Map<string, bigint>()
  private spans: Array<{ start: Uint8Array; end: Uint8Array; ts: bigint }> = []

  /** A read of `key` at `ts` was served. */
  readKey(key: Uint8Array, ts: bigint): void {
    if (ts <= this.floor) return
    const id = toHex(key)
    const known = this.keys.get(id)
    if (known !== undefined && known >= ts) return
    if (known === undefined && this.keys.size >= MAX_KEYS) this.foldKeys()
    this.keys.set(id, ts)
  }

  /** A read of [start, end) (empty end: no bound) at `ts` was served. */
  readSpan(start: Uint8Array, end: Uint8Array, ts: bigint): void {
    if (ts <= this.floor) return
    if (this.spans.length >= MAX_SPANS) {
      for (const s of this.spans) this.raiseFloor(s.ts)
      this.spans = []
    }
    this.spans.push({ start, end, ts })
  }

  /** Every read so far, and any read of an earlier leader, is at or below `ts`. */
  raiseFloor(ts: bigint): void {
    if (ts > this.floor) this.floor = ts
  }

  /** The highest timestamp a read of any of `keys` was served at, as far as this knows (the floor at least). */
  maxOf(keys: readonly Uint8Array[]): bigint {
    let max = this.floor
    for (const k of keys) {
      const ts = this.keys.get(toHex(k))
      if (ts !== undefined && ts > max) max = ts
    }
    for (const s of this.spans) {
      if (s.ts > max && keys.some((k) => compareBytes(k, s.start) >= 0 && (s.end.length === 0 || compareBytes(k, s.end) < 0))) max = s.ts
    }
    return max
  }

  private foldKeys(): void {
    for (const ts of this.keys.values()) this.raiseFloor(ts)
    this.keys.clear()
  }
}

// The tail of the log that the host has not yet persisted: entries handed out (or about to
// be handed out) in Ready.entries, and possibly a snapshot received from the leader.

import { RaftInvariantError } from './errors.js'
import type { Entry, Snapshot } from './types.js'

/**
 * Entries and a snapshot not yet on stable storage.
 * Invariant: entries[i].index === offset + i.
 * Invariant: if snapshot is set, offset === snapshot.metadata.index + 1.
 */
export class Unstable {
  /** A snapshot received from the leader that the host has not persisted yet. */
  snapshot: Snapshot | undefined = undefined
  /** Entries not yet persisted. Replaced (never mutated) once handed out via slice(). */
  entries: Entry[] = []
  /** Index of entries[0]; every index below it is (or will be, with snapshot) stable. */
  offset: number

  constructor(offset: number) {
    this.offset = offset
  }

  /** The first index the unstable part can vouch for: only known with a pending snapshot. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1
  }

  /** The last index of the unstable part, if it holds anything. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index
  }

  /** The term of entry i, if the unstable part knows it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      const s = this.snapshot
      return s !== undefined && s.metadata.index === i ? s.metadata.term : undefined
    }
    const e = this.entries[i - this.offset]
    return e === undefined ? undefined : e.term
  }

  /**
   * Marks entries up to i (with term t) as persisted. Ignored when entry i has since been
   * replaced by one with another term, or is not in the unstable part.
   */
  stableTo(i: number, t: number): void {
    if (i < this.offset) return
    const e = this.entries[i - this.offset]
    if (e === undefined || e.term !== t) return
    const n = i + 1 - this.offset
    this.entries = n === this.entries.length ? [] : this.entries.slice(n)
    this.offset = i + 1
  }

  /** Marks the pending snapshot at index i as persisted. */
  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) this.snapshot = undefined
  }

  /** Replaces everything by a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1
    this.entries = []
    this.snapshot = s
  }

  /**
   * Appends ents (contiguous, ascending), first dropping every unstable entry at or after
   * ents[0].index. The caller guarantees ents[0].index <= lastIndex + 1.
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = (ents[0] as Entry).index
    const end = this.offset + this.entries.length
    if (after === end) {
      for (let k = 0; k < ents.length; k++) this.entries.push(ents[k] as Entry)
    } else if (after <= this.offset) {
      // Everything unstable is replaced; the log below `after` is on stable storage.
      this.offset = after
      this.entries = ents.slice()
    } else {
      const keep = this.entries.slice(0, after - this.offset)
      for (let k = 0; k < ents.length; k++) keep.push(ents[k] as Entry)
      this.entries = keep
    }
  }

  /** A copy of entries [lo, hi). The caller guarantees offset <= lo <= hi <= last+1. */
  slice(lo: number, hi: number): Entry[] {
    const upper = this.offset + this.entries.length
    if (lo > hi || lo < this.offset || hi > upper) {
      throw new RaftInvariantError(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`)
    }
    return this.entries.slice(lo - this.offset, hi - this.offset)
  }
}

// The tail of the log that the host has not yet persisted: entries handed out (or about to
// be handed out) in Ready.entries, and possibly a snapshot received from the leader. What a
// Ready handed out is "in progress" until the host reports it persisted, so that a pipelined
// host may take the next Ready while a write is under way without being handed it again.

import { RaftInvariantError } from './errors.js'
import type { Entry, Snapshot } from './types.js'

/**
 * Entries and a snapshot not yet on stable storage.
 * Invariant: entries[i].index === offset + i.
 * Invariant: if snapshot is set, offset === snapshot.metadata.index + 1.
 * Invariant: offset <= offsetInProgress <= offset + entries.length.
 */
export class Unstable {
  /** A snapshot received from the leader that the host has not persisted yet. */
  snapshot: Snapshot | undefined = undefined
  /** Entries not yet persisted. Replaced (never mutated) once handed out via slice(). */
  entries: Entry[] = []
  /** Index of entries[0]; every index below it is (or will be, with snapshot) stable. */
  offset: number
  /** Entries [offset, offsetInProgress) were handed out in a Ready and are being written. */
  offsetInProgress: number
  /** Whether `snapshot` was handed out in a Ready and is being written. */
  snapshotInProgress = false

  constructor(offset: number) {
    this.offset = offset
    this.offsetInProgress = offset
  }

  /** Entries not yet handed out in a Ready, as a copy the caller may keep. */
  nextEntries(): Entry[] {
    const start = this.offsetInProgress - this.offset
    return start >= this.entries.length ? [] : this.entries.slice(start)
  }

  /** Whether there are entries not yet handed out in a Ready. */
  hasNextEntries(): boolean {
    return this.offsetInProgress < this.offset + this.entries.length
  }

  /** The snapshot to hand out in a Ready: the pending one, unless it was handed out already. */
  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot
  }

  /** Marks everything unstable as handed out (in progress): the next Ready does not repeat it. */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length
    if (this.snapshot !== undefined) this.snapshotInProgress = true
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
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset)
  }

  /** Marks the pending snapshot at index i as persisted. */
  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) {
      this.snapshot = undefined
      this.snapshotInProgress = false
    }
  }

  /** Replaces everything by a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1
    this.offsetInProgress = this.offset
    this.entries = []
    this.snapshot = s
    this.snapshotInProgress = false
  }

  /**
   * Appends ents (contiguous, ascending), first dropping every unstable entry at or after
   * ents[0].index. The caller guarantees ents[0].index <= lastIndex + 1. Replaced entries that
   * were in progress are handed out again (as their replacements); a write of the old ones
   * still under way lands first, and its acknowledgement no longer matches their terms.
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = (ents[0] as Entry).index
    const end = this.offset + this.entries.length
    if (after === end) {
      for (let k = 0; k < ents.length; k++) this.entries.push(ents[k] as Entry)
    } else if (after <= this.offset) {
      // Everything unstable is replaced; the log below `after` is on stable storage.
      this.offset = after
      this.offsetInProgress = after
      this.entries = ents.slice()
    } else {
      const keep = this.entries.slice(0, after - this.offset)
      for (let k = 0; k < ents.length; k++) keep.push(ents[k] as Entry)
      this.entries = keep
      this.offsetInProgress = Math.min(this.offsetInProgress, after)
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

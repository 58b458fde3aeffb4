// The Raft log as the algorithm sees it: stable storage followed by the unstable tail,
// plus the commit and apply cursors.

import { limitEnd } from './entry-size.js'
import { CompactedError, RaftError, RaftErrorCode, RaftInvariantError, UnavailableError } from './errors.js'
import { Unstable } from './log-unstable.js'
import type { Storage } from './storage.js'
import type { Entry, Snapshot } from './types.js'

/**
 * The log: entries [firstIndex(), lastIndex()] are readable, the first part from storage
 * and the rest from `unstable`.
 * Invariant: applied <= applying <= committed <= lastIndex().
 * Invariant: committed entries are never truncated.
 */
export class RaftLog {
  readonly storage: Storage
  readonly unstable: Unstable
  /** Highest index known to be stored on a quorum. */
  committed: number
  /** Highest index the application has applied. Invariant: applied <= committed. */
  applied: number
  /**
   * Highest index handed out for applying (in a Ready) so far. Invariant: applied <= applying
   * <= committed; entries up to it are not handed out again.
   */
  applying: number
  /** Byte budget (entrySize) of the committed entries handed out by one Ready. */
  readonly maxApplyBytes: number

  constructor(storage: Storage, maxApplyBytes: number) {
    this.storage = storage
    this.maxApplyBytes = maxApplyBytes
    const first = storage.firstIndex()
    const last = storage.lastIndex()
    this.unstable = new Unstable(last + 1)
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1
    this.applied = first - 1
    this.applying = first - 1
  }

  /**
   * Appends ents after checking that the entry at `index` has term `logTerm` (the log
   * matching property). Returns the index of the last new entry, or -1 if the check fails.
   * Entries already present with the same term are kept; the first conflicting one and
   * everything after it are replaced. Also raises the commit index to min(commit, last new).
   */
  maybeAppend(index: number, logTerm: number, commit: number, ents: readonly Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1
    const lastNew = index + ents.length
    const ci = this.findConflict(ents)
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftInvariantError(`entry ${ci} conflicts with committed entry [committed(${this.committed})]`)
      }
      const from = ci - (index + 1)
      this.append(from === 0 ? ents : ents.slice(from))
    }
    this.commitTo(Math.min(commit, lastNew))
    return lastNew
  }

  /** Appends ents (which may replace an uncommitted suffix) and returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex()
    const after = (ents[0] as Entry).index - 1
    if (after < this.committed) {
      throw new RaftInvariantError(`after(${after}) is out of range [committed(${this.committed})]`)
    }
    this.unstable.truncateAndAppend(ents)
    return this.lastIndex()
  }

  /**
   * The index of the first entry of ents whose term differs from the log's entry at that
   * index (or which is past the end of the log); 0 if every entry is already present.
   */
  findConflict(ents: readonly Entry[]): number {
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k] as Entry
      if (!this.matchTerm(e.index, e.term)) return e.index
    }
    return 0
  }

  /**
   * Walks back from `index` to the last entry whose term is <= term, and returns that
   * index with its term. Used on both sides of a rejected MsgApp to skip a whole term of
   * mismatching entries per round trip. Returns [index, 0] if index is out of the log.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const t = this.termOrUndefined(index)
      if (t === undefined) return [index, 0]
      if (t <= term) return [index, t]
    }
    return [0, 0]
  }

  /** Entries not yet persisted nor handed out for persisting, as a copy the caller may keep. */
  nextUnstableEntries(): Entry[] {
    return this.unstable.nextEntries()
  }

  /**
   * The last index that is both committed and on stable storage: the core hands out for
   * applying only entries the host has already persisted.
   */
  maxAppliableIndex(): number {
    return Math.min(this.committed, this.unstable.offset - 1)
  }

  /** Whether nextCommittedEnts() would return anything. */
  hasNextCommittedEnts(): boolean {
    if (this.unstable.snapshot !== undefined) return false
    return this.maxAppliableIndex() > Math.max(this.applying, this.firstIndex() - 1)
  }

  /** Committed, persisted entries after `applying` (not handed out yet), up to maxApplyBytes. */
  nextCommittedEnts(): Entry[] {
    if (!this.hasNextCommittedEnts()) return []
    const lo = Math.max(this.applying + 1, this.firstIndex())
    return this.slice(lo, this.maxAppliableIndex() + 1, this.maxApplyBytes)
  }

  /** Records that entries up to i were handed out for applying. */
  acceptApplying(i: number): void {
    if (i > this.committed) throw new RaftInvariantError(`applying(${i}) is past committed(${this.committed})`)
    this.applying = Math.max(this.applying, i)
  }

  /** The snapshot the log starts from: the pending one if any, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot()
  }

  /** Whether a received snapshot is waiting to be persisted. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined
  }

  /** The first index still readable (after the snapshot, pending or stored). */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex()
  }

  /** The index of the last entry, stable or not. */
  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex()
  }

  /**
   * The highest index the host has persisted that belongs to this log (entries replaced in
   * the unstable tail do not count). 0 while a received snapshot is unpersisted.
   */
  lastStableIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0
    return Math.min(this.storage.lastIndex(), this.unstable.offset - 1)
  }

  /** Raises the commit index. Throws if tocommit is past the end of the log. */
  commitTo(tocommit: number): void {
    if (this.committed >= tocommit) return
    if (this.lastIndex() < tocommit) {
      throw new RaftInvariantError(
        `tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
      )
    }
    this.committed = tocommit
  }

  /** Records that the application applied everything up to i. */
  appliedTo(i: number): void {
    if (i === 0) return
    if (this.committed < i || i < this.applied) {
      throw new RaftInvariantError(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`)
    }
    this.applied = i
    this.applying = Math.max(this.applying, i)
  }

  /** The host persisted entries up to i (of term t); see Unstable.stableTo. */
  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t)
  }

  /** The host persisted the received snapshot at index i. */
  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i)
  }

  /** The term of the last entry (0 for an empty log). */
  lastTerm(): number {
    return this.termOrUndefined(this.lastIndex()) ?? 0
  }

  /**
   * The term of entry i. Throws CompactedError before firstIndex()-1 and UnavailableError
   * after lastIndex().
   */
  term(i: number): number {
    const t = this.termOrUndefined(i)
    if (t !== undefined) return t
    if (i < this.firstIndex() - 1) throw new CompactedError(i)
    throw new UnavailableError(i)
  }

  /** The term of entry i, or undefined when it is outside [firstIndex()-1, lastIndex()]. */
  termOrUndefined(i: number): number | undefined {
    const u = this.unstable.maybeTerm(i)
    if (u !== undefined) return u
    // Past the unstable tail, or shadowed by a received snapshot not yet persisted.
    if (i >= this.unstable.offset || this.unstable.snapshot !== undefined) return undefined
    const first = this.storage.firstIndex()
    if (i < first - 1 || i > this.storage.lastIndex()) return undefined
    try {
      return this.storage.term(i)
    } catch (err) {
      if (
        err instanceof RaftError &&
        (err.code === RaftErrorCode.COMPACTED || err.code === RaftErrorCode.UNAVAILABLE)
      ) {
        return undefined
      }
      throw err
    }
  }

  /** Whether the log holds entry i with term t. */
  matchTerm(i: number, t: number): boolean {
    return this.termOrUndefined(i) === t
  }

  /**
   * Whether a log ending at (lasti, term) is at least as up-to-date as this one (§5.4.1):
   * a later last term wins; with equal last terms the longer log wins.
   */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm()
    return term > lt || (term === lt && lasti >= this.lastIndex())
  }

  /**
   * Commits up to maxIndex if entry maxIndex has term `term` (a leader commits only entries
   * of its own term by counting replicas, §5.4.2). Returns whether the commit index moved.
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrUndefined(maxIndex) === term) {
      this.commitTo(maxIndex)
      return true
    }
    return false
  }

  /** Entries from i to the end, up to maxBytes (at least one entry if any). */
  entries(i: number, maxBytes: number): Entry[] {
    const last = this.lastIndex()
    if (i > last) return []
    return this.slice(i, last + 1, maxBytes)
  }

  /** Every entry in the log (for tests and debugging; copies). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.POSITIVE_INFINITY)
  }

  /** Replaces the log with a snapshot; the snapshot's index becomes committed. */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index
    this.unstable.restore(s)
  }

  /**
   * Entries [lo, hi) up to maxBytes (at least one). Throws CompactedError if lo was
   * compacted; hi must be <= lastIndex()+1.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    this.checkOutOfBounds(lo, hi)
    if (lo === hi) return []
    const off = this.unstable.offset
    let ents: Entry[] = []
    if (lo < off) {
      const stableHi = Math.min(hi, off)
      ents = this.storage.entries(lo, stableHi, maxBytes)
      // Storage hit the byte limit (or ran short): the unstable part cannot follow.
      if (ents.length < stableHi - lo) return ents
    }
    if (hi > off) {
      const from = Math.max(lo, off)
      if (ents.length === 0) {
        const u = this.unstable.entries
        const start = from - off
        return u.slice(start, limitEnd(u, start, hi - off, maxBytes))
      }
      // Storage may return its own array: build a new one rather than push into it.
      const all = ents.concat(this.unstable.slice(from, hi))
      const end = limitEnd(all, 0, all.length, maxBytes)
      return end === all.length ? all : all.slice(0, end)
    }
    return ents
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new RaftInvariantError(`invalid slice ${lo} > ${hi}`)
    const fi = this.firstIndex()
    if (lo < fi) throw new CompactedError(lo)
    const upper = this.lastIndex() + 1
    if (hi > upper) throw new RaftInvariantError(`slice[${lo},${hi}) out of bound [${fi},${upper}]`)
  }
}

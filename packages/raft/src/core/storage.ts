// The read side of the Raft log's stable storage, as the core sees it, and its in-memory
// twin. The host writes to its storage itself (from Ready); the core only reads.

import { limitEnd } from './entry-size.js'
import {
  CompactedError,
  RaftInvariantError,
  SnapshotOutOfDateError,
  UnavailableError,
} from './errors.js'
import type { ConfState, Entry, HardState, Snapshot } from './types.js'

/** What the core needs to restart: the last persisted HardState and membership. */
export interface InitialState {
  hardState: HardState
  confState: ConfState
}

/**
 * Synchronous access to the persisted Raft log. Entries [firstIndex(), lastIndex()] are
 * available; entry firstIndex()-1 is the last one folded into snapshot() (its term is still
 * answered by term()). Implementations throw CompactedError / UnavailableError as stated,
 * and CorruptionError when stored data of this group is damaged (the core passes it on, and
 * a multiraft host stops this group alone); any other error is fatal to the node.
 */
export interface Storage {
  /** The persisted HardState and the ConfState of the latest applied membership. */
  initialState(): InitialState
  /**
   * Entries [lo, hi), truncated to the longest prefix within maxBytes (at least one entry).
   * Throws CompactedError if lo < firstIndex(), UnavailableError if the range is not stored.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[]
  /**
   * The term of entry i for i in [firstIndex()-1, lastIndex()]. Throws CompactedError below
   * that range and UnavailableError above it.
   */
  term(i: number): number
  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): number
  /** Index of the last entry; firstIndex()-1 when the log is empty. */
  lastIndex(): number
  /**
   * The most recent snapshot. May throw SnapshotTemporarilyUnavailableError, in which case
   * the core asks again later.
   */
  snapshot(): Snapshot
}

/** A ConfState with nobody in it. */
export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
}

/** An empty snapshot at index 0, term 0. */
export function emptySnapshot(): Snapshot {
  return { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: emptyConfState() } }
}

/**
 * Storage kept in memory: the test and simulator twin of the persistent Raft log store.
 * Also usable as the in-memory tail of a persistent implementation.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 }
  private snap: Snapshot = emptySnapshot()
  /**
   * ents[0] is a dummy entry holding the index and term of the snapshot; real entries
   * follow it. Invariant: ents[i].index === ents[0].index + i.
   */
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }]

  /** The HardState last set and the ConfState of the current snapshot. */
  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: this.snap.metadata.confState }
  }

  /** Records the HardState (as the host would persist it from a Ready). */
  setHardState(hs: HardState): void {
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit }
  }

  /** See Storage.entries; returns a fresh array. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.dummy().index
    if (lo <= offset) throw new CompactedError(lo)
    if (hi > this.lastIndex() + 1) {
      throw new RaftInvariantError(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`)
    }
    if (this.ents.length === 1) throw new UnavailableError(lo)
    const from = lo - offset
    return this.ents.slice(from, limitEnd(this.ents, from, hi - offset, maxBytes))
  }

  /** See Storage.term. */
  term(i: number): number {
    const offset = this.dummy().index
    if (i < offset) throw new CompactedError(i)
    const e = this.ents[i - offset]
    if (e === undefined) throw new UnavailableError(i)
    return e.term
  }

  /** See Storage.lastIndex. */
  lastIndex(): number {
    return this.dummy().index + this.ents.length - 1
  }

  /** See Storage.firstIndex. */
  firstIndex(): number {
    return this.dummy().index + 1
  }

  /** The last snapshot applied or created. */
  snapshot(): Snapshot {
    return this.snap
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    const cur = this.snap.metadata.index
    if (cur >= snap.metadata.index) throw new SnapshotOutOfDateError(snap.metadata.index, cur)
    this.snap = snap
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: new Uint8Array(0) }]
  }

  /**
   * Makes a snapshot of the application state `data` as of applied index i, with the
   * membership cs at that point. The log is not compacted; call compact() for that.
   */
  createSnapshot(i: number, cs: ConfState, data: Uint8Array): Snapshot {
    const cur = this.snap.metadata.index
    if (i <= cur) throw new SnapshotOutOfDateError(i, cur)
    if (i > this.lastIndex()) {
      throw new RaftInvariantError(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`)
    }
    const term = (this.ents[i - this.dummy().index] as Entry).term
    this.snap = { data, metadata: { index: i, term, confState: cs } }
    return this.snap
  }

  /**
   * Discards entries up to and including compactIndex. The host must not compact past
   * its applied index. Throws CompactedError if already compacted that far.
   */
  compact(compactIndex: number): void {
    const offset = this.dummy().index
    if (compactIndex <= offset) throw new CompactedError(compactIndex)
    if (compactIndex > this.lastIndex()) {
      throw new RaftInvariantError(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`)
    }
    const i = compactIndex - offset
    const at = this.ents[i] as Entry
    const rest = this.ents.slice(i + 1)
    rest.unshift({ term: at.term, index: at.index, type: 'normal', data: new Uint8Array(0) })
    this.ents = rest
  }

  /**
   * Appends entries (as the host would persist Ready.entries). Entries overlapping the
   * stored log replace it from the first overlapping index on; entries at or before the
   * snapshot are ignored. The entries must be contiguous with the stored log.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = this.firstIndex()
    const head = (entries[0] as Entry).index
    const last = head + entries.length - 1
    if (last < first) return
    let from = 0
    if (first > head) from = first - head
    const start = head + from
    const offset = start - this.dummy().index
    if (offset > this.ents.length) {
      throw new RaftInvariantError(`missing log entry [last: ${this.lastIndex()}, append at: ${start}]`)
    }
    this.ents.length = offset
    for (let k = from; k < entries.length; k++) this.ents.push(entries[k] as Entry)
  }

  private dummy(): Entry {
    return this.ents[0] as Entry
  }
}

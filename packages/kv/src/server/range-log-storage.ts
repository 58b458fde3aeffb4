// The Raft core's synchronous Storage for one range, over the engine's RaftLogStore.
// Snapshots are made on demand from a consistent engine snapshot: the first request starts
// the work and answers "temporarily unavailable"; the core asks again later. A damaged entry
// becomes the core's CorruptionError, on which the multiraft host stops this range's group.

import { CompactedError, CorruptionError, SnapshotTemporarilyUnavailableError, UnavailableError, type ConfState, type Entry, type InitialState, type Snapshot, type Storage } from '@mrdb/raft'
import { RaftLogCorruptionError, StorageError, StorageErrorCode, type RaftLogStore } from '@mrdb/storage'

/** Produces a snapshot of the range as of its current applied index. */
export type SnapshotMaker = () => Promise<Snapshot>

/** Storage of one range's Raft log for the core. */
export class RangeLogStorage implements Storage {
  private ready: Snapshot | undefined
  private making = false

  constructor(
    private readonly rangeId: number,
    private readonly log: RaftLogStore,
    /** The membership as of the replica's applied index. */
    private readonly confState: () => ConfState,
    private readonly makeSnapshot: SnapshotMaker,
  ) {}

  initialState(): InitialState {
    return { hardState: this.log.hardState(this.rangeId), confState: this.confState() }
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.translate(() => this.log.entries(this.rangeId, lo, hi, maxBytes), lo)
  }

  term(i: number): number {
    return this.translate(() => this.log.term(this.rangeId, i), i)
  }

  firstIndex(): number {
    return this.log.firstIndex(this.rangeId)
  }

  lastIndex(): number {
    return this.log.lastIndex(this.rangeId)
  }

  snapshot(): Snapshot {
    const snap = this.ready
    if (snap && snap.metadata.index >= this.firstIndex() - 1) {
      this.ready = undefined
      return snap
    }
    if (!this.making) {
      this.making = true
      this.makeSnapshot()
        .then((s) => (this.ready = s))
        .catch(() => {
          // the core asks again; a failure here is retried then
        })
        .finally(() => (this.making = false))
    }
    throw new SnapshotTemporarilyUnavailableError()
  }

  private translate<T>(read: () => T, index: number): T {
    try {
      return read()
    } catch (err) {
      if (err instanceof StorageError && err.code === StorageErrorCode.COMPACTED) throw new CompactedError(index)
      if (err instanceof StorageError && err.code === StorageErrorCode.UNAVAILABLE) throw new UnavailableError(index)
      // The log store names the damaged entry; damage LevelDB itself found names none.
      if (err instanceof StorageError && err.code === StorageErrorCode.CORRUPTION) {
        throw new CorruptionError(err instanceof RaftLogCorruptionError ? err.index : undefined, err.message, { cause: err })
      }
      throw err
    }
  }
}

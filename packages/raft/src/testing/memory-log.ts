// In-memory twins of the multiraft host's storage and state machine, for tests.

import { MemoryStorage } from '../core/storage.js'
import type { ConfState, Entry, Snapshot } from '../core/types.js'
import type { GroupStateMachine, LogUpdate, RaftLogWriter } from '../multiraft/types.js'

/** The Raft logs of one node's groups, kept in MemoryStorage; counts writes like a disk would. */
export class MemoryLogWriter implements RaftLogWriter {
  readonly storages = new Map<number, MemoryStorage>()
  writes = 0
  syncedWrites = 0

  /** The storage of a group, created on first use (bootstrapped with `voters` at index 1 if given). */
  storage(groupId: number, voters?: number[]): MemoryStorage {
    let s = this.storages.get(groupId)
    if (!s) {
      s = new MemoryStorage()
      if (voters) {
        const confState: ConfState = { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
        s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState } })
        s.setHardState({ term: 1, vote: 0, commit: 1 })
      }
      this.storages.set(groupId, s)
    }
    return s
  }

  async write(updates: readonly LogUpdate[], sync: boolean): Promise<void> {
    this.writes++
    if (sync) this.syncedWrites++
    for (const u of updates) {
      const s = this.storage(u.groupId)
      if (u.snapshot) s.applySnapshot(u.snapshot)
      if (u.entries.length > 0) s.append(u.entries)
      if (u.hardState) s.setHardState(u.hardState)
    }
  }
}

/** A state machine that records applied entries with data as strings; it survives host restarts like a disk would. */
export class RecordingStateMachine implements GroupStateMachine {
  readonly applied: string[] = []
  appliedIndex = 1
  /** The term of every entry applied (or restored) here, by index. */
  readonly appliedTerms = new Map<number, number>()

  async restore(snapshot: Snapshot): Promise<void> {
    this.applied.length = 0
    if (snapshot.data.length > 0) this.applied.push(...new TextDecoder().decode(snapshot.data).split('\n'))
    this.appliedIndex = snapshot.metadata.index
    this.appliedTerms.set(snapshot.metadata.index, snapshot.metadata.term)
  }

  async apply(entries: readonly Entry[]): Promise<void> {
    for (const e of entries) {
      if (e.index !== this.appliedIndex + 1) throw new Error(`applied ${e.index} after ${this.appliedIndex}`)
      if (e.data.length > 0) this.applied.push(new TextDecoder().decode(e.data))
      this.appliedIndex = e.index
      this.appliedTerms.set(e.index, e.term)
    }
  }

  async applyConfChange(entry: Entry): Promise<void> {
    this.appliedIndex = entry.index
    this.appliedTerms.set(entry.index, entry.term)
  }
}

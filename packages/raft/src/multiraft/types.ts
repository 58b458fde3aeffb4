// What the multiraft host needs from the layers around it: durable log writes for many
// groups at once, and a state machine per group.

import type { Storage } from '../core/storage.js'
import type { ConfState, Entry, HardState, Snapshot } from '../core/types.js'

/** The parts of one group's Ready that must reach stable storage. */
export interface LogUpdate {
  groupId: number
  snapshot?: Snapshot
  entries: Entry[]
  hardState?: HardState
}

/** Writes the log updates of many groups atomically: one batch, one fsync when `sync`. */
export interface RaftLogWriter {
  write(updates: readonly LogUpdate[], sync: boolean): Promise<void>
}

/** The application side of one group. Calls for one group never overlap. */
export interface GroupStateMachine {
  /** Replaces the state with a snapshot from the leader (before any entry after it is applied). */
  restore(snapshot: Snapshot): Promise<void>
  /** Applies committed 'normal' entries in order (empty ones included: they advance the applied index). */
  apply(entries: readonly Entry[]): Promise<void>
  /**
   * Applies a committed 'confChange' entry, which the core has already taken in: `confState`
   * is the membership from now on. Persist it with the applied index.
   */
  applyConfChange(entry: Entry, confState: ConfState): Promise<void>
}

/** How to host one group on this node. */
export interface GroupOptions {
  groupId: number
  /** This node's replica id in the group. */
  replicaId: number
  /** Node (store) id of every replica of the group, by replica id. */
  peers: ReadonlyMap<number, number>
  /** The group's persisted log, read by the core. */
  storage: Storage
  stateMachine: GroupStateMachine
  /** The index the state machine has applied (durably) before this start. */
  applied: number
  /**
   * A new group whose replica on that node will campaign at once (a bootstrap designates
   * one): this replica starts quiesced, watching that node, and neither ticks nor campaigns
   * until a message wakes it or the node goes silent. Thousands of ranges created together
   * then elect one leader each, instead of every replica campaigning at once.
   */
  awaitLeaderOn?: number
}

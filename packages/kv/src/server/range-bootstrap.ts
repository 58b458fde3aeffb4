// How a new range's replica begins on a node: its Raft log holds a snapshot record at index 1
// (term 1) and nothing else, and its replica state says so. System groups start the same way. Every replica of a new range —
// made at cluster bootstrap or by a split — starts from this same point.

import type { BatchOp, RaftLogBatch, RaftLogStore } from '@mrdb/storage'
import { encodeReplicaState, replicaStateKey, type ReplicaState } from './replica-state.js'

/** The Raft index and term every new range starts at. */
export const BOOTSTRAP_INDEX = 1
export const BOOTSTRAP_TERM = 1

/**
 * The engine operations that start a range's replica from `state` (whose applied index and
 * term must be the bootstrap ones). Call `committed()` once they are written.
 */
export function bootstrapOps(log: RaftLogStore, state: ReplicaState): { ops: BatchOp[]; committed: () => void } {
  const id = state.descriptor.rangeId
  const batch = bootstrapLog(log, id)
  return {
    ops: [...batch.operations, { type: 'put', key: replicaStateKey(id), value: encodeReplicaState(state) }],
    committed: () => batch.committed(),
  }
}

/** A log batch that starts group `groupId`'s Raft log at the bootstrap index and term. */
export function bootstrapLog(log: RaftLogStore, groupId: number): RaftLogBatch {
  return log
    .batch()
    .installSnapshot(groupId, { index: BOOTSTRAP_INDEX, term: BOOTSTRAP_TERM, data: new Uint8Array(0) })
    .setHardState(groupId, { term: BOOTSTRAP_TERM, vote: 0, commit: BOOTSTRAP_INDEX })
}

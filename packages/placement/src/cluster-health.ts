// The cluster's health as an operator asks for it (`mrdb status`): which ranges cannot
// serve (no quorum of live voters, or no leader), which have fewer live voters than the
// replication factor (a voter on a dead store or quarantined is not live), and how many
// stores are live, dead or leaving, and where the placement driver's own group is.

import type { ReplicaRecord, StoreState } from './pd-state.js'

/** One range's replication as health sees it. */
export interface RangeHealth {
  rangeId: number
  voters: number
  liveVoters: number
  /** The node its leader is on, 0 when none is known. */
  leaderNodeId: number
}

/** The PD's own group: its members' stores and its leader's. */
export interface PdGroupHealth {
  voters: number[]
  learners: number[]
  /** 0 when none is known. */
  leaderNodeId: number
  /** Voters on stores that are not live. */
  deadVoters: number[]
}

/** See the file comment. */
export interface ClusterHealth {
  /** `unavailable` when a range cannot serve, `degraded` when one is under-replicated, a store or a PD voter is dead, else `healthy`. */
  status: 'healthy' | 'degraded' | 'unavailable'
  stores: { total: number; live: number; dead: number; decommissioning: number; removed: number }
  ranges: number
  /** Ranges without a quorum of live voters, or without a live leader. */
  unavailable: RangeHealth[]
  /** Ranges (that can serve) with fewer live voters than the replication factor. */
  underReplicated: RangeHealth[]
  /** The PD group, when it was given. */
  pd?: PdGroupHealth
}

/** The health of `ranges` on `stores`; see the file comment. */
export function clusterHealth(
  ranges: ReadonlyArray<{ range: { rangeId: number; replicas: readonly ReplicaRecord[] }; leaderNodeId: number; quarantinedReplicas?: readonly number[] }>,
  stores: ReadonlyArray<{ storeId: number; live: boolean; state: StoreState }>,
  replicationFactor: number,
  pd?: { voters: readonly number[]; learners: readonly number[]; leaderNodeId: number },
): ClusterHealth {
  const live = new Set(stores.filter((s) => s.live).map((s) => s.storeId))
  const unavailable: RangeHealth[] = []
  const underReplicated: RangeHealth[] = []
  for (const { range, leaderNodeId, quarantinedReplicas = [] } of ranges) {
    const voters = range.replicas.filter((r) => r.role === 'voter')
    // A quarantined voter's store is live, but the replica takes no part in the range.
    const liveVoters = voters.filter((r) => live.has(r.nodeId) && !quarantinedReplicas.includes(r.replicaId)).length
    const h: RangeHealth = { rangeId: range.rangeId, voters: voters.length, liveVoters, leaderNodeId }
    if (h.liveVoters <= voters.length / 2 || !live.has(leaderNodeId)) unavailable.push(h)
    else if (h.liveVoters < replicationFactor) underReplicated.push(h)
  }
  const counted = stores.filter((s) => s.state !== 'removed')
  const dead = counted.filter((s) => !s.live).length
  const pdHealth = pd && { voters: [...pd.voters], learners: [...pd.learners], leaderNodeId: pd.leaderNodeId, deadVoters: pd.voters.filter((id) => !live.has(id)) }
  const health: ClusterHealth = {
    status: unavailable.length > 0 ? 'unavailable' : underReplicated.length > 0 || dead > 0 || (pdHealth?.deadVoters.length ?? 0) > 0 ? 'degraded' : 'healthy',
    stores: {
      total: counted.length,
      live: counted.length - dead,
      dead,
      decommissioning: stores.filter((s) => s.state === 'decommissioning').length,
      removed: stores.length - counted.length,
    },
    ranges: ranges.length,
    unavailable,
    underReplicated,
  }
  if (pdHealth) health.pd = pdHealth
  return health
}

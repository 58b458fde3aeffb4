import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clusterHealth } from './cluster-health.js'

const range = (rangeId: number, nodes: number[], leaderNodeId: number) => ({
  range: { rangeId, replicas: nodes.map((nodeId, i) => ({ replicaId: i + 1, nodeId, role: 'voter' as const })) },
  leaderNodeId,
})

test('health: unavailable without a live quorum or leader, under-replicated below the factor, healthy otherwise', () => {
  const stores = [1, 2, 3, 4].map((storeId) => ({ storeId, live: storeId !== 3, state: 'up' as const }))
  assert.equal(clusterHealth([range(1, [1, 2, 4], 1)], stores, 3).status, 'degraded', 'a dead store alone degrades')
  const h = clusterHealth([range(1, [1, 2, 4], 1), range(2, [1, 2, 3], 2), range(3, [2, 3, 5], 2), range(4, [1, 2, 4], 0)], stores, 3)
  assert.deepEqual(h.underReplicated.map((r) => r.rangeId), [2])
  assert.deepEqual(h.unavailable.map((r) => r.rangeId), [3, 4], 'range 3 lost its quorum, range 4 has no leader')
  assert.equal(h.status, 'unavailable')
  assert.deepEqual(h.stores, { total: 4, live: 3, dead: 1, decommissioning: 0, removed: 0 })
  const allLive = stores.map((s) => ({ ...s, live: true }))
  assert.equal(clusterHealth([range(1, [1, 2, 4], 4)], allLive, 3).status, 'healthy')
})

test('health: a quarantined voter is not live, though its store is', () => {
  const stores = [1, 2, 3].map((storeId) => ({ storeId, live: true, state: 'up' as const }))
  const h = clusterHealth([{ ...range(1, [1, 2, 3], 1), quarantinedReplicas: [3] }, { ...range(2, [1, 2, 3], 1), quarantinedReplicas: [2, 3] }], stores, 3)
  assert.deepEqual(h.underReplicated.map((r) => [r.rangeId, r.liveVoters]), [[1, 2]])
  assert.deepEqual(h.unavailable.map((r) => [r.rangeId, r.liveVoters]), [[2, 1]])
})

test('health: the PD group shows its members and leader; a PD voter on a dead store degrades', () => {
  const stores = [1, 2, 3, 4].map((storeId) => ({ storeId, live: storeId !== 2, state: 'up' as const }))
  const live = stores.map((s) => ({ ...s, live: true }))
  const pd = { voters: [1, 2, 3], learners: [4], leaderNodeId: 1 }
  assert.deepEqual(clusterHealth([range(1, [1, 3, 4], 1)], stores, 3, pd).pd, { voters: [1, 2, 3], learners: [4], leaderNodeId: 1, deadVoters: [2] })
  assert.equal(clusterHealth([range(1, [1, 3, 4], 1)], live, 3, pd).status, 'healthy')
  assert.equal(clusterHealth([range(1, [1, 3, 4], 1)], live, 3).pd, undefined)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PdErrorCode } from './errors.js'
import { runPdOperator, type PdMemberCalls } from './pd-membership.js'
import { emptyPdState, PD_GROUP_ID, type StoreRecord } from './pd-state.js'
import { readPdState } from './pd-storage.js'
import { PdTestCluster } from './testing/pd-cluster.js'
import { waitFor } from './testing/wait.js'

const store = (storeId: number): StoreRecord => ({ storeId, address: `127.0.0.1:${26000 + storeId}`, state: 'up' })
const BOOTSTRAP = { kind: 'bootstrap', clusterId: 'test-cluster', stores: [1, 2, 3, 4, 5].map(store), ranges: [], nextRangeId: 1 } as const

/**
 * The calls a node makes for the PD leader: joining starts a fresh node in the test cluster
 * (after the members cut their logs, so it must take a snapshot that lists it, as a node's
 * log storage makes on demand); leaving is recorded.
 */
function calls(c: PdTestCluster, left: number[], removed: number[]): PdMemberCalls {
  return {
    join: async (nodeId, members) => {
      if (c.nodes.has(nodeId)) return
      await c.compactLogs()
      await c.joinNode(nodeId, members, () => removed.push(nodeId))
    },
    leave: async (nodeId) => {
      left.push(nodeId)
    },
  }
}

test('a PD voter on a dead node moves to a fresh node: learner filled by snapshot, then one joint change; the group keeps serving', async () => {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  const left: number[] = []
  const removed: number[] = []
  try {
    assert.deepEqual(await c.propose(BOOTSTRAP), { ok: true })
    await c.waitApplied()
    const l = await c.waitLeader()
    const dead = [1, 2, 3].find((id) => id !== l.id)!
    await c.stopNode(dead)
    await runPdOperator(l.pd, { kind: 'moveReplica', rangeId: PD_GROUP_ID, fromNodeId: dead, toNodeId: 4, reason: 'test' }, calls(c, left, removed), 5000)
    const voters = [1, 2, 3, 4].filter((id) => id !== dead)
    for (const n of c.nodes.values()) {
      await waitFor(`node ${n.id} to apply the move`, () => n.pd.confState().votersOutgoing.length === 0 && n.pd.confState().voters.length === 3 && !n.pd.confState().voters.includes(dead))
      assert.deepEqual([...n.pd.confState().voters].sort(), voters, `node ${n.id}'s membership`)
      assert.deepEqual(n.pd.confState().learners, [])
    }
    const joined = c.nodes.get(4)!
    assert.equal(joined.pd.clusterId, 'test-cluster', 'the snapshot filled the new replica')
    assert.deepEqual((await readPdState(joined.engine))?.applied.confState.voters.sort(), voters, 'and it persisted its membership')
    assert.deepEqual(left, [dead], 'the removed store is told to stop its replica')
    // The new member votes: with another old member gone, the group still commits.
    await c.stopNode(voters.find((id) => id !== l.id && id !== 4)!)
    assert.deepEqual(await c.propose({ kind: 'putStore', store: store(6) }), { ok: true })
    await waitFor('the new member to apply it', () => joined.pd.storeById(6)?.address === store(6).address)
    assert.deepEqual(removed, [])
  } finally {
    await c.stop()
  }
})

test('PD membership changes refuse what does not fit; a removed live replica is told by its own apply; leadership moves on request', async () => {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  const left: number[] = []
  const removed: number[] = []
  try {
    assert.deepEqual(await c.propose(BOOTSTRAP), { ok: true })
    const l = await c.waitLeader()
    const code = (expected: string) => (e: { code?: string }) => e.code === expected
    await assert.rejects(l.pd.changeMembership([{ op: 'remove', nodeId: l.id }], 5000), code(PdErrorCode.INVALID_ARGUMENT), 'the leader hands off first')
    await assert.rejects(l.pd.changeMembership([{ op: 'promote', nodeId: 4 }], 5000), code(PdErrorCode.INVALID_ARGUMENT))
    await assert.rejects(l.pd.changeMembership([{ op: 'addLearner', nodeId: 2 === l.id ? 3 : 2 }], 5000), code(PdErrorCode.INVALID_ARGUMENT))
    await assert.rejects(runPdOperator(l.pd, { kind: 'splitRange', rangeId: PD_GROUP_ID, reason: 'test' }, calls(c, left, removed), 5000), code(PdErrorCode.INVALID_ARGUMENT))

    await runPdOperator(l.pd, { kind: 'moveReplica', rangeId: PD_GROUP_ID, fromNodeId: [1, 2, 3].find((id) => id !== l.id)!, toNodeId: 5, reason: 'test' }, calls(c, left, removed), 5000)
    await runPdOperator(l.pd, { kind: 'moveReplica', rangeId: PD_GROUP_ID, fromNodeId: 5 === l.id ? 1 : 5, toNodeId: 4, reason: 'test' }, calls(c, left, removed), 5000)
    await waitFor('node 5 to apply its removal', () => removed.includes(5))
    assert.equal(c.nodes.get(5)!.pd.isMember(), false)
    // Leadership moves off a replica before it is removed (a decommissioned PD leader).
    const to = l.pd.confState().voters.find((id) => id !== l.id)!
    await runPdOperator(l.pd, { kind: 'transferLeader', rangeId: PD_GROUP_ID, toNodeId: to, reason: 'test' }, calls(c, left, removed), 5000)
    await waitFor(`node ${to} to lead`, () => c.leader()?.id === to)
  } finally {
    await c.stop()
  }
})

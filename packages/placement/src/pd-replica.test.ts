import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryNetwork, MultiRaft, SeededRng, type ConfState } from '@mrdb/raft'
import { open } from '@mrdb/storage'
import { PdErrorCode } from './errors.js'
import { PdReplica } from './pd-replica.js'
import { emptyPdState, PD_GROUP_ID, type PdStateData, type RangeRecord, type StoreRecord } from './pd-state.js'
import { readPdState } from './pd-storage.js'
import { TimestampOracle } from './tso.js'
import { PdTestCluster } from './testing/pd-cluster.js'
import { waitFor } from './testing/wait.js'

const b = (s: string) => new Uint8Array(Buffer.from(s))
const store = (storeId: number): StoreRecord => ({ storeId, address: `127.0.0.1:${26000 + storeId}`, state: 'up' })
const range = (rangeId: number, start: string, end: string, generation: number): RangeRecord => ({
  rangeId,
  startKey: b(start),
  endKey: b(end),
  generation,
  replicas: [1, 2, 3].map((n) => ({ replicaId: n, nodeId: n, role: 'voter' as const })),
})
const BOOTSTRAP = { kind: 'bootstrap', clusterId: 'test-cluster', stores: [store(1), store(2), store(3)], ranges: [range(1, '', '', 1)], nextRangeId: 2 } as const
const VOTERS: ConfState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }

/** What each node keeps on disk and in memory, which must agree across nodes. */
async function views(c: PdTestCluster): Promise<Array<{ node: number; disk: PdStateData | undefined; memory: unknown }>> {
  const out = []
  for (const n of c.nodes.values()) {
    const disk = (await readPdState(n.engine))?.data
    const memory = { clusterId: n.pd.clusterId, tsoLimit: n.pd.tsoLimit, stores: n.pd.stores(), ranges: n.pd.ranges() }
    out.push({ node: n.id, disk: disk && { ...disk, ranges: [...disk.ranges].sort((x, y) => x.rangeId - y.rangeId) }, memory })
  }
  return out
}

async function assertSameEverywhere(c: PdTestCluster): Promise<void> {
  await c.waitApplied()
  const [first, ...rest] = await views(c)
  for (const v of rest) {
    assert.deepEqual(v.disk, first!.disk, `node ${v.node} persisted what node ${first!.node} did`)
    assert.deepEqual(v.memory, first!.memory, `node ${v.node} holds in memory what node ${first!.node} does`)
  }
}

test('proposals through the leader apply on all three replicas with identical persisted state; results come back to the proposer', async () => {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  try {
    const notBootstrapped = await c.propose({ kind: 'putStore', store: store(4) })
    assert.ok(!notBootstrapped.ok && notBootstrapped.error.code === PdErrorCode.NOT_BOOTSTRAPPED)
    assert.deepEqual(await c.propose(BOOTSTRAP), { ok: true })
    assert.deepEqual(await c.propose({ kind: 'putStore', store: store(4) }), { ok: true })
    assert.deepEqual(await c.propose({ kind: 'allocIds', idKind: 'range', count: 5 }), { ok: true, first: 2 })
    const seen = c.leader()!.pd.ranges()
    assert.equal(c.leader()!.pd.ranges(), seen, 'an unchanged range table is answered without copying it again')
    assert.deepEqual(await c.propose({ kind: 'putRange', range: range(2, 'm', '', 2) }), { ok: true, stale: false, replaced: [1] })
    assert.notDeepEqual(c.leader()!.pd.ranges(), seen, 'a changed one is read afresh')
    assert.deepEqual(await c.propose({ kind: 'putRange', range: range(1, '', 'm', 2) }), { ok: true, stale: false, replaced: [] })
    assert.deepEqual(await c.propose({ kind: 'putRange', range: range(1, '', '', 1) }), { ok: true, stale: true, replaced: [] })
    assert.deepEqual(await c.propose({ kind: 'raiseTsoLimit', limit: 12345n }), { ok: true, limit: 12345n })
    const invalid = await c.propose({ kind: 'putRange', range: range(99, 'x', 'y', 1) })
    assert.ok(!invalid.ok && invalid.error.code === PdErrorCode.INVALID_ARGUMENT, 'an unallocated range id is rejected at apply')

    // Bytes no command decodes from: every replica skips them alike and goes on applying.
    c.leader()!.raft.propose(PD_GROUP_ID, b('garbage'))
    assert.deepEqual(await c.propose({ kind: 'setStoreState', storeId: 4, state: 'decommissioning' }), { ok: true })

    await assertSameEverywhere(c)
    const l = c.leader()!
    await l.pd.readBarrier()
    assert.equal(l.pd.clusterId, 'test-cluster')
    assert.equal(l.pd.tsoLimit, 12345n)
    assert.deepEqual(l.pd.ranges().map((r) => [r.rangeId, r.generation]), [[1, 2], [2, 2]])
    assert.equal(l.pd.storeById(4)?.state, 'decommissioning')
    assert.deepEqual(l.pd.rangeById(2), range(2, 'm', '', 2))

    const follower = [...c.nodes.values()].find((n) => n !== l)!
    assert.throws(() => follower.pd.propose({ kind: 'putStore', store: store(5) }, 1000), (e: { code?: string; leaderHint?: number }) => e.code === PdErrorCode.NOT_LEADER && e.leaderHint === l.id)
    await assert.rejects(follower.pd.readBarrier(), (e: { code?: string }) => e.code === PdErrorCode.NOT_LEADER)
    // A replica whose group stopped here (its Raft log turned out damaged) sends callers elsewhere, with no hint.
    l.raft.removeGroup(PD_GROUP_ID)
    assert.throws(() => l.pd.checkLeader(), (e: { code?: string; leaderHint?: number }) => e.code === PdErrorCode.NOT_LEADER && e.leaderHint === undefined)
  } finally {
    await c.stop()
  }
})

test('a restarted node loads the state it persisted and replays what it missed', async () => {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  try {
    assert.deepEqual(await c.propose(BOOTSTRAP), { ok: true })
    assert.deepEqual(await c.propose({ kind: 'raiseTsoLimit', limit: 777n }), { ok: true, limit: 777n })
    await c.waitApplied()
    const down = [...c.nodes.values()].find((n) => n !== c.leader())!.id
    const before = (await views(c)).find((v) => v.node === down)!
    const appliedBefore = c.nodes.get(down)!.pd.appliedIndex
    await c.stopNode(down)
    assert.deepEqual(await c.propose({ kind: 'putStore', store: store(7) }), { ok: true })

    // Loaded before its group runs again: exactly what it had applied when it stopped.
    const engine = await open(join(c.dir, `n${down}`))
    const raft = new MultiRaft({ nodeId: down, transport: new MemoryNetwork().transport(down), logWriter: { write: async () => {} }, rng: new SeededRng(down) })
    const loaded = (await PdReplica.load({ nodeId: down, engine, raft }))!
    assert.deepEqual({ clusterId: loaded.clusterId, tsoLimit: loaded.tsoLimit, stores: loaded.stores(), ranges: loaded.ranges() }, before.memory, 'load gives back the persisted state')
    assert.equal(loaded.appliedIndex, appliedBefore)
    await engine.close()

    const restarted = await c.startNode(down)
    await waitFor('the restarted node to replay', () => restarted.pd.storeById(7) !== undefined)
    await assertSameEverywhere(c)

    for (const id of [1, 2, 3]) await c.stopNode(id)
    for (const id of [1, 2, 3]) await c.startNode(id)
    assert.deepEqual(await c.propose({ kind: 'allocIds', idKind: 'range', count: 1 }), { ok: true, first: 2 })
    await assertSameEverywhere(c)
  } finally {
    await c.stop()
  }
})

test('a snapshot installed on another engine replaces its PD state with an equal one', async () => {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-pd-snap-'))
  const engine = await open(dir)
  try {
    assert.deepEqual(await c.propose(BOOTSTRAP), { ok: true })
    assert.deepEqual(await c.propose({ kind: 'allocIds', idKind: 'range', count: 3 }), { ok: true, first: 2 })
    assert.deepEqual(await c.propose({ kind: 'putRange', range: range(3, 'k', '', 2) }), { ok: true, stale: false, replaced: [1] })
    assert.deepEqual(await c.propose({ kind: 'raiseTsoLimit', limit: 99n }), { ok: true, limit: 99n })
    await c.waitApplied()
    const source = c.leader()!
    const snapshot = await source.pd.makeSnapshot()
    assert.equal(snapshot.metadata.index, source.pd.appliedIndex)

    // The other engine starts with a different PD state whose records must all go.
    const other: PdStateData = { ...emptyPdState(), clusterId: 'old', nextRangeId: 10, stores: [store(1), store(2), store(3), store(8)], ranges: [range(5, '', 'a', 1), range(6, 'a', '', 1)] }
    await engine.batch(PdReplica.bootstrapOps(other, VOTERS))
    const raft = new MultiRaft({ nodeId: 9, transport: new MemoryNetwork().transport(9), logWriter: { write: async () => {} }, rng: new SeededRng(9) })
    const replica = (await PdReplica.load({ nodeId: 9, engine, raft }))!
    assert.equal(replica.clusterId, 'old')

    await engine.batch(await replica.snapshotOps(snapshot))
    await replica.restore(snapshot)
    const want = (await readPdState(source.engine))!
    const got = (await readPdState(engine))!
    assert.deepEqual(got, want, 'the persisted state and applied position equal the source')
    assert.deepEqual(replica.ranges(), source.pd.ranges())
    assert.deepEqual(replica.stores(), source.pd.stores())
    assert.equal(replica.tsoLimit, 99n)
    assert.equal(replica.appliedIndex, snapshot.metadata.index)
    const reloaded = (await PdReplica.load({ nodeId: 9, engine, raft }))!
    assert.deepEqual(reloaded.ranges(), source.pd.ranges())
    assert.equal(reloaded.storeById(8), undefined)
  } finally {
    await engine.close()
    await rm(dir, { recursive: true, force: true })
    await c.stop()
  }
})

test('a node behind a compacted log catches up by a PD snapshot sent through Raft', async () => {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  try {
    assert.deepEqual(await c.propose(BOOTSTRAP), { ok: true })
    await c.waitApplied()
    const down = [...c.nodes.values()].find((n) => n !== c.leader())!.id
    await c.stopNode(down)
    for (let i = 0; i < 20; i++) assert.deepEqual(await c.propose({ kind: 'putStore', store: store(10 + i) }), { ok: true })
    await c.waitApplied()
    // Every running node snapshots its state and cuts its log, so the missed entries are gone.
    for (const n of c.nodes.values()) {
      const snap = await n.pd.makeSnapshot()
      const log = c.logs.get(n.id)!
      log.createSnapshot(snap.metadata.index, snap.metadata.confState, snap.data)
      log.compact(snap.metadata.index)
    }
    const restarted = await c.startNode(down)
    await waitFor('the snapshot to install', () => restarted.pd.storeById(29) !== undefined)
    assert.ok(c.logs.get(down)!.firstIndex() > 2, 'the node took a snapshot, not the log')
    await assertSameEverywhere(c)
  } finally {
    await c.stop()
  }
})

test('the oracle on the PD leader persists its bound through the group before handing out timestamps', async () => {
  const c = await PdTestCluster.start([1, 2, 3], { ...emptyPdState(), clusterId: 'c', stores: [store(1)], tsoLimit: 5n })
  try {
    const l = await c.waitLeader()
    await l.pd.readBarrier()
    const oracle = new TimestampOracle({ raiseLimit: (limit) => l.pd.raiseTsoLimit(limit, 5000), clock: () => 1000 })
    oracle.start(l.pd.tsoLimit)
    const batches = await Promise.all(Array.from({ length: 20 }, () => oracle.next(3)))
    const last = batches.map((x) => x.first + 2n).reduce((a, x) => (x > a ? x : a))
    await c.waitApplied()
    for (const n of c.nodes.values()) assert.ok(n.pd.tsoLimit > last, `node ${n.id} persisted a bound above every timestamp handed out`)
  } finally {
    await c.stop()
  }
})

test('a replica added to the PD group is routed to, catches up, and every replica records the membership', async () => {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  try {
    assert.deepEqual(await c.propose(BOOTSTRAP), { ok: true })
    // Node 4 starts where every member started: the group's state at index 1.
    await c.bootstrapNode(4, emptyPdState(), VOTERS)
    const joining = await c.startNode(4)
    const l = await c.waitLeader()
    l.raft.proposeConfChange(PD_GROUP_ID, { transition: 'auto', changes: [{ type: 'addLearner', nodeId: 4 }] })
    await waitFor('the new replica to catch up', () => joining.pd.clusterId === 'test-cluster')
    for (const n of c.nodes.values()) {
      assert.deepEqual(n.pd.confState().learners, [4], `node ${n.id} applied the change`)
      assert.deepEqual([...n.pd.peers()].sort(([a], [b]) => a - b), [[1, 1], [2, 2], [3, 3], [4, 4]])
      assert.deepEqual((await readPdState(n.engine))?.applied.confState.learners, [4], `node ${n.id} persisted it`)
    }
    assert.deepEqual(await c.propose({ kind: 'putStore', store: store(4) }), { ok: true })
    await assertSameEverywhere(c)
  } finally {
    await c.stop()
  }
})

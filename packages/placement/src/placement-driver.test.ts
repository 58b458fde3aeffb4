import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FORGOTTEN_WAIT_MS, PlacementDriver, type StoreHeartbeat } from './placement-driver.js'
import { emptyPdState, type RangeRecord, type StoreRecord } from './pd-state.js'
import type { Operator } from './scheduler.js'
import { composeTimestamp } from '@mrdb/storage'
import { PdTestCluster } from './testing/pd-cluster.js'

const store = (storeId: number): StoreRecord => ({ storeId, address: `127.0.0.1:${26000 + storeId}`, state: 'up' })
/** Range 1, on stores 1, 2 and 4 (the PD group is on stores 1, 2 and 3). */
const RANGE: RangeRecord = {
  rangeId: 1,
  startKey: new Uint8Array(),
  endKey: new Uint8Array(),
  generation: 1,
  replicas: [1, 2, 4].map((nodeId, i) => ({ replicaId: i + 1, nodeId, role: 'voter' as const })),
}
const STORE_DEAD_MS = 10_000

/** A PD group on stores 1-3, a fourth store, a driver on the PD leader with a clock of its own and the operators it started. */
async function setUp(): Promise<{ c: PdTestCluster; driver: PlacementDriver; ops: Operator[]; clock: { now: number } }> {
  const c = await PdTestCluster.start([1, 2, 3], emptyPdState())
  assert.deepEqual(await c.propose({ kind: 'bootstrap', clusterId: 'test', stores: [1, 2, 3, 4].map(store), ranges: [RANGE], nextRangeId: 2 }), { ok: true })
  const leader = await c.waitLeader()
  const ops: Operator[] = []
  const clock = { now: 1_000_000 }
  const driver = new PlacementDriver({
    replica: leader.pd,
    raft: leader.raft,
    runner: async (op) => void ops.push(op),
    pdMembers: { join: async () => {}, leave: async () => {} },
    clock: () => clock.now,
    config: { storeDeadMs: STORE_DEAD_MS, splitBytes: 1000 },
    gcTtlMs: 1000,
  })
  return { c, driver, ops, clock }
}

/** Heartbeats of `storeIds`; store 1 reports leading range 1 with `bytes`, and no lock below `clearBelow`. */
async function heartbeats(driver: PlacementDriver, storeIds: number[], bytes = 0, clearBelow?: bigint): Promise<void> {
  for (const storeId of storeIds) {
    const h: StoreHeartbeat = { storeId, address: store(storeId).address, capacityBytes: 1e9, usedBytes: 1e6 + storeId, replicaCount: storeId === 3 ? 0 : 1, leading: [], oldestTxnTs: composeTimestamp(2_000_000_000) }
    if (storeId === 1) h.leading.push({ range: RANGE, approximateBytes: bytes, approximateKeys: 1, readsPerSecond: 0, writesPerSecond: 0, gcLocksClearBelow: clearBelow })
    await driver.heartbeat(h)
  }
}

test('a scheduler pass on the inputs of one that found nothing to do is skipped; a store found dead runs the scheduler again', async () => {
  const { c, driver, ops, clock } = await setUp()
  try {
    await heartbeats(driver, [1, 2, 3, 4])
    await driver.tick()
    await driver.tick()
    assert.equal(ops.length, 0, "nothing to do")
    assert.deepEqual(driver.passes, { scheduled: 1, skipped: 1 })
    // The same reports again, other free bytes, a later time: still nothing to decide on.
    clock.now += 1000
    await heartbeats(driver, [1, 2, 3, 4])
    await driver.tick()
    assert.deepEqual(driver.passes, { scheduled: 1, skipped: 2 })
    // Store 4 falls silent: nothing else changed but the time, and its replica is replaced.
    clock.now += STORE_DEAD_MS + 1
    await heartbeats(driver, [1, 2, 3])
    await driver.tick()
    assert.equal(driver.passes.scheduled, 2)
    assert.deepEqual(
      ops.map((op) => ({ ...op, reason: '' })),
      [{ kind: 'moveReplica', rangeId: 1, fromNodeId: 4, toNodeId: 3, reason: '' }],
    )
  } finally {
    await c.stop()
  }
})

test('a range report that changes what the scheduler looks at (its size) runs the scheduler again', async () => {
  const { c, driver, ops } = await setUp()
  try {
    await heartbeats(driver, [1, 2, 3, 4])
    await driver.tick()
    await driver.tick()
    assert.deepEqual(driver.passes, { scheduled: 1, skipped: 1 })
    await heartbeats(driver, [1, 2, 3, 4], 5000)
    await driver.tick()
    assert.deepEqual(driver.passes, { scheduled: 2, skipped: 1 })
    assert.deepEqual(
      ops.map((op) => op.kind + ' ' + op.rangeId),
      ['splitRange 1'],
    )
  } finally {
    await c.stop()
  }
})

test('the safe point follows a range lock report that came after the GC targets were computed', async () => {
  const { c, driver } = await setUp()
  try {
    await heartbeats(driver, [1, 2, 3, 4])
    await driver.tick()
    const { fence, safePoint } = driver.gcTargets()
    assert.ok(fence > 0n && safePoint === 0n, 'a fence, and no safe point before the range reported')
    await heartbeats(driver, [1, 2, 3, 4], 0, fence)
    await driver.tick()
    assert.equal(driver.gcTargets().safePoint, fence)
  } finally {
    await c.stop()
  }
})

test('an operator\'s end waits for its range to be listed again, not for every store\'s complete list; unlisted in time, every store is asked for one', async () => {
  const { c, driver, clock } = await setUp()
  try {
    const stores = [1, 2, 3, 4]
    await heartbeats(driver, stores)
    assert.deepEqual(stores.filter((s) => driver.wantsCompleteReport(s)), [], 'complete lists taken from every store')
    await driver.runRequested({ kind: 'transferLeader', rangeId: 1, toNodeId: 2, reason: 'test' })
    await driver.tick()
    assert.deepEqual(stores.filter((s) => driver.wantsCompleteReport(s)), [], 'no store is asked for a complete list at an operator\'s end')
    // Its leader lists it (as a new leader's next heartbeat does), and time passes: still none asked.
    await heartbeats(driver, [1])
    clock.now += FORGOTTEN_WAIT_MS + 1
    await driver.tick()
    assert.deepEqual(stores.filter((s) => driver.wantsCompleteReport(s)), [])
    // Forgotten again and listed by no store in time (a transfer that failed): complete lists from every store.
    await driver.runRequested({ kind: 'transferLeader', rangeId: 1, toNodeId: 2, reason: 'test' })
    for (const storeId of stores) await driver.heartbeat({ storeId, address: store(storeId).address, capacityBytes: 1e9, usedBytes: 1e6, replicaCount: 1, leading: [], complete: false })
    clock.now += FORGOTTEN_WAIT_MS + 1
    await driver.tick()
    assert.deepEqual(stores.filter((s) => driver.wantsCompleteReport(s)), stores)
  } finally {
    await c.stop()
  }
})

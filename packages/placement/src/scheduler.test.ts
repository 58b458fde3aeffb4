import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PdErrorCode } from './errors.js'
import { PD_GROUP_ID } from './pd-state.js'
import { schedule, type Operator, type RangeStats, type ScheduleInput, type StoreStats } from './scheduler.js'

const NOW = 10_000_000
const GB = 1e9

const store = (storeId: number, over: Partial<StoreStats> = {}): StoreStats => ({
  storeId,
  state: 'up',
  lastHeartbeatMs: NOW - 1000,
  capacityBytes: 100 * GB,
  usedBytes: 10 * GB,
  replicaCount: 10,
  leaderCount: 3,
  ...over,
})
const dead = (storeId: number, over: Partial<StoreStats> = {}): StoreStats => store(storeId, { lastHeartbeatMs: NOW - 31_000, ...over })

/** A range with voters on `voters` (led by the first unless said otherwise) and learners on `learners`. */
function range(rangeId: number, voters: number[], over: Partial<RangeStats> & { learners?: number[] } = {}): RangeStats {
  const { learners = [], ...rest } = over
  return {
    record: {
      rangeId,
      startKey: Uint8Array.of(rangeId),
      endKey: Uint8Array.of(rangeId + 1),
      generation: 1,
      replicas: [
        ...voters.map((nodeId) => ({ replicaId: nodeId, nodeId, role: 'voter' as const })),
        ...learners.map((nodeId) => ({ replicaId: nodeId, nodeId, role: 'learner' as const })),
      ],
    },
    leaderNodeId: voters[0],
    approximateBytes: 1_000_000,
    approximateKeys: 1000,
    ...rest,
  }
}

const run = (stores: StoreStats[], ranges: RangeStats[], config: ScheduleInput['config'] = {}): Operator[] => schedule({ stores, ranges, nowMs: NOW, config })
/** Operators without their reasons, for comparing. */
const plain = (ops: Operator[]) => ops.map(({ reason: _reason, ...op }) => op)

test('(a) a replica on a dead store is replaced on the live store with the fewest replicas, then the most free space', () => {
  const stores = [store(1), store(2), dead(3), store(4, { replicaCount: 5, usedBytes: 90 * GB }), store(5, { replicaCount: 5, usedBytes: 20 * GB }), store(6, { replicaCount: 8 })]
  const ops = run(stores, [range(1, [1, 2, 3])])
  assert.deepEqual(plain(ops), [{ kind: 'moveReplica', rangeId: 1, fromNodeId: 3, toNodeId: 5 }])
  assert.match(ops[0]!.reason, /dead store 3/)
  // A store heard from exactly storeDeadMs ago is still alive.
  assert.deepEqual(run([store(1), store(2), store(3, { lastHeartbeatMs: NOW - 30_000 }), store(4)], [range(1, [1, 2, 3])]), [])
})

test('(a) a leader on a decommissioning store hands leadership over first, then its replica moves; removed stores count as dead', () => {
  const stores = [store(1, { leaderCount: 9 }), store(2, { leaderCount: 2 }), store(3, { state: 'decommissioning' }), store(4)]
  const first = run(stores, [range(1, [3, 1, 2])])
  assert.deepEqual(plain(first), [{ kind: 'transferLeader', rangeId: 1, toNodeId: 2 }], 'to the healthy voter leading the fewest ranges')
  assert.match(first[0]!.reason, /decommissioning store 3/)
  assert.deepEqual(plain(run(stores, [range(1, [3, 1, 2], { leaderNodeId: 2 })])), [{ kind: 'moveReplica', rangeId: 1, fromNodeId: 3, toNodeId: 4 }])
  const removed = [store(1), store(2), store(3, { state: 'removed' }), store(4)]
  assert.deepEqual(plain(run(removed, [range(1, [1, 2, 3])])), [{ kind: 'moveReplica', rangeId: 1, fromNodeId: 3, toNodeId: 4 }])
  assert.deepEqual(plain(run(removed, [range(1, [1, 2], { learners: [3] })])), [{ kind: 'removeReplica', rangeId: 1, nodeId: 3 }], 'a learner there just goes')
})

test('(a) repairs never cost a quorum: no change without one, and an extra voter on a dead store is removed only when a quorum stays', () => {
  const stores = [store(1), store(2), dead(3), dead(4), store(5), store(6)]
  assert.deepEqual(run(stores, [range(1, [1, 3, 4])]), [], 'one live voter of three: Raft cannot commit a change')
  assert.deepEqual(run(stores, [range(2, [1, 2, 3, 4])]), [], 'two live voters of four are no quorum either')
  assert.deepEqual(plain(run(stores, [range(3, [1, 2, 5, 3])])), [{ kind: 'removeReplica', rangeId: 3, nodeId: 3 }], 'over the factor: removed, not replaced')
  // With nowhere to put a replacement, a dead replica stays (removing it would not add safety).
  assert.deepEqual(run([store(1), store(2), dead(3)], [range(4, [1, 2, 3])]), [])
})

test('(a) a quarantined replica is removed when no other store can take it; then (b) adds a fresh one, on the same store', () => {
  const stores = [store(1), store(2), store(3)]
  const ops = run(stores, [range(1, [1, 2, 3], { quarantinedReplicas: [3] })])
  assert.deepEqual(plain(ops), [{ kind: 'removeReplica', rangeId: 1, nodeId: 3 }])
  assert.match(ops[0]!.reason, /quarantined on store 3 .*damaged/)
  // Removed (the record no longer holds replica 3); store 3 still reports it until its data
  // is gone, which must not stop the fresh replica from going there.
  assert.deepEqual(plain(run(stores, [range(1, [1, 2], { quarantinedReplicas: [3] })])), [{ kind: 'addReplica', rangeId: 1, nodeId: 3 }])
  // The fresh replica (id 4 on store 3) is not the quarantined one.
  const fresh = range(1, [1, 2])
  fresh.record.replicas.push({ replicaId: 4, nodeId: 3, role: 'voter' })
  assert.deepEqual(run(stores, [{ ...fresh, quarantinedReplicas: [3] }]), [])
  // A dead replica in the same place stays: its store may come back.
  assert.deepEqual(run([store(1), store(2), dead(3)], [range(1, [1, 2, 3])]), [])
})

test('(a) a quarantined replica moves to another store when there is one; a quarantined learner goes; the leader never goes to one', () => {
  const stores = [store(1), store(2, { leaderCount: 0 }), store(3), store(4)]
  const ops = run(stores, [range(1, [1, 2, 3], { quarantinedReplicas: [2] })])
  assert.deepEqual(plain(ops), [{ kind: 'moveReplica', rangeId: 1, fromNodeId: 2, toNodeId: 4 }])
  assert.match(ops[0]!.reason, /replace replica quarantined on store 2/)
  assert.deepEqual(plain(run(stores, [range(1, [1, 2, 3], { learners: [4], quarantinedReplicas: [4] })])), [{ kind: 'removeReplica', rangeId: 1, nodeId: 4 }])
  // With store 4 busy receiving a snapshot the move waits, rather than drop to two voters;
  // and leadership, however unbalanced, never goes to the quarantined replica on store 2.
  const unbalanced = [store(1, { leaderCount: 10 }), store(2, { leaderCount: 0 }), store(3, { leaderCount: 10 }), store(4)]
  const busy: Operator = { kind: 'addReplica', rangeId: 9, nodeId: 4, reason: 'earlier pass' }
  const waiting = [range(1, [1, 2, 3], { quarantinedReplicas: [2] }), { ...range(9, [1, 3]), pendingOperator: busy }]
  assert.deepEqual(run(unbalanced, waiting, { maxConcurrentSnapshotsPerStore: 1 }), [])
  assert.deepEqual(plain(run(unbalanced, [range(1, [1, 2, 3])])), [{ kind: 'transferLeader', rangeId: 1, toNodeId: 2 }], 'without the quarantine it would')
})

test('(a) a quarantined replica does not count toward a quorum: with one voter dead too, nothing changes', () => {
  const stores = [store(1), store(2), dead(3), store(4), store(5)]
  assert.deepEqual(run(stores, [range(1, [1, 2, 3], { quarantinedReplicas: [2] })]), [], 'one live voter of three')
  assert.deepEqual(run(stores, [range(1, [1, 2, 3, 4], { quarantinedReplicas: [2] })]), [], 'two live voters of four')
  assert.deepEqual(plain(run(stores, [range(1, [1, 2, 3, 4, 5], { quarantinedReplicas: [2] })])), [{ kind: 'removeReplica', rangeId: 1, nodeId: 2 }], 'three of five: an extra voter that is not live goes')
})

test('(b) a range short of voters gets one: its learner promoted, else a replica on the emptiest store; not without a store to put it on', () => {
  const stores = [store(1), store(2), store(3, { replicaCount: 12 }), store(4, { replicaCount: 4 })]
  const ops = run(stores, [range(1, [1, 2])])
  assert.deepEqual(plain(ops), [{ kind: 'addReplica', rangeId: 1, nodeId: 4 }])
  assert.match(ops[0]!.reason, /2 voters, wants 3/)
  assert.deepEqual(plain(run(stores, [range(1, [1, 2], { learners: [3] })])), [{ kind: 'promoteLearner', rangeId: 1, nodeId: 3 }])
  assert.deepEqual(run([store(1), store(2), dead(3)], [range(1, [1, 2])]), [], 'the only other store is dead')
  assert.deepEqual(run([store(1), store(2)], [range(1, [1])], { replicationFactor: 1 }), [], 'a factor of 1 is met')
})

test('(b) a range over the factor loses a non-leader voter on the fullest store; a stray learner goes', () => {
  const stores = [store(1, { replicaCount: 30 }), store(2, { replicaCount: 12 }), store(3, { replicaCount: 20 }), store(4, { replicaCount: 11 })]
  assert.deepEqual(plain(run(stores, [range(1, [1, 2, 3, 4])])), [{ kind: 'removeReplica', rangeId: 1, nodeId: 3 }], 'never the leader on store 1')
  assert.deepEqual(plain(run(stores, [range(1, [1, 2, 3], { learners: [4] })])), [{ kind: 'removeReplica', rangeId: 1, nodeId: 4 }])
})

test('(c) replicas move from the fullest store to the emptiest until the gap is within the threshold', () => {
  const stores = [store(1, { replicaCount: 20 }), store(2), store(3), store(4, { replicaCount: 5 })]
  const ranges = Array.from({ length: 10 }, (_, i) => range(i + 1, [2, 3, 1]))
  const ops = run(stores, ranges, { maxConcurrentSnapshotsPerStore: 100 })
  // 20/5 → 13/12: each move shrinks the gap by two; 13 − 12 is within 2, and stores 2 and 3 hold every range already.
  assert.deepEqual(plain(ops), Array.from({ length: 7 }, (_, i) => ({ kind: 'moveReplica', rangeId: i + 1, fromNodeId: 1, toNodeId: 4 })))
  assert.match(ops[0]!.reason, /store 1 holds 20 replicas, store 4 5/)
  assert.deepEqual(run(stores, ranges, { balanceThreshold: 15, maxConcurrentSnapshotsPerStore: 100 }), [], 'a gap of 15 is within a threshold of 15')
  // Where the fullest store leads every candidate, leadership moves off it first.
  const led = run(stores, [range(1, [1, 2, 3])], { maxConcurrentSnapshotsPerStore: 100 })
  assert.deepEqual(plain(led), [{ kind: 'transferLeader', rangeId: 1, toNodeId: 2 }])
})

test('(d) leadership moves from the store leading the most ranges to voters on stores leading the fewest', () => {
  const stores = [store(1, { leaderCount: 10 }), store(2, { leaderCount: 4 }), store(3, { leaderCount: 4 })]
  const ranges = Array.from({ length: 10 }, (_, i) => range(i + 1, [1, 2, 3]))
  const ops = run(stores, ranges)
  // 10/4/4 → 9/5/4 → 8/5/5 → 7/6/5: within the threshold of 2.
  assert.deepEqual(plain(ops), [
    { kind: 'transferLeader', rangeId: 1, toNodeId: 2 },
    { kind: 'transferLeader', rangeId: 2, toNodeId: 3 },
    { kind: 'transferLeader', rangeId: 3, toNodeId: 2 },
  ])
  // Only to a store holding a voter of the range: store 3 leads nothing but holds none of these.
  const twoWay = run([store(1, { leaderCount: 10 }), store(2, { leaderCount: 4 }), store(3, { leaderCount: 0 })], ranges.map((r) => range(r.record.rangeId, [1, 2])), { replicationFactor: 2 })
  assert.deepEqual(plain(twoWay), [
    { kind: 'transferLeader', rangeId: 1, toNodeId: 2 },
    { kind: 'transferLeader', rangeId: 2, toNodeId: 2 },
  ])
})

test('(e) a range over the split size, key count or load is to be split', () => {
  const stores = [store(1), store(2), store(3)]
  const config = { splitBytes: 1000, splitKeys: 100, splitQps: 50 }
  const ranges = [
    range(1, [1, 2, 3], { approximateBytes: 1001 }),
    range(2, [1, 2, 3], { approximateKeys: 101 }),
    range(3, [1, 2, 3], { approximateBytes: 1000, approximateKeys: 100, queriesPerSecond: 50 }),
    range(4, [1, 2, 3], { queriesPerSecond: 51 }),
  ]
  assert.deepEqual(plain(run(stores, ranges, config)), [
    { kind: 'splitRange', rangeId: 1 },
    { kind: 'splitRange', rangeId: 2 },
    { kind: 'splitRange', rangeId: 4 },
  ])
})

test('one operator per range at a time: the first rule that acts wins, and a pending operator blocks the rest', () => {
  const stores = [store(1), store(2), dead(3), store(4)]
  const needsAll = range(1, [1, 2, 3], { approximateBytes: 1e12 })
  assert.deepEqual(plain(run(stores, [needsAll])), [{ kind: 'moveReplica', rangeId: 1, fromNodeId: 3, toNodeId: 4 }])
  const pending: Operator = { kind: 'moveReplica', rangeId: 1, fromNodeId: 3, toNodeId: 4, reason: 'earlier pass' }
  assert.deepEqual(run(stores, [{ ...needsAll, pendingOperator: pending }]), [])
  assert.deepEqual(run(stores, [{ ...needsAll, leaderNodeId: undefined }]), [], 'no known leader')
  const ops = run(stores, Array.from({ length: 20 }, (_, i) => range(i + 1, [1, 2, 3], { approximateBytes: 1e12 })), { maxConcurrentSnapshotsPerStore: 100 })
  const perRange = new Map<number, number>()
  for (const op of ops) perRange.set(op.rangeId, (perRange.get(op.rangeId) ?? 0) + 1)
  assert.ok([...perRange.values()].every((n) => n === 1), JSON.stringify(plain(ops)))
  assert.equal(perRange.size, 20)
})

test('a store receives at most maxConcurrentSnapshotsPerStore snapshots, pending ones included', () => {
  const stores = [store(1), store(2), dead(3), store(4), store(5, { replicaCount: 50 })]
  const ranges = Array.from({ length: 6 }, (_, i) => range(i + 1, [1, 2, 3]))
  const targets = (ops: Operator[]) => ops.map((op) => (op.kind === 'moveReplica' ? op.toNodeId : -1))
  assert.deepEqual(targets(run(stores, ranges)), [4, 4, 5, 5], 'two each, to the emptier store first; the rest wait')
  const pending: Operator = { kind: 'addReplica', rangeId: 9, nodeId: 4, reason: 'earlier pass' }
  const withPending = [...ranges, { ...range(9, [1, 2]), pendingOperator: pending }]
  assert.deepEqual(targets(run(stores, withPending)), [4, 5, 5])
})

test('the same input gives the same operators whatever the order of its lists; a bad config is refused', () => {
  const stores = [store(1, { replicaCount: 30, leaderCount: 20 }), store(2), dead(3), store(4, { replicaCount: 2, leaderCount: 0 }), store(5, { state: 'decommissioning' })]
  const ranges = Array.from({ length: 12 }, (_, i) => range(i + 1, i % 3 === 0 ? [1, 2, 3] : i % 3 === 1 ? [1, 2, 5] : [1, 2], { approximateKeys: i * 200_000 }))
  const a = run(stores, ranges)
  assert.ok(a.length > 5)
  assert.deepEqual(run([...stores].reverse(), [...ranges].reverse()), a)
  assert.throws(() => run(stores, ranges, { balanceThreshold: 0 }), (e: { code?: string }) => e.code === PdErrorCode.INVALID_ARGUMENT)
  assert.throws(() => run(stores, ranges, { replicationFactor: 0 }), (e: { code?: string }) => e.code === PdErrorCode.INVALID_ARGUMENT)
})

// ---- rule (pd): the PD's own group ---------------------------------------------------------

const PD = PD_GROUP_ID
const runPd = (stores: StoreStats[], pd: NonNullable<ScheduleInput['pd']>, ranges: RangeStats[] = []): Operator[] => schedule({ stores, ranges, pd, nowMs: NOW })
const pdGroup = (voters: number[], over: Partial<NonNullable<ScheduleInput['pd']>> = {}): NonNullable<ScheduleInput['pd']> => ({ voters, learners: [], joint: false, leaderNodeId: voters[0], ...over })

test('(pd) a PD voter on a dead store moves to the healthy store without a PD replica that holds the fewest replicas', () => {
  const stores = [store(1), store(2), dead(3), store(4, { replicaCount: 20 }), store(5, { replicaCount: 4 })]
  const ops = runPd(stores, pdGroup([1, 2, 3]))
  assert.deepEqual(plain(ops), [{ kind: 'moveReplica', rangeId: PD, fromNodeId: 3, toNodeId: 5 }])
  assert.match(ops[0]!.reason, /PD voter on dead store 3/)
  // The learner a failed move left is the target, wherever the counts point.
  assert.deepEqual(plain(runPd(stores, pdGroup([1, 2, 3], { learners: [4] }))), [{ kind: 'moveReplica', rangeId: PD, fromNodeId: 3, toNodeId: 4 }])
  // It comes before the ranges' operators, which still get theirs.
  assert.deepEqual(plain(runPd(stores, pdGroup([1, 2, 3]), [range(1, [1, 2, 3])])).map((op) => op.rangeId), [PD, 1])
})

test('(pd) nothing while a change is pending or joint, without a live leader, or without a live quorum', () => {
  const stores = [store(1), dead(2), dead(3), store(4), store(5)]
  assert.deepEqual(runPd(stores, pdGroup([1, 2, 3])), [], 'one live voter of three cannot commit a change')
  const oneDead = [store(1), store(2), dead(3), store(4)]
  const pending: Operator = { kind: 'moveReplica', rangeId: PD, fromNodeId: 3, toNodeId: 4, reason: '' }
  assert.deepEqual(runPd(oneDead, pdGroup([1, 2, 3], { pendingOperator: pending })), [])
  assert.deepEqual(runPd(oneDead, pdGroup([1, 2, 4], { joint: true })), [])
  assert.deepEqual(runPd(oneDead, pdGroup([1, 2, 3], { leaderNodeId: undefined })), [])
  assert.deepEqual(runPd(oneDead, pdGroup([3, 1, 2])), [], 'a leader on a dead store is not the leader any more')
})

test('(pd) a PD leader on a decommissioning store hands leadership off, then its voter moves; learners on bad stores and stray ones go', () => {
  const stores = [store(1, { leaderCount: 5 }), store(2, { leaderCount: 1 }), store(3, { state: 'decommissioning' }), store(4)]
  assert.deepEqual(plain(runPd(stores, pdGroup([3, 1, 2]))), [{ kind: 'transferLeader', rangeId: PD, toNodeId: 2 }])
  assert.deepEqual(plain(runPd(stores, pdGroup([3, 1, 2], { leaderNodeId: 1 }))), [{ kind: 'moveReplica', rangeId: PD, fromNodeId: 3, toNodeId: 4 }])
  assert.deepEqual(plain(runPd([store(1), store(2), store(3), dead(4)], pdGroup([1, 2, 3], { learners: [4] }))), [{ kind: 'removeReplica', rangeId: PD, nodeId: 4 }])
  assert.deepEqual(plain(runPd([store(1), store(2), store(3), store(4)], pdGroup([1, 2, 3], { learners: [4] }))), [{ kind: 'removeReplica', rangeId: PD, nodeId: 4 }])
})

test('(pd) with no store to move to, a bad voter is removed only while more than three voters stay and keep a live quorum', () => {
  assert.deepEqual(plain(runPd([store(1), store(2), store(3), store(4), dead(5)], pdGroup([1, 2, 3, 4, 5]))), [{ kind: 'removeReplica', rangeId: PD, nodeId: 5 }])
  assert.deepEqual(runPd([store(1), store(2), dead(3)], pdGroup([1, 2, 3])), [], 'three voters stay: the dead store may come back')
  assert.deepEqual(runPd([store(1), store(2), dead(3), dead(4)], pdGroup([1, 2, 3, 4])), [], 'two live of four: no quorum')
})

/**
 * A model of the PD group under the scheduler: stores die (or are decommissioned) one after
 * another; each operator is carried out step by step as the PD carries it out (learner,
 * joint configuration, leave), and every configuration it passes through must keep a live
 * majority (both majorities while joint) and one replica per store at most.
 */
test('(pd) simulated: seven stores lose PD members one after another; the group is rebuilt on the others and never loses quorum on the way', () => {
  const stores = new Map([1, 2, 3, 4, 5, 6, 7].map((id) => [id, store(id)]))
  let voters = [1, 2, 3]
  let learners: number[] = []
  let leader = 1
  const live = (n: number) => NOW - stores.get(n)!.lastHeartbeatMs <= 30_000 && stores.get(n)!.state !== 'removed'
  const quorum = (vs: number[]) => vs.filter(live).length > vs.length / 2
  const check = (config: number[][]) => {
    for (const vs of config) assert.ok(quorum(vs), `configuration ${JSON.stringify(config)} has no live quorum`)
    assert.equal(new Set([...voters, ...learners]).size, voters.length + learners.length, 'two PD replicas on one store')
  }
  const settle = () => {
    for (let pass = 0; pass < 20; pass++) {
      const ops = runPd([...stores.values()], { voters, learners, joint: false, leaderNodeId: live(leader) ? leader : undefined })
      if (ops.length === 0) return
      for (const op of ops) {
        assert.equal(op.rangeId, PD)
        switch (op.kind) {
          case 'moveReplica': {
            if (!learners.includes(op.toNodeId)) learners = [...learners, op.toNodeId]
            check([voters])
            const next = [...voters.filter((n) => n !== op.fromNodeId), op.toNodeId]
            check([voters, next]) // joint
            voters = next
            learners = learners.filter((n) => n !== op.toNodeId)
            check([voters])
            break
          }
          case 'removeReplica':
            voters = voters.filter((n) => n !== op.nodeId)
            learners = learners.filter((n) => n !== op.nodeId)
            check([voters])
            break
          case 'transferLeader':
            leader = op.toNodeId
            break
          default:
            assert.fail(`unexpected ${op.kind}`)
        }
      }
    }
    assert.fail('the PD group did not settle')
  }
  // Elections are Raft's: a dead leader is replaced by a live voter before the PD acts.
  const elect = () => {
    if (!live(leader)) leader = voters.find(live)!
  }
  for (const victim of [1, 4, 2]) {
    stores.set(victim, dead(victim))
    elect()
    settle()
    assert.ok(voters.every(live) && voters.length === 3, `after store ${victim} died: voters ${voters}`)
  }
  stores.set(3, store(3, { state: 'decommissioning' }))
  leader = 3
  settle()
  assert.deepEqual([...voters].sort(), [5, 6, 7], 'store 3 drained: its leadership first, then its voter')
})

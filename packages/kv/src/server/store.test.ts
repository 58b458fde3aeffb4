import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryNetwork, type ConfState, type Entry, type RaftLogger, type Snapshot } from '@mrdb/raft'
import { MAX_MVCC_KEY_SIZE, MAX_TIMESTAMP, MvccStore, RaftLogStore, open, raftLogEntryKey, type BatchOp, type Engine } from '@mrdb/storage'
import { MAX_COMMAND_SIZE, type TimestampSource, type TxnMutation } from '../api/types.js'
import { KvError, KvErrorCode } from '../api/errors.js'
import { descriptorToJson, type RangeDescriptor } from '../api/range-descriptor.js'
import type { Command } from './command.js'
import { DELETE_RANGE_MAX_KEYS, type CommandResult } from './replica.js'
import { addReplica, moveReplica, removeReplica, type CreateReplica } from './replica-changes.js'
import { Store, type SystemGroup } from './store.js'
import { decodeReplicaState, encodeReplicaState, replicaStateKey } from './replica-state.js'
import { TestOracle } from '../testing/test-oracle.js'
import { waitFor } from '../testing/wait.js'

const b = (s: string) => Buffer.from(s)
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString())
const hasCode = (code: string) => (e: { code?: string }) => e.code === code

const RANGES: RangeDescriptor[] = [
  { rangeId: 1, startKey: new Uint8Array(0), endKey: b('m'), generation: 1, replicas: [1, 2, 3].map((n) => ({ replicaId: n, nodeId: n, role: 'voter' as const })) },
  { rangeId: 2, startKey: b('m'), endKey: new Uint8Array(0), generation: 1, replicas: [1, 2, 3].map((n) => ({ replicaId: n + 10, nodeId: n, role: 'voter' as const })) },
]

class TestCluster {
  readonly network = new MemoryNetwork()
  readonly stores = new Map<number, Store>()
  readonly engines = new Map<number, Engine>()

  private constructor(readonly dir: string) {}

  static async start(maxLogEntries?: number, leaseReads = false, logger?: RaftLogger, timestamps?: TimestampSource): Promise<TestCluster> {
    const c = new TestCluster(await mkdtemp(join(tmpdir(), 'mrdb-kv-')))
    c.maxLogEntries = maxLogEntries
    c.leaseReads = leaseReads
    c.logger = logger
    c.timestamps = timestamps
    for (const id of [1, 2, 3]) await c.startNode(id)
    for (const s of c.stores.values()) for (const d of RANGES) await s.bootstrapRange(d)
    return c
  }

  maxLogEntries: number | undefined
  leaseReads = false
  logger: RaftLogger | undefined
  timestamps: TimestampSource | undefined

  async startNode(id: number): Promise<Store> {
    const engine = await open(join(this.dir, `n${id}`))
    // The real tick (elections after 150-300 ms) and a generous proposal timeout: three
    // nodes share this one process, and CI machines run other tests beside it.
    const store = await Store.open({ nodeId: id, engine, transport: this.network.transport(id), tickMs: 50, sync: false, maxLogEntries: this.maxLogEntries, leaseReads: this.leaseReads, proposalTimeoutMs: 30_000, logger: this.logger, timestamps: this.timestamps })
    this.engines.set(id, engine)
    this.stores.set(id, store)
    return store
  }

  async stopNode(id: number): Promise<void> {
    await this.stores.get(id)?.close()
    await this.engines.get(id)?.close()
    this.stores.delete(id)
    this.engines.delete(id)
  }

  leader(rangeId: number): Store | undefined {
    return [...this.stores.values()].find((s) => s.raft.hasGroup(rangeId) && s.raft.leaderOf(rangeId) === s.replica(rangeId).replicaId)
  }

  async waitLeaders(): Promise<void> {
    await waitFor('leaders', () => RANGES.every((d) => this.leader(d.rangeId) !== undefined))
  }

  /** Writes through whoever leads the range, retrying while leadership moves. */
  writeRetrying(rangeId: number, command: Command): Promise<CommandResult> {
    return this.onLeader(rangeId, (l) => l.write(rangeId, command), [KvErrorCode.NOT_LEADER, KvErrorCode.UNAVAILABLE])
  }

  /** Reads through whoever leads the range, retrying while leadership moves. */
  getRetrying(rangeId: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.onLeader(rangeId, (l) => l.get(rangeId, key), [KvErrorCode.NOT_LEADER, KvErrorCode.UNAVAILABLE, KvErrorCode.RANGE_NOT_FOUND])
  }

  /** Runs a change on whoever leads the range, again while leadership moves or the range refuses the proposal. */
  changeRetrying<T>(rangeId: number, fn: (leader: Store) => Promise<T>): Promise<T> {
    return this.onLeader(rangeId, fn, [KvErrorCode.NOT_LEADER, KvErrorCode.UNAVAILABLE])
  }

  /** Runs `fn` on the range's leader, again on the next one after an error with one of `retryOn`; gives up after about 5 s. */
  private async onLeader<T>(rangeId: number, fn: (leader: Store) => Promise<T>, retryOn: readonly string[]): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const l = this.leader(rangeId)
        if (l) return await fn(l)
        if (attempt > 250) throw new Error(`range ${rangeId} has no leader`)
      } catch (err) {
        if (attempt > 250 || !retryOn.includes((err as { code?: string }).code ?? '')) throw err
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  async stop(): Promise<void> {
    for (const id of [...this.stores.keys()]) await this.stopNode(id)
    await rm(this.dir, { recursive: true, force: true })
  }
}

test('writes and linearizable reads on range leaders; typed errors elsewhere', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    const l1 = c.leader(1)!
    const l2 = c.leader(2)!
    assert.deepEqual(await l1.write(1, { kind: 'put', key: b('apple'), value: b('red') }), { ok: true })
    assert.deepEqual(await l2.write(2, { kind: 'put', key: b('pear'), value: b('green') }), { ok: true })
    assert.equal(text(await l1.get(1, b('apple'))), 'red')
    assert.equal(text(await l2.get(2, b('pear'))), 'green')

    const cas1 = await l1.write(1, { kind: 'cas', key: b('apple'), expected: b('red'), value: b('crimson') })
    assert.equal(cas1.ok && cas1.succeeded, true)
    const cas2 = await l1.write(1, { kind: 'cas', key: b('apple'), expected: b('red'), value: b('pink') })
    assert.ok(cas2.ok && cas2.succeeded === false && text(cas2.current) === 'crimson')
    const cas3 = await l1.write(1, { kind: 'cas', key: b('cherry'), expected: undefined, value: b('v') })
    assert.equal(cas3.ok && cas3.succeeded, true)

    for (const k of ['a1', 'a2', 'a3', 'b1']) await l1.write(1, { kind: 'put', key: b(k), value: b(k) })
    const del = await l1.write(1, { kind: 'deleteRange', start: b('a'), end: b('b') })
    assert.ok(del.ok && del.deleted === 4, JSON.stringify(del))
    assert.deepEqual((await l1.scan(1, new Uint8Array(0), new Uint8Array(0), 100)).rows.map(([k]) => text(k)), ['b1', 'cherry'])

    const follower = [...c.stores.values()].find((s) => s !== l1)!
    await assert.rejects(follower.get(1, b('apple')), (e: { code?: string; leaderHint?: number }) => e.code === KvErrorCode.NOT_LEADER && e.leaderHint === l1.nodeId)
    await assert.rejects(l1.write(1, { kind: 'put', key: b('zebra'), value: b('x') }), hasCode(KvErrorCode.KEY_NOT_IN_RANGE))
    await assert.rejects(l1.get(99, b('x')), hasCode(KvErrorCode.RANGE_NOT_FOUND))
  } finally {
    await c.stop()
  }
})

test('a quiesced range cuts its log to the applied index on every replica once it applied 64 KiB', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    const value = new Uint8Array(4096).fill(7)
    for (let i = 0; i < 20; i++) await c.writeRetrying(1, { kind: 'put', key: b(`k${i}`), value })
    await waitFor('every replica of range 1 quiesced with an empty log', () =>
      [...c.stores.values()].every((s) => s.raft.isQuiesced(1) && s.replica(1).logStorage.firstIndex() === s.replica(1).appliedIndex + 1),
    )
    // A range that applied little since keeps its log: the cut waits for 64 KiB.
    await c.writeRetrying(1, { kind: 'put', key: b('ksmall'), value: b('v') })
    await waitFor('range 1 quiesced again', () => [...c.stores.values()].every((s) => s.raft.isQuiesced(1) && s.replica(1).appliedIndex === c.leader(1)!.replica(1).appliedIndex))
    for (const s of c.stores.values()) assert.ok(s.replica(1).logStorage.firstIndex() <= s.replica(1).appliedIndex, `node ${s.nodeId} keeps its last entries`)
    assert.equal(text(await c.getRetrying(1, b('ksmall'))), 'v')
  } finally {
    await c.stop()
  }
})

test('a range kept awake past the log cutter\'s passes is cut once it quiesces, with nothing applied since', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    // A follower cut off: the leader cannot quiesce (its follower does not hold every entry).
    const leader = c.leader(1)!
    const cutOff = [...c.stores.keys()].find((id) => id !== leader.nodeId)!
    c.network.partition([cutOff], [...c.stores.keys()].filter((id) => id !== cutOff))
    const value = new Uint8Array(4096).fill(7)
    for (let i = 0; i < 20; i++) await c.writeRetrying(1, { kind: 'put', key: b(`k${i}`), value })
    // The cutter's passes (every second) look at range 1 while it is awake: nothing to cut yet.
    await new Promise((r) => setTimeout(r, 2500))
    assert.ok(!leader.raft.isQuiesced(1) && leader.replica(1).logStorage.firstIndex() <= leader.replica(1).appliedIndex, 'awake, its log kept')
    c.network.heal()
    await waitFor('every replica of range 1 quiesced with an empty log', () =>
      [...c.stores.values()].every((s) => s.raft.isQuiesced(1) && s.replica(1).logStorage.firstIndex() === s.replica(1).appliedIndex + 1),
    )
  } finally {
    await c.stop()
  }
})

/** A system group of one replica on node 1 that only counts what it applied: a stand-in for the placement driver's group. */
class CountingGroup implements SystemGroup {
  readonly replicaId = 1
  readonly appliedIndex = 1
  applied = 1
  peers(): ReadonlyMap<number, number> {
    return new Map([[1, 1]])
  }
  confState(): ConfState {
    return { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
  }
  async apply(entries: readonly Entry[]): Promise<void> {
    this.applied = entries.at(-1)?.index ?? this.applied
  }
  async applyConfChange(entry: Entry): Promise<void> {
    this.applied = entry.index
  }
  makeSnapshot(): Promise<Snapshot> {
    return Promise.reject(new Error('a group of one replica sends no snapshot'))
  }
  async snapshotOps(): Promise<BatchOp[]> {
    throw new Error('a group of one replica takes no snapshot')
  }
  async restore(): Promise<void> {
    throw new Error('a group of one replica takes no snapshot')
  }
}

test('a system group\'s log is cut by length like a range\'s', async () => {
  const c = await TestCluster.start(40)
  try {
    const store = c.stores.get(1)!
    await store.bootstrapSystemGroup(99, [])
    const group = new CountingGroup()
    store.hostSystemGroup(99, group)
    await waitFor('the system group elected its replica', () => store.raft.leaderOf(99) === 1)
    for (let i = 0; i < 100; i++) {
      const before = group.applied
      store.raft.propose(99, b(`e${i}`))
      await waitFor(`entry ${i} applied`, () => group.applied > before)
    }
    // The stored log as a restart would find it: fewer entries than the 40 allowed.
    await waitFor('the system group\'s log cut', async () => group.applied - (await RaftLogStore.open(c.engines.get(1)!)).firstIndex(99) < 40)
  } finally {
    await c.stop()
  }
})

test('a stopped node misses writes and a compacted log, restarts from disk, catches up by snapshot; checksums match', async () => {
  const c = await TestCluster.start(40)
  try {
    await c.waitLeaders()
    for (let i = 0; i < 20; i++) await c.leader(1)!.write(1, { kind: 'put', key: b(`k${i}`), value: b(`v${i}`) })
    const down = [...c.stores.values()].find((s) => s !== c.leader(1) && s !== c.leader(2))?.nodeId ?? 3
    await c.stopNode(down)
    await c.waitLeaders()
    for (let i = 0; i < 200; i++) await c.leader(1)!.write(1, { kind: 'put', key: b(`k${i % 50}`), value: b(`w${i}`) })
    await c.leader(2)!.write(2, { kind: 'put', key: b('x'), value: b('1') })
    await waitFor('leader log compacted', async () => {
      const l = c.leader(1)!
      return l.raft.status(1).commit > 100 && (l.replica(1).logStorage.firstIndex() > 30)
    })

    await c.startNode(down)
    const target = c.leader(1)!.replica(1).appliedIndex
    await waitFor('restarted node caught up', () => c.stores.get(down)!.replica(1).appliedIndex >= target)
    const sums = await Promise.all([...c.stores.values()].map((s) => s.replica(1).checksum()))
    await waitFor('all replicas at one applied index', async () => {
      const now = await Promise.all([...c.stores.values()].map((s) => s.replica(1).checksum()))
      sums.splice(0, sums.length, ...now)
      return new Set(now.map((x) => x.appliedIndex)).size === 1
    })
    assert.equal(new Set(sums.map((s) => s.checksum)).size, 1, `checksums differ: ${JSON.stringify(sums)}`)
    assert.equal(sums[0]!.keys > 0, true)
  } finally {
    await c.stop()
  }
})

test('a batch applies its puts and deletes atomically, as one command', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    const l = c.leader(1)!
    await l.write(1, { kind: 'put', key: b('gone'), value: b('x') })
    const applied = l.replica(1).appliedIndex
    const r = await l.write(1, { kind: 'batch', writes: [{ key: b('b1'), value: b('1') }, { key: b('b2'), value: b('2') }, { key: b('gone'), value: undefined }] })
    assert.deepEqual(r, { ok: true })
    assert.equal(l.replica(1).appliedIndex, applied + 1, 'the whole batch is one log entry')
    assert.deepEqual((await l.scan(1, new Uint8Array(0), new Uint8Array(0), 10)).rows.map(([k, v]) => `${text(k)}=${text(v)}`), ['b1=1', 'b2=2'])
    await assert.rejects(l.write(1, { kind: 'batch', writes: [{ key: b('b3'), value: b('3') }, { key: b('zz'), value: b('4') }] }), hasCode(KvErrorCode.KEY_NOT_IN_RANGE))
    assert.equal(await l.get(1, b('b3')), undefined, 'a batch with a key outside the range writes nothing')
  } finally {
    await c.stop()
  }
})

test('lease reads, when enabled, serve linearizable reads on the leader', async () => {
  const c = await TestCluster.start(undefined, true)
  try {
    await c.waitLeaders()
    const l = c.leader(1)!
    for (let i = 0; i < 20; i++) {
      await l.write(1, { kind: 'put', key: b('lease'), value: b(String(i)) })
      assert.equal(text(await l.get(1, b('lease'))), String(i))
    }
  } finally {
    await c.stop()
  }
})

test('the persisted replica state carries the timestamp of the last write it applied', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    const l = c.leader(1)!
    await Promise.all(Array.from({ length: 20 }, (_, i) => l.write(1, { kind: 'put', key: b('abc'), value: b(String(i)) })))
    for (const [id, engine] of c.engines) {
      await waitFor(`node ${id} applied`, () => c.stores.get(id)!.replica(1).appliedIndex === l.replica(1).appliedIndex)
      const state = decodeReplicaState((await engine.get(replicaStateKey(1)))!)
      const mvcc = new MvccStore(engine)
      const newest = text(await mvcc.get(b('abc'), state.lastTs))
      assert.notEqual(text(await mvcc.get(b('abc'), state.lastTs - 1n)), newest, `node ${id}: the newest version was committed at lastTs exactly`)
    }
  } finally {
    await c.stop()
  }
})

test('commands that fail their checks are refused before proposal and, if they reach the log anyway, become results on every replica', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    const l = c.leader(1)!
    const huge = new Uint8Array(MAX_MVCC_KEY_SIZE + 1).fill(0x61)
    await assert.rejects(l.write(1, { kind: 'put', key: huge, value: b('v') }), hasCode(KvErrorCode.INVALID_ARGUMENT))
    await assert.rejects(l.write(1, { kind: 'put', key: b('a'), value: new Uint8Array(MAX_COMMAND_SIZE) }), hasCode(KvErrorCode.INVALID_ARGUMENT))
    await assert.rejects(l.write(1, { kind: 'deleteRange', start: b('b'), end: b('a') }), hasCode(KvErrorCode.INVALID_ARGUMENT))
    // Straight to the Raft log, as a command proposed before a range change would arrive:
    // every replica rejects it alike, keeps applying, and replays it alike after a restart.
    const r = await l.replica(1).propose({ kind: 'batch', writes: [{ key: b('fine'), value: b('1') }, { key: huge, value: b('2') }] }, 5000)
    assert.ok(!r.ok && r.error.code === KvErrorCode.INVALID_ARGUMENT, JSON.stringify(r))
    const outside = await l.replica(1).propose({ kind: 'put', key: b('zebra'), value: b('x') }, 5000)
    assert.ok(!outside.ok && outside.error.code === KvErrorCode.KEY_NOT_IN_RANGE)
    assert.deepEqual(await l.write(1, { kind: 'put', key: b('after'), value: b('ok') }), { ok: true })
    assert.equal(await l.get(1, b('fine')), undefined, 'nothing of a rejected batch is written')
    for (const id of [1, 2, 3]) {
      await c.stopNode(id)
      await c.startNode(id)
    }
    await c.waitLeaders()
    assert.equal(text(await c.leader(1)!.get(1, b('after'))), 'ok')
  } finally {
    await c.stop()
  }
})

test('a batch meeting a lock writes nothing; a DeleteRange stays inside its range and resumes after its key limit', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    const l = c.leader(1)!
    // A transaction's lock, written beside the replica as a prewrite would leave it.
    const lockedBy = new MvccStore(c.engines.get(l.nodeId)!)
    await c.writeRetrying(1, { kind: 'put', key: b('free'), value: b('old') })
    await Promise.all([...c.engines.values()].map((e) => new MvccStore(e).write((w) => w.prewrite({ key: b('held'), kind: 'put', value: b('v') }, b('held'), 1n, 60_000))))
    const r = await c.writeRetrying(1, { kind: 'batch', writes: [{ key: b('free'), value: b('new') }, { key: b('held'), value: b('x') }] })
    assert.ok(!r.ok && r.error.code === KvErrorCode.KEY_LOCKED && r.error.lock?.startTs === 1n, r.ok ? 'ok' : r.error.message)
    assert.equal(text(await lockedBy.get(b('free'), MAX_TIMESTAMP)), 'old')
    await Promise.all([...c.engines.values()].map((e) => new MvccStore(e).write((w) => w.rollback(b('held'), 1n))))

    // Range 1 is ['', 'm'): a DeleteRange from 'k' with no end stops at 'm' and says so.
    await c.writeRetrying(2, { kind: 'put', key: b('zebra'), value: b('z') })
    await c.writeRetrying(1, { kind: 'put', key: b('kiwi'), value: b('k') })
    const del = await c.writeRetrying(1, { kind: 'deleteRange', start: b('k'), end: new Uint8Array(0) })
    assert.ok(del.ok && del.deleted === 1 && text(del.resume) === 'm', JSON.stringify(del))
    assert.equal(text(await new MvccStore(c.engines.get(1)!).get(b('zebra'), MAX_TIMESTAMP)), 'z', 'the next range keeps its keys')

    // Big applies block this one process's three nodes long enough for elections: retry as a client would.
    const keys = Array.from({ length: DELETE_RANGE_MAX_KEYS + 1 }, (_, i) => b(`d${String(i).padStart(6, '0')}`))
    for (let i = 0; i < keys.length; i += 1000) {
      assert.deepEqual(await c.writeRetrying(1, { kind: 'batch', writes: keys.slice(i, i + 1000).map((key) => ({ key, value: b('x') })) }), { ok: true })
    }
    const first = await c.writeRetrying(1, { kind: 'deleteRange', start: b('d'), end: b('e') })
    assert.ok(first.ok && first.deleted === DELETE_RANGE_MAX_KEYS && text(first.resume) === text(keys.at(-1)), JSON.stringify({ ...first, resume: text(first.ok ? first.resume : undefined) }))
    const rest = await c.writeRetrying(1, { kind: 'deleteRange', start: first.resume!, end: b('e') })
    assert.ok(rest.ok && rest.deleted === 1 && rest.resume === undefined)
  } finally {
    await c.stop()
  }
})

test('concurrent bootstraps of one range host it once', async () => {
  const c = await TestCluster.start()
  try {
    const d: RangeDescriptor = { ...RANGES[1]!, rangeId: 3, startKey: b('zz') }
    const s = c.stores.get(1)!
    await Promise.all([s.bootstrapRange(d), s.bootstrapRange(d), s.bootstrapRange(d)])
    assert.equal(s.descriptors().filter((x) => x.rangeId === 3).length, 1)
    assert.ok(s.raft.hasGroup(3))
  } finally {
    await c.stop()
  }
})

test('a split cuts a range in two on the same replicas: both halves serve their keys, through restarts', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    for (const k of ['n1', 'p1', 's1', 't1', 'x1']) await c.writeRetrying(2, { kind: 'put', key: b(k), value: b(k.toUpperCase()) })
    assert.ok((await c.writeRetrying(2, { kind: 'split', splitKey: b('t'), newRangeId: 3 })).ok)
    await assert.rejects(c.leader(2)!.write(2, { kind: 'split', splitKey: b('t'), newRangeId: 4 }), hasCode(KvErrorCode.KEY_NOT_IN_RANGE), 't is no longer in range 2')
    for (const s of c.stores.values()) {
      await waitFor(`node ${s.nodeId} hosts range 3`, () => s.raft.hasGroup(3))
      assert.equal(text(s.replica(2).descriptor.endKey), 't')
      assert.equal(s.replica(3).descriptor.generation, 2)
    }
    await waitFor('range 3 has a leader', () => c.leader(3) !== undefined)
    assert.equal(text(await c.leader(3)!.get(3, b('x1'))), 'X1')
    await assert.rejects(c.leader(3)!.write(3, { kind: 'split', splitKey: b('t'), newRangeId: 4 }), hasCode(KvErrorCode.INVALID_ARGUMENT), 't is already a boundary')
    assert.equal(text(await c.leader(2)!.get(2, b('s1'))), 'S1')
    await assert.rejects(c.leader(2)!.write(2, { kind: 'put', key: b('u'), value: b('1') }), hasCode(KvErrorCode.KEY_NOT_IN_RANGE))
    assert.deepEqual(await c.writeRetrying(3, { kind: 'put', key: b('u'), value: b('2') }), { ok: true })
    assert.deepEqual((await c.leader(3)!.scan(3, b('t'), new Uint8Array(0), 10)).rows.map(([k]) => text(k)), ['t1', 'u', 'x1'])
    const left = await c.leader(2)!.scan(2, b('m'), new Uint8Array(0), 10)
    assert.deepEqual(left.rows.map(([k]) => text(k)), ['n1', 'p1', 's1'])
    assert.equal(text(left.rangeEnd), 't', 'a scan says where its range ends now, so a client with a stale cache continues there')

    for (const id of [1, 2, 3]) {
      await c.stopNode(id)
      await c.startNode(id)
    }
    await waitFor('range 3 has a leader after restarts', () => c.leader(3) !== undefined)
    assert.equal(text(await c.leader(3)!.get(3, b('u'))), '2')
    // Followers apply the new leader's first entry a moment after it does.
    await waitFor('range 3 agrees on every node', async () => {
      const sums = await Promise.all([...c.stores.values()].map((s) => s.replica(3).checksum()))
      return new Set(sums.map((x) => `${x.appliedIndex}/${x.checksum}`)).size === 1
    })
  } finally {
    await c.stop()
  }
})

test('membership: a learner joins by snapshot and is promoted; a voter moves by joint consensus; a removed replica is destroyed', async () => {
  const c = await TestCluster.start(30)
  try {
    await c.waitLeaders()
    for (let i = 0; i < 60; i++) await c.writeRetrying(1, { kind: 'put', key: b(`k${i % 20}`), value: b(`v${i}`) })
    await waitFor('range 1 log compacted', () => c.leader(1)!.replica(1).logStorage.firstIndex() > 2)
    const four = await c.startNode(4)
    const create: CreateReplica = (nodeId, d) => c.stores.get(nodeId)!.createReplica(d)
    const viaLeader = async <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn(c.leader(1) ?? [...c.stores.values()][0]!)
        } catch (err) {
          if (attempt > 100 || !['NOT_LEADER', 'UNAVAILABLE'].includes((err as { code?: string }).code ?? '')) throw err
          await new Promise((r) => setTimeout(r, 50))
        }
      }
    }
    let d = await viaLeader((s) => addReplica(s, 1, 4, false, create))
    assert.deepEqual(d.replicas.map((r) => `${r.nodeId}:${r.replicaId}:${r.role}`), ['1:1:voter', '2:2:voter', '3:3:voter', '4:4:voter'])
    await waitFor('node 4 applied range 1', () => four.replica(1).appliedIndex >= c.leader(1)!.replica(1).appliedIndex)

    // Move the replica of a follower node to... nowhere new: remove it, and watch it go.
    const gone = [1, 2, 3].find((n) => n !== c.leader(1)!.nodeId)!
    d = await viaLeader((s) => removeReplica(s, 1, gone))
    assert.equal(d.replicas.length, 3)
    await waitFor(`node ${gone} dropped range 1`, () => !c.stores.get(gone)!.raft.hasGroup(1))
    const goneEngine = new MvccStore(c.engines.get(gone)!)
    await waitFor(`node ${gone} deleted range 1's data`, async () => (await goneEngine.get(b('k1'), MAX_TIMESTAMP)) === undefined)

    // A joint move back onto the node that left, with a new replica id.
    const from = [...d.replicas].find((r) => r.nodeId !== c.leader(1)!.nodeId)!.nodeId
    d = await viaLeader((s) => moveReplica(s, 1, from, gone, create))
    assert.deepEqual(d.replicas.map((r) => r.nodeId).sort(), [1, 2, 3, 4].filter((n) => n !== from))
    assert.ok(d.replicas.find((r) => r.nodeId === gone)!.replicaId >= 5, 'replica ids are never reused')
    await c.writeRetrying(1, { kind: 'put', key: b('after-move'), value: b('1') })
    const members = d.replicas.map((r) => c.stores.get(r.nodeId)!)
    await waitFor('members agree', async () => {
      const sums = await Promise.all(members.map((s) => s.replica(1).checksum()))
      return new Set(sums.map((x) => `${x.appliedIndex}/${x.checksum}`)).size === 1
    })
  } finally {
    await c.stop()
  }
})

test('a replica move survives its leader dying at each step: learner added, joint entered, joint left', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    await c.startNode(4)
    const keys: string[] = []
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const key = `a${keys.length}`
        assert.deepEqual(await c.writeRetrying(1, { kind: 'put', key: b(key), value: b(key) }), { ok: true })
        keys.push(key)
      }
    }
    const killLeaderAndWait = async (): Promise<number> => {
      const dead = c.leader(1)!.nodeId
      await c.stopNode(dead)
      await waitFor('a new leader', () => c.leader(1) !== undefined)
      return dead
    }
    const assertValid = async (step: string) => {
      // The leader may change meanwhile: one in the outgoing half leaves the group with it.
      await waitFor(`${step}: the joint configuration is left`, () => {
        const now = c.leader(1)
        return now !== undefined && now.raft.status(1).config.voters.outgoing.length === 0
      })
      const l = c.leader(1)!
      const d = l.replica(1).descriptor
      const voters = d.replicas.filter((r) => r.role === 'voter')
      assert.ok(voters.length >= 3, `${step}: ${JSON.stringify(d.replicas)}`)
      await write(5)
      for (const key of keys) assert.equal(text(await c.getRetrying(1, b(key))), key, `${step}: ${key}`)
    }
    await write(20)

    // Step 1: the learner is added; the leader dies before it is promoted.
    let l = c.leader(1)!
    let d = await l.changeReplicas(1, [{ op: 'addLearner', nodeId: 4 }])
    await c.stores.get(4)!.createReplica(d)
    let dead = await killLeaderAndWait()
    await assertValid('learner added')
    await c.startNode(dead)

    // Step 2: the joint configuration (promote 4, remove another voter) is entered; the leader dies in it.
    l = c.leader(1)!
    await waitFor('the learner caught up', () => l.replica(1).caughtUp(4))
    const leaving = l.replica(1).descriptor.replicas.find((r) => r.role === 'voter' && r.nodeId !== l.nodeId && r.nodeId !== 4)!.nodeId
    // The leader is cut off the moment it applies the joint configuration, before it can
    // propose leaving it; then it dies. The others hold the joint entry (it committed).
    const leader = l
    const observe = leader.membershipChanged.bind(leader)
    let cutOff = false
    leader.membershipChanged = (replica) => {
      if (!cutOff && replica.rangeId === 1 && leader.raft.status(1).config.voters.outgoing.length > 0) {
        cutOff = true
        c.network.partition([leader.nodeId], [1, 2, 3, 4].filter((n) => n !== leader.nodeId))
      }
      observe(replica)
    }
    const change = leader.changeReplicas(1, [
      { op: 'promote', nodeId: 4 },
      { op: 'remove', nodeId: leaving },
    ])
    change.catch(() => {}) // its leader dies under it
    await waitFor('joint entered', () => cutOff, 10_000)
    await c.stopNode(leader.nodeId)
    dead = leader.nodeId
    c.network.heal()
    await waitFor('a new leader', () => c.leader(1) !== undefined)
    await assertValid('joint entered')
    d = c.leader(1)!.replica(1).descriptor
    assert.ok(d.replicas.some((r) => r.nodeId === 4 && r.role === 'voter'), 'the new leader finished the move')
    assert.ok(!d.replicas.some((r) => r.nodeId === leaving), 'the old voter is gone')
    await c.startNode(dead)

    // Step 3: a move back onto the node that left completes (joint left); then the leader dies.
    l = c.leader(1)!
    const out = l.replica(1).descriptor.replicas.find((r) => r.nodeId !== l.nodeId)!.nodeId
    await waitFor(`node ${leaving} dropped its old replica`, () => !c.stores.get(leaving)!.raft.hasGroup(1))
    await moveReplica(l, 1, out, leaving, (nodeId, desc) => c.stores.get(nodeId)!.createReplica(desc))
    await killLeaderAndWait()
    await assertValid('joint left')
  } finally {
    await c.stop()
  }
})

test('a write its old leader appended but a later leader overwrote fails at once with NOT_LEADER, not after its whole timeout', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    assert.deepEqual(await c.writeRetrying(1, { kind: 'put', key: b('a'), value: b('before') }), { ok: true })
    const old = c.leader(1)!
    const others = [1, 2, 3].filter((n) => n !== old.nodeId)
    c.network.partition([old.nodeId], others)
    // Appended to the cut-off leader's log at its term; it can never commit there.
    const lost = old.write(1, { kind: 'put', key: b('a'), value: b('lost') })
    await waitFor('a leader among the others', () => others.some((n) => c.stores.get(n)!.raft.leaderOf(1) === c.stores.get(n)!.replica(1).replicaId))
    const next = c.stores.get(others.find((n) => c.stores.get(n)!.raft.leaderOf(1) === c.stores.get(n)!.replica(1).replicaId)!)!
    assert.deepEqual(await next.write(1, { kind: 'put', key: b('a'), value: b('after') }), { ok: true })
    c.network.heal()
    // The old leader takes the new leader's log, which replaces its entry, and applies an
    // entry of the later term: the write is certainly lost. The proposal timeout is 30 s.
    const started = Date.now()
    const result = await lost
    assert.equal(result.ok, false)
    assert.equal(!result.ok && result.error.code, KvErrorCode.NOT_LEADER, JSON.stringify(result))
    assert.ok(Date.now() - started < 25_000, 'answered before the proposal timeout')
    assert.equal(text(await c.getRetrying(1, b('a'))), 'after')
  } finally {
    c.network.heal()
    await c.stop()
  }
})

test('an empty replica left by a change that never committed gives way to the next one', async () => {
  const c = await TestCluster.start()
  try {
    const four = await c.startNode(4)
    const base = RANGES[0]!
    const first: RangeDescriptor = { ...base, generation: 2, replicas: [...base.replicas, { replicaId: 4, nodeId: 4, role: 'learner' }] }
    await four.createReplica(first)
    await four.createReplica(first) // idempotent
    const second: RangeDescriptor = { ...base, generation: 3, replicas: [...base.replicas, { replicaId: 5, nodeId: 4, role: 'learner' }] }
    await four.createReplica(second)
    assert.equal(four.replica(1).replicaId, 5)
    await assert.rejects(four.createReplica({ ...RANGES[1]!, startKey: b('a'), rangeId: 9, replicas: [{ replicaId: 1, nodeId: 4, role: 'learner' }] }), hasCode(KvErrorCode.UNAVAILABLE), 'overlaps range 1 here')
  } finally {
    await c.stop()
  }
})

/**
 * Flips a bit of the stored bytes of one Raft log entry, in a stopped node's data directory
 * or through a running node's engine (the engine's own block checksums stay valid).
 */
async function damageLogEntry(where: string | Engine, groupId: number, index: number): Promise<void> {
  const engine = typeof where === 'string' ? await open(where) : where
  try {
    const key = raftLogEntryKey(groupId, index)
    const raw = Uint8Array.from((await engine.get(key))!)
    raw[raw.length - 1]! ^= 0x10
    await engine.put(key, raw)
  } finally {
    if (typeof where === 'string') await engine.close()
  }
}

/** A logger that keeps warnings. */
function warnings(): RaftLogger & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: () => {}, warn: (msg) => lines.push(msg) }
}

test('a replica whose Raft log has a damaged entry is quarantined at start: no group, no votes or acks, RANGE_NOT_FOUND; replaced, it catches up by snapshot', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    for (let i = 0; i < 30; i++) await c.writeRetrying(1, { kind: 'put', key: b(`k${i}`), value: b(`v${i}`) })
    await c.writeRetrying(2, { kind: 'put', key: b('x'), value: b('1') })
    await waitFor('node 3 applied range 1', () => c.stores.get(3)!.replica(1).appliedIndex === c.leader(1)?.replica(1).appliedIndex)
    const oldReplicaId = c.stores.get(3)!.replica(1).replicaId
    await c.stopNode(3)
    const dir = join(c.dir, 'n3')
    const before = await (async () => {
      const engine = await open(dir)
      try {
        const log = await RaftLogStore.open(engine)
        return { first: log.firstIndex(1), last: log.lastIndex(1), hardState: log.hardState(1) }
      } finally {
        await engine.close()
      }
    })()
    const damaged = Math.floor((before.first + before.last) / 2)
    await damageLogEntry(dir, 1, damaged)

    const logged = warnings()
    c.logger = logged
    const three = await c.startNode(3)
    assert.deepEqual(three.quarantined().map((q) => ({ rangeId: q.rangeId, replicaId: q.replicaId, index: q.index })), [{ rangeId: 1, replicaId: oldReplicaId, index: damaged }])
    assert.ok(logged.lines.some((l) => l.includes('range 1: quarantined') && l.includes(`entry ${damaged}`)), logged.lines.join('\n'))
    assert.equal(three.raft.hasGroup(1), false, 'no Raft group runs for it: it cannot vote or acknowledge')
    assert.ok(three.raft.hasGroup(2), 'the node\'s other ranges run')
    assert.deepEqual(three.descriptors().map((d) => d.rangeId), [2])
    assert.deepEqual(three.hostedReplicas().map((r) => r.rangeId), [2], 'nor do the walks over hosted replicas see it')
    await assert.rejects(three.get(1, b('k1')), hasCode(KvErrorCode.RANGE_NOT_FOUND))
    await assert.rejects(three.scan(1, new Uint8Array(0), new Uint8Array(0), 10), hasCode(KvErrorCode.RANGE_NOT_FOUND))
    await assert.rejects(three.write(1, { kind: 'put', key: b('k1'), value: b('bad') }), hasCode(KvErrorCode.RANGE_NOT_FOUND))
    assert.throws(() => three.replica(1), (e: { code?: string; message?: string }) => e.code === KvErrorCode.RANGE_NOT_FOUND && /quarantined/.test(e.message ?? ''))
    assert.throws(() => three.replicaForKey(b('k1')), hasCode(KvErrorCode.RANGE_NOT_FOUND))

    // The other two carry on: writes commit, leadership moves (an election asks node 3 for
    // its vote too); node 3's log and vote for range 1 stay exactly as they were.
    for (let i = 30; i < 40; i++) await c.writeRetrying(1, { kind: 'put', key: b(`k${i}`), value: b(`v${i}`) })
    await waitFor('range 1 has a leader', () => c.leader(1) !== undefined)
    const other = [1, 2].find((n) => n !== c.leader(1)!.nodeId)!
    // Asked again while it has not happened: a transfer that times out is dropped.
    await waitFor('leadership moved', async () => {
      if (c.leader(1)?.nodeId === other) return true
      try {
        c.leader(1)?.replica(1).transferLeader(other)
      } catch {
        // leadership is moving anyway
      }
      await new Promise((r) => setTimeout(r, 200))
      return false
    })
    await c.writeRetrying(1, { kind: 'put', key: b('after-election'), value: b('1') })
    const engine3 = c.engines.get(3)!
    const now = await RaftLogStore.open(engine3)
    assert.deepEqual({ first: now.firstIndex(1), last: now.lastIndex(1), hardState: now.hardState(1) }, before)
    assert.ok(c.stores.get(other)!.raft.status(1).term > before.hardState.term, 'a new term began without node 3')

    // Creating a replica on node 3 while the damaged one is still a member is refused, as is an overlapping range.
    const current = c.stores.get(other)!.replica(1).descriptor
    await assert.rejects(three.createReplica(current), hasCode(KvErrorCode.UNAVAILABLE))
    await assert.rejects(three.createReplica({ ...RANGES[1]!, rangeId: 9, startKey: b('a'), endKey: b('b') }), hasCode(KvErrorCode.UNAVAILABLE), 'overlaps the quarantined range')
    assert.deepEqual(await three.destroyRemovedQuarantined([current]), [], 'the range still holds it')

    // The placement driver's steps: remove the damaged replica through the healthy majority,
    // then add a fresh one on the same node (the creation deletes the old one's data first).
    let d = await c.changeRetrying(1, (s) => removeReplica(s, 1, 3))
    assert.ok(!d.replicas.some((r) => r.nodeId === 3))
    d = await c.changeRetrying(1, (s) => addReplica(s, 1, 3, false, (nodeId, desc) => c.stores.get(nodeId)!.createReplica(desc)))
    const fresh = d.replicas.find((r) => r.nodeId === 3)!
    assert.ok(fresh.replicaId > oldReplicaId && fresh.role === 'voter', JSON.stringify(d.replicas))
    assert.deepEqual(three.quarantined(), [])
    assert.ok(logged.lines.some((line) => line.includes(`range 1: deleted quarantined replica ${oldReplicaId}`)), logged.lines.join('\n'))
    await waitFor('range 1 agrees on every node', async () => {
      const sums = await Promise.all([...c.stores.values()].map((s) => s.replica(1).checksum()))
      return new Set(sums.map((x) => `${x.appliedIndex}/${x.checksum}`)).size === 1
    })
    const filled = await RaftLogStore.open(engine3)
    assert.ok((filled.snapshotMeta(1)?.index ?? 0) > 1, 'the fresh replica was filled by a snapshot')
    for (let i = 0; i < 40; i++) assert.equal(text(await c.getRetrying(1, b(`k${i}`))), `v${i}`)

    // Restarted, the node finds nothing damaged.
    await c.stopNode(3)
    const again = await c.startNode(3)
    assert.deepEqual(again.quarantined(), [])
    assert.ok(again.raft.hasGroup(1))
  } finally {
    await c.stop()
  }
})

test('an entry damaged while the node runs is caught when read: only that replica stops and is quarantined, the node\'s other range and the range\'s other replicas go on', async () => {
  const logged = warnings()
  const c = await TestCluster.start(undefined, false, logged)
  const written = new Map<string, string>()
  const put = async (rangeId: number, key: string, value: string) => {
    const r = await c.writeRetrying(rangeId, { kind: 'put', key: b(key), value: b(value) })
    assert.deepEqual(r, { ok: true }, key)
    written.set(key, value)
  }
  try {
    await c.waitLeaders()
    for (let i = 0; i < 10; i++) await put(1, `k${i}`, `v${i}`)
    await put(2, 'x0', '0')
    const applied = (n: number, rangeId: number) => c.stores.get(n)!.localReplica(rangeId)?.appliedIndex
    await waitFor('every replica applied', () => [1, 2].every((r) => [1, 2, 3].every((n) => applied(n, r) === c.leader(r)?.replica(r).appliedIndex)))

    // A follower falls behind range 1's log.
    const lagging = [1, 2, 3].find((n) => n !== c.leader(1)!.nodeId)!
    const connected = [1, 2, 3].filter((n) => n !== lagging)
    c.network.partition([lagging], connected)
    for (let i = 10; i < 30; i++) await put(1, `k${i}`, `v${i}`)
    await waitFor('the connected replicas applied range 1', () => connected.every((n) => applied(n, 1) === c.leader(1)?.replica(1).appliedIndex))

    // The leader's last entry, which the lagging follower still needs, is damaged on disk
    // under the running node. Whoever leads next, that node reads it: to send it to the
    // follower, or to check it before the next append it takes.
    const damagedNode = c.leader(1)!.nodeId
    const damaged = c.stores.get(damagedNode)!
    const oldReplicaId = damaged.replica(1).replicaId
    const last = (await RaftLogStore.open(c.engines.get(damagedNode)!)).lastIndex(1)
    assert.ok(applied(lagging, 1)! < last, 'the follower lacks the entry')
    await damageLogEntry(c.engines.get(damagedNode)!, 1, last)
    c.network.heal()

    await waitFor('the replica is quarantined', () => damaged.quarantined().length > 0)
    assert.deepEqual(damaged.quarantined().map((q) => ({ rangeId: q.rangeId, replicaId: q.replicaId, index: q.index })), [{ rangeId: 1, replicaId: oldReplicaId, index: last }])
    assert.ok(
      logged.lines.some((l) => l.includes(`range 1: quarantined replica ${oldReplicaId} on node ${damagedNode}: Raft log entry ${last} is damaged`) && l.includes('found while running')),
      logged.lines.join('\n'),
    )
    assert.equal(damaged.raft.hasGroup(1), false, 'no Raft group runs for it: it cannot vote or acknowledge')
    assert.deepEqual(damaged.descriptors().map((d) => d.rangeId), [2])
    await assert.rejects(damaged.get(1, b('k1')), hasCode(KvErrorCode.RANGE_NOT_FOUND))
    await assert.rejects(damaged.write(1, { kind: 'put', key: b('k1'), value: b('bad') }), hasCode(KvErrorCode.RANGE_NOT_FOUND))

    // Range 1 goes on with the other two (the lagging one catches up); the damaged node's
    // other range keeps committing and applying there.
    for (let i = 30; i < 40; i++) await put(1, `k${i}`, `v${i}`)
    for (let i = 1; i < 10; i++) await put(2, `x${i}`, `${i}`)
    await waitFor('range 2 applied on the damaged node too', () => applied(damagedNode, 2) === c.leader(2)?.replica(2).appliedIndex)
    await waitFor('range 1 agrees on its two running replicas', async () => {
      const sums = await Promise.all([lagging, ...connected.filter((n) => n !== damagedNode)].map((n) => c.stores.get(n)!.replica(1).checksum()))
      return new Set(sums.map((x) => `${x.appliedIndex}/${x.checksum}`)).size === 1
    })

    // Replaced like a replica quarantined at start: removed through the healthy majority,
    // then a fresh replica filled by a snapshot.
    let d = await c.changeRetrying(1, (s) => removeReplica(s, 1, damagedNode))
    d = await c.changeRetrying(1, (s) => addReplica(s, 1, damagedNode, false, (nodeId, desc) => c.stores.get(nodeId)!.createReplica(desc)))
    assert.ok(d.replicas.find((r) => r.nodeId === damagedNode)!.replicaId > oldReplicaId)
    assert.deepEqual(damaged.quarantined(), [])
    await waitFor('range 1 agrees on every node', async () => {
      const sums = await Promise.all([...c.stores.values()].map((s) => s.replica(1).checksum()))
      return new Set(sums.map((x) => `${x.appliedIndex}/${x.checksum}`)).size === 1
    })
    assert.deepEqual(await (await RaftLogStore.open(c.engines.get(damagedNode)!)).verify(), [], 'nothing damaged is left')
    for (const [key, value] of written) assert.equal(text(await c.getRetrying(key < 'm' ? 1 : 2, b(key))), value, key)
  } finally {
    await c.stop()
  }
})

test('an entry damaged under a running follower, which only compaction reads again, quarantines the replica there; the node goes on', async () => {
  const logged = warnings()
  const c = await TestCluster.start(20, false, logged)
  try {
    await c.waitLeaders()
    const node = [1, 2, 3].find((n) => n !== c.leader(1)!.nodeId)!
    const store = c.stores.get(node)!
    const engine = c.engines.get(node)!
    const damaged = new Set<number>()
    // Each entry the follower applied, but its last, is damaged once applied: Raft reads only
    // the last one again (to check the next append), but compaction reads the term where it
    // cuts, behind the applied index.
    for (let i = 0; store.quarantined().length === 0; i++) {
      assert.ok(i < 200, 'the follower compacts its log')
      await c.writeRetrying(1, { kind: 'put', key: b(`k${i}`), value: b(`v${i}`) })
      await waitFor('the follower applied', () => store.localReplica(1) === undefined || store.localReplica(1)!.appliedIndex === c.leader(1)?.replica(1).appliedIndex)
      const applied = store.localReplica(1)?.appliedIndex ?? 0
      for (let index = (await RaftLogStore.open(engine)).firstIndex(1); index < applied; index++) {
        if (damaged.has(index) || (await engine.get(raftLogEntryKey(1, index))) === undefined) continue
        await damageLogEntry(engine, 1, index)
        damaged.add(index)
      }
    }
    const [q] = store.quarantined()
    assert.ok(q && q.rangeId === 1 && damaged.has(q.index ?? -1), JSON.stringify(store.quarantined()))
    assert.ok(logged.lines.some((l) => l.includes(`range 1: quarantined replica ${q.replicaId} on node ${node}: Raft log entry ${q.index} is damaged`)), logged.lines.join('\n'))
    assert.equal(store.raft.hasGroup(1), false)
    await assert.rejects(store.get(1, b('k0')), hasCode(KvErrorCode.RANGE_NOT_FOUND))
    // The node's other range and the range's other replicas go on.
    await c.writeRetrying(2, { kind: 'put', key: b('x'), value: b('1') })
    await c.writeRetrying(1, { kind: 'put', key: b('after'), value: b('1') })
    await waitFor('range 2 applied on the node', () => store.replica(2).appliedIndex === c.leader(2)?.replica(2).appliedIndex)
    assert.equal(text(await c.getRetrying(1, b('after'))), '1')
  } finally {
    await c.stop()
  }
})

test('a quarantined replica is deleted once the cluster\'s descriptors show it removed, at once if its own state does; a damaged system group is refused', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    await c.writeRetrying(2, { kind: 'put', key: b('n1'), value: b('1') })
    await c.stores.get(3)!.bootstrapSystemGroup(99, [])
    await waitFor('node 3 applied range 2', () => c.stores.get(3)!.replica(2).appliedIndex === c.leader(2)?.replica(2).appliedIndex)
    // Range 1 gets a write too, and node 3 must hold it: the entry the test damages (an idle range's follower may hold no entry yet).
    await c.writeRetrying(1, { kind: 'put', key: b('a1'), value: b('1') })
    await waitFor('node 3 applied range 1', () => c.stores.get(3)!.replica(1).appliedIndex === c.leader(1)?.replica(1).appliedIndex)
    await c.stopNode(3)
    const dir = join(c.dir, 'n3')
    const engine = await open(dir)
    const log = await RaftLogStore.open(engine)
    const [last1, last2] = [log.lastIndex(1), log.lastIndex(2)]
    // Range 1's replica as a crash may leave it: its removal applied, its deletion lost.
    const state1 = decodeReplicaState((await engine.get(replicaStateKey(1)))!)
    const without3 = { ...state1.descriptor, generation: state1.descriptor.generation + 1, replicas: state1.descriptor.replicas.filter((r) => r.nodeId !== 3) }
    await engine.put(replicaStateKey(1), encodeReplicaState({ ...state1, descriptor: without3 }))
    // A damaged system group's hard state (bootstrapSystemGroup wrote one at index 1).
    await engine.put(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 99, 1), new Uint8Array(28))
    await engine.close()
    await damageLogEntry(dir, 1, last1)
    await damageLogEntry(dir, 2, last2)

    const logged = warnings()
    c.logger = logged
    const three = await c.startNode(3)
    assert.deepEqual(three.quarantined().map((q) => q.rangeId), [2])
    assert.ok(logged.lines.some((l) => /range 1: deleted node 3's damaged replica .*shows it removed/.test(l)), logged.lines.join('\n'))
    assert.equal((await RaftLogStore.open(c.engines.get(3)!)).hasGroup(1), false, 'range 1 is gone from node 3 at once')
    assert.equal(await c.engines.get(3)!.get(replicaStateKey(1)), undefined)
    assert.match(three.logDamage(99)?.reason ?? '', /hard state fails its checksum/)
    assert.throws(() => three.hostSystemGroup(99, {} as SystemGroup), hasCode(KvErrorCode.CORRUPTION))

    const d = await c.changeRetrying(2, (l) => l.changeReplicas(2, [{ op: 'remove', nodeId: 3 }]))
    assert.deepEqual(await three.destroyRemovedQuarantined([RANGES[1]!]), [], 'an older descriptor proves nothing')
    assert.deepEqual(await three.destroyRemovedQuarantined([d]), [2])
    assert.deepEqual(three.quarantined(), [])
    assert.equal(three.logDamage(2), undefined)
    const left = await RaftLogStore.open(c.engines.get(3)!)
    assert.equal(left.hasGroup(2), false, 'its log is gone')
    assert.equal(await new MvccStore(c.engines.get(3)!).get(b('n1'), MAX_TIMESTAMP), undefined, 'its data is gone')
    assert.equal(text(await c.getRetrying(2, b('n1'))), '1')
  } finally {
    await c.stop()
  }
})

/** KEY_NOT_IN_RANGE carrying the range as it is now: `[start, end)` at `generation`. */
const notInRange = (rangeId: number, start: string, end: string, generation: number) => (e: unknown) =>
  e instanceof KvError &&
  e.code === KvErrorCode.KEY_NOT_IN_RANGE &&
  e.descriptor?.rangeId === rangeId &&
  text(e.descriptor.startKey) === start &&
  text(e.descriptor.endKey) === end &&
  e.descriptor.generation === generation

test('reads never leave their range: after a split a read of keys given away gets KEY_NOT_IN_RANGE with the new descriptor, never an empty page ending behind its start; after a merge the grown range serves them', async () => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    for (const k of ['n1', 'p1', 's1', 't1', 'x1']) await c.writeRetrying(2, { kind: 'put', key: b(k), value: b(k.toUpperCase()) })
    // Planned against range 2 = ['m', '') at generation 1; the split lands before they run.
    assert.ok((await c.writeRetrying(2, { kind: 'split', splitKey: b('t'), newRangeId: 3 })).ok)
    await waitFor('range 3 has a leader', () => c.leader(3) !== undefined)
    const l2 = c.leader(2)!
    const none = new Uint8Array(0)
    for (const start of ['t', 'u', 't1', 'zz']) {
      await assert.rejects(l2.scan(2, b(start), none, 10), notInRange(2, 'm', 't', 2), `a scan of range 2 from ${start}`)
    }
    await assert.rejects(l2.scan(2, b('a'), b('z'), 10), notInRange(2, 'm', 't', 2), 'a start before the range is refused, not clipped')
    await assert.rejects(l2.get(2, b('x1')), notInRange(2, 'm', 't', 2))
    const page = await l2.scan(2, b('p'), none, 10)
    assert.deepEqual(page.rows.map(([k]) => text(k)), ['p1', 's1'])
    assert.equal(text(page.rangeEnd), 't')
    assert.equal(page.descriptor.generation, 2)
    // Writes: refused before proposal, and at apply when they reach the log anyway.
    await assert.rejects(l2.write(2, { kind: 'put', key: b('u'), value: b('1') }), notInRange(2, 'm', 't', 2))
    const late = await l2.replica(2).propose({ kind: 'batch', writes: [{ key: b('p2'), value: b('1') }, { key: b('u'), value: b('1') }] }, 5000)
    assert.ok(!late.ok && notInRange(2, 'm', 't', 2)(late.error), JSON.stringify(late))
    assert.equal(await l2.get(2, b('p2')), undefined, 'nothing of the refused batch applied')

    // A merge: range 3 freezes (it serves nothing more), then range 2 takes it in.
    const frozen = await c.writeRetrying(3, { kind: 'freeze' })
    assert.ok(frozen.ok && frozen.frozen)
    for (const s of c.stores.values()) await waitFor(`node ${s.nodeId} applied the freeze`, () => s.replica(3).frozenAt !== undefined)
    await assert.rejects(c.leader(3)!.get(3, b('x1')), hasCode(KvErrorCode.UNAVAILABLE), 'a frozen range serves no reads: its left neighbour may hold its keys already')
    await assert.rejects(c.leader(3)!.scan(3, b('t'), none, 10), hasCode(KvErrorCode.UNAVAILABLE))
    const right = c.leader(3)!.replica(3).descriptor
    const merge = await c.writeRetrying(2, { kind: 'merge', right: new TextEncoder().encode(JSON.stringify(descriptorToJson(right))), rightLastTs: frozen.frozen.lastTs })
    assert.ok(merge.ok, JSON.stringify(merge))
    const merged = c.leader(2)!
    assert.equal(text(await merged.get(2, b('x1'))), 'X1')
    const all = await merged.scan(2, b('t'), none, 10)
    assert.deepEqual(all.rows.map(([k]) => text(k)), ['t1', 'x1'])
    assert.equal(all.rangeEnd.length, 0, 'the grown range reaches the end of the keyspace')
    assert.equal(all.descriptor.generation, 3)
    for (const s of c.stores.values()) await waitFor(`node ${s.nodeId} dropped range 3`, () => !s.raft.hasGroup(3))
    await assert.rejects(merged.get(3, b('x1')), hasCode(KvErrorCode.RANGE_NOT_FOUND))
  } finally {
    await c.stop()
  }
})

test('a read waiting on its ReadIndex while a split applies is checked against the bounds it is served under: the old answer, or KEY_NOT_IN_RANGE with the new descriptor', async (t) => {
  const c = await TestCluster.start()
  try {
    await c.waitLeaders()
    await c.writeRetrying(2, { kind: 'put', key: b('x1'), value: b('X1') })
    const outcomes: string[] = []
    // Each round splits the range holding 'x1' below it, and reads of 'x1' arrive right behind
    // the split's proposal: their ReadIndex is confirmed in the round that commits the split.
    let holder = 2
    for (const [i, at] of ['t', 'v', 'w'].entries()) {
      await waitFor(`range ${holder} has a leader`, () => c.leader(holder) !== undefined)
      const l = c.leader(holder)!
      const before = l.replica(holder).descriptor
      const split = l.write(holder, { kind: 'split', splitKey: b(at), newRangeId: 3 + i })
      const scan = l.scan(holder, b('x'), new Uint8Array(0), 10).then((p) => ({ keys: p.rows.map(([k]) => text(k)), end: text(p.rangeEnd), gen: p.descriptor.generation }))
      const get = l.get(holder, b('x1')).then(text)
      assert.ok((await split).ok)
      const after = l.replica(holder).descriptor
      const expected = { scan: { keys: ['x1'], end: '', gen: before.generation }, get: 'X1' }
      for (const [what, read] of [['scan', scan], ['get', get]] as const) {
        try {
          // Served before the split applied: the old range, up to its old end.
          assert.deepEqual(await read, expected[what], `${what} in round ${i}`)
          outcomes.push(`${what}: served`)
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err
          assert.ok(notInRange(holder, text(before.startKey)!, at, after.generation)(err), `${what} in round ${i}: ${String(err)}`)
          outcomes.push(`${what}: KEY_NOT_IN_RANGE`)
        }
      }
      holder = 3 + i
    }
    assert.equal(outcomes.length, 6, outcomes.join('; '))
    t.diagnostic(outcomes.join('; '))
  } finally {
    await c.stop()
  }
})

/**
 * A stand-in for the timestamp oracle: consecutive timestamps from the clock's present on.
 * While `held` is set, requests wait until it is cleared (an oracle that cannot be reached).
 */
const put = (key: string, value: string): TxnMutation => ({ key: b(key), kind: 'put', value: b(value), assertAbsent: false })

/** A one-phase commit on the range's leader, again while leadership moves or the leader has not learned its read floor yet; the commit timestamp. */
async function commitOnePhase(c: TestCluster, rangeId: number, startTs: bigint, mutations: TxnMutation[]): Promise<bigint> {
  let result: CommandResult | undefined
  await waitFor('a one-phase commit', async () => {
    const l = c.leader(rangeId)
    if (!l) return false
    try {
      result = await l.commitOnePhase(rangeId, startTs, mutations)
      return true
    } catch (err) {
      if (([KvErrorCode.ONE_PHASE_REFUSED, KvErrorCode.NOT_LEADER, KvErrorCode.UNAVAILABLE] as string[]).includes((err as KvError).code)) return false
      throw err
    }
  })
  if (!result?.ok || result.commitTs === undefined) throw result?.ok === false ? result.error : new Error('no commit timestamp')
  return result.commitTs
}

test('one-phase commit: prewrite checks and the write at one commit timestamp, in one command; a retry answers as the first did; no oracle, no one-phase commit', async () => {
  const oracle = new TestOracle()
  const c = await TestCluster.start(undefined, false, undefined, oracle)
  const plain = await TestCluster.start()
  try {
    await c.waitLeaders()
    const s0 = await oracle.timestamp()
    const c0 = await commitOnePhase(c, 1, s0, [put('a', 'a0'), put('b', 'b0')])
    assert.ok(c0 > s0)
    const l = c.leader(1)!
    assert.equal(text(await l.get(1, b('a'), c0)), 'a0')
    assert.equal(text(await l.get(1, b('b'), c0 - 1n)), undefined)
    // Applied again (the same request sent twice): the same commit, nothing new.
    assert.equal(await commitOnePhase(c, 1, s0, [put('a', 'a0'), put('b', 'b0')]), c0)

    // An insert over a live value: KEY_EXISTS with the key, and the command's other write is not made.
    const s1 = await oracle.timestamp()
    const exists = await l.commitOnePhase(1, s1, [put('c', 'c1'), { key: b('a'), kind: 'put', value: b('x'), assertAbsent: true }])
    assert.ok(!exists.ok && exists.error.code === KvErrorCode.KEY_EXISTS && text(exists.error.key) === 'a')
    assert.equal(text(await l.get(1, b('c'))), undefined)
    // A version committed after the start: WRITE_CONFLICT. Another transaction's lock: KEY_LOCKED.
    const conflict = await l.commitOnePhase(1, s0 - 1n, [put('a', 'late')])
    assert.ok(!conflict.ok && conflict.error.code === KvErrorCode.WRITE_CONFLICT, JSON.stringify(conflict))
    const s2 = await oracle.timestamp()
    assert.ok((await l.write(1, { kind: 'prewrite', startTs: s2, primary: b('d'), ttlMs: 60_000, mutations: [put('d', 'locked')] })).ok)
    const locked = await l.commitOnePhase(1, await oracle.timestamp(), [put('d', 'mine')])
    assert.ok(!locked.ok && locked.error.code === KvErrorCode.KEY_LOCKED && locked.error.lock?.startTs === s2)
    // A version committed exactly at the start is in the snapshot: no conflict.
    const c3 = await commitOnePhase(c, 1, c0, [put('a', 'a3')])
    assert.equal(text(await l.get(1, b('a'), c3)), 'a3')

    await plain.waitLeaders()
    await assert.rejects(plain.leader(1)!.commitOnePhase(1, s0, [put('a', 'x')]), hasCode(KvErrorCode.ONE_PHASE_REFUSED))
  } finally {
    await c.stop()
    await plain.stop()
  }
})

test('a one-phase commit lands above every read served: a read at T, then a commit started before T commits above T and a read at T still sees the old value', async () => {
  const oracle = new TestOracle()
  const c = await TestCluster.start(undefined, false, undefined, oracle)
  try {
    await c.waitLeaders()
    await commitOnePhase(c, 1, await oracle.timestamp(), [put('k', 'old'), put('f1', 'old')])
    // The transaction starts, then a later snapshot reads the key and scans a span.
    const startTs = await oracle.timestamp()
    const readTs = await oracle.timestamp()
    const scanTs = await oracle.timestamp()
    const l = c.leader(1)!
    assert.equal(text(await l.get(1, b('k'), readTs)), 'old')
    assert.deepEqual((await l.scan(1, b('f'), b('g'), 10, scanTs)).rows.map(([, v]) => text(v)), ['old'])
    // Without the read floor the commit would land at startTs + 1, under both reads.
    const commitTs = await commitOnePhase(c, 1, startTs, [put('k', 'new')])
    assert.ok(commitTs > readTs, `commit ${commitTs} must land above the read at ${readTs}`)
    assert.equal(text(await l.get(1, b('k'), readTs)), 'old')
    assert.equal(text(await l.get(1, b('k'), commitTs)), 'new')
    const scanned = await commitOnePhase(c, 1, startTs, [put('f2', 'new')])
    assert.ok(scanned > scanTs, `commit ${scanned} must land above the scan at ${scanTs}`)
    assert.deepEqual((await l.scan(1, b('f'), b('g'), 10, scanTs)).rows.map(([, v]) => text(v)), ['old'])
    // Reads of the latest do not raise the floor.
    const before = await oracle.timestamp()
    await l.get(1, b('k'))
    assert.equal(await commitOnePhase(c, 1, before, [put('k', 'newer')]), before + 1n)
  } finally {
    await c.stop()
  }
})

test('a read at or above an in-flight one-phase commit\'s timestamp waits for it to apply: proposed, then read in the same turn, the read sees the write', async () => {
  const oracle = new TestOracle()
  const c = await TestCluster.start(undefined, false, undefined, oracle)
  try {
    await c.waitLeaders()
    await commitOnePhase(c, 1, await oracle.timestamp(), [put('k', 'old')])
    const startTs = await oracle.timestamp()
    const readTs = await oracle.timestamp()
    const l = c.leader(1)!
    const order: string[] = []
    // The leader chooses startTs + 1 ≤ readTs; the read arrives before the command can apply
    // (that takes a Raft round) and must not answer the old value under the new write.
    const committed = l.commitOnePhase(1, startTs, [put('k', 'new'), put('h', 'new')]).then((r) => {
      order.push('commit')
      return r
    })
    const read = l.replica(1).get(b('k'), readTs).then((v) => {
      order.push('read')
      return v
    })
    const scan = l.replica(1).scan(b('g'), b('i'), 10, readTs)
    const result = await committed
    assert.ok(result.ok && result.commitTs === startTs + 1n && result.commitTs <= readTs, JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)))
    assert.equal(text(await read), 'new')
    assert.deepEqual((await scan).rows.map(([, v]) => text(v)), ['new'])
    assert.deepEqual(order, ['commit', 'read'])
  } finally {
    await c.stop()
  }
})

test('a new leader refuses one-phase commits until it has a timestamp from the oracle fetched after it became leader; then it commits above its predecessor\'s reads', async () => {
  const oracle = new TestOracle()
  const c = await TestCluster.start(undefined, false, undefined, oracle)
  try {
    await c.waitLeaders()
    await commitOnePhase(c, 1, await oracle.timestamp(), [put('k', 'old')])
    const startTs = await oracle.timestamp()
    const readTs = await oracle.timestamp()
    const old = c.leader(1)!
    assert.equal(text(await old.get(1, b('k'), readTs)), 'old')
    // The oracle goes silent; leadership moves.
    oracle.held = true
    const target = [...c.stores.keys()].find((id) => id !== old.nodeId)!
    await waitFor('the transfer', () => {
      if (c.leader(1)?.nodeId === target) return true
      c.leader(1)?.replica(1).transferLeader(target)
      return false
    })
    const fresh = c.leader(1)!
    await assert.rejects(fresh.commitOnePhase(1, startTs, [put('k', 'new')]), hasCode(KvErrorCode.ONE_PHASE_REFUSED))
    // The old leader no longer leads: it refuses too.
    await assert.rejects(old.commitOnePhase(1, startTs, [put('k', 'new')]), hasCode(KvErrorCode.NOT_LEADER))
    oracle.release()
    // Without the refresh the new leader would know no reads and commit at startTs + 1, under readTs.
    const commitTs = await commitOnePhase(c, 1, startTs, [put('k', 'new')])
    assert.ok(commitTs > readTs, `commit ${commitTs} must land above the old leader's read at ${readTs}`)
    assert.equal(text(await c.leader(1)!.get(1, b('k'), readTs)), 'old')
  } finally {
    await c.stop()
  }
})

test('a bootstrap of many ranges writes them in batches of a few hundred, each range whole in one: no one batch holds the loop for all of them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-kv-'))
  const engine = await open(join(dir, 'n1'))
  const store = await Store.open({ nodeId: 1, engine, transport: new MemoryNetwork().transport(1), tickMs: 50, sync: false })
  try {
    const n = 600
    const key = (i: number) => (i === 0 ? new Uint8Array(0) : Buffer.from(i.toString(16).padStart(4, '0')))
    const ds: RangeDescriptor[] = Array.from({ length: n }, (_, i) => ({
      rangeId: i + 1,
      startKey: key(i),
      endKey: i === n - 1 ? new Uint8Array(0) : key(i + 1),
      generation: 1,
      replicas: [1, 2, 3].map((node) => ({ replicaId: node, nodeId: node, role: 'voter' as const })),
    }))
    // Counts the range states in each engine batch.
    const statePrefix = Buffer.from(replicaStateKey(0).subarray(0, -8))
    const batches: number[] = []
    const batch = engine.batch.bind(engine)
    engine.batch = (ops, options) => {
      const states = ops.filter((op) => op.type === 'put' && typeof op.key !== 'string' && op.key.length === statePrefix.length + 8 && statePrefix.equals(op.key.subarray(0, statePrefix.length))).length
      if (states > 0) batches.push(states)
      return batch(ops, options)
    }
    await store.bootstrapRange(...ds)
    assert.equal(store.descriptors().length, n)
    assert.equal(store.hostedReplicas().length, n)
    assert.equal(batches.reduce((a, x) => a + x, 0), n, 'every range state written once')
    assert.ok(batches.length >= 3 && Math.max(...batches) <= 250, `batches of ${batches.join(', ')} range states`)
  } finally {
    await store.close()
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryNetwork } from '@mrdb/raft'
import { composeTimestamp, open, type Engine } from '@mrdb/storage'
import { SeededRandom } from '@mrdb/storage/testing'
import type { KvClient } from '../client/kv-client.js'
import { TransactionalKv } from '../client/transaction.js'
import type { Command } from './command.js'
import { KvErrorCode, type LockInfo } from '../api/errors.js'
import { GcQueue } from './gc-queue.js'
import type { RangeDescriptor } from '../api/range-descriptor.js'
import { Store } from './store.js'
import { waitFor } from '../testing/wait.js'

const b = (s: string) => Buffer.from(s)
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString())
const RANGE: RangeDescriptor = { rangeId: 1, startKey: new Uint8Array(0), endKey: new Uint8Array(0), generation: 1, replicas: [1, 2, 3].map((n) => ({ replicaId: n, nodeId: n, role: 'voter' as const })) }

/** Three stores on an in-memory network holding one range over the whole keyspace (its GC fence and threshold starting at `gcFloor`). */
async function cluster(gcFloor = 0n): Promise<{ stores: Store[]; leader: () => Store; write: (c: Command) => Promise<void>; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-gc-'))
  const network = new MemoryNetwork()
  const engines: Engine[] = []
  const stores: Store[] = []
  for (const id of [1, 2, 3]) {
    const engine = await open(join(dir, `n${id}`))
    engines.push(engine)
    stores.push(await Store.open({ nodeId: id, engine, transport: network.transport(id), tickMs: 50, sync: false, proposalTimeoutMs: 30_000 }))
  }
  for (const s of stores) await s.bootstrapRanges([RANGE], gcFloor)
  const leaderOf = () => stores.find((s) => s.raft.leaderOf(1) === s.replica(1).replicaId)
  await waitFor('a leader', () => leaderOf() !== undefined)
  const leader = () => leaderOf()!
  return {
    stores,
    leader,
    write: async (c) => {
      const r = await leader().write(1, c)
      if (!r.ok) throw r.error
    },
    stop: async () => {
      for (const s of stores) await s.close()
      for (const e of engines) await e.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Settles locks through the store, as a reader's client would through the cluster. */
function storeResolver(write: (c: Command) => Promise<unknown>, leader: () => Store, now: () => bigint) {
  return async (locks: LockInfo[]): Promise<boolean> => {
    for (const l of locks) {
      const r = await leader().write(1, { kind: 'checkTxn', primary: l.primary, startTs: l.startTs, nowTs: now() })
      if (!r.ok || !r.txn) throw new Error('checkTxn failed')
      if (r.txn.state === 'locked') return false
      await write(r.txn.state === 'committed' ? { kind: 'commit', startTs: l.startTs, commitTs: r.txn.commitTs, keys: [l.key] } : { kind: 'rollback', startTs: l.startTs, keys: [l.key] })
    }
    return true
  }
}

async function outcome(fn: () => Promise<Uint8Array | undefined>): Promise<string> {
  try {
    return `ok:${text(await fn()) ?? ''}`
  } catch (e) {
    return `err:${(e as { code?: string }).code}`
  }
}

test('GC on a range matches a model: reads at or above the safe point answer as without GC, reads below get GC_THRESHOLD; replicas agree (property)', async () => {
  const c = await cluster()
  try {
    const r = new SeededRandom(7)
    let clock = composeTimestamp(Date.now() - 3_600_000)
    const tick = () => (clock += BigInt(1 + r.int(3)))
    const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`)
    /** The model: per key, committed versions oldest first. */
    const model = new Map<string, Array<{ commitTs: bigint; value: string | undefined }>>()
    const modelGet = (k: string, ts: bigint) => [...(model.get(k) ?? [])].reverse().find((v) => v.commitTs <= ts)?.value
    let safePoint = 0n
    const resolve = storeResolver(c.write, c.leader, () => tick())
    const queues = c.stores.map((store) => new GcQueue({ store, resolveLocks: resolve, keysPerStep: 3, pauseMs: 0 }))
    /** A read that settles the (expired) locks it meets, as a transaction's reader does. */
    const read = async (k: string, ts: bigint) =>
      outcome(async () => {
        for (;;) {
          try {
            return await c.leader().get(1, b(k), ts)
          } catch (e) {
            const lock = (e as { lock?: LockInfo }).lock
            if ((e as { code?: string }).code !== KvErrorCode.KEY_LOCKED || !lock) throw e
            await resolve([lock])
          }
        }
      })
    for (let step = 0; step < 300; step++) {
      const op = r.int(10)
      const key = r.pick(keys)
      if (op <= 4) {
        const startTs = tick()
        const value = r.int(4) === 0 ? undefined : `v${step}`
        const prewrite: Command = { kind: 'prewrite', startTs, primary: b(key), ttlMs: 0, mutations: [{ key: b(key), kind: value === undefined ? 'delete' : 'put', value: value === undefined ? undefined : b(value), assertAbsent: false }] }
        const written = await c.write(prewrite).then(
          () => true,
          async (e: { code?: string; lock?: LockInfo }) => {
            if (e.code !== KvErrorCode.KEY_LOCKED || !e.lock) throw e
            await resolve([e.lock])
            return false // this transaction gives up; the model is unchanged
          },
        )
        if (!written) continue
        if (r.int(8) > 0) {
          const commitTs = tick()
          await c.write({ kind: 'commit', startTs, commitTs, keys: [b(key)] })
          model.set(key, [...(model.get(key) ?? []), { commitTs, value }])
        } else {
          // Abandoned with an expired lock: a reader or GC settles it through its primary (rolled back).
          if (r.int(2) === 0) await c.write({ kind: 'rollback', startTs, keys: [b(key)] })
        }
      } else if (op <= 8) {
        const ts = r.int(5) === 0 && safePoint > 0n ? safePoint - BigInt(1 + r.int(5)) : safePoint + BigInt(r.int(Number(clock - safePoint) + 5))
        const want = ts < safePoint ? `err:${KvErrorCode.GC_THRESHOLD}` : `ok:${modelGet(key, ts) ?? ''}`
        assert.equal(await read(key, ts), want, `step ${step}: get ${key}@${ts} (safe point ${safePoint})`)
      } else {
        const next = clock - BigInt(r.int(10))
        if (next > safePoint) safePoint = next // safe points only rise
        for (const q of queues) {
          q.setTargets({ fence: safePoint, safePoint })
          await q.runOnce()
        }
        for (const k of keys) {
          for (const ts of [safePoint, clock]) assert.equal(await read(k, ts), `ok:${modelGet(k, ts) ?? ''}`, `step ${step}: after GC at ${safePoint}, get ${k}@${ts}`)
        }
      }
    }
    const leader = c.leader()
    const applied = leader.replica(1).appliedIndex
    await waitFor('replicas applied everything', () => c.stores.every((s) => s.replica(1).appliedIndex >= applied))
    const sums = await Promise.all(c.stores.map((s) => s.replica(1).checksum()))
    assert.equal(new Set(sums.map((s) => `${s.appliedIndex}/${s.checksum}/${s.keys}`)).size, 1, `replicas differ after GC: ${JSON.stringify(sums)}`)
    // Garbage below the last safe point is gone: what is left is at most one version per key at or below it.
    const stats = await leader.replica(1).approximateStats()
    assert.ok(stats.keys <= keys.length)
  } finally {
    await c.stop()
  }
})

test('a transaction running when GC passes keeps its snapshot; a prewrite below the fence is refused', async () => {
  const c = await cluster()
  try {
    let clock = composeTimestamp(Date.now())
    const tso = { timestamp: async () => (clock += 1n) }
    const db = new TransactionalKv({} as KvClient, tso)
    const put = async (key: string, value: string) => {
      const startTs = await tso.timestamp()
      await c.write({ kind: 'prewrite', startTs, primary: b(key), ttlMs: 1000, mutations: [{ key: b(key), kind: 'put', value: b(value), assertAbsent: false }] })
      await c.write({ kind: 'commit', startTs, commitTs: await tso.timestamp(), keys: [b(key)] })
    }
    await put('a', 'before')
    const txn = await db.begin()
    for (let i = 0; i < 10; i++) await put('a', `after ${i}`)
    assert.equal(await db.oldestRunningTs(), txn.startTs, 'the open transaction holds the safe point back')
    const queue = new GcQueue({ store: c.leader(), resolveLocks: async () => true, pauseMs: 0 })
    const sp = await db.oldestRunningTs()
    queue.setTargets({ fence: sp, safePoint: sp })
    await queue.runOnce()
    assert.equal(c.leader().replica(1).gcThreshold, txn.startTs)
    assert.equal(text(await c.leader().get(1, b('a'), txn.startTs)), 'before', 'the snapshot still reads what it read')
    await assert.rejects(c.leader().get(1, b('a'), txn.startTs - 1n), (e: { code?: string }) => e.code === KvErrorCode.GC_THRESHOLD)
    await assert.rejects(
      c.leader().write(1, { kind: 'prewrite', startTs: txn.startTs - 1n, primary: b('z'), ttlMs: 1000, mutations: [{ key: b('z'), kind: 'put', value: b('x'), assertAbsent: false }] }),
      (e: { code?: string }) => e.code === KvErrorCode.GC_THRESHOLD,
    )
    await txn.rollback()
    const after = await db.oldestRunningTs()
    assert.ok(after > txn.startTs, 'once it ends, the safe point may pass it')
    queue.setTargets({ fence: after, safePoint: after })
    await queue.runOnce()
    const history = await c.leader().replica(1).gcPlan(new Uint8Array(0), after, after, 100)
    assert.deepEqual(history.keys, [], 'nothing left to collect')
    assert.equal(text(await c.leader().get(1, b('a'), after)), 'after 9')
  } finally {
    await c.stop()
  }
})

test('ranges bootstrapped at the GC floor refuse prewrites and reads below it, and the first targets cost no Raft command and no scan', async (t) => {
  const floor = composeTimestamp(Date.now() - 60_000)
  const c = await cluster(floor)
  try {
    for (const s of c.stores) {
      assert.equal(s.replica(1).gcFence, floor)
      assert.equal(s.replica(1).gcThreshold, floor)
    }
    const prewrite = (startTs: bigint) => c.leader().write(1, { kind: 'prewrite', startTs, primary: b('k'), ttlMs: 1000, mutations: [{ key: b('k'), kind: 'put', value: b('v'), assertAbsent: false }] })
    await assert.rejects(prewrite(floor - 1n), (e: { code?: string }) => e.code === KvErrorCode.GC_THRESHOLD)
    await assert.rejects(c.leader().get(1, b('k'), floor - 1n), (e: { code?: string }) => e.code === KvErrorCode.GC_THRESHOLD)
    const applied = c.leader().replica(1).appliedIndex
    const queue = new GcQueue({ store: c.leader(), resolveLocks: async () => true, pauseMs: 0 })
    queue.setTargets({ fence: floor, safePoint: floor })
    const scans = t.mock.method(c.leader().replica(1), 'gcPlan')
    await queue.runOnce()
    assert.equal(c.leader().replica(1).appliedIndex, applied, 'targets at the floor proposed nothing')
    assert.equal(scans.mock.callCount(), 0, 'nor scanned a range that never applied a command')
    assert.equal(queue.locksClearBelow(1, RANGE.generation), floor, 'and the range reports itself clear below the fence')
    const startTs = composeTimestamp(Date.now())
    const r = await prewrite(startTs)
    assert.ok(r.ok, 'a transaction above the floor writes')
  } finally {
    await c.stop()
  }
})

test('a rise of the safe point alone proposes nothing on a range with nothing to collect, and reads below it are still refused', async () => {
  const c = await cluster()
  try {
    const startTs = composeTimestamp(Date.now() - 10_000)
    await c.write({ kind: 'prewrite', startTs, primary: b('k'), ttlMs: 1000, mutations: [{ key: b('k'), kind: 'put', value: b('v'), assertAbsent: false }] })
    await c.write({ kind: 'commit', startTs, commitTs: startTs + 1n, keys: [b('k')] })
    const fence = startTs + 10n
    const queue = new GcQueue({ store: c.leader(), resolveLocks: async () => true, pauseMs: 0 })
    queue.setTargets({ fence, safePoint: 0n })
    await queue.runOnce()
    assert.equal(c.leader().replica(1).gcFence, fence, 'the fence rises by a command')
    const applied = c.leader().replica(1).appliedIndex
    queue.setTargets({ fence, safePoint: fence })
    await queue.runOnce()
    assert.equal(c.leader().replica(1).appliedIndex, applied, 'no command for the safe point: nothing to collect')
    assert.equal(c.leader().replica(1).gcThreshold, 0n)
    assert.equal(text(await c.leader().get(1, b('k'), fence)), 'v')
    await assert.rejects(c.leader().get(1, b('k'), fence - 1n), (e: { code?: string }) => e.code === KvErrorCode.GC_THRESHOLD, 'a read below the safe point is refused all the same')
  } finally {
    await c.stop()
  }
})

test('while the targets stay, a pass looks at the ranges that changed: a range that comes to be led here is brought to them by the next pass', async () => {
  const floor = composeTimestamp(Date.now() - 60_000)
  const c = await cluster(floor)
  try {
    const queues = new Map(c.stores.map((s) => [s, new GcQueue({ store: s, resolveLocks: async () => true, pauseMs: 0 })]))
    for (const q of queues.values()) {
      q.setTargets({ fence: floor, safePoint: floor })
      await q.runOnce()
    }
    const first = c.leader()
    const next = c.stores.find((s) => s !== first)!
    assert.equal(queues.get(first)!.locksClearBelow(1, RANGE.generation), floor, 'the leader looked at the range')
    assert.equal(queues.get(next)!.locksClearBelow(1, RANGE.generation), undefined, 'a follower did not')
    await waitFor('leadership moved', () => {
      if (first.replica(1).leads()) first.replica(1).transferLeader(next.nodeId)
      return next.replica(1).leads()
    })
    await queues.get(next)!.runOnce()
    assert.equal(queues.get(next)!.locksClearBelow(1, RANGE.generation), floor, 'the new leader\'s next pass looked at it, with the targets as they were')
  } finally {
    await c.stop()
  }
})

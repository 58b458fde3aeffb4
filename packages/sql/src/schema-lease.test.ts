import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compareBytes } from '@mrdb/storage'
import { Catalog, VERSION_KEY } from './catalog.js'
import { SqlEngine } from './engine.js'
import { SqlError } from './errors.js'
import { runSchemaChange, type SchemaChange } from './schema-change.js'
import { SchemaLease } from './schema-lease.js'
import { MemoryKv } from './testing/memory-kv.js'

const LEASE_MS = 100

/**
 * One clock for every gateway of a test: it moves only when a gateway waits (its sleep
 * advances it), so a test decides exactly which statements fall inside a lease.
 */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; advance: (ms: number) => void } {
  let t = 1000
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms
    },
    advance: (ms) => {
      t += ms
    },
  }
}

/** Two gateways over one database, sharing the fake clock, and a count of reads of the catalog version. */
async function twoGateways(): Promise<{ kv: MemoryKv; a: SqlEngine; b: SqlEngine; clock: ReturnType<typeof fakeClock>; versionReads: () => number }> {
  const kv = new MemoryKv()
  let reads = 0
  const read = kv.read.bind(kv)
  kv.read = (key, ts) => {
    if (compareBytes(key, VERSION_KEY) === 0) reads++
    return read(key, ts)
  }
  const clock = fakeClock()
  const lease = { durationMs: LEASE_MS, now: clock.now, sleep: clock.sleep }
  const a = new SqlEngine(kv, { schemaLease: lease })
  const b = new SqlEngine(kv, { schemaLease: lease })
  const s = a.session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, v INT)')
  await s.execute(`INSERT INTO t VALUES ${Array.from({ length: 30 }, (_, i) => `(${i}, ${i % 3})`).join(', ')}`)
  return { kv, a, b, clock, versionReads: () => reads }
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (e) {
    if (e instanceof SqlError) return e.code
    throw e
  }
}

test('within the lease, statements read no catalog version; once it ran out, the next statement reads it and renews the lease', async () => {
  const { kv, b, clock, versionReads } = await twoGateways()
  const s = b.session()
  await s.execute('SELECT v FROM t WHERE id = 1')
  const reads = versionReads()
  const gets = kv.stats.get
  assert.deepEqual((await s.execute('SELECT v FROM t WHERE id = 2')).rows, [[2n]])
  await s.execute('INSERT INTO t VALUES (100, 1)')
  await s.execute('BEGIN')
  await s.execute('UPDATE t SET v = 5 WHERE id = 3')
  await s.execute('COMMIT')
  assert.equal(versionReads(), reads, 'no statement read the version inside the lease')
  assert.equal(kv.stats.get, gets, 'no write read the version alone')
  clock.advance(LEASE_MS)
  await s.execute('SELECT v FROM t WHERE id = 2')
  assert.equal(versionReads(), reads + 1, 'the lease ran out: the version is read again')
  await s.execute('SELECT v FROM t WHERE id = 2')
  assert.equal(versionReads(), reads + 1, 'and the lease was renewed')
})

test('a schema change returns only once no gateway plans with the catalog before it: the next statement on another gateway sees it', async () => {
  const { a, b } = await twoGateways()
  const sa = a.session()
  const sb = b.session()
  await sb.execute('SELECT * FROM t WHERE id = 1')
  await sa.execute('ALTER TABLE t ADD COLUMN z INT DEFAULT 7')
  assert.deepEqual((await sb.execute('SELECT z FROM t WHERE id = 1')).rows, [[7n]])
  await sb.execute('SELECT * FROM t WHERE id = 1')
  await sa.execute('DROP TABLE t')
  assert.equal(await code(sb.execute('SELECT * FROM t WHERE id = 1')), '42P01')
  await sb.execute('SELECT 1')
  await sa.execute('CREATE TABLE t (id INT PRIMARY KEY, w TEXT)')
  await sa.execute("INSERT INTO t VALUES (1, 'new')")
  assert.deepEqual((await sb.execute('SELECT w FROM t WHERE id = 1')).rows, [['new']])
})

test('a reader holding a lease never plans two schema versions behind its snapshot: through DROP INDEX, its index reads stay complete', async () => {
  const { a, b } = await twoGateways()
  const sa = a.session()
  const sb = b.session()
  await sa.execute('CREATE INDEX t_v ON t (v)')
  let expected = 10n
  let checks = 0
  const count = async () => (await sb.execute('SELECT COUNT(*) FROM t WHERE v = 1')).rows[0]![0]
  assert.equal(await count(), expected)
  // At every state of the drop, a row with v = 1 is written on gateway A (by then its writers
  // may write no index entries), and gateway B, whose lease was taken before the step,
  // counts the rows with v = 1: if it planned with the index while the index was two
  // states on (delete-only), it would miss the new rows.
  let id = 1000
  const onStep = async () => {
    await sa.execute(`INSERT INTO t VALUES (${id++}, 1)`)
    expected++
    assert.equal(await count(), expected)
    checks++
  }
  const stmt = a.statements.parse('DROP INDEX t_v')[0] as SchemaChange
  await runSchemaChange(a.db, stmt, { chunkSize: 4, onStep, lease: a.lease })
  assert.ok(checks >= 3, `the drop went through its states (${checks} steps)`)
  assert.equal(await count(), expected)
})

test('every catalog change commits at a timestamp from the oracle, never one-phase (the lease proof needs it); row writes may commit one-phase', async () => {
  const kv = new MemoryKv()
  /** Each commit that wrote: whether it asked for an oracle timestamp, and whether it changed the catalog version. */
  const commits: Array<{ fromOracle: boolean; catalog: boolean }> = []
  const begin = kv.begin.bind(kv)
  kv.begin = async () => {
    const txn = await begin()
    let catalog = false
    const put = txn.put.bind(txn)
    txn.put = (key, value) => {
      if (compareBytes(key, VERSION_KEY) === 0) catalog = true
      put(key, value)
    }
    const commit = txn.commit.bind(txn)
    txn.commit = (options) => {
      commits.push({ fromOracle: options?.timestampFromOracle === true, catalog })
      return commit(options)
    }
    return txn
  }
  const clock = fakeClock()
  const s = new SqlEngine(kv, { schemaLease: { durationMs: LEASE_MS, now: clock.now, sleep: clock.sleep } }).session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, v INT)')
  await s.execute('INSERT INTO t VALUES (1, 1), (2, 2)')
  await s.execute('CREATE INDEX t_v ON t (v)')
  await s.execute('BEGIN')
  await s.execute('CREATE TABLE u (id INT PRIMARY KEY)')
  await s.execute('INSERT INTO u VALUES (1)')
  await s.execute('COMMIT')
  await s.execute('UPDATE t SET v = 3 WHERE id = 1')
  const catalogChanges = commits.filter((c) => c.catalog)
  assert.ok(catalogChanges.length >= 4, `CREATE TABLE, the steps of CREATE INDEX and the explicit transaction changed the catalog (${catalogChanges.length})`)
  assert.deepEqual(catalogChanges.filter((c) => !c.fromOracle), [])
  assert.ok(commits.some((c) => !c.catalog && !c.fromOracle), 'row writes keep one-phase commit open')
})

test('SchemaLease: a catalog serves snapshots at or above the one it was read at, begun before the lease ends; renewals keep the newest version', () => {
  const lease = new SchemaLease({ durationMs: 50, now: () => 0 })
  const v1 = new Catalog(1n, new Map())
  const v2 = new Catalog(2n, new Map())
  assert.equal(lease.catalogFor(10n, { calledMs: 0, resolvedMs: 0 }), null)
  lease.renew(v1, 10n, { calledMs: 100, resolvedMs: 120 })
  assert.equal(lease.catalogFor(10n, { calledMs: 130, resolvedMs: 149 }), v1)
  assert.equal(lease.catalogFor(9n, { calledMs: 130, resolvedMs: 140 }), null, 'a snapshot before the read may predate the version')
  assert.equal(lease.catalogFor(11n, { calledMs: 130, resolvedMs: 150 }), null, 'the lease ends 50 ms after the reading transaction asked for its snapshot')
  lease.renew(v2, 20n, { calledMs: 200, resolvedMs: 200 })
  lease.renew(v1, 30n, { calledMs: 300, resolvedMs: 300 })
  assert.equal(lease.catalogFor(25n, { calledMs: 210, resolvedMs: 210 }), v2)
  assert.equal(lease.waitMs, 54)
  assert.equal(new SchemaLease({ durationMs: 0 }).waitMs, 0)
})

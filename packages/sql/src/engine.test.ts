import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SqlEngine } from './engine.js'
import { SqlError, SqlState } from './errors.js'
import type { KvDatabase, KvTransaction } from './kv-port.js'
import { MAX_STATEMENT_SIZE } from './parse.js'
import { MemoryKv } from './testing/memory-kv.js'

async function setup(): Promise<{ kv: MemoryKv; engine: SqlEngine }> {
  const kv = new MemoryKv()
  const engine = new SqlEngine(kv)
  const s = engine.session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, v INT)')
  await s.execute('INSERT INTO t VALUES (1, 10), (2, 20)')
  return { kv, engine }
}

test('an autocommit point SELECT costs one begin and one getMany (schema version included), no commit', async () => {
  const { kv, engine } = await setup()
  const s = engine.session()
  await s.execute('SELECT v FROM t WHERE id = 1')
  const before = { ...kv.stats }
  const r = await s.execute('SELECT v FROM t WHERE id = 2')
  assert.deepEqual(r.rows, [[20n]])
  assert.equal(kv.stats.begin - before.begin, 1)
  assert.equal(kv.stats.getMany - before.getMany, 1)
  assert.equal(kv.stats.get + kv.stats.scan - before.get - before.scan, 0)
  assert.equal(kv.stats.commit - before.commit, 0)
})

test('an autocommit single-row INSERT reads only the schema version and commits once', async () => {
  const { kv, engine } = await setup()
  const s = engine.session()
  const before = { ...kv.stats }
  await s.execute('INSERT INTO t VALUES (3, 30)')
  assert.equal(kv.stats.begin - before.begin, 1)
  assert.equal(kv.stats.get - before.get, 1)
  assert.equal(kv.stats.getMany + kv.stats.scan - before.getMany - before.scan, 0)
  assert.equal(kv.stats.commit - before.commit, 1)
})

test('a schema change made through another engine is noticed and the statement re-planned', async () => {
  const { kv, engine } = await setup()
  const other = new SqlEngine(kv).session()
  await engine.session().execute('SELECT * FROM t')
  await other.execute('DROP TABLE t')
  await other.execute('CREATE TABLE t (id INT PRIMARY KEY, name TEXT)')
  await other.execute("INSERT INTO t VALUES (7, 'seven')")
  const r = await engine.session().execute('SELECT * FROM t')
  assert.deepEqual(r.columns.map((c) => c.name), ['id', 'name'])
  assert.deepEqual(r.rows, [[7n, 'seven']])
})

test('a table created through another engine is found although the cached catalog does not know it', async () => {
  const { kv, engine } = await setup()
  const other = new SqlEngine(kv).session()
  await engine.session().execute('SELECT * FROM t')
  await other.execute('CREATE TABLE u (id INT PRIMARY KEY)')
  await other.execute('INSERT INTO u VALUES (1)')
  assert.deepEqual((await engine.session().execute('SELECT id FROM u')).rows, [[1n]])
  await assert.rejects(engine.session().execute('SELECT * FROM nope'), (e: { code?: string }) => e.code === '42P01')
})

test('concurrent explicit transactions: the second writer to commit gets 40001', async () => {
  const { engine } = await setup()
  const a = engine.session()
  const b = engine.session()
  await a.execute('BEGIN')
  await b.execute('BEGIN')
  await a.execute('UPDATE t SET v = v + 1 WHERE id = 1')
  await b.execute('UPDATE t SET v = v + 100 WHERE id = 1')
  await a.execute('COMMIT')
  await assert.rejects(b.execute('COMMIT'), { code: '40001' })
  assert.equal(b.inTransaction, false)
  const r = await engine.session().execute('SELECT v FROM t WHERE id = 1')
  assert.deepEqual(r.rows, [[11n]])
})

test('an autocommit statement that meets a write conflict is retried with a fresh transaction', async () => {
  const { engine } = await setup()
  const a = engine.session()
  await a.execute('BEGIN')
  await a.execute('UPDATE t SET v = 0 WHERE id = 1')
  // Interleave: the autocommit UPDATE reads, then `a` commits before it does.
  const b = engine.session()
  const pending = b.execute('UPDATE t SET v = v + 5 WHERE id = 1')
  await a.execute('COMMIT')
  await pending
  const r = await engine.session().execute('SELECT v FROM t WHERE id = 1')
  assert.ok([5n, 15n].includes(r.rows[0]![0] as bigint))
})

test('a statement over MAX_STATEMENT_SIZE is 54000; close() rolls back', async () => {
  const { engine } = await setup()
  const s = engine.session()
  await assert.rejects(s.execute(`SELECT '${'x'.repeat(MAX_STATEMENT_SIZE)}'`), { code: '54000' })
  await s.execute('BEGIN')
  await s.execute('INSERT INTO t VALUES (9, 9)')
  await s.close()
  const r = await engine.session().execute('SELECT COUNT(*) FROM t')
  assert.deepEqual(r.rows, [[2n]])
})

test('a transaction that cannot start (no timestamps) is a coded error, in and out of BEGIN', async () => {
  const { kv } = await setup()
  const unavailable = Object.assign(new Error('no timestamps from the placement driver'), { code: 'UNAVAILABLE' })
  const engine = new SqlEngine({ limits: kv.limits, begin: () => Promise.reject(unavailable), rangesOf: (s, e) => kv.rangesOf(s, e) })
  const s = engine.session()
  await assert.rejects(s.execute('SELECT 1'), { code: '08006' })
  await assert.rejects(s.execute('BEGIN'), { code: '08006' })
})

test('a read that fails alongside the schema version check fails the statement and leaves no unhandled rejection', async () => {
  const { kv } = await setup()
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  try {
    const timeout = Object.assign(new Error('no answer before the deadline'), { code: 'TIMEOUT' })
    let failing = false
    const flaky: KvDatabase = {
      limits: kv.limits,
      begin: async () => {
        const txn = await kv.begin()
        return failing ? Object.assign(Object.create(txn) as KvTransaction, { getMany: () => Promise.reject(timeout) }) : txn
      },
      rangesOf: (start, end) => kv.rangesOf(start, end),
    }
    const s = new SqlEngine(flaky).session()
    await s.execute('SELECT v FROM t WHERE id = 1') // caches the catalog: the next statement checks its version in its first read
    failing = true
    await assert.rejects(s.execute('SELECT v FROM t WHERE id = 1'), (err: SqlError) => err.code === SqlState.STATEMENT_COMPLETION_UNKNOWN)
    await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(unhandled, [])
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})

test('inside BEGIN an INSERT reads its keys in one getMany (the duplicate check) and fails there with 23505, not at COMMIT', async () => {
  const { kv, engine } = await setup()
  const s = engine.session()
  await s.execute('SELECT v FROM t WHERE id = 1') // caches the catalog
  await s.execute('BEGIN')
  // The first statement of the transaction checks the schema version in the same read.
  for (const insert of ['INSERT INTO t VALUES (3, 30), (4, 40)', 'INSERT INTO t VALUES (6, 60)']) {
    const before = { ...kv.stats }
    await s.execute(insert)
    assert.equal(kv.stats.getMany - before.getMany, 1, insert)
    assert.equal(kv.stats.get + kv.stats.scan + kv.stats.commit - before.get - before.scan - before.commit, 0, insert)
  }
  await assert.rejects(s.execute('INSERT INTO t VALUES (5, 50), (2, 99)'), { code: '23505', message: 'duplicate key value violates unique constraint "t_pkey"' })
  await assert.rejects(s.execute('SELECT * FROM t'), { code: '25P02' })
  assert.deepEqual(await s.execute('COMMIT'), { command: 'ROLLBACK', columns: [], rows: [], rowsAffected: 0 })
  assert.deepEqual((await s.execute('SELECT id, v FROM t')).rows, [[1n, 10n], [2n, 20n]])
})

test('a row another transaction inserted after this one began passes the statement-time check and is caught at COMMIT (40001)', async () => {
  const { engine } = await setup()
  const a = engine.session()
  await a.execute('BEGIN')
  await a.execute('SELECT COUNT(*) FROM t') // pins a's snapshot
  await engine.session().execute('INSERT INTO t VALUES (3, 300)')
  await a.execute('INSERT INTO t VALUES (3, 3)') // absent at a's snapshot
  await assert.rejects(a.execute('COMMIT'), { code: '40001' })
  assert.deepEqual((await engine.session().execute('SELECT v FROM t WHERE id = 3')).rows, [[300n]])
  // Committed before the transaction began: seen at the INSERT.
  await a.execute('BEGIN')
  await assert.rejects(a.execute('INSERT INTO t VALUES (3, 3)'), { code: '23505' })
  await a.execute('ROLLBACK')
})

test('a write over the KV limits is 54000 naming the limit, in autocommit and inside BEGIN; nothing is written', async () => {
  const kv = new MemoryKv({ limits: { maxKeyBytes: 100, maxWriteBytes: 1000 } })
  const s = new SqlEngine(kv).session()
  await s.execute('CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)')
  await assert.rejects(s.execute(`INSERT INTO t VALUES ('a', '${'x'.repeat(1000)}')`), { code: '54000', message: /a row of table "t" is \d+ bytes, over the 1000-byte limit of one write/ })
  await assert.rejects(s.execute(`INSERT INTO t VALUES ('${'k'.repeat(100)}', 'v')`), { code: '54000', message: /over the 100-byte limit of a key/ })
  await s.execute('BEGIN')
  await s.execute("INSERT INTO t VALUES ('b', 'v')")
  await assert.rejects(s.execute(`UPDATE t SET v = '${'x'.repeat(1000)}'`), { code: '54000' })
  await s.execute('ROLLBACK')
  assert.deepEqual((await s.execute('SELECT COUNT(*) FROM t')).rows, [[0n]])
  // A key too long to be stored is simply absent to a read.
  assert.deepEqual((await s.execute(`SELECT * FROM t WHERE k = '${'k'.repeat(100)}'`)).rows, [])
})

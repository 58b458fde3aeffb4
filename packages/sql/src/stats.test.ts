import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SqlEngine } from './engine.js'
import { decodeStats, StatsCache, statsKey, type TableStats } from './stats.js'
import { StatsRefresher } from './stats-refresh.js'
import { MemoryKv } from './testing/memory-kv.js'

async function stored(kv: MemoryKv, tableId: number): Promise<TableStats | null> {
  const txn = await kv.begin()
  const value = await txn.get(statsKey(tableId))
  await txn.rollback()
  return value === undefined ? null : decodeStats(value)
}

test('ANALYZE stores row counts, distinct counts, NULL fractions and histograms', async () => {
  const kv = new MemoryKv()
  const s = new SqlEngine(kv).session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, g INT, s TEXT)')
  await s.execute("INSERT INTO t SELECT x, x % 7, CASE WHEN x % 4 = 0 THEN NULL ELSE 'v' || (x % 3) END FROM generate_series(1, 200) AS g(x)")
  await s.execute('ANALYZE t')
  const stats = await stored(kv, 100)
  assert.ok(stats !== null)
  assert.equal(stats.rowCount, 200)
  assert.equal(stats.columns.id!.distinct, 200)
  assert.equal(stats.columns.g!.distinct, 7)
  assert.equal(stats.columns.s!.distinct, 3)
  assert.equal(stats.columns.s!.nullFraction, 0.25)
  assert.equal(stats.columns.id!.nullFraction, 0)
  // Bounds ascend, as keys do.
  const bounds = stats.columns.id!.bounds
  assert.ok(bounds.length > 2)
  assert.deepEqual([...bounds].sort(), bounds)
})

test("another gateway plans with a table's statistics once it has read them (in the background, never waiting)", async () => {
  const kv = new MemoryKv()
  const a = new SqlEngine(kv).session()
  await a.execute('CREATE TABLE t (id INT PRIMARY KEY, g INT)')
  await a.execute('CREATE INDEX t_g ON t (g)')
  await a.execute('INSERT INTO t SELECT x, x % 2 FROM generate_series(1, 300) AS g(x)')
  const plan = async (s: typeof a) => (await s.execute('EXPLAIN SELECT * FROM t WHERE g = 1')).rows.map((r) => String(r[0])).join('\n')
  // Without statistics the index is used; with them, half the table is read whole.
  assert.match(await plan(a), /index scan t@t_g/)
  await a.execute('ANALYZE t')
  assert.match(await plan(a), /full scan t@primary/)
  const b = new SqlEngine(kv).session()
  const deadline = Date.now() + 10_000
  let seen = await plan(b)
  while (!/full scan t@primary/.test(seen) && Date.now() < deadline) {
    await new Promise((r) => setImmediate(r))
    seen = await plan(b)
  }
  assert.match(seen, /full scan t@primary \(ranges in parallel\) \(est\. 150 rows\)/)
  assert.deepEqual((await b.execute('SELECT COUNT(*) FROM t WHERE g = 1')).rows, [[150n]])
})

test('statistics follow a table as it grows from empty, without ANALYZE: collected again once 20% of its rows plus 500 were written', async () => {
  const kv = new MemoryKv()
  const engine = new SqlEngine(kv, { statsRefresh: true })
  const s = engine.session()
  const plan = async () => (await s.execute('EXPLAIN SELECT * FROM t WHERE g = 1')).rows.map((r) => String(r[0])).join('\n')
  const insert = async (from: number, to: number) => {
    await s.execute(`INSERT INTO t SELECT x, x % 2 FROM generate_series(${from}, ${to}) AS g(x)`)
    await engine.statsRefresh!.idle()
  }
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, g INT)')
  await s.execute('CREATE INDEX t_g ON t (g)')
  await insert(1, 300)
  assert.equal(await stored(kv, 100), null, '300 rows written: below the threshold of 500')
  assert.match(await plan(), /index scan t@t_g/)
  await insert(301, 600)
  assert.equal((await stored(kv, 100))?.rowCount, 600)
  // Half the table matches: with statistics the planner reads it whole instead of through the index.
  assert.match(await plan(), /full scan t@primary .*\(est\. 300 rows\)/)
  // The next collection waits for 20% of 600 plus 500 = 620 rows.
  await insert(601, 1200)
  assert.equal((await stored(kv, 100))?.rowCount, 600)
  await s.execute('DELETE FROM t WHERE id > 1180')
  await engine.statsRefresh!.idle()
  assert.equal((await stored(kv, 100))?.rowCount, 1180, 'deleted rows count as written')
  assert.match(await plan(), /\(est\. 590 rows\)/)
})

test('automatic statistics count a transaction’s writes when it commits, not when it rolls back', async () => {
  const kv = new MemoryKv()
  const engine = new SqlEngine(kv, { statsRefresh: true })
  const s = engine.session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, g INT)')
  for (const end of ['ROLLBACK', 'COMMIT']) {
    await s.execute('BEGIN')
    await s.execute('INSERT INTO t SELECT x, x FROM generate_series(1, 400) AS g(x)')
    await s.execute('UPDATE t SET g = g + 1 WHERE id <= 200')
    await s.execute(end)
    await engine.statsRefresh!.idle()
    assert.equal((await stored(kv, 100))?.rowCount ?? null, end === 'COMMIT' ? 400 : null, end)
  }
})

test('without automatic statistics (the default of an engine; a node turns them on) only ANALYZE collects them', async () => {
  const kv = new MemoryKv()
  const s = new SqlEngine(kv).session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, g INT)')
  await s.execute('INSERT INTO t SELECT x, x FROM generate_series(1, 1000) AS g(x)')
  assert.equal(await stored(kv, 100), null)
})

test('a failed automatic collection is logged and tried again after another 500 rows written, not at every write', async () => {
  let attempts = 0
  const warnings: string[] = []
  const refresher = new StatsRefresher({
    stats: new StatsCache(new MemoryKv()),
    collect: async () => {
      attempts++
      throw new Error('write conflict')
    },
    logger: { warn: (msg) => warnings.push(msg) },
  })
  for (const [rows, expected] of [[600, 1], [10, 1], [489, 1], [1, 2]] as const) {
    refresher.noteWrites(100, rows)
    await refresher.idle()
    assert.equal(attempts, expected, `after ${rows} more rows`)
  }
  assert.deepEqual(warnings, Array(2).fill('statistics: the automatic collection of table 100 failed: write conflict'))
})

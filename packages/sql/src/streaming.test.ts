import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { encodeKey } from '@mrdb/storage'
import { ExternalSorter } from './external-sort.js'
import { MemoryAccount } from './memory.js'
import { sortRows, type SortKey } from './row-ops.js'
import type { StatementContext } from './statement-context.js'
import { SqlEngine } from './engine.js'
import type { KvDatabase, KvTransaction } from './kv-port.js'
import { MemoryKv } from './testing/memory-kv.js'
import { memoryEngine } from './testing/memory-engine.js'
import type { SqlValue } from './values.js'

function random(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
}

async function load(s: ReturnType<SqlEngine['session']>, table: string, n: number, row: (id: number) => string): Promise<void> {
  for (let from = 0; from < n; from += 500) {
    const values = Array.from({ length: Math.min(500, n - from) }, (_, i) => row(from + i))
    await s.execute(`INSERT INTO ${table} VALUES ${values.join(', ')}`)
  }
}

test('a statement over its memory budget fails with 53200 naming the budget; the session and others go on', async () => {
  const engine = memoryEngine({ memoryBudgetBytes: 256 * 1024 })
  const s = engine.session()
  await s.execute('CREATE TABLE g (id INT PRIMARY KEY, grp INT, pad TEXT)')
  await load(s, 'g', 3000, (id) => `(${id}, ${id % 3}, '${'p'.repeat(20)}${id}')`)
  // 3,000 groups keyed by a 26-character text: well over 0.25 MiB of groups.
  await assert.rejects(s.execute('SELECT pad, COUNT(*) FROM g GROUP BY pad'), (e: Error & { code?: string }) => {
    assert.equal(e.code, '53200')
    assert.match(e.message, /out of memory: GROUP BY .*memory budget of 256 KiB/)
    return true
  })
  // Not streamed (COUNT DISTINCT), a join's build side, a sort of joined rows: also charged.
  await assert.rejects(s.execute('SELECT pad, COUNT(DISTINCT id) FROM g GROUP BY pad'), { code: '53200' })
  await assert.rejects(s.execute('SELECT COUNT(*) FROM g a JOIN g b ON a.id = b.id'), { code: '53200' })
  await assert.rejects(s.execute('SELECT DISTINCT pad FROM g'), { code: '53200' })
  // The same session and another one go on; few groups fit.
  assert.deepEqual((await s.execute('SELECT grp, COUNT(*) FROM g GROUP BY grp ORDER BY grp')).rows, [[0n, 1000n], [1n, 1000n], [2n, 1000n]])
  assert.deepEqual((await engine.session().execute('SELECT COUNT(*) FROM g')).rows, [[3000n]])
  // A session may raise its own budget (and only its own).
  await s.execute('SET sql_memory_budget_mb = 64')
  assert.equal((await s.execute('SELECT pad, COUNT(*) FROM g GROUP BY pad')).rows.length, 3000)
  await assert.rejects(engine.session().execute('SELECT pad, COUNT(*) FROM g GROUP BY pad'), { code: '53200' })
  await assert.rejects(s.execute('SET sql_memory_budget_mb = -1'), { code: '22023' })
})

test('LIMIT reads a few chunks of a big table, not all of them, across ranges and with a filter the scan cannot apply', async () => {
  // Table 100's rows in ten ranges of 500.
  const kv = new MemoryKv({ splitKeys: Array.from({ length: 9 }, (_, i) => encodeKey(['/table', 100n, 1n, BigInt(500 * (i + 1))])) })
  const engine = new SqlEngine(kv, { scanChunkSize: 25 })
  const s = engine.session()
  await s.execute('CREATE TABLE big (id INT PRIMARY KEY, v INT, w TEXT)')
  await s.execute('CREATE INDEX big_v ON big (v)')
  await load(s, 'big', 5000, (id) => `(${id}, ${id % 250}, 'w${id}')`)
  const scans = async (sql: string, rows: number) => {
    await s.execute(sql) // warm: the catalog
    const before = kv.stats.scan
    const result = await s.execute(sql)
    assert.equal(result.rows.length, rows, sql)
    return kv.stats.scan - before
  }
  // 5,000 rows are 200 chunks in ten ranges: each of these reads one, and the one its prefetch asked for.
  assert.ok((await scans('SELECT * FROM big LIMIT 5', 5)) <= 2)
  assert.ok((await scans('SELECT * FROM big WHERE v = 7 OR w = \'w9\' LIMIT 5', 5)) <= 40)
  assert.ok((await scans('SELECT id FROM big WHERE id > 1000 ORDER BY id LIMIT 3 OFFSET 2', 3)) <= 2)
  assert.ok((await scans('SELECT DISTINCT v FROM big LIMIT 10', 10)) <= 2)
  assert.ok((await scans('SELECT id FROM big WHERE v >= 125 LIMIT 10', 10)) <= 3)
  assert.deepEqual((await s.execute('SELECT id FROM big WHERE id >= 4998 LIMIT 10')).rows, [[4998n], [4999n]])
  // Without LIMIT everything is read (and the answer is whole); the sort's input comes from four ranges at once, in key order.
  assert.ok((await scans('SELECT id FROM big', 5000)) >= 200)
  // Read whole, an index is paged by four chunks' worth of entries: 2,000 entries in 20 pages of 100 (and one empty), not 80 of 25.
  assert.equal(await scans('SELECT id, v FROM big WHERE v BETWEEN 0 AND 99', 2000), 21)
  const sorted = (await s.execute('SELECT id, v FROM big WHERE id % 3 = 0 ORDER BY v DESC, w')).rows
  const expected = Array.from({ length: 5000 }, (_, id) => id)
    .filter((id) => id % 3 === 0)
    .sort((a, b) => (b % 250) - (a % 250) || (`w${a}` < `w${b}` ? -1 : 1))
    .map((id) => [BigInt(id), BigInt(id % 250)])
  assert.deepEqual(sorted, expected)
  assert.equal((await s.execute('SELECT DISTINCT v FROM big')).rows.length, 250)
})

test('a streamed aggregate reads a few ranges at a time, not all of them at once (pages arriving together stall the event loop)', async () => {
  // Table 100's rows in ten ranges of 200; each scan answers a moment later, as a remote range does.
  const kv = new MemoryKv({ splitKeys: Array.from({ length: 9 }, (_, i) => encodeKey(['/table', 100n, 1n, BigInt(200 * (i + 1))])) })
  let inFlight = 0
  let most = 0
  const slowScans = (txn: KvTransaction): KvTransaction =>
    new Proxy(txn, {
      get(target, prop) {
        if (prop !== 'scan') return Reflect.get(target, prop, target) as unknown
        return async (start: Uint8Array, end: Uint8Array, limit?: number) => {
          most = Math.max(most, ++inFlight)
          try {
            await new Promise((r) => setTimeout(r, 1))
            return await target.scan(start, end, limit)
          } finally {
            inFlight--
          }
        }
      },
    })
  const db: KvDatabase = { limits: kv.limits, begin: async () => slowScans(await kv.begin()), rangesOf: (start, end) => kv.rangesOf(start, end) }
  const s = new SqlEngine(db, { scanChunkSize: 50 }).session()
  await s.execute('CREATE TABLE big (id INT PRIMARY KEY, v INT)')
  await load(s, 'big', 2000, (id) => `(${id}, ${id % 7})`)
  most = 0
  const groups = (await s.execute('SELECT v, COUNT(*), SUM(id) FROM big GROUP BY v ORDER BY v')).rows
  assert.deepEqual(groups.map((g) => g[1]), [286n, 286n, 286n, 286n, 286n, 285n, 285n])
  assert.equal(groups.reduce((sum, g) => sum + (g[2] as bigint), 0n), 1999n * 1000n)
  assert.equal(most, 4, 'ranges read at once')
})

const KEYS: SortKey[] = [
  { index: 1, desc: true, nullsFirst: false },
  { index: 2, desc: false, nullsFirst: true },
]

function randomRows(n: number, seed: number): SqlValue[][] {
  const next = random(seed)
  return Array.from({ length: n }, (_, i) => [BigInt(i), next() % 5 === 0 ? null : BigInt(next() % 50), next() % 4 === 0 ? null : `t${next() % 30}`, 'x'.repeat(next() % 40)])
}

test('the external sort spills runs to disk past the budget and gives what the in-memory sort gives (NULLs, ties, LIMIT)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-spill-test-'))
  try {
    for (const [n, keep] of [[3000, Infinity], [3000, 37], [3, Infinity], [0, Infinity]] as const) {
      const memory = new MemoryAccount(64 * 1024)
      const ctx = { memory, options: { spillDir: dir }, yieldToEventLoop: async () => undefined } as unknown as StatementContext
      const rows = randomRows(n, 7 + n)
      const sorter = new ExternalSorter(ctx, KEYS, keep)
      for (let i = 0; i < rows.length; i += 100) await sorter.add(rows.slice(i, i + 100))
      const out: SqlValue[][] = []
      try {
        for await (const chunk of sorter.drain()) out.push(...chunk)
      } finally {
        await sorter.close()
      }
      const expected = sortRows([...rows], KEYS).slice(0, keep)
      assert.deepEqual(out, expected, `n=${n} keep=${keep}`)
      if (n === 3000 && keep === Infinity) assert.ok(sorter.spilledRuns >= 3, `runs: ${sorter.spilledRuns}`)
      if (keep !== Infinity) assert.equal(sorter.spilledRuns, 0) // a LIMIT keeps only its rows
      assert.equal(memory.usedBytes, 0)
      assert.ok(memory.peak <= 64 * 1024)
    }
    assert.deepEqual(await readdir(dir), [])

    // Through SQL: a small budget spills (no 53200) and the answer is the in-memory one.
    const engine = memoryEngine({ spillDir: dir, scanChunkSize: 250 })
    const s = engine.session()
    await s.execute('CREATE TABLE r (id INT PRIMARY KEY, a INT, b TEXT, pad TEXT)')
    const next = random(99)
    await load(s, 'r', 2000, (id) => `(${id}, ${next() % 5 === 0 ? 'NULL' : next() % 50}, ${next() % 4 === 0 ? 'NULL' : `'t${next() % 30}'`}, '${'x'.repeat(next() % 60)}')`)
    const query = 'SELECT id, a, b, pad FROM r WHERE id % 5 <> 1 ORDER BY a DESC NULLS LAST, b NULLS FIRST, id'
    const inMemory = (await s.execute(query)).rows
    await s.execute('SET sql_memory_budget_mb = 0.1')
    const spilled = (await s.execute(query)).rows
    assert.equal(spilled.length, 1600)
    assert.deepEqual(spilled, inMemory)
    assert.deepEqual((await s.execute(`${query} LIMIT 5 OFFSET 3`)).rows, inMemory.slice(3, 8))
    assert.deepEqual(await readdir(dir), [])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a query that streams hands its rows to onRows chunk by chunk as the scan goes; others answer whole; an error mid-way still fails it', async () => {
  const kv = new MemoryKv({ splitKeys: Array.from({ length: 4 }, (_, i) => encodeKey(['/table', 100n, 1n, BigInt(400 * (i + 1))])) })
  const engine = new SqlEngine(kv, { scanChunkSize: 100 })
  const s = engine.session()
  await s.execute('CREATE TABLE st (id INT PRIMARY KEY, v INT)')
  await load(s, 'st', 2000, (id) => `(${id}, ${id % 10})`)
  const whole = (await s.execute('SELECT id, v * 2 AS twice FROM st WHERE v <> 3')).rows
  const batches: SqlValue[][][] = []
  const scansAtFirst: number[] = []
  const before = kv.stats.scan
  const result = await s.execute('SELECT id, v * 2 AS twice FROM st WHERE v <> 3', {
    onRows: (columns, rows) => {
      assert.deepEqual(columns.map((c) => c.name), ['id', 'twice'])
      if (batches.length === 0) scansAtFirst.push(kv.stats.scan - before)
      batches.push(rows)
    },
  })
  assert.equal(result.streamed, 1800)
  assert.deepEqual(result.rows, [])
  assert.deepEqual(batches.flat(), whole)
  assert.ok(batches.length >= 10, `batches: ${batches.length}`)
  // The first rows went out when only the read-ahead (4 ranges × 2 chunks) of the 20 chunks had been asked for.
  assert.ok(scansAtFirst[0]! <= 10, `scans before the first batch: ${scansAtFirst[0]}`)
  // An aggregate is not a pipeline: its rows come in the result.
  const joined = await s.execute('SELECT COUNT(*) FROM st a JOIN st b ON a.id = b.id', { onRows: () => assert.fail('an aggregate streamed') })
  assert.deepEqual(joined.rows, [[2000n]])
  // An error after some rows were handed over fails the statement; the session goes on.
  let sent = 0
  await assert.rejects(s.execute('SELECT id, 10 / (id - 1500) FROM st', { onRows: (_, rows) => void (sent += rows.length) }), { code: '22012' })
  assert.ok(sent >= 100 && sent < 2000, `sent ${sent}`)
  assert.deepEqual((await s.execute('SELECT COUNT(*) FROM st')).rows, [[2000n]])
})

test("a join's rows go through the pipeline chunk by chunk: ORDER BY over a join spills past the budget, an aggregate folds them, LIMIT stops the join, and they stream to onRows", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-spill-test-'))
  try {
    const engine = memoryEngine({ spillDir: dir, scanChunkSize: 100 })
    const s = engine.session()
    await s.execute('CREATE TABLE ja (id INT PRIMARY KEY, k INT, v TEXT)')
    await s.execute('CREATE TABLE jb (id INT PRIMARY KEY, k INT)')
    await load(s, 'ja', 300, (id) => `(${id}, ${id % 4}, '${'v'.repeat(id % 50)}')`)
    await load(s, 'jb', 300, (id) => `(${id}, ${id % 4})`)
    // 300 × 300 rows on four keys: 22,500 joined rows, megabytes against a 1 MiB budget.
    const queries = [
      'SELECT ja.id, jb.id, ja.v FROM ja JOIN jb ON ja.k = jb.k ORDER BY jb.id DESC, ja.v, ja.id',
      'SELECT ja.id, jb.id FROM ja JOIN jb ON ja.k = jb.k WHERE jb.id % 3 = 0 ORDER BY ja.id + jb.id, ja.id LIMIT 7 OFFSET 2',
      'SELECT ja.id, jb.id FROM ja LEFT JOIN jb ON ja.k = jb.k AND jb.id < ja.id ORDER BY ja.id DESC, jb.id',
      'SELECT jb.k, COUNT(*), SUM(ja.id * jb.id), MAX(length(ja.v)) FROM ja JOIN jb ON ja.k = jb.k GROUP BY jb.k ORDER BY jb.k',
      'SELECT DISTINCT ja.k, jb.id % 7 FROM ja JOIN jb ON ja.k = jb.k ORDER BY 1, 2',
    ]
    const expected: SqlValue[][][] = []
    for (const q of queries) expected.push((await s.execute(q)).rows)
    assert.equal(expected[0]!.length, 22_500)
    await s.execute('SET sql_memory_budget_mb = 1')
    for (const [i, q] of queries.entries()) assert.deepEqual((await s.execute(q)).rows, expected[i], q)
    assert.deepEqual(await readdir(dir), [], 'the sorts removed their runs')
    // Rows of a join without ORDER BY go to onRows as they are joined, never held whole.
    const batches: number[] = []
    const streamed = await s.execute('SELECT ja.id, jb.id FROM ja JOIN jb ON ja.k = jb.k', { onRows: (_, rows) => void batches.push(rows.length) })
    assert.equal(streamed.streamed, 22_500)
    assert.ok(batches.length >= 20, `batches: ${batches.length}`)
    // A LIMIT over a join ends it: a sink that wants no more rows too.
    assert.equal((await s.execute('SELECT ja.id, jb.id FROM ja JOIN jb ON ja.k = jb.k LIMIT 3')).rows.length, 3)
    let taken = 0
    const stopped = await s.execute('SELECT ja.id, jb.id FROM ja JOIN jb ON ja.k = jb.k', { onRows: (_, rows) => ((taken += rows.length), false) })
    assert.equal(stopped.streamed, taken)
    assert.ok(taken < 1000, `taken: ${taken}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('joins read their first table a chunk at a time: past the budget they still answer, and LIMIT stops the scan', async () => {
  const kv = new MemoryKv()
  const engine = new SqlEngine(kv, { scanChunkSize: 100 })
  const s = engine.session()
  await s.execute('CREATE TABLE big (id INT PRIMARY KEY, k INT, pad TEXT)')
  await s.execute('CREATE TABLE small (id INT PRIMARY KEY, name TEXT)')
  await load(s, 'big', 2000, (id) => `(${id}, ${id % 8}, '${'p'.repeat(100)}')`)
  await load(s, 'small', 8, (id) => `(${id}, 'n${id}')`)
  const queries = [
    'SELECT big.id, small.name FROM big JOIN small ON big.k = small.id',
    'SELECT big.id, small.name FROM big LEFT JOIN small ON big.k = small.id AND small.name <> \'n3\' WHERE big.id % 3 = 0',
    'SELECT big.id, small.name, s2.name FROM big JOIN small ON big.k = small.id LEFT JOIN small AS s2 ON s2.id = big.k + 1 WHERE big.id < 1500',
  ]
  const expected: SqlValue[][][] = []
  for (const q of queries) expected.push((await s.execute(q)).rows)
  // The big table's rows (about 0.4 MiB) pass a 0.1 MiB budget; the small one is the join's whole side.
  await s.execute('SET sql_memory_budget_mb = 0.1')
  for (const [i, q] of queries.entries()) assert.deepEqual((await s.execute(q)).rows, expected[i], q)
  const limited = 'SELECT big.id, small.name FROM big JOIN small ON big.k = small.id LIMIT 3'
  await s.execute(limited) // warm: the catalog
  const before = kv.stats.scan
  assert.deepEqual((await s.execute(limited)).rows, [[0n, 'n0'], [1n, 'n1'], [2n, 'n2']])
  // The small table's one chunk, and one or two of the big table's 20.
  assert.ok(kv.stats.scan - before <= 3, `scans: ${kv.stats.scan - before}`)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ExecutorPool } from './executor-pool.js'
import { parseSql } from './parse.js'
import { memoryEngine } from './testing/memory-engine.js'

test('aggregates on the executor pool equal the inline ones, errors raised in workers keep their code, SET switches it', async () => {
  const pool = new ExecutorPool({ threads: 2 })
  try {
    const engine = memoryEngine({ pool, scanChunkSize: 7 })
    const s = engine.session()
    await s.execute('CREATE TABLE m (id INT PRIMARY KEY, grp INT, v BIGINT, f FLOAT, t TEXT)')
    const rows: string[] = []
    let seed = 42
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    for (let id = 0; id < 300; id++) rows.push(`(${id}, ${next() % 5}, ${next() % 2 === 0 ? 'NULL' : next() % 1000}, ${(next() % 100) / 4}, 'x${next() % 7}')`)
    await s.execute(`INSERT INTO m VALUES ${rows.join(', ')}`)
    const query = 'SELECT grp, COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(t), AVG(f) FROM m WHERE id % 3 <> 1 GROUP BY grp ORDER BY grp'
    assert.match((await s.execute(`EXPLAIN ${query}`)).rows.flat().join('\n'), /streamed: per scanned chunk, on the executor pool/)
    const pooled = await s.execute(query)
    await s.execute('SET executor_pool = off')
    assert.match((await s.execute(`EXPLAIN ${query}`)).rows.flat().join('\n'), /streamed: per scanned chunk, inline/)
    const inline = await s.execute(query)
    // COUNT(DISTINCT …) is not streamed: the rows are read first, then aggregated — a third way to the same answer.
    const materialized = await s.execute(query.replace('COUNT(*)', 'COUNT(DISTINCT id)'))
    assert.equal(pooled.rows.length, 5)
    assert.deepEqual(pooled.rows, inline.rows)
    assert.deepEqual(materialized.rows, inline.rows)

    await s.execute('SET executor_pool = on')
    // Statements of 16 KB or more are parsed on the pool; their errors keep their codes.
    const big = Array.from({ length: 400 }, (_, i) => `(${2000 + i}, 1, 1, 1.5, '${'y'.repeat(40)}')`).join(', ')
    assert.ok(big.length > 16 * 1024)
    assert.equal((await s.execute(`INSERT INTO m VALUES ${big}`)).rowsAffected, 400)
    await assert.rejects(s.execute(`INSERT INTO m VALUES ${big},`), { code: '42601' })
    await s.execute('DELETE FROM m WHERE id >= 2000')
    await s.execute('INSERT INTO m VALUES (1000, 9, 9223372036854775807, 0, NULL), (1001, 9, 9223372036854775807, 0, NULL)')
    await assert.rejects(s.execute('SELECT SUM(v) FROM m WHERE grp = 9'), { code: '22003' })
    await assert.rejects(s.execute('SET executor_pool = maybe'), { code: '22023' })
    await assert.rejects(s.execute('SET nope = 1'), { code: '42704' })
  } finally {
    await pool.close()
  }
})

/** A multi-row INSERT just under the 1 MiB statement limit: the parser takes 2.5–4 s to read it. */
const SLOW_TO_PARSE = `INSERT INTO m VALUES ${Array.from({ length: 29_000 }, (_, i) => `(${i}, 1, 1, 1.5, 'yyyyyyyyyy')`).join(', ')}`

test('a parse that outruns its budget is stopped with 54001; the budget runs from the start of the parse, not the queue', async () => {
  // The budget of every parse here, the short ones' too: on a loaded machine a fresh worker's
  // first parse of 'SELECT 1', and the main thread's turn to take its answer before the
  // budget's timer, took over 300 ms (CI: 54001 instead of an answer). SLOW_TO_PARSE needs 2.6 s
  // of CPU on this machine, so it still outruns the budget.
  const budgetMs = 1000
  const pool = new ExecutorPool({ threads: 1, parseBaseMs: budgetMs, parseMsPerKiB: 0 })
  try {
    // One worker: the second parse waits in the queue while the first burns its whole budget.
    const [slow, queued] = await Promise.allSettled([pool.parse(SLOW_TO_PARSE), pool.parse('SELECT 1')])
    assert.equal(slow.status, 'rejected')
    assert.equal((slow as PromiseRejectedResult).reason.code, '54001')
    assert.match((slow as PromiseRejectedResult).reason.message, new RegExp(`parsing it took more than ${budgetMs} ms`))
    assert.deepEqual(queued, { status: 'fulfilled', value: parseSql('SELECT 1') })
    // The stopped worker was replaced; errors keep their codes.
    await assert.rejects(pool.parse('SELEC 1'), { code: '42601' })
  } finally {
    await pool.close()
  }
})

test('sessions parse on the pool whatever their setting, so a statement the parser chokes on never blocks the event loop', async () => {
  const pool = new ExecutorPool({ threads: 1, parseBaseMs: 300, parseMsPerKiB: 0 })
  try {
    const s = memoryEngine({ pool }).session()
    await s.execute('SET executor_pool = off')
    // Inline, this would hold the thread for seconds; a timer set now must fire while it runs.
    let ticked = false
    const timer = setTimeout(() => (ticked = true), 10)
    await assert.rejects(s.execute(SLOW_TO_PARSE), { code: '54001' })
    clearTimeout(timer)
    assert.ok(ticked, 'the event loop was blocked')
    assert.deepEqual((await s.execute('SELECT 1 + 1')).rows, [[2n]])
  } finally {
    await pool.close()
  }
})

test('close waits for the tasks already submitted, such as the parse of a template no caller waits for', async () => {
  const pool = new ExecutorPool({ threads: 1 })
  const unawaited = pool.parse('SELECT 2')
  await pool.close()
  assert.deepEqual(await unawaited, parseSql('SELECT 2'))
})

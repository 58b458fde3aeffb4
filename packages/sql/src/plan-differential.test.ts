// Differential test of plans: on random tables with NULLs and random secondary indexes, every
// query gives exactly the rows of the naive plan (`SET naive_plans = on`: full scans and nested
// loops only) — whatever access paths (point gets, ranges, index scans, covering indexes,
// unions, ordered scans) and join algorithms (hash, merge, lookup) the planner picks, with
// and without statistics. Replay a failure with SQL_DIFF_SEED=<seed> node scripts/run-tests.mjs plan-differential.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '@mrdb/storage/testing'
import { memoryEngine } from './testing/memory-engine.js'
import { valueKey, type SqlValue } from './values.js'

const QUERIES = 300

test('joins and index plans give the rows of the full-scan nested-loop plan, on random tables with NULLs and indexes', async () => {
  const seed = Number(process.env.SQL_DIFF_SEED ?? Date.now() % 1_000_000)
  console.log(`plan differential seed ${seed} (replay: SQL_DIFF_SEED=${seed} node scripts/run-tests.mjs plan-differential)`)
  const rng = new SeededRandom(seed)
  const engine = memoryEngine()
  const fast = engine.session()
  const naive = engine.session()
  await naive.execute('SET naive_plans = on')

  const maybe = (v: string) => (rng.next() < 0.2 ? 'NULL' : v)
  const small = () => maybe(String(rng.int(8)))
  const text = () => maybe(`'${rng.pick(['a', 'b', 'c', 'ab'])}'`)
  const tables = ['p', 'q']
  for (const t of tables) {
    await fast.execute(`CREATE TABLE ${t} (id INT PRIMARY KEY, a INT, b INT, s TEXT)`)
    const n = rng.int(40)
    if (n > 0) await fast.execute(`INSERT INTO ${t} VALUES ${Array.from({ length: n }, (_, i) => `(${i * 2 + rng.int(2)}, ${small()}, ${small()}, ${text()})`).join(', ')}`)
    for (const cols of [['a'], ['b'], ['a', 'b'], ['s'], ['b', 'a']]) if (rng.next() < 0.4) await fast.execute(`CREATE INDEX ${t}_${cols.join('_')} ON ${t} (${cols.join(', ')})`)
  }
  // A composite primary key: lookups and ranges on its prefix.
  await fast.execute('CREATE TABLE r (k INT, j INT, v INT, PRIMARY KEY (k, j))')
  const rRows = new Set<string>()
  for (let i = 0; i < 30; i++) rRows.add(`${rng.int(10)}, ${rng.int(4)}`)
  await fast.execute(`INSERT INTO r VALUES ${[...rRows].map((kj) => `(${kj}, ${small()})`).join(', ')}`)
  if (rng.next() < 0.5) await fast.execute('CREATE INDEX r_v ON r (v)')

  const col = (t: string) => `${t}.${rng.pick(['id', 'a', 'b'])}`
  const cond = (t: string): string => {
    const c = `${t}.${rng.pick(['id', 'a', 'b'])}`
    switch (rng.int(8)) {
      case 0:
        return `${c} = ${rng.int(8)}`
      case 1:
        return `${c} BETWEEN ${rng.int(5)} AND ${rng.int(10)}`
      case 2:
        return `${c} IN (${rng.int(8)}, ${rng.int(8)}, ${rng.int(20)})`
      case 3:
        return `${c} ${rng.pick(['<', '<=', '>', '>='])} ${rng.int(10)}`
      case 4:
        return `(${c} = ${rng.int(8)} OR ${t}.${rng.pick(['a', 'b'])} ${rng.pick(['<', '='])} ${rng.int(8)})`
      case 5:
        return `${t}.s ${rng.pick(['=', '<', '>='])} '${rng.pick(['a', 'ab', 'b'])}'`
      case 6:
        return `${c} IS ${rng.pick(['', 'NOT '])}NULL`
      default:
        return 'TRUE'
    }
  }
  const joinQuery = (): string => {
    const [x, y] = rng.next() < 0.5 ? ['p', 'q'] : ['q', 'p']
    const kind = rng.pick(['JOIN', 'JOIN', 'JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN'])
    const on = rng.pick([`${x}.id = ${y}.id`, `${col(x)} = ${y}.id`, `${x}.id = ${col(y)}`, `${col(x)} = ${col(y)}`, `${x}.a = ${y}.a AND ${x}.b = ${y}.b`, `${col(x)} = ${col(y)} AND ${col(x)} < ${col(y)}`, `${col(x)} < ${col(y)}`])
    const where = rng.next() < 0.6 ? ` WHERE ${cond(rng.pick([x, y]))}${rng.next() < 0.3 ? ` AND ${cond(rng.pick([x, y]))}` : ''}` : ''
    const select = rng.pick([`${x}.id, ${y}.id, ${x}.a, ${y}.b`, 'COUNT(*)', `${x}.a, COUNT(${y}.id)`])
    const group = select.includes(', COUNT') ? ` GROUP BY ${x}.a` : ''
    if (kind === 'JOIN' && rng.next() < 0.3) {
      // Three tables: the composite primary key of r looked up by a prefix.
      return `SELECT ${select.replace(/COUNT\(\*\)/, 'COUNT(r.v)')}, r.j FROM ${x} JOIN ${y} ON ${on} JOIN r ON r.k = ${col(y)}${where}${group === '' ? '' : `${group}, r.j`}`
    }
    return `SELECT ${select} FROM ${x} ${kind} ${y} ON ${on}${where}${group}`
  }
  const scanQuery = (): string => {
    const t = rng.pick(tables)
    const where = `${cond(t)}${rng.next() < 0.4 ? ` ${rng.pick(['AND', 'OR'])} ${cond(t)}` : ''}`
    switch (rng.int(4)) {
      case 0:
        return `SELECT id, a FROM ${t} WHERE ${where}`
      case 1:
        return `SELECT * FROM ${t} WHERE ${where}`
      case 2:
        return `SELECT ${rng.pick(['a', 'b', 'id'])} FROM ${t} ORDER BY 1 LIMIT ${rng.int(6) + 1}`
      default:
        return `SELECT k, j, v FROM r WHERE ${cond('r').replace(/r\.(id|a|b)/g, () => `r.${rng.pick(['k', 'j', 'v'])}`)}`
    }
  }
  const canonical = (rows: readonly SqlValue[][]) => rows.map((r) => r.map((v) => valueKey(v)).join('|')).sort()

  const failures: string[] = []
  for (let i = 0; i < QUERIES && failures.length < 3; i++) {
    if (i === QUERIES / 2) await fast.execute('ANALYZE') // the second half plans with statistics
    const sql = rng.next() < 0.6 ? joinQuery() : scanQuery()
    let got: string[] | string
    let want: string[] | string
    try {
      got = canonical((await fast.execute(sql)).rows)
    } catch (e) {
      got = `error ${(e as { code?: string }).code}: ${(e as Error).message}`
    }
    try {
      want = canonical((await naive.execute(sql)).rows)
    } catch (e) {
      want = `error ${(e as { code?: string }).code}: ${(e as Error).message}`
    }
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const plan = (await fast.execute(`EXPLAIN ${sql}`)).rows.map((r) => String(r[0])).join('\n    ')
      failures.push(`${sql}\n  plan:\n    ${plan}\n  got:   ${JSON.stringify(got)}\n  naive: ${JSON.stringify(want)}`)
    }
  }
  assert.deepEqual(failures, [], `seed ${seed}: plans differ from the naive plan:\n${failures.join('\n')}`)
})

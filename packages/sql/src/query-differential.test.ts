// Differential test of query shapes against a reference engine: random small tables with
// NULLs and random SELECTs over them — joins (inner, left, right, full, cross) on NULL keys,
// GROUP BY with NULL groups, HAVING, COUNT/SUM/MIN/MAX/AVG over NULLs and empty groups,
// DISTINCT, ORDER BY with NULLS FIRST/LAST, LIMIT/OFFSET, IN / NOT IN / EXISTS and scalar
// subqueries (correlated or not), UNION [ALL] / INTERSECT / EXCEPT, derived tables, CASE,
// COALESCE, NULLIF, string comparison and LIKE — run by mrdb's in-memory engine and by SQLite
// (sql.js) must answer alike. PostgreSQL's answer is the truth; the generator
// (`testing/random-query.ts`) keeps out what SQLite answers differently (its comment lists
// them) and this file normalises the rest:
// - SQLite's LIKE is case-insensitive by default: it runs with `PRAGMA case_sensitive_like = ON`;
// - AVG is NUMERIC in PostgreSQL and mrdb, a float in SQLite: numbers are compared as doubles
//   to 12 significant digits;
// - booleans are 1/0 in SQLite: they are compared as 1/0;
// - SQLite does not read a parenthesised member of a UNION (`(SELECT … LIMIT 1) UNION …`):
//   it is given the member as `SELECT * FROM (SELECT … LIMIT 1)`.
// Answers are multisets, except that the columns an ORDER BY names must come in its order.
// mrdb may refuse a query (a 42xxx or 0A000 error: counted, not failed); it may not answer
// one wrongly, nor fail with an internal error.
// Replay a failure with SQL_DIFF_SEED=<seed> node scripts/run-tests.mjs query-differential;
// SQL_DIFF_RUNS=<n> runs n seeds from it in one process; SQL_DIFF_VERBOSE=1 prints each refusal.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import initSqlJs, { type Database, type SqlValue as SqliteValue } from 'sql.js'
import { SeededRandom } from '@mrdb/storage/testing'
import type { SqlSession } from './engine.js'
import { memoryEngine } from './testing/memory-engine.js'
import { RANDOM_INDEXES, RandomQuery, randomTables, type GeneratedQuery } from './testing/random-query.js'
import type { SqlValue } from './values.js'

const QUERIES = 250

/**
 * Queries that once answered wrongly, each with the seed whose tables showed it. The tables
 * depend on `randomTables` (and the indexes drawn after it) only, so they survive changes to
 * the query grammar; after a change there, check that each still fails without its fix.
 */
const REGRESSIONS: readonly { readonly seed: number; readonly sql: string; readonly orderedBy?: readonly number[] }[] = [
  // An index scan on (c, s) read s's NULLs first where ORDER BY c, s wants them last.
  { seed: 118, sql: 'SELECT p0.c, p0.s FROM t2 AS p0 WHERE p0.c IN (4, 0) ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST LIMIT 2', orderedBy: [0, 1] },
]

/** A value as both engines can be compared on. */
function comparable(v: SqlValue | SqliteValue): string {
  if (v === null) return 'NULL'
  if (typeof v === 'boolean') return v ? '1' : '0'
  if (typeof v === 'bigint') return String(v)
  if (typeof v === 'number') return String(Number(v.toPrecision(12)))
  if (typeof v === 'string') return JSON.stringify(v)
  if (v instanceof Uint8Array) return `bytes ${Buffer.from(v).toString('hex')}`
  if (!Array.isArray(v) && v.type === 'numeric') return String(Number(Number(v.text).toPrecision(12)))
  return JSON.stringify(v)
}

/** Why `got` (mrdb's rows) is not `want` (SQLite's) for `query`, or undefined when they agree. */
function difference(query: GeneratedQuery, got: string[][], want: string[][]): string | undefined {
  const rows = (rs: string[][]) => rs.map((r) => r.join(' | '))
  const multiset = (rs: string[][]) => rows(rs).sort()
  if (JSON.stringify(multiset(got)) !== JSON.stringify(multiset(want))) return 'rows differ'
  const keys = (rs: string[][]) => rs.map((r) => query.orderedBy.map((p) => r[p]).join(' | '))
  if (JSON.stringify(keys(got)) !== JSON.stringify(keys(want))) return `order by positions ${query.orderedBy.map((p) => p + 1).join(', ')} differs`
  return undefined
}

/** One seed's tables in both engines. */
class Engines {
  private constructor(
    readonly mrdb: SqlSession,
    readonly sqlite: Database,
  ) {}

  static async create(seed: number, SQL: Awaited<ReturnType<typeof initSqlJs>>): Promise<Engines> {
    const rng = new SeededRandom(seed)
    const engines = new Engines(memoryEngine().session(), new SQL.Database())
    engines.sqlite.exec('PRAGMA case_sensitive_like = ON')
    for (const statement of randomTables(rng)) {
      await engines.mrdb.execute(statement)
      engines.sqlite.exec(statement)
    }
    // Indexes and statistics change mrdb's plans, never its answers.
    for (const index of RANDOM_INDEXES) if (rng.next() < 0.4) await engines.mrdb.execute(index)
    if (rng.next() < 0.3) await engines.mrdb.execute('ANALYZE')
    return engines
  }

  /** A failure message when mrdb answers `query` wrongly (or fails inside); else undefined. */
  async check(query: GeneratedQuery, refused: Map<string, number>): Promise<string | undefined> {
    let want: string[][]
    try {
      want = (this.sqlite.exec(query.sqlite ?? query.sql)[0]?.values ?? []).map((r) => r.map(comparable))
    } catch (e) {
      return `${query.sqlite ?? query.sql}\n  SQLite refused it (a generator bug): ${(e as Error).message}`
    }
    let got: string[][]
    try {
      got = (await this.mrdb.execute(query.sql)).rows.map((r) => r.map(comparable))
    } catch (e) {
      const code = (e as { code?: string }).code
      if (code !== undefined && (code.startsWith('42') || code === '0A000')) {
        refused.set(code, (refused.get(code) ?? 0) + 1)
        if (process.env.SQL_DIFF_VERBOSE) console.log(`refused ${code} ${(e as Error).message}: ${query.sql}`)
        return undefined
      }
      return `${query.sql}\n  mrdb failed: ${code} ${(e as Error).message}`
    }
    const why = difference(query, got, want)
    if (why === undefined) return undefined
    return `${query.sql}\n  ${why}\n  mrdb:   ${JSON.stringify(got)}\n  sqlite: ${JSON.stringify(want)}`
  }

  close(): void {
    this.sqlite.close()
  }
}

test('query shapes answer as PostgreSQL defines them, on random tables with NULLs (reference: SQLite)', async () => {
  const SQL = await initSqlJs()
  const first = Number(process.env.SQL_DIFF_SEED ?? Date.now() % 1_000_000)
  const runs = Number(process.env.SQL_DIFF_RUNS ?? 1)
  console.log(`query differential seed ${first} (replay: SQL_DIFF_SEED=${first} node scripts/run-tests.mjs query-differential)`)
  const failures: string[] = []
  const refused = new Map<string, number>()

  for (const regression of REGRESSIONS) {
    const engines = await Engines.create(regression.seed, SQL)
    const failure = await engines.check({ sql: regression.sql, orderedBy: regression.orderedBy ?? [] }, refused)
    if (failure !== undefined) failures.push(`regression (tables of seed ${regression.seed}): ${failure}`)
    engines.close()
  }

  for (let seed = first; seed < first + runs && failures.length < 3; seed++) {
    const engines = await Engines.create(seed, SQL)
    const gen = new RandomQuery(new SeededRandom(seed + 1))
    for (let i = 0; i < QUERIES && failures.length < 3; i++) {
      const failure = await engines.check(gen.query(), refused)
      if (failure !== undefined) failures.push(`seed ${seed}, query ${i}: ${failure}`)
    }
    engines.close()
  }
  if (refused.size > 0) console.log(`refused by mrdb: ${[...refused].map(([code, n]) => `${code} ×${n}`).join(', ')}`)
  assert.deepEqual(failures, [], `mrdb answers differently:\n${failures.join('\n')}`)
})

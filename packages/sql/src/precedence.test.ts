// Differential test of the front end's expression trees against PostgreSQL's own parser
// (libpg-query, the test oracle): the same random expression text, in every clause that
// takes an expression, must group the same way in both.
// Replay a failure with SQL_DIFF_SEED=<seed> node scripts/run-tests.mjs precedence.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadModule, parseSync } from 'libpg-query'
import { SeededRandom } from '@mrdb/storage/testing'
import type { Expr, Statement } from './ast.js'
import { parseSql } from './parse.js'
import { mrdbTree, pgTree, sexpr, type PgNode } from './testing/expr-tree.js'
import { RandomExpr } from './testing/random-expr.js'

const COLUMNS = { int: ['a', 'b', 'c'], text: ['s'], bool: ['f'] }
const CASES = 600

/** A statement template: `B` is replaced by a boolean expression, `I` by an integer one. */
interface Clause {
  readonly sql: string
  /** The expressions of mrdb's statement, in the order of the template's placeholders. */
  readonly mrdb: (s: Statement) => Expr[]
  /** The same, from PostgreSQL's statement node. */
  readonly pg: (s: PgNode) => PgNode[]
}

const selectItems = (s: Statement): Expr[] => (s.kind === 'select' ? s.items.flatMap((i) => (i.kind === 'expr' ? [i.expr] : [])) : [])

const CLAUSES: readonly Clause[] = [
  {
    sql: 'SELECT B, I FROM t',
    mrdb: selectItems,
    pg: (s) => s.SelectStmt.targetList.map((t: PgNode) => t.ResTarget.val),
  },
  {
    sql: 'SELECT a FROM t WHERE B',
    mrdb: (s) => (s.kind === 'select' ? [s.where!] : []),
    pg: (s) => [s.SelectStmt.whereClause],
  },
  {
    sql: 'SELECT a FROM t GROUP BY a HAVING B',
    mrdb: (s) => (s.kind === 'select' ? [s.having!] : []),
    pg: (s) => [s.SelectStmt.havingClause],
  },
  {
    sql: 'SELECT t.a FROM t JOIN u ON B',
    mrdb: (s) => (s.kind === 'select' ? [s.from[1]!.on!] : []),
    pg: (s) => [s.SelectStmt.fromClause[0].JoinExpr.quals],
  },
  {
    sql: 'UPDATE t SET a = I WHERE B',
    mrdb: (s) => (s.kind === 'update' && s.assignments[0]!.value.kind !== 'default' ? [s.assignments[0]!.value, s.where!] : []),
    pg: (s) => [s.UpdateStmt.targetList[0].ResTarget.val, s.UpdateStmt.whereClause],
  },
  {
    sql: 'DELETE FROM t WHERE B',
    mrdb: (s) => (s.kind === 'delete' ? [s.where!] : []),
    pg: (s) => [s.DeleteStmt.whereClause],
  },
]

test('expressions group as PostgreSQL groups them, in every clause', async () => {
  await loadModule()
  const seed = Number(process.env.SQL_DIFF_SEED ?? Date.now() % 1_000_000)
  console.log(`precedence seed ${seed} (replay: SQL_DIFF_SEED=${seed} node scripts/run-tests.mjs precedence)`)
  const rng = new SeededRandom(seed)
  const gen = new RandomExpr(rng, COLUMNS)
  const failures: string[] = []
  for (let i = 0; i < CASES && failures.length < 5; i++) {
    const clause = rng.pick(CLAUSES)
    const sql = clause.sql.replace(/\bB\b/, () => gen.bool(4)).replace(/\bI\b/, () => gen.int(4))
    const pgStatement = parseSync(sql).stmts?.[0]?.stmt
    assert.ok(pgStatement !== undefined, `PostgreSQL read no statement in ${sql}`)
    const expected = clause.pg(pgStatement).map((e) => sexpr(pgTree(e)))
    const actual = clause.mrdb(parseSql(sql)[0]!).map((e) => sexpr(mrdbTree(e)))
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      failures.push(`${sql}\n  postgres: ${expected.join(' | ')}\n  mrdb:     ${actual.join(' | ')}`)
    }
  }
  assert.deepEqual(failures, [], `seed ${seed}: trees differ:\n${failures.join('\n')}`)
})

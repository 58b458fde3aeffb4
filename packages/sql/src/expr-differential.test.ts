// Differential test of expression results against a reference engine: random boolean and
// integer expressions over a random table with NULLs, run by mrdb and by SQLite (sql.js, a
// devDependency used only as the oracle), must select, compute, update and delete alike.
// SQLite is given PostgreSQL's grouping of each expression (libpg-query's tree, fully
// parenthesised), so the answer checked is PostgreSQL's, evaluated by SQLite.
// Replay a failure with SQL_DIFF_SEED=<seed> node scripts/run-tests.mjs expr-differential.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadModule, parseSync } from 'libpg-query'
import initSqlJs, { type Database, type SqlValue as SqliteValue } from 'sql.js'
import { SeededRandom } from '@mrdb/storage/testing'
import type { SqlSession } from './engine.js'
import { fullyParenthesised, pgTree, type PgNode } from './testing/expr-tree.js'
import { memoryEngine } from './testing/memory-engine.js'
import { RandomExpr } from './testing/random-expr.js'
import type { SqlValue } from './values.js'

const ROWS = 40
const QUERIES = 250

/** A value as both engines can be compared on: booleans as 1/0, integers as numbers. */
function comparable(v: SqlValue | SqliteValue): number | string | null {
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Uint8Array) return `bytes ${Buffer.from(v).toString('hex')}`
  // Decimal literals are NUMERIC (exact) in mrdb as in PostgreSQL; SQLite has floats.
  if (v !== null && typeof v === 'object') return v.type === 'numeric' ? Number(v.text) : JSON.stringify(v)
  return v
}

/** `expr` as SQLite must read it to mean what PostgreSQL reads. */
function postgresGrouping(expr: string): string {
  const statement: PgNode = parseSync(`SELECT ${expr}`).stmts?.[0]?.stmt
  assert.ok(statement?.SelectStmt !== undefined, `PostgreSQL did not read ${expr}`)
  return fullyParenthesised(pgTree(statement.SelectStmt.targetList[0].ResTarget.val))
}

class Engines {
  constructor(
    readonly mrdb: SqlSession,
    readonly sqlite: Database,
  ) {}

  async both(mrdbSql: string, sqliteSql = mrdbSql): Promise<{ mrdb: unknown[][]; sqlite: unknown[][]; mrdbCount: number; sqliteCount: number }> {
    const result = await this.mrdb.execute(mrdbSql)
    const rows = this.sqlite.exec(sqliteSql)
    return {
      mrdb: result.rows.map((r) => r.map(comparable)),
      sqlite: (rows[0]?.values ?? []).map((r) => r.map(comparable)),
      mrdbCount: result.rowsAffected,
      sqliteCount: this.sqlite.getRowsModified(),
    }
  }
}

test('expressions evaluate as PostgreSQL means them, on random data with NULLs (reference: SQLite)', async () => {
  await loadModule()
  const seed = Number(process.env.SQL_DIFF_SEED ?? Date.now() % 1_000_000)
  console.log(`expression differential seed ${seed} (replay: SQL_DIFF_SEED=${seed} node scripts/run-tests.mjs expr-differential)`)
  const rng = new SeededRandom(seed)
  const gen = new RandomExpr(rng, { int: ['a', 'b', 'c'], text: ['s'], bool: ['f'] })

  const SQL = await initSqlJs()
  const sqlite = new SQL.Database()
  sqlite.exec('PRAGMA case_sensitive_like = ON') // PostgreSQL's LIKE is case-sensitive
  const db = new Engines(memoryEngine().session(), sqlite)
  await db.mrdb.execute('CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, s TEXT, f BOOLEAN)')
  sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER, s TEXT, f BOOLEAN)')
  const maybe = (v: string) => (rng.next() < 0.2 ? 'NULL' : v)
  const rows = Array.from({ length: ROWS }, (_, id) => {
    const int = () => maybe(String(rng.int(15) - 5))
    const text = maybe(`'${Array.from({ length: rng.int(4) }, () => rng.pick(['a', 'b', 'c'])).join('')}'`)
    return `(${id}, ${int()}, ${int()}, ${int()}, ${text}, ${maybe(rng.pick(['TRUE', 'FALSE']))})`
  })
  await db.both(`INSERT INTO t VALUES ${rows.join(', ')}`)

  const failures: string[] = []
  for (let i = 0; i < QUERIES && failures.length < 3; i++) {
    const bool = gen.bool(4)
    const int = gen.int(3)
    const [pgBool, pgInt] = [postgresGrouping(bool), postgresGrouping(int)]
    const check = (sql: string, got: unknown, want: unknown) => {
      if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${sql}\n  mrdb:   ${JSON.stringify(got)}\n  sqlite: ${JSON.stringify(want)}`)
    }
    const kind = rng.int(10)
    const query = (where: string, select: string) => `SELECT ${select} FROM t WHERE ${where} ORDER BY id`
    if (kind < 5) {
      const r = await db.both(query(bool, 'id'), query(pgBool, 'id'))
      check(query(bool, 'id'), r.mrdb, r.sqlite)
    } else if (kind < 8) {
      const r = await db.both(query('TRUE', `id, ${int}, ${bool}`), query('TRUE', `id, ${pgInt}, ${pgBool}`))
      check(query('TRUE', `id, ${int}, ${bool}`), r.mrdb, r.sqlite)
    } else if (kind < 9) {
      const update = (i: string, b: string) => `UPDATE t SET c = (${i}) % 10 WHERE ${b}`
      const r = await db.both(update(int, bool), update(pgInt, pgBool))
      check(update(int, bool), r.mrdbCount, r.sqliteCount)
      const after = await db.both('SELECT id, c FROM t ORDER BY id')
      check(`${update(int, bool)}; SELECT id, c FROM t`, after.mrdb, after.sqlite)
    } else {
      // Deleted inside a transaction that is rolled back, so the table keeps its rows.
      await db.both('BEGIN')
      const r = await db.both(`DELETE FROM t WHERE ${bool}`, `DELETE FROM t WHERE ${pgBool}`)
      check(`DELETE FROM t WHERE ${bool}`, r.mrdbCount, r.sqliteCount)
      const left = await db.both('SELECT id FROM t ORDER BY id')
      check(`DELETE FROM t WHERE ${bool}; SELECT id FROM t`, left.mrdb, left.sqlite)
      await db.both('ROLLBACK')
    }
  }
  assert.deepEqual(failures, [], `seed ${seed}: results differ:\n${failures.join('\n')}`)
})

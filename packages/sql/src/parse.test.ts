import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_NESTING_DEPTH, MAX_SYNTAX_TREE_DEPTH, parseSql, StatementCache } from './parse.js'
import type { Statement } from './ast.js'

const nested = (depth: number, open = '(', close = ')') => `SELECT ${open.repeat(depth)}1${close.repeat(depth)}`

test(`parentheses nesting up to ${MAX_NESTING_DEPTH} deep parse; deeper is 54001 before the parser sees the text`, () => {
  assert.equal(parseSql(nested(MAX_NESTING_DEPTH)).length, 1)
  assert.throws(() => parseSql(nested(MAX_NESTING_DEPTH + 1)), { code: '54001', message: /parentheses nest 65 deep; the limit is 64/ })
  // Unclosed, and behind closing parentheses that open nothing: still counted.
  assert.throws(() => parseSql(`SELECT ${')'.repeat(100)}${'('.repeat(65)}1`), { code: '54001' })
  // The parser backtracks exponentially on nested CASTs (twelve deep took over ten seconds):
  // that this returns at once shows the text never reached it.
  assert.throws(() => parseSql(`SELECT ${'CAST('.repeat(65)}1`), { code: '54001' })
  assert.throws(() => parseSql(`EXPLAIN ${nested(200)}`), { code: '54001' })
})

test('parentheses inside quoted strings, quoted identifiers and comments do not count', () => {
  const deep = '('.repeat(500)
  assert.equal(parseSql(`SELECT '${deep}', 'it''s ${deep}', E'back\\'slash ${deep}'`).length, 1)
  assert.equal(parseSql(`SELECT "${deep}"`).length, 1)
  assert.equal(parseSql(`SELECT 1 AS "${deep}"`).length, 1)
  assert.equal(parseSql(`SELECT 1 -- ${deep}\n + 2 /* ${deep} */`).length, 1)
})

test(`syntax trees up to ${MAX_SYNTAX_TREE_DEPTH} levels deep parse; deeper, or too deep for the stack, is 54001`, () => {
  // No parentheses, yet 1+1+…+1 is a left-deep tree as deep as it has terms (plus the statement's own levels).
  assert.equal(parseSql(`SELECT 1${'+1'.repeat(MAX_SYNTAX_TREE_DEPTH - 10)}`).length, 1)
  assert.throws(() => parseSql(`SELECT 1${'+1'.repeat(MAX_SYNTAX_TREE_DEPTH)}`), { code: '54001', message: /syntax tree is over 1000 levels deep/ })
  assert.throws(() => parseSql(`SELECT * FROM t WHERE ${'a = 1 OR '.repeat(MAX_SYNTAX_TREE_DEPTH)}a = 2`), { code: '54001' })
  // So deep that parsing or converting the tree overflows the stack: still 54001, not an
  // internal error. (3,000 terms overflow already; 20,000 took 8–50 s, 5,000 about one.)
  assert.throws(() => parseSql(`SELECT 1${'+1'.repeat(5_000)}`), { code: '54001', message: /nests too deeply/ })
})

test('the statement cache keeps texts up to 16 KiB, parsed by the given parser when not cached', async () => {
  const cache = new StatementCache(10)
  let calls = 0
  const elsewhere = async (sql: string): Promise<readonly Statement[]> => {
    calls++
    return parseSql(sql)
  }
  const small = 'SELECT now()' // no literal: a template would be parsed besides (literal-template.test.ts)
  const first = await cache.parseWith(small, elsewhere)
  assert.equal(await cache.parseWith(small, elsewhere), first)
  assert.equal(cache.parse(small), first)
  assert.equal(calls, 1)
  const big = `SELECT '${'x'.repeat(16 * 1024)}'`
  await cache.parseWith(big, elsewhere)
  await cache.parseWith(big, elsewhere)
  assert.equal(calls, 3)
  // Too long for any statement: refused before the parser is asked.
  await assert.rejects(cache.parseWith('x'.repeat((1 << 20) + 1), elsewhere), { code: '54000' })
  assert.equal(calls, 3)
})

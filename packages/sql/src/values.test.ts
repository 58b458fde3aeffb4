import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compareBytes, encodeKey, prefixEnd, type KeyPart } from '@mrdb/storage'
import { SqlError } from './errors.js'
import { decodeRowValue, encodeRowValue } from './row-codec.js'
import { arithmetic, coerceToColumn, compareValues, sqlEquals, type SqlValue } from './values.js'
import { evaluate } from './eval.js'

function code(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    return (e as SqlError).code
  }
  return undefined
}

test('comparisons: int and float numerically, NULL is unknown, incomparable types are 42804', () => {
  assert.equal(compareValues(2n, 2.5), -1)
  assert.equal(compareValues(3.0, 3n), 0)
  assert.equal(compareValues(9007199254740993n, 9007199254740992), 1)
  assert.equal(Math.sign(compareValues('Z', 'a')), -1)
  assert.equal(Math.sign(compareValues('\u{1F600}', '\uFFFF')), 1, 'code point order, not UTF-16')
  assert.equal(sqlEquals(null, 1n), null)
  assert.equal(code(() => compareValues('1', 1n)), '42804')
})

test('three-valued AND / OR / NOT', () => {
  const lit = (value: SqlValue) => ({ kind: 'literal', value }) as const
  assert.equal(evaluate({ kind: 'and', left: lit(null), right: lit(false) }, []), false)
  assert.equal(evaluate({ kind: 'and', left: lit(null), right: lit(true) }, []), null)
  assert.equal(evaluate({ kind: 'or', left: lit(null), right: lit(true) }, []), true)
  assert.equal(evaluate({ kind: 'or', left: lit(null), right: lit(false) }, []), null)
  assert.equal(evaluate({ kind: 'not', operand: lit(null) }, []), null)
})

test('integer overflow and division by zero are errors', () => {
  assert.equal(code(() => arithmetic('+', (1n << 63n) - 1n, 1n)), '22003')
  assert.equal(code(() => arithmetic('*', -(1n << 62n), 4n)), '22003')
  assert.equal(arithmetic('*', -(1n << 62n), 2n), -(1n << 63n))
  assert.equal(code(() => arithmetic('/', 1n, 0n)), '22012')
  assert.equal(code(() => arithmetic('%', 1.5, 0)), '22012')
  assert.equal(arithmetic('/', -7n, 2n), -3n)
  assert.equal(arithmetic('+', 1n, 0.5), 1.5)
})

test('coercion to column types', () => {
  assert.equal(coerceToColumn('12', { base: 'int' }, 'c', true), 12n)
  assert.equal(code(() => coerceToColumn('x', { base: 'int' }, 'c', true)), '22P02')
  assert.equal(code(() => coerceToColumn('x', { base: 'int' }, 'c', false)), '42804')
  assert.equal(code(() => coerceToColumn('abcd', { base: 'text', maxLength: 3 }, 'c')), '22001')
  assert.equal(coerceToColumn(2.5, { base: 'int' }, 'c'), 3n)
})

test('a tuple encoding is a byte prefix of every longer tuple starting with it, and prefixEnd bounds them', () => {
  const prefixes: Array<KeyPart[]> = [[1n], ['ab'], [null], [true], [1.5], ['a', 2n]]
  const tails: KeyPart[] = [null, -5n, 0n, 7n, 'x', '', 'a\u0000b', 2.5, false, true]
  for (const p of prefixes) {
    const enc = encodeKey(['/table', 100n, 1n, ...p])
    const end = prefixEnd(enc)!
    for (const t of tails) {
      const longer = encodeKey(['/table', 100n, 1n, ...p, t])
      assert.deepEqual(longer.subarray(0, enc.length), enc)
      assert.ok(compareBytes(longer, end) < 0)
    }
  }
  // …and no other value's tuple falls inside the prefix span.
  const enc = encodeKey(['/table', 100n, 1n, 'ab'])
  for (const other of ['a', 'abc', 'ab\u0000', 'b']) {
    const k = encodeKey(['/table', 100n, 1n, other, 1n])
    assert.ok(compareBytes(k, enc) < 0 || compareBytes(k, prefixEnd(enc)!) >= 0, other)
  }
})

test('row values round-trip, including NULL and text', () => {
  const values: SqlValue[] = [null, -(1n << 63n), 2.5, 'héllo', '', true, false]
  const row = new Array<SqlValue>(values.length + 1).fill('pk')
  decodeRowValue(encodeRowValue(values), [1, 2, 3, 4, 5, 6, 7], row)
  assert.deepEqual(row.slice(1), values)
})

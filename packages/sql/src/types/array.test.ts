import { test } from 'node:test'
import assert from 'node:assert/strict'
import { arrayElement, arrayKey, arrayOf, compareArrays, formatArray, parseArrayText } from './array.js'

const code = (fn: () => unknown, c: string) => assert.throws(fn, (e: { code?: string }) => e.code === c)
const text = (e: unknown) => String(e)

test('array_in: elements of a one-dimensional literal, quoted or not, NULL unquoted only', () => {
  assert.deepEqual(parseArrayText('{}'), [])
  assert.deepEqual(parseArrayText(' { } '), [])
  assert.deepEqual(parseArrayText('{1, 2 ,3}'), ['1', '2', '3'])
  assert.deepEqual(parseArrayText('{"a b", NULL, "NULL", null, x\\,y, "q\\"t", ""}'), ['a b', null, 'NULL', null, 'x,y', 'q"t', ''])
  code(() => parseArrayText('1,2'), '22P02')
  code(() => parseArrayText('{1,2'), '22P02')
  code(() => parseArrayText('{1,,2}'), '22P02')
  code(() => parseArrayText('{"a"b}'), '22P02')
  code(() => parseArrayText('{{1},{2}}'), '0A000')
})

test('array_out: quotes elements that would not read back, and round-trips through array_in', () => {
  const a = arrayOf(['a', 'b c', null, '', 'NULL', 'x"y\\z', '{}', 'p,q'])
  const out = formatArray(a, text)
  assert.equal(out, '{a,"b c",NULL,"","NULL","x\\"y\\\\z","{}","p,q"}')
  assert.deepEqual(parseArrayText(out), a.elements)
})

test('arrays order element by element (NULL after any value), then the shorter first', () => {
  const cmp = (x: unknown, y: unknown) => Number(x) - Number(y)
  assert.ok(compareArrays(arrayOf([1n, 2n]), arrayOf([1n, 3n]), cmp) < 0)
  assert.ok(compareArrays(arrayOf([1n]), arrayOf([1n, 0n]), cmp) < 0)
  assert.ok(compareArrays(arrayOf([1n, null]), arrayOf([1n, 5n]), cmp) > 0)
  assert.equal(compareArrays(arrayOf([null]), arrayOf([null]), cmp), 0)
  assert.equal(arrayKey(arrayOf(['a', null]), (e) => String(e)), arrayKey(arrayOf(['a', null]), (e) => String(e)))
  assert.notEqual(arrayKey(arrayOf(['a,b']), (e) => String(e)), arrayKey(arrayOf(['a', 'b']), (e) => String(e)))
})

test('subscripts are 1-based and NULL outside the bounds', () => {
  const a = arrayOf([10n, 20n])
  assert.equal(arrayElement(a, 1n), 10n)
  assert.equal(arrayElement(a, 2n), 20n)
  assert.equal(arrayElement(a, 0n), null)
  assert.equal(arrayElement(a, 3n), null)
  assert.equal(arrayElement(a, -1n), null)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalisePgSyntax, SUBSCRIPT_WRAPPER } from './pg-syntax.js'

test('a subscript whose index is not a number is wrapped for the parser; others are left alone', () => {
  const w = (s: string) => `${SUBSCRIPT_WRAPPER}(${s})`
  assert.equal(normalisePgSyntax('SELECT a[i] FROM t'), `SELECT a[${w('i')}] FROM t`)
  assert.equal(normalisePgSyntax('SELECT t.a[i + 1], f(x)[ j ]'), `SELECT t.a[${w('i + 1')}], f(x)[${w(' j ')}]`)
  assert.equal(normalisePgSyntax('SELECT a[b[i]]'), `SELECT a[${w(`b[${w('i')}]`)}]`)
  // Numbers, ARRAY constructors, array types, slices, and brackets in strings are not subscripts to wrap.
  for (const sql of ['SELECT a[1], a[ 2 ]', 'SELECT ARRAY[x, y]', "SELECT x::int2[], '{a}'::text[]", 'SELECT a[1:2]', "SELECT 'a[i]'", 'SELECT "a[i]"']) {
    assert.equal(normalisePgSyntax(sql), sql)
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pushAll } from './arrays.js'

test('pushAll appends any number of elements, past where a spread push overflows the stack', () => {
  const many = new Array<number>(500_000).fill(7)
  assert.throws(() => [].push(...(many as never[])), RangeError)
  const target = [1]
  assert.equal(pushAll(target, many), target)
  assert.equal(target.length, 500_001)
  assert.equal(target.at(-1), 7)
})

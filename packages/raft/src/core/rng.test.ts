import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from './rng.js'

describe('SeededRng', () => {
  test('same seed, same sequence; different seeds differ', () => {
    const a = new SeededRng(1)
    const b = new SeededRng(1)
    const c = new SeededRng(2)
    const sa = Array.from({ length: 20 }, () => a.nextInt(1000))
    const sb = Array.from({ length: 20 }, () => b.nextInt(1000))
    const sc = Array.from({ length: 20 }, () => c.nextInt(1000))
    assert.deepEqual(sa, sb)
    assert.notDeepEqual(sa, sc)
  })
  test('stays in range and covers it', () => {
    const r = new SeededRng(99)
    const seen = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const v = r.nextInt(7)
      assert.ok(Number.isInteger(v) && v >= 0 && v < 7)
      seen.add(v)
    }
    assert.equal(seen.size, 7)
    assert.throws(() => r.nextInt(0), RangeError)
  })
})

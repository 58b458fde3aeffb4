import { test } from 'node:test'
import assert from 'node:assert/strict'
import { composeTimestamp } from '@mrdb/storage'
import { bootstrapGcFloor, gcStepMs, gcTargets } from './gc-safe-point.js'

const ms = (n: number) => composeTimestamp(n)
const zero = { fence: 0n, safePoint: 0n }

test('the fence is now minus the TTL in whole steps, never above a running transaction; the safe point follows once every range is clear', () => {
  const base = { nowMs: 100_000, ttlMs: 10_000, ranges: [{ rangeId: 1, locksClearBelow: undefined }], previous: zero }
  // A tenth of the TTL is under a second: steps of 1 s.
  assert.deepEqual(gcTargets({ ...base, stores: [{ storeId: 1, oldestTxnTs: ms(99_000) }] }), { fence: ms(90_000), safePoint: 0n })
  assert.deepEqual(gcTargets({ ...base, stores: [{ storeId: 1, oldestTxnTs: ms(42_500) + 7n }] }), { fence: ms(42_000), safePoint: 0n }, 'a running transaction holds it back')
  assert.deepEqual(gcTargets({ ...base, stores: [{ storeId: 1, oldestTxnTs: ms(99_000) }, { storeId: 2, oldestTxnTs: undefined }] }), zero, 'a live store not heard from yet holds it')
  const ranges = [{ rangeId: 1, locksClearBelow: ms(90_000) }, { rangeId: 2, locksClearBelow: ms(80_000) }]
  assert.deepEqual(gcTargets({ ...base, ranges, stores: [{ storeId: 1, oldestTxnTs: ms(99_000) }] }), { fence: ms(90_000), safePoint: ms(80_000) })
  const previous = { fence: ms(95_000), safePoint: ms(85_000) }
  assert.deepEqual(gcTargets({ ...base, ranges, previous, stores: [{ storeId: 1, oldestTxnTs: ms(50_000) }] }), previous, 'neither ever falls')
})

test('the bootstrap floor is the fence of the next step: no later than the bootstrap, and at or above the fences published until a step has passed', () => {
  for (const ttlMs of [500, 10_000, 25 * 3600 * 1000]) {
    for (const initMs of [1_800_000_000_000, 1_800_000_000_999, 1_800_000_599_999]) {
      const floor = bootstrapGcFloor(initMs, ttlMs)
      assert.ok(floor <= ms(initMs), 'no transaction can have started below it')
      const step = gcStepMs(ttlMs)
      for (const laterMs of [initMs, initMs + 1, initMs + Math.floor(step / 2), initMs + step - 1]) {
        const { fence } = gcTargets({ nowMs: laterMs, ttlMs, stores: [], ranges: [], previous: zero })
        if (ttlMs >= step) assert.ok(fence <= floor, `TTL ${ttlMs}: the fence at +${laterMs - initMs} ms (${fence}) is at or below the floor (${floor})`)
      }
    }
  }
})

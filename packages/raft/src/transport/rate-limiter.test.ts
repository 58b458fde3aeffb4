import assert from 'node:assert/strict'
import { test } from 'node:test'

import { ExponentialBackoff } from './backoff.js'
import { ByteRateLimiter } from './rate-limiter.js'

test('ByteRateLimiter serves reservations back to back at the configured rate', () => {
  let now = 1000
  const l = new ByteRateLimiter(1000, () => now) // 1000 bytes/s = 1 byte/ms
  assert.equal(l.reserve(100), 0) // first reservation goes at once
  assert.equal(l.reserve(100), 100) // then waits for the first 100 bytes' time
  assert.equal(l.reserve(50), 200)
  now += 250 // caller slept; 250 bytes' worth of time has passed
  assert.equal(l.reserve(10), 0)
  now += 10_000 // idle time is not banked as a burst
  assert.equal(l.reserve(500), 0)
  assert.equal(l.reserve(1), 500)
  assert.throws(() => new ByteRateLimiter(0))
})

test('ExponentialBackoff doubles to its cap with bounded jitter, and resets', () => {
  const mid = new ExponentialBackoff(50, 2000, () => 0.5) // jitter factor exactly 1
  assert.deepStrictEqual(Array.from({ length: 8 }, () => mid.next()), [50, 100, 200, 400, 800, 1600, 2000, 2000])
  mid.reset()
  assert.equal(mid.next(), 50)
  const low = new ExponentialBackoff(50, 2000, () => 0)
  const high = new ExponentialBackoff(50, 2000, () => 0.999)
  assert.equal(low.next(), 37.5)
  assert.ok(high.next() < 62.5)
  for (let i = 0; i < 10; i++) assert.ok(high.next() <= 2000)
})

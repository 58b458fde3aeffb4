import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { KvTarget } from './kv-target.js'
import { benchKey, percentile, runWorkload } from './workload.js'

/** An in-memory KvTarget that answers after a macrotask, like a network call would. */
function memoryTarget(): KvTarget & { size(): number } {
  const map = new Map<string, Uint8Array>()
  const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex')
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  return {
    name: 'memory',
    async put(key, value) {
      await tick()
      map.set(hex(key), value)
    },
    async get(key) {
      await tick()
      return map.get(hex(key))
    },
    async close() {
      map.clear()
    },
    size: () => map.size,
  }
}

test('put workload against an in-memory target for 0.5 s', async () => {
  const target = memoryTarget()
  const result = await runWorkload(target, { kind: 'put', clients: 16, seconds: 0.5, valueBytes: 256, keySpace: 1000, seed: 7 })
  assert.equal(result.system, 'memory')
  assert.equal(result.kind, 'put')
  assert.ok(result.ops > 0, `ops ${result.ops}`)
  assert.equal(result.errors, 0)
  assert.ok(result.seconds >= 0.5 && result.seconds < 5, `seconds ${result.seconds}`)
  assert.ok(result.opsPerSec > 0)
  assert.ok(result.p50Ms >= 0 && result.p50Ms <= result.p99Ms, `p50 ${result.p50Ms} p99 ${result.p99Ms}`)
  assert.ok(target.size() > 0 && target.size() <= 1000)
  await target.close()
})

test('get workload preloads the key space, then finds every key', async () => {
  const target = memoryTarget()
  const result = await runWorkload(target, { kind: 'get', clients: 8, seconds: 0.5, keySpace: 500, seed: 3 })
  assert.equal(target.size(), 500)
  assert.ok(result.ops > 0)
  assert.equal(result.errors, 0)
  assert.equal(result.misses, 0)
  assert.ok(result.p50Ms <= result.p99Ms)
})

test('an ops budget stops the run and failures are counted, not thrown', async () => {
  let calls = 0
  const flaky: KvTarget = {
    name: 'flaky',
    async put() {
      calls++
      if (calls % 2 === 0) throw new Error('boom')
    },
    async get() {
      return undefined
    },
    async close() {},
  }
  const result = await runWorkload(flaky, { kind: 'put', clients: 4, ops: 100 })
  assert.equal(result.ops + result.errors, 100)
  assert.equal(result.errors, 50)
  assert.ok(result.firstError instanceof Error)
})

test('keys spread over the whole first byte and are distinct', () => {
  const firstBytes = new Set<number>()
  const keys = new Set<string>()
  for (let i = 0; i < 10_000; i++) {
    const key = benchKey(i)
    assert.equal(key.length, 9)
    firstBytes.add(key[0] ?? -1)
    keys.add(Buffer.from(key).toString('hex'))
  }
  assert.equal(firstBytes.size, 256)
  assert.equal(keys.size, 10_000)
})

test('percentile uses nearest rank', () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1)
  assert.equal(percentile(sorted, 50), 50)
  assert.equal(percentile(sorted, 99), 99)
  assert.equal(percentile(new Float64Array(0), 99), 0)
})

test('the key index is stored big-endian after the spread byte', () => {
  const key = benchKey(0x0102_0304_0506)
  assert.deepEqual([...key.subarray(1)], [0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06])
  assert.deepEqual([...benchKey(0).subarray(1)], [0, 0, 0, 0, 0, 0, 0, 0])
})

test('warm-up runs before the timed phase and is not counted', async () => {
  let puts = 0
  const counting: KvTarget = {
    name: 'counting',
    async put() {
      puts++
      await new Promise((resolve) => setImmediate(resolve))
    },
    async get() {
      return undefined
    },
    async close() {},
  }
  const result = await runWorkload(counting, { kind: 'put', clients: 4, ops: 50, warmupSeconds: 0.1 })
  assert.equal(result.ops, 50)
  assert.ok(puts > 50, `warm-up should have issued puts too (${puts})`)
})

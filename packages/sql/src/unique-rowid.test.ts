import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeUniqueRowId, UNIQUE_ROWID_EPOCH_MS, UniqueRowIdGenerator, uniqueRowId } from './unique-rowid.js'

test('an id carries its millisecond, node id and sequence number', () => {
  const now = UNIQUE_ROWID_EPOCH_MS + 123_456
  const g = new UniqueRowIdGenerator(42, () => now)
  const first = g.next()
  const second = g.next()
  assert.deepEqual(decodeUniqueRowId(first), { ms: now, nodeId: 42, sequence: 0 })
  assert.deepEqual(decodeUniqueRowId(second), { ms: now, nodeId: 42, sequence: 1 })
  assert.ok(first > 0n && second > first)
})

test('ids strictly increase: 512 per millisecond, then the next millisecond is borrowed, also when the clock steps back', () => {
  let now = UNIQUE_ROWID_EPOCH_MS + 1000
  const g = new UniqueRowIdGenerator(7, () => now)
  let last = -1n
  for (let i = 0; i < 2000; i++) {
    if (i === 1500) now -= 500 // the clock steps back
    const id = g.next()
    assert.ok(id > last, `id ${i} did not grow`)
    last = id
  }
  // 2000 ids in what the clock called one millisecond (then less) took 4 milliseconds' worth.
  assert.equal(decodeUniqueRowId(last).ms, UNIQUE_ROWID_EPOCH_MS + 1000 + 3)
  // The clock catching up continues from there, never below.
  now = UNIQUE_ROWID_EPOCH_MS + 1001
  assert.ok(g.next() > last)
})

test('two nodes asking in the same millisecond never collide', () => {
  const now = () => UNIQUE_ROWID_EPOCH_MS + 5
  const a = new UniqueRowIdGenerator(1, now)
  const b = new UniqueRowIdGenerator(2, now)
  const seen = new Set<bigint>()
  for (let i = 0; i < 1000; i++) {
    seen.add(a.next())
    seen.add(b.next())
  }
  assert.equal(seen.size, 2000)
})

test('ids fit a positive BIGINT until 2094 and grow with time across the epoch range', () => {
  const end = Date.UTC(2094, 0, 1)
  const g = new UniqueRowIdGenerator(8191, () => end)
  const id = g.next()
  assert.ok(id > 0n && id < 2n ** 63n)
  assert.equal(decodeUniqueRowId(id).nodeId, 8191)
  assert.ok(uniqueRowId() < id)
})

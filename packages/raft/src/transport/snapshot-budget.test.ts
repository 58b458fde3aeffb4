import assert from 'node:assert/strict'
import { test } from 'node:test'

import { SnapshotReceiveBudget } from './snapshot-budget.js'

test('streams beyond maxStreams are not admitted until one is released', () => {
  const budget = new SnapshotReceiveBudget(2, 100)
  const a = budget.admit()
  const b = budget.admit()
  assert.ok(a && b)
  assert.equal(budget.admit(), undefined)
  assert.equal(budget.openStreams, 2)
  a.release()
  a.release() // idempotent: frees one slot, not two
  assert.equal(budget.openStreams, 1)
  assert.ok(budget.admit())
  assert.equal(budget.admit(), undefined)
})

test('reservations share maxBytes; a refused one reserves nothing; release gives back all of a stream\'s bytes', () => {
  const budget = new SnapshotReceiveBudget(4, 100)
  const a = budget.admit()!
  const b = budget.admit()!
  assert.ok(a.reserve(60))
  assert.equal(b.reserve(41), false)
  assert.equal(budget.reservedBytes, 60)
  assert.ok(b.reserve(40))
  assert.equal(budget.reservedBytes, 100)
  assert.equal(budget.admit()!.reserve(1), false)
  assert.ok(a.reserve(0))
  a.release()
  assert.equal(budget.reservedBytes, 40)
  assert.ok(b.reserve(30)) // reservations add up per stream
  b.release()
  b.release()
  assert.equal(budget.reservedBytes, 0)
  // A released admission can no longer reserve: its bytes would never be given back.
  assert.equal(b.reserve(1), false)
  assert.equal(budget.reservedBytes, 0)
})

test('a single reservation larger than maxBytes is refused even when nothing else is held', () => {
  const budget = new SnapshotReceiveBudget(1, 100)
  const a = budget.admit()!
  assert.equal(a.reserve(101), false)
  assert.ok(a.reserve(100))
})

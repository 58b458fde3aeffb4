import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProposalWaiters } from './proposal-waiters.js'

test('a waiter gets its result, its timeout, or — appended at an earlier term than an applied entry — its loss', async () => {
  const w = new ProposalWaiters<string>()
  const applied = w.wait(1, 60_000, () => 'timeout')
  const overwritten = w.wait(2, 60_000, () => 'timeout')
  const forwarded = w.wait(3, 60_000, () => 'timeout')
  const sameTerm = w.wait(4, 60_000, () => 'timeout')
  const timedOut = w.wait(5, 1, () => 'timeout')
  w.appended(1, { index: 10, term: 2 })
  w.appended(2, { index: 11, term: 2 })
  w.appended(3, undefined)
  w.appended(4, { index: 12, term: 3 })
  assert.equal(w.resolve(1, 'applied'), true)
  assert.deepEqual(w.applied(2, () => 'lost'), [], 'entries of its own term: it may still apply')
  assert.deepEqual(w.applied(3, (id) => `lost ${id}`), [2])
  assert.equal(await applied, 'applied')
  assert.equal(await overwritten, 'lost 2')
  assert.equal(await timedOut, 'timeout')
  assert.equal(w.resolve(2, 'late'), false, 'nobody waits for it any more')
  assert.equal(w.size, 2, 'the forwarded proposal and the one of the current term still wait')
  w.abandon(() => 'abandoned')
  assert.equal(await forwarded, 'abandoned')
  assert.equal(await sameTerm, 'abandoned')
  assert.equal(w.size, 0)
})

test('a cancelled waiter is forgotten without an answer', () => {
  const w = new ProposalWaiters<string>()
  void w.wait(1, 60_000, () => 'timeout')
  w.cancel(1)
  assert.equal(w.size, 0)
  assert.equal(w.resolve(1, 'x'), false)
})

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Inflights } from './inflights.js'
import { Progress } from './progress.js'

function pr(match: number, next: number, cap = 256): Progress {
  return new Progress({ match, next, inflights: new Inflights(cap), isLearner: false, recentActive: true })
}

describe('Progress', () => {
  test('becomeProbe from replicate restarts after match', () => {
    const p = pr(1, 5)
    p.becomeReplicate()
    p.next = 9
    p.becomeProbe()
    assert.equal(p.state, 'probe')
    assert.equal(p.next, 2)
  })

  test('becomeProbe from snapshot continues after the snapshot', () => {
    const p = pr(1, 5)
    p.becomeSnapshot(10)
    assert.equal(p.next, 11)
    p.becomeProbe()
    assert.equal(p.next, 11)
    const q = pr(1, 5)
    q.becomeSnapshot(10)
    q.pendingSnapshot = 0 // a failed snapshot: probe from match
    q.becomeProbe()
    assert.equal(q.next, 2)
  })

  test('becomeReplicate streams from match+1', () => {
    const p = pr(4, 9)
    p.becomeReplicate()
    assert.equal(p.next, 5)
  })

  test('maybeUpdate moves match and next forward only', () => {
    const p = pr(3, 5)
    assert.equal(p.maybeUpdate(2), false)
    assert.equal(p.match, 3)
    assert.equal(p.maybeUpdate(3), false)
    assert.equal(p.maybeUpdate(4), true)
    assert.equal(p.match, 4)
    assert.equal(p.next, 5)
    assert.equal(p.maybeUpdate(6), true)
    assert.equal(p.next, 7)
  })

  test('maybeDecrTo in replicate: stale unless past match, then back to match+1', () => {
    const p = pr(5, 10)
    p.becomeReplicate()
    p.next = 10
    assert.equal(p.maybeDecrTo(5, 5), false)
    assert.equal(p.maybeDecrTo(4, 4), false)
    assert.equal(p.maybeDecrTo(9, 9), true)
    assert.equal(p.next, 6)
  })

  test('maybeDecrTo in probe: only the latest probe counts; uses the hint', () => {
    const p = pr(0, 10)
    assert.equal(p.maybeDecrTo(5, 5), false) // not next-1
    assert.equal(p.maybeDecrTo(9, 3), true)
    assert.equal(p.next, 4)
    const q = pr(0, 10)
    assert.equal(q.maybeDecrTo(9, 20), true) // a hint past the rejection is capped
    assert.equal(q.next, 9)
    const r = pr(2, 10)
    assert.equal(r.maybeDecrTo(9, 0), true) // never below match+1
    assert.equal(r.next, 3)
  })

  test('probe pauses after sending entries until an answer unpauses it', () => {
    const p = pr(0, 1)
    assert.equal(p.isPaused(), false)
    p.sentEntries(0, 0)
    assert.equal(p.isPaused(), false) // an empty probe does not pause
    p.sentEntries(1, 10)
    assert.equal(p.isPaused(), true)
    assert.equal(p.next, 1) // probes do not move next
    p.maybeDecrTo(0, 0)
    assert.equal(p.isPaused(), false)
  })

  test('replicate moves next optimistically and pauses when the window is full', () => {
    const p = pr(0, 1, 2)
    p.becomeReplicate()
    p.sentEntries(3, 30)
    assert.equal(p.next, 4)
    assert.equal(p.isPaused(), false)
    p.sentEntries(2, 20)
    assert.equal(p.next, 6)
    assert.equal(p.isPaused(), true)
    p.inflights.freeLE(3)
    p.sentEntries(0, 0)
    assert.equal(p.isPaused(), false)
  })

  test('snapshot state is always paused', () => {
    const p = pr(0, 1)
    p.becomeSnapshot(5)
    assert.equal(p.isPaused(), true)
  })

  test('clone is independent', () => {
    const p = pr(1, 2)
    p.becomeReplicate()
    p.sentEntries(1, 1)
    const c = p.clone()
    p.inflights.reset()
    p.match = 9
    assert.equal(c.inflights.count(), 1)
    assert.equal(c.match, 1)
  })
})

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { JointConfig } from './joint.js'
import { MajorityConfig } from './majority.js'
import type { AckedIndexer } from './majority.js'

function acked(m: Record<number, number>): AckedIndexer {
  return { ackedIndex: (id) => m[id] }
}

function votes(m: Record<number, boolean>): Map<number, boolean> {
  return new Map(Object.entries(m).map(([k, v]) => [Number(k), v]))
}

describe('MajorityConfig.committedIndex', () => {
  test('empty config commits everything (it does not constrain a joint config)', () => {
    assert.equal(new MajorityConfig().committedIndex(acked({})), Number.POSITIVE_INFINITY)
  })
  test('single voter: its own index', () => {
    assert.equal(new MajorityConfig([1]).committedIndex(acked({ 1: 7 })), 7)
    assert.equal(new MajorityConfig([1]).committedIndex(acked({})), 0)
  })
  const cases: Array<[number[], Record<number, number>, number]> = [
    [[1, 2, 3], { 1: 5, 2: 4, 3: 3 }, 4],
    [[1, 2, 3], { 1: 5 }, 0],
    [[1, 2, 3], { 1: 5, 2: 5 }, 5],
    [[1, 2, 3, 4], { 1: 9, 2: 8, 3: 7, 4: 6 }, 7],
    [[1, 2, 3, 4, 5], { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 }, 3],
    [[1, 2, 3, 4, 5], { 1: 10, 2: 10 }, 0],
    [[1, 2], { 1: 3, 2: 1 }, 1],
  ]
  for (const [ids, m, want] of cases) {
    test(`voters=(${ids.join(' ')}) acked=${JSON.stringify(m)} -> ${want}`, () => {
      assert.equal(new MajorityConfig(ids).committedIndex(acked(m)), want)
    })
  }
  test('agrees with a sort-based reference on random inputs', () => {
    let seed = 7
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    for (let round = 0; round < 500; round++) {
      const n = 1 + rnd(7)
      const ids = Array.from({ length: n }, (_, i) => i + 1)
      const m: Record<number, number> = {}
      for (const id of ids) if (rnd(4) > 0) m[id] = rnd(20)
      const sorted = ids.map((id) => m[id] ?? 0).sort((a, b) => b - a)
      const want = sorted[Math.floor(n / 2)]
      assert.equal(new MajorityConfig(ids).committedIndex(acked(m)), want)
    }
  })
})

describe('MajorityConfig.voteResult', () => {
  test('empty config wins', () => assert.equal(new MajorityConfig().voteResult(votes({})), 'won'))
  const c = new MajorityConfig([1, 2, 3])
  test('pending until a quorum decides', () => {
    assert.equal(c.voteResult(votes({ 1: true })), 'pending')
    assert.equal(c.voteResult(votes({ 1: true, 2: false })), 'pending')
  })
  test('won with a majority of grants', () => assert.equal(c.voteResult(votes({ 1: true, 3: true })), 'won'))
  test('lost once a majority is impossible', () => assert.equal(c.voteResult(votes({ 1: true, 2: false, 3: false })), 'lost'))
  test('votes of non-members are ignored', () => assert.equal(c.voteResult(votes({ 1: true, 4: true, 5: true })), 'pending'))
  test('even-sized config needs more than half', () => {
    const c4 = new MajorityConfig([1, 2, 3, 4])
    assert.equal(c4.voteResult(votes({ 1: true, 2: true })), 'pending')
    assert.equal(c4.voteResult(votes({ 1: true, 2: true, 3: false, 4: false })), 'lost')
    assert.equal(c4.voteResult(votes({ 1: true, 2: true, 3: true })), 'won')
  })
})

describe('JointConfig', () => {
  const j = new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig([3, 4, 5]))
  test('committed index is the minimum of both majorities', () => {
    // incoming majority has 9, outgoing only 2.
    assert.equal(j.committedIndex(acked({ 1: 9, 2: 9, 3: 2, 4: 2, 5: 1 })), 2)
    assert.equal(j.committedIndex(acked({ 1: 9, 2: 9, 3: 5, 4: 5, 5: 1 })), 5)
  })
  test('non-joint config is decided by the incoming half alone', () => {
    const s = new JointConfig(new MajorityConfig([1, 2, 3]))
    assert.equal(s.isJoint(), false)
    assert.equal(s.committedIndex(acked({ 1: 4, 2: 4 })), 4)
    assert.equal(s.voteResult(votes({ 1: true, 2: true })), 'won')
  })
  test('votes need both majorities', () => {
    assert.equal(j.voteResult(votes({ 1: true, 2: true })), 'pending')
    assert.equal(j.voteResult(votes({ 1: true, 2: true, 4: true, 5: true })), 'won')
    assert.equal(j.voteResult(votes({ 1: true, 2: true, 3: false, 4: false })), 'lost')
    assert.equal(j.voteResult(votes({ 3: true, 4: true })), 'pending')
  })
  test('ids and description', () => {
    assert.deepEqual(j.ids(), [1, 2, 3, 4, 5])
    assert.equal(j.toString(), '(1 2 3)&&(3 4 5)')
  })
})

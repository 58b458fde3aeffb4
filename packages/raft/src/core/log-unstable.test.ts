import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Unstable } from './log-unstable.js'
import type { Entry, Snapshot } from './types.js'

function ents(from: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: 'normal', data: new Uint8Array(0) }))
}

function snap(index: number, term: number): Snapshot {
  return {
    data: new Uint8Array(0),
    metadata: { index, term, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
  }
}

function indexes(u: Unstable): string {
  return u.entries.map((e) => `${e.term}/${e.index}`).join(' ')
}

describe('Unstable', () => {
  test('first and last index', () => {
    const u = new Unstable(5)
    assert.equal(u.maybeFirstIndex(), undefined)
    assert.equal(u.maybeLastIndex(), undefined)
    u.truncateAndAppend(ents(5, [1, 1]))
    assert.equal(u.maybeFirstIndex(), undefined) // only a snapshot vouches for the first index
    assert.equal(u.maybeLastIndex(), 6)
    u.restore(snap(9, 2))
    assert.equal(u.maybeFirstIndex(), 10)
    assert.equal(u.maybeLastIndex(), 9)
  })

  test('maybeTerm', () => {
    const u = new Unstable(5)
    u.truncateAndAppend(ents(5, [1, 2]))
    assert.equal(u.maybeTerm(4), undefined)
    assert.equal(u.maybeTerm(5), 1)
    assert.equal(u.maybeTerm(6), 2)
    assert.equal(u.maybeTerm(7), undefined)
    u.restore(snap(8, 3))
    assert.equal(u.maybeTerm(8), 3)
    assert.equal(u.maybeTerm(7), undefined)
  })

  test('truncateAndAppend: append, replace all, truncate in the middle', () => {
    const u = new Unstable(5)
    u.truncateAndAppend(ents(5, [1, 1, 1]))
    u.truncateAndAppend(ents(8, [1]))
    assert.equal(indexes(u), '1/5 1/6 1/7 1/8')
    u.truncateAndAppend(ents(7, [2, 2]))
    assert.equal(indexes(u), '1/5 1/6 2/7 2/8')
    u.truncateAndAppend(ents(4, [3]))
    assert.equal(u.offset, 4)
    assert.equal(indexes(u), '3/4')
  })

  test('truncateAndAppend does not alias the caller array', () => {
    const u = new Unstable(1)
    const batch = ents(1, [1])
    u.truncateAndAppend(batch)
    u.truncateAndAppend(ents(2, [1]))
    assert.equal(batch.length, 1)
  })

  test('stableTo drops persisted entries, ignores mismatches', () => {
    const u = new Unstable(5)
    u.truncateAndAppend(ents(5, [1, 1, 2]))
    u.stableTo(6, 2) // wrong term: ignored
    assert.equal(u.offset, 5)
    u.stableTo(4, 1) // before offset: ignored
    assert.equal(u.offset, 5)
    u.stableTo(6, 1)
    assert.equal(u.offset, 7)
    assert.equal(indexes(u), '2/7')
    u.stableTo(7, 2)
    assert.equal(u.entries.length, 0)
    assert.equal(u.offset, 8)
  })

  test('stableSnapTo clears only the matching snapshot', () => {
    const u = new Unstable(1)
    u.restore(snap(5, 1))
    u.stableSnapTo(4)
    assert.ok(u.snapshot)
    u.stableSnapTo(5)
    assert.equal(u.snapshot, undefined)
  })

  test('slice checks bounds', () => {
    const u = new Unstable(5)
    u.truncateAndAppend(ents(5, [1, 1, 1]))
    assert.equal(u.slice(6, 8).length, 2)
    assert.throws(() => u.slice(4, 6))
    assert.throws(() => u.slice(6, 9))
  })

  test('entries and a snapshot in progress are not handed out again, unless replaced', () => {
    const u = new Unstable(5)
    u.truncateAndAppend(ents(5, [1, 1, 1]))
    u.acceptInProgress()
    assert.deepEqual(u.nextEntries(), [])
    u.truncateAndAppend(ents(8, [1]))
    assert.deepEqual(u.nextEntries().map((e) => e.index), [8])
    u.acceptInProgress()
    // A new leader replaces 7 and 8: they are handed out again, as their replacements.
    u.truncateAndAppend(ents(7, [2]))
    assert.deepEqual(u.nextEntries().map((e) => `${e.term}/${e.index}`), ['2/7'])
    // The write of the old entry 8 lands: its term no longer matches, nothing becomes stable.
    u.stableTo(8, 1)
    assert.equal(indexes(u), '1/5 1/6 2/7')
    u.stableTo(6, 1)
    assert.equal(indexes(u), '2/7')
    assert.deepEqual(u.nextEntries().map((e) => e.index), [7])

    u.restore(snap(9, 2))
    assert.equal(u.nextSnapshot()?.metadata.index, 9)
    u.acceptInProgress()
    assert.equal(u.nextSnapshot(), undefined)
    u.stableSnapTo(9)
    assert.equal(u.snapshot, undefined)
  })
})

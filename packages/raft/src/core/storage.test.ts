import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStorage } from './storage.js'
import type { ConfState, Entry } from './types.js'

function ents(from: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: 'normal', data: new Uint8Array(0) }))
}
const cs: ConfState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
const code = (c: string) => (e: Error & { code?: string }) => e.code === c

describe('MemoryStorage', () => {
  test('starts empty at index 0', () => {
    const s = new MemoryStorage()
    assert.equal(s.firstIndex(), 1)
    assert.equal(s.lastIndex(), 0)
    assert.equal(s.term(0), 0)
    assert.throws(() => s.entries(1, 1, Infinity), code('ERR_UNAVAILABLE'))
  })

  test('append overwrites from the first overlapping index', () => {
    const s = new MemoryStorage()
    s.append(ents(1, [1, 1, 1]))
    s.append(ents(2, [2, 2, 2]))
    assert.deepEqual(s.entries(1, 5, Infinity).map((e) => e.term), [1, 2, 2, 2])
    assert.throws(() => s.append(ents(7, [3])), /missing log entry/)
  })

  test('compact keeps the term of the compacted index', () => {
    const s = new MemoryStorage()
    s.append(ents(1, [1, 2, 3, 4]))
    s.compact(2)
    assert.equal(s.firstIndex(), 3)
    assert.equal(s.term(2), 2)
    assert.throws(() => s.term(1), code('ERR_COMPACTED'))
    assert.throws(() => s.entries(2, 4, Infinity), code('ERR_COMPACTED'))
    assert.throws(() => s.compact(2), code('ERR_COMPACTED'))
    // entries before the snapshot are ignored on append
    s.append(ents(1, [1, 2, 3, 9]))
    assert.equal(s.term(4), 9)
  })

  test('createSnapshot and applySnapshot', () => {
    const s = new MemoryStorage()
    s.append(ents(1, [1, 1, 2]))
    const snap = s.createSnapshot(2, cs, new Uint8Array([7]))
    assert.equal(snap.metadata.term, 1)
    assert.throws(() => s.createSnapshot(2, cs, new Uint8Array(0)), code('ERR_SNAPSHOT_OUT_OF_DATE'))
    const t = new MemoryStorage()
    t.applySnapshot(snap)
    assert.equal(t.firstIndex(), 3)
    assert.equal(t.lastIndex(), 2)
    assert.deepEqual(t.initialState().confState, cs)
    assert.throws(() => t.applySnapshot(snap), code('ERR_SNAPSHOT_OUT_OF_DATE'))
  })

  test('entries honours maxBytes but returns at least one', () => {
    const s = new MemoryStorage()
    s.append(ents(1, [1, 1, 1]))
    assert.equal(s.entries(1, 4, 0).length, 1)
    assert.equal(s.entries(1, 4, 32).length, 2)
  })

  test('hard state round-trips', () => {
    const s = new MemoryStorage()
    s.setHardState({ term: 3, vote: 2, commit: 0 })
    assert.deepEqual(s.initialState().hardState, { term: 3, vote: 2, commit: 0 })
  })
})

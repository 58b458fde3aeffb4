import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { RaftLog } from './log.js'
import { MemoryStorage } from './storage.js'
import type { Entry } from './types.js'

function ents(from: number, terms: number[], size = 0): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: 'normal', data: new Uint8Array(size) }))
}

function show(es: readonly Entry[]): string {
  return es.map((e) => `${e.term}/${e.index}`).join(' ')
}

/** A log whose storage holds terms for indexes 1.. and is fully persisted. */
function logWith(terms: number[]): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage()
  storage.append(ents(1, terms))
  return { log: new RaftLog(storage, Number.POSITIVE_INFINITY), storage }
}

describe('RaftLog.maybeAppend (log matching, §5.3)', () => {
  const base = [1, 2, 3] // indexes 1..3
  const cases: Array<{ name: string; index: number; logTerm: number; commit: number; add: Entry[]; want: number; log: string; commitAfter: number }> = [
    { name: 'prev term mismatch', index: 3, logTerm: 2, commit: 3, add: [], want: -1, log: '1/1 2/2 3/3', commitAfter: 1 },
    { name: 'prev beyond the log', index: 4, logTerm: 4, commit: 3, add: [], want: -1, log: '1/1 2/2 3/3', commitAfter: 1 },
    { name: 'heartbeat-like empty append', index: 3, logTerm: 3, commit: 3, add: [], want: 3, log: '1/1 2/2 3/3', commitAfter: 3 },
    { name: 'commit capped at last new entry', index: 2, logTerm: 2, commit: 3, add: [], want: 2, log: '1/1 2/2 3/3', commitAfter: 2 },
    { name: 'append new entries', index: 3, logTerm: 3, commit: 5, add: ents(4, [4, 4]), want: 5, log: '1/1 2/2 3/3 4/4 4/5', commitAfter: 5 },
    { name: 'duplicate entries are kept', index: 1, logTerm: 1, commit: 2, add: ents(2, [2]), want: 2, log: '1/1 2/2 3/3', commitAfter: 2 },
    { name: 'conflict replaces the suffix', index: 1, logTerm: 1, commit: 1, add: ents(2, [4, 4]), want: 3, log: '1/1 4/2 4/3', commitAfter: 1 },
    { name: 'conflict in the middle of the batch', index: 1, logTerm: 1, commit: 1, add: [...ents(2, [2]), ...ents(3, [4, 4])], want: 4, log: '1/1 2/2 4/3 4/4', commitAfter: 1 },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const { log } = logWith(base)
      log.commitTo(1)
      assert.equal(log.maybeAppend(c.index, c.logTerm, c.commit, c.add), c.want)
      assert.equal(show(log.allEntries()), c.log)
      assert.equal(log.committed, c.commitAfter)
    })
  }
  test('conflicting with a committed entry is a fatal invariant violation', () => {
    const { log } = logWith(base)
    log.commitTo(3)
    assert.throws(() => log.maybeAppend(1, 1, 3, ents(2, [9])), /conflicts with committed/)
  })
})

describe('RaftLog.findConflictByTerm (fast backtracking)', () => {
  // Figure 7 (f): terms 1 1 1 2 2 2 3 3 3 3 3 at indexes 1..11.
  const { log } = logWith([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3])
  const cases: Array<[number, number, [number, number]]> = [
    [11, 6, [11, 3]], // leader's term 6 at 11: our entries of term <= 6 start at 11
    [10, 2, [6, 2]], // skip the whole term 3 run
    [10, 1, [3, 1]],
    [5, 2, [5, 2]],
    [10, 0, [0, 0]],
    [12, 3, [12, 0]], // beyond the log
  ]
  for (const [index, term, want] of cases) {
    test(`(${index}, term ${term}) -> ${want.join('/')}`, () => {
      assert.deepEqual(log.findConflictByTerm(index, term), want)
    })
  }
})

describe('RaftLog', () => {
  test('isUpToDate compares last term, then length (§5.4.1)', () => {
    const { log } = logWith([1, 2, 3])
    assert.equal(log.isUpToDate(2, 4), true)
    assert.equal(log.isUpToDate(5, 2), false)
    assert.equal(log.isUpToDate(3, 3), true)
    assert.equal(log.isUpToDate(2, 3), false)
    assert.equal(log.isUpToDate(4, 3), true)
  })

  test('maybeCommit only commits an entry of the given term (§5.4.2)', () => {
    const { log } = logWith([1, 2, 2])
    assert.equal(log.maybeCommit(3, 3), false)
    assert.equal(log.maybeCommit(2, 2), true)
    assert.equal(log.committed, 2)
    assert.equal(log.maybeCommit(1, 1), false) // never moves back
  })

  test('committed entries are handed out only once persisted', () => {
    const storage = new MemoryStorage()
    const log = new RaftLog(storage, Number.POSITIVE_INFINITY)
    log.append(ents(1, [1, 1, 1]))
    log.commitTo(3)
    assert.equal(log.hasNextCommittedEnts(), false)
    storage.append(log.nextUnstableEntries().slice(0, 2))
    log.stableTo(2, 1)
    assert.equal(show(log.nextCommittedEnts()), '1/1 1/2')
    log.appliedTo(2)
    assert.equal(log.hasNextCommittedEnts(), false)
    storage.append(log.nextUnstableEntries())
    log.stableTo(3, 1)
    assert.equal(show(log.nextCommittedEnts()), '1/3')
  })

  test('applied never passes committed', () => {
    const { log } = logWith([1, 1])
    log.commitTo(1)
    assert.throws(() => log.appliedTo(2), /out of range/)
    log.appliedTo(1)
    assert.throws(() => log.appliedTo(0 + 0.5), /out of range/)
  })

  test('commitTo past the last index is fatal', () => {
    const { log } = logWith([1])
    assert.throws(() => log.commitTo(2), /out of range/)
  })

  test('nextCommittedEnts respects the byte budget (at least one entry)', () => {
    const storage = new MemoryStorage()
    storage.append(ents(1, [1, 1, 1, 1], 100))
    const log = new RaftLog(storage, 250)
    log.commitTo(4)
    assert.equal(show(log.nextCommittedEnts()), '1/1 1/2')
    const tiny = new RaftLog(storage, 0)
    tiny.commitTo(4)
    assert.equal(show(tiny.nextCommittedEnts()), '1/1')
  })

  test('term() of compacted and future entries throws typed errors', () => {
    const storage = new MemoryStorage()
    storage.append(ents(1, [1, 1, 2, 2]))
    storage.compact(2)
    const log = new RaftLog(storage, Number.POSITIVE_INFINITY)
    assert.equal(log.firstIndex(), 3)
    assert.equal(log.term(2), 1) // the dummy entry keeps the snapshot term
    assert.throws(() => log.term(1), (e: Error & { code?: string }) => e.code === 'ERR_COMPACTED')
    assert.throws(() => log.term(5), (e: Error & { code?: string }) => e.code === 'ERR_UNAVAILABLE')
    assert.throws(() => log.slice(1, 3, Infinity), (e: Error & { code?: string }) => e.code === 'ERR_COMPACTED')
  })

  test('slice spans storage and unstable entries and honours maxBytes', () => {
    const storage = new MemoryStorage()
    storage.append(ents(1, [1, 1], 10))
    const log = new RaftLog(storage, Infinity)
    log.append(ents(3, [2, 2], 10))
    assert.equal(show(log.slice(1, 5, Infinity)), '1/1 1/2 2/3 2/4')
    assert.equal(show(log.slice(2, 4, Infinity)), '1/2 2/3')
    // entrySize is 10 payload + 16 overhead = 26 bytes
    assert.equal(show(log.slice(1, 5, 60)), '1/1 1/2')
    assert.equal(show(log.slice(2, 5, 60)), '1/2 2/3')
    assert.equal(show(log.slice(3, 5, 0)), '2/3')
  })

  test('restore from a snapshot replaces the log', () => {
    const { log } = logWith([1, 1, 1])
    log.restore({ data: new Uint8Array(0), metadata: { index: 10, term: 4, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } })
    assert.equal(log.committed, 10)
    assert.equal(log.firstIndex(), 11)
    assert.equal(log.lastIndex(), 10)
    assert.equal(log.lastTerm(), 4)
    assert.equal(log.termOrUndefined(3), undefined) // shadowed by the snapshot
    assert.equal(log.lastStableIndex(), 0) // nothing of the new log is persisted yet
  })

  test('lastStableIndex ignores stored entries replaced in the unstable tail', () => {
    const { log } = logWith([1, 1, 1])
    log.append(ents(2, [2]))
    assert.equal(log.lastStableIndex(), 1)
  })
})

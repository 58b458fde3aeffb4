import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { zeroRng } from '../testing/interaction-env.js'
import { RawNode } from './raw-node.js'
import { MemoryStorage } from './storage.js'
import type { Message } from './types.js'

function node(id: number, voters: number[]): { rn: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage()
  storage.applySnapshot({
    data: new Uint8Array(0),
    metadata: { index: 1, term: 1, confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
  })
  return { rn: new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, rng: zeroRng }), storage }
}

describe('RawNode Ready/advance', () => {
  test('a fresh node has nothing to do', () => {
    const { rn } = node(1, [1, 2, 3])
    assert.equal(rn.hasReady(), false)
  })

  test('soft and hard state appear only when they change; messages are handed out once', () => {
    const { rn, storage } = node(1, [1, 2, 3])
    rn.campaign()
    assert.equal(rn.hasReady(), true)
    const rd = rn.ready()
    assert.deepEqual(rd.softState, { lead: 0, state: 'pre-candidate' })
    assert.equal(rd.hardState, undefined) // pre-vote changes neither term nor vote
    assert.equal(rd.mustSync, false)
    assert.equal(rd.messages.length, 2)
    storage.append(rd.entries)
    rn.advance(rd)
    assert.equal(rn.hasReady(), false)
    // A granted pre-vote starts the real election: new term and vote, to be synced.
    const grant: Message = { type: 'MsgPreVoteResp', from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 }
    rn.step(grant)
    const rd2 = rn.ready()
    assert.deepEqual(rd2.softState, { lead: 0, state: 'candidate' })
    assert.deepEqual(rd2.hardState, { term: 1, vote: 1, commit: 1 })
    assert.equal(rd2.mustSync, true)
    rn.advance(rd2)
    assert.equal(rn.ready().softState, undefined)
  })

  test('advance without an argument acknowledges the last Ready', () => {
    const { rn, storage } = node(1, [1])
    rn.campaign()
    let rd = rn.ready()
    assert.equal(rd.entries.length, 1)
    storage.append(rd.entries)
    if (rd.hardState) storage.setHardState(rd.hardState)
    rn.advance()
    rd = rn.ready()
    assert.deepEqual(rd.committedEntries.map((e) => e.index), [2])
    rn.advance()
    assert.equal(rn.hasReady(), false)
    assert.equal(rn.status().applied, 2)
  })

  test('Ready.entries is a copy: later proposals do not change it', () => {
    const { rn } = node(1, [1])
    rn.campaign()
    const rd = rn.ready()
    const n = rd.entries.length
    rn.propose(new Uint8Array([1]))
    assert.equal(rd.entries.length, n)
  })

  test('status reports progress only on the leader', () => {
    const { rn, storage } = node(1, [1])
    assert.equal(rn.status().progress, undefined)
    rn.campaign()
    const rd = rn.ready()
    storage.append(rd.entries)
    rn.advance(rd)
    const st = rn.status()
    assert.equal(st.state, 'leader')
    assert.equal(st.progress?.get(1)?.match, 2)
    assert.deepEqual(st.config.voters, { incoming: [1], outgoing: [] })
  })
})

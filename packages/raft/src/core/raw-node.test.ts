import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { zeroRng } from '../testing/interaction-env.js'
import { RawNode } from './raw-node.js'
import { MemoryStorage } from './storage.js'
import type { Message } from './types.js'

function node(id: number, voters: number[], lease = false): { rn: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage()
  storage.applySnapshot({
    data: new Uint8Array(0),
    metadata: { index: 1, term: 1, confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
  })
  const readOnlyOption = lease ? 'lease-based' : 'safe'
  return { rn: new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, rng: zeroRng, checkQuorum: true, preVote: true, readOnlyOption }), storage }
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

  test('a Ready is handed out once: one taken before the last is acknowledged holds only what is new', () => {
    const { rn, storage } = node(1, [1])
    const enc = new TextEncoder()
    rn.campaign()
    const rd1 = rn.ready()
    assert.deepEqual(rd1.entries.map((e) => e.index), [2])
    rn.propose(enc.encode('x'))
    // rd1 is still being written: the next Ready holds only the new entry.
    const rd2 = rn.ready()
    assert.deepEqual(rd2.entries.map((e) => e.index), [3])
    assert.equal(rn.hasReady(), false)
    storage.append(rd1.entries)
    if (rd1.hardState) storage.setHardState(rd1.hardState)
    rn.advancePersisted(rd1)
    storage.append(rd2.entries)
    rn.advancePersisted(rd2)
    const rd3 = rn.ready()
    assert.deepEqual(rd3.committedEntries.map((e) => e.index), [2, 3])
    assert.equal(rd3.hardState?.commit, 3)
    // rd3 is still being applied: its committed entries are not handed out again.
    rn.propose(enc.encode('y'))
    const rd4 = rn.ready()
    assert.deepEqual(rd4.entries.map((e) => e.index), [4])
    assert.deepEqual(rd4.committedEntries, [])
    rn.advanceApplied(rd3)
    assert.equal(rn.status().applied, 3)
    storage.append(rd4.entries)
    rn.advancePersisted(rd4)
    const rd5 = rn.ready()
    assert.deepEqual(rd5.committedEntries.map((e) => e.index), [4])
    rn.advanceApplied(rd5)
    assert.equal(rn.status().applied, 4)
  })

  test('forgetLeader: a follower that forgot its leader grants a pre-vote at once; refused with lease-based reads', () => {
    const heartbeat: Message = { type: 'MsgHeartbeat', from: 1, to: 2, term: 1, logTerm: 0, index: 0, entries: [], commit: 1, reject: false, rejectHint: 0 }
    const preVote: Message = { type: 'MsgPreVote', from: 3, to: 2, term: 2, logTerm: 1, index: 1, entries: [], commit: 0, reject: false, rejectHint: 0 }
    const { rn } = node(2, [1, 2, 3])
    rn.step(heartbeat)
    rn.ready()
    // In the leader's lease: the pre-vote is ignored.
    rn.step(preVote)
    assert.deepEqual(rn.ready().messages, [])
    assert.equal(rn.forgetLeader(), true)
    assert.equal(rn.status().lead, 0)
    rn.step(preVote)
    assert.deepEqual(rn.ready().messages.map((m) => [m.type, m.to, m.reject]), [['MsgPreVoteResp', 3, false]])

    const leased = node(2, [1, 2, 3], true).rn
    leased.step(heartbeat)
    assert.equal(leased.forgetLeader(), false)
    assert.equal(leased.status().lead, 1)
  })
})

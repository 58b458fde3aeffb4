// Unit tests of the Raft state machine. Each names the part of the Raft paper (or the
// thesis) it checks. Scenarios with message-level detail live in testdata/*.txt.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseCommand } from '../testing/datadriven.js'
import { InteractionEnv, zeroRng } from '../testing/interaction-env.js'
import type { Config } from './config.js'
import { RaftErrorCode, SnapshotTemporarilyUnavailableError } from './errors.js'
import { Raft } from './raft.js'
import { RawNode } from './raw-node.js'
import { SeededRng } from './rng.js'
import { MemoryStorage } from './storage.js'
import type { ConfState, Message, Ready, Snapshot } from './types.js'

const enc = new TextEncoder()

/** Runs transcript commands against env and returns the last command's output. */
function run(env: InteractionEnv, ...lines: string[]): string {
  let out = ''
  for (const line of lines) out = env.handle(parseCommand(line))
  return out
}

function quietEnv(): InteractionEnv {
  const env = new InteractionEnv()
  env.logLevel = 'none'
  return env
}

function voters(...ids: number[]): ConfState {
  return { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
}

function bootstrapped(cs: ConfState, index = 1): MemoryStorage {
  const s = new MemoryStorage()
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index, term: 1, confState: cs } })
  return s
}

function config(id: number, storage: MemoryStorage, extra: Partial<Config> = {}): Config {
  return { id, electionTick: 10, heartbeatTick: 1, storage, rng: zeroRng, ...extra }
}

/** Persists and acknowledges one Ready the way a host would. */
function handle(rn: RawNode, storage: MemoryStorage): Ready {
  const rd = rn.ready()
  if (rd.snapshot) storage.applySnapshot(rd.snapshot)
  storage.append(rd.entries)
  if (rd.hardState) storage.setHardState(rd.hardState)
  rn.advance(rd)
  return rd
}

const hasCode = (code: string) => (e: unknown) => (e as { code?: string }).code === code

describe('§5.2 leader election', () => {
  test('randomized election timeouts lie in [electionTick, 2*electionTick) and differ per seed', () => {
    const seen = new Set<number>()
    for (let seed = 1; seed <= 50; seed++) {
      const r = new Raft(config(1, bootstrapped(voters(1, 2, 3)), { rng: new SeededRng(seed) }))
      assert.ok(r.randomizedElectionTimeout >= 10 && r.randomizedElectionTimeout < 20)
      seen.add(r.randomizedElectionTimeout)
    }
    assert.ok(seen.size > 3, 'timeouts should vary')
  })

  test('a follower campaigns after its randomized timeout, not before', () => {
    const r = new Raft(config(1, bootstrapped(voters(1, 2, 3)), { rng: new SeededRng(7), preVote: false }))
    const timeout = r.randomizedElectionTimeout
    for (let i = 1; i < timeout; i++) r.tick()
    assert.equal(r.state, 'follower')
    r.tick()
    assert.equal(r.state, 'candidate')
    assert.equal(r.term, 1)
    assert.equal(r.vote, 1)
  })

  test('a single voter elects itself at once', () => {
    const storage = bootstrapped(voters(1))
    const rn = new RawNode(config(1, storage))
    rn.campaign()
    assert.equal(rn.status().state, 'leader')
  })

  test('the vote is in the HardState of the Ready that carries the vote response', () => {
    const storage = bootstrapped(voters(1, 2, 3))
    const rn = new RawNode(config(2, storage))
    rn.step({ type: 'MsgVote', from: 1, to: 2, term: 1, logTerm: 1, index: 1, entries: [], commit: 0, reject: false, rejectHint: 0 })
    const rd = rn.ready()
    assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 1 })
    assert.equal(rd.mustSync, true)
    assert.deepEqual(rd.messages.map((m) => [m.type, m.to, m.reject]), [['MsgVoteResp', 1, false]])
  })

  test('same seed, same run: elections are deterministic', () => {
    const runOnce = (): string => {
      const env = quietEnv()
      run(env, 'add-nodes 5 voters=(1,2,3,4,5) index=2 seed=42')
      const out: string[] = []
      for (let t = 0; t < 40; t++) {
        for (const n of env.nodes) n.rawNode.tick()
        out.push(run(env, 'stabilize'))
      }
      return out.join('\n') + run(env, 'raft-state')
    }
    assert.equal(runOnce(), runOnce())
  })
})

describe('§5.4.1 election restriction', () => {
  /** Leader 1 commits an entry that node 3 never got; then 1 is cut off. */
  function staleNode3(knob: string): InteractionEnv {
    const env = quietEnv()
    run(
      env,
      `add-nodes 3 voters=(1,2,3) index=2 prevote=false checkquorum=false ${knob}`,
      'campaign 1',
      'stabilize',
      'isolate 3',
      'propose 1 committed-entry',
      'stabilize',
      'heal',
      'isolate 1',
    )
    assert.equal(env.node(2).rawNode.status().commit, 4)
    return env
  }

  test('a candidate whose log is behind cannot win', () => {
    const env = staleNode3('')
    run(env, 'campaign 3', 'stabilize 2 3')
    assert.equal(env.node(3).rawNode.status().state, 'candidate')
    run(env, 'campaign 2', 'stabilize 2 3')
    assert.equal(env.node(2).rawNode.status().state, 'leader')
  })

  test('without it (skipElectionRestriction) a leader lacks a committed entry', () => {
    const env = staleNode3('knob=skip-election-restriction')
    run(env, 'campaign 3', 'stabilize 2 3')
    // Leader Completeness is violated: node 3 leads without the committed entry 4...
    const n3 = env.node(3).rawNode
    assert.equal(n3.status().state, 'leader')
    // ...and commits its own, different entry at index 4: State Machine Safety is gone.
    assert.equal(n3.status().commit, 4)
    assert.equal(n3.internal.raftLog.termOrUndefined(4), 2)
    assert.equal(env.node(2).storage.term(4), 1)
    assert.equal(env.node(2).rawNode.status().commit, 4)
  })
})

describe('§5.4.2 committing entries from previous terms (Figure 8)', () => {
  /** Replays figure-8.txt up to the point where index 2 (term 2) is on S1, S2 and S3. */
  function figure8(knob: string): InteractionEnv {
    const env = quietEnv()
    const opts = `voters=(1,2,3,4,5) index=1 term=3 prevote=false checkquorum=false max-size-per-msg=0 ${knob}`
    run(
      env,
      `add-nodes 1 ${opts} log-terms=(2)`,
      `add-nodes 3 ${opts}`,
      `add-nodes 1 ${opts} log-terms=(3)`,
      'campaign 1',
      'process-ready 1',
      'deliver-msgs 2 3 4 5',
      'process-ready 2 3 4 5',
      'deliver-msgs 1',
      'process-ready 1',
      'drop-msgs to=4',
      'drop-msgs to=5',
      'deliver-msgs 2 3',
      'process-ready 2 3',
      'deliver-msgs 1',
      'process-ready 1',
      'deliver-msgs 2 3',
      'process-ready 2 3',
      'deliver-msgs 1',
    )
    return env
  }

  test('the leader does not commit an old-term entry stored on a majority', () => {
    const env = figure8('')
    assert.equal(env.node(1).rawNode.status().commit, 1)
  })

  test('the broken variant (commitOldTermByCount) commits it, and S5 later overwrites it', () => {
    const env = figure8('knob=commit-old-term')
    const s1 = env.node(1)
    assert.equal(s1.rawNode.status().commit, 2)
    run(env, 'process-ready 1') // S1 applies index 2 (term 2)...
    assert.equal(s1.appliedIndex, 2)
    const appliedTerm = s1.storage.term(2)
    assert.equal(appliedTerm, 2)
    // ...then crashes; S5 is elected and commits its own index 2 (term 3).
    run(env, 'isolate 1', 'campaign 5', 'stabilize 2 3 4 5')
    const s5 = env.node(5).rawNode.status()
    assert.equal(s5.state, 'leader')
    assert.ok(s5.commit >= 2)
    assert.equal(env.node(2).storage.term(2), 3)
    // Two different entries were committed at index 2: State Machine Safety is violated.
    assert.notEqual(env.node(2).storage.term(2), appliedTerm)
  })
})

describe('§5.3 log replication', () => {
  test('applied never passes committed, and only persisted entries are handed out', () => {
    const storage = bootstrapped(voters(1))
    const rn = new RawNode(config(1, storage))
    rn.campaign()
    handle(rn, storage) // the empty entry of the new term
    handle(rn, storage) // ...committed once persisted
    rn.propose(enc.encode('x'))
    const rd1 = rn.ready()
    assert.deepEqual(rd1.entries.map((e) => e.index), [3])
    assert.deepEqual(rd1.committedEntries, []) // not persisted yet: not committed either
    storage.append(rd1.entries)
    rn.advance(rd1)
    const rd2 = rn.ready()
    assert.deepEqual(rd2.committedEntries.map((e) => e.index), [3])
    assert.equal(rd2.hardState?.commit, 3)
    const st = rn.status()
    assert.ok(st.applied <= st.commit)
  })

  test('restarting with applied beyond the commit index is refused', () => {
    const storage = bootstrapped(voters(1, 2, 3), 5)
    assert.throws(() => new RawNode(config(1, storage, { applied: 6 })), hasCode(RaftErrorCode.INVARIANT_VIOLATED))
  })

  test('heartbeats carry only term, commit and context', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2', 'campaign 1', 'stabilize', 'read-index 1 ctx', 'tick-heartbeat 1')
    const rd = env.node(1).rawNode.ready()
    const hbs = rd.messages.filter((m) => m.type === 'MsgHeartbeat')
    assert.ok(hbs.length > 0)
    for (const m of hbs) {
      assert.equal(m.logTerm, 0)
      assert.equal(m.index, 0)
      assert.equal(m.entries.length, 0)
      assert.equal(m.reject, false)
      assert.equal(m.rejectHint, 0)
      assert.equal(m.snapshot, undefined)
    }
    env.messages.push(...rd.messages)
    run(env, 'deliver-msgs 2')
    const resp = env.node(2).rawNode.ready().messages.find((m) => m.type === 'MsgHeartbeatResp') as Message
    assert.deepEqual(
      { logTerm: resp.logTerm, index: resp.index, commit: resp.commit, entries: resp.entries.length, reject: resp.reject },
      { logTerm: 0, index: 0, commit: 0, entries: 0, reject: false },
    )
  })

  test('the inflight window also closes on bytes (maxInflightBytes)', () => {
    const env = quietEnv()
    // 100-byte entries; 120 bytes per message allows one entry; 250 bytes in flight: three messages.
    run(env, 'add-nodes 2 voters=(1,2) index=2 max-size-per-msg=120 max-inflight-bytes=250', 'campaign 1', 'stabilize')
    const rn = env.node(1).rawNode
    for (let i = 0; i < 5; i++) rn.propose(new Uint8Array(100))
    const apps = rn.ready().messages.filter((m) => m.type === 'MsgApp' && m.to === 2)
    assert.equal(apps.length, 3)
    const pr = rn.status().progress?.get(2)
    assert.equal(pr?.paused, true)
    assert.equal(pr?.inflight, 3)
  })

  test('a snapshot that storage cannot produce yet is retried later', () => {
    class Busy extends MemoryStorage {
      busy = true
      override snapshot(): Snapshot {
        if (this.busy) throw new SnapshotTemporarilyUnavailableError()
        return super.snapshot()
      }
    }
    const s1 = new Busy()
    s1.applySnapshot({ data: new Uint8Array(0), metadata: { index: 5, term: 1, confState: voters(1, 2) } })
    const leader = new Raft(config(1, s1, { preVote: false }))
    leader.campaign('election')
    leader.step({ type: 'MsgVoteResp', from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 })
    assert.equal(leader.state, 'leader')
    leader.msgs = []
    // Node 2 answers that its log is empty: it needs a snapshot, which is not ready.
    leader.step({ type: 'MsgAppResp', from: 2, to: 1, term: 1, logTerm: 0, index: 5, entries: [], commit: 0, reject: true, rejectHint: 0 })
    assert.equal(leader.msgs.some((m) => m.type === 'MsgSnap'), false)
    assert.equal(leader.trk.progress.get(2)?.state, 'probe')
    s1.busy = false
    leader.step({ type: 'MsgHeartbeatResp', from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 })
    assert.equal(leader.msgs.some((m) => m.type === 'MsgSnap'), true)
    assert.equal(leader.trk.progress.get(2)?.state, 'snapshot')
  })
})

describe('proposals', () => {
  test('dropped without a leader, while campaigning, during a transfer, or when forwarding is off', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2 prevote=false')
    assert.throws(() => env.node(1).rawNode.propose(enc.encode('x')), hasCode(RaftErrorCode.PROPOSAL_DROPPED))
    run(env, 'campaign 1')
    assert.throws(() => env.node(1).rawNode.propose(enc.encode('x')), /campaigning/)
    run(env, 'stabilize', 'isolate 3', 'transfer-leadership from=1 to=3')
    assert.throws(() => env.node(1).rawNode.propose(enc.encode('x')), /transferring leadership/)
    const env2 = quietEnv()
    run(env2, 'add-nodes 3 voters=(1,2,3) index=2 disable-forwarding=true', 'campaign 1', 'stabilize')
    assert.throws(() => env2.node(2).rawNode.propose(enc.encode('x')), /forwarding is disabled/)
    env2.node(1).rawNode.propose(enc.encode('x')) // the leader still accepts
  })

  test('a follower forwards proposals to the leader', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2', 'campaign 1', 'stabilize', 'propose 2 fwd', 'stabilize')
    assert.deepEqual(env.node(3).applied.map((d) => new TextDecoder().decode(d)), ['fwd'])
  })

  test('the uncommitted-size limit drops proposals until entries are applied', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2 max-uncommitted=10', 'campaign 1', 'stabilize', 'isolate 2 3')
    const rn = env.node(1).rawNode
    rn.propose(new Uint8Array(6))
    rn.propose(new Uint8Array(4)) // 10 bytes: at the limit
    assert.throws(() => rn.propose(new Uint8Array(1)), /uncommitted/)
    rn.propose(new Uint8Array(0)) // empty entries are always accepted
    run(env, 'stabilize', 'heal', 'tick-heartbeat 1', 'stabilize')
    rn.propose(new Uint8Array(8)) // the budget was released on apply
    // A single entry larger than the limit is accepted when nothing is uncommitted.
    run(env, 'stabilize')
    rn.propose(new Uint8Array(50))
  })
})

describe('RawNode input validation', () => {
  test('local messages cannot be stepped, nor responses from strangers', () => {
    const rn = new RawNode(config(1, bootstrapped(voters(1, 2, 3))))
    const m = (type: Message['type'], from: number): Message => ({ type, from, to: 1, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 })
    assert.throws(() => rn.step(m('MsgHup', 1)), hasCode(RaftErrorCode.STEP_LOCAL_MSG))
    assert.throws(() => rn.step(m('MsgBeat', 1)), hasCode(RaftErrorCode.STEP_LOCAL_MSG))
    assert.throws(() => rn.step(m('MsgAppResp', 9)), hasCode(RaftErrorCode.STEP_PEER_NOT_FOUND))
  })

  test('invalid configs are refused with ERR_CONFIG_INVALID', () => {
    const s = bootstrapped(voters(1))
    const bad: Array<Partial<Config>> = [
      { id: 0 },
      { electionTick: 1, heartbeatTick: 1 },
      { heartbeatTick: 0 },
      { readOnlyOption: 'lease-based', checkQuorum: false },
      { maxInflightMsgs: 0 },
      { maxInflightBytes: 10, maxSizePerMsg: 100 },
      { leaseDriftTicks: 10 },
    ]
    for (const b of bad) assert.throws(() => new RawNode(config(1, s, b)), hasCode(RaftErrorCode.CONFIG_INVALID), JSON.stringify(b))
  })

  test('an invalid conf change is refused at proposal time', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2', 'campaign 1', 'stabilize')
    const out = run(env, 'propose-conf-change 1 r1 r2 r3')
    assert.match(out, /ERR_CONF_CHANGE_INVALID/)
    const out2 = run(env, 'propose-conf-change 1')
    assert.match(out2, /not in joint state/)
  })
})

describe('joint consensus (thesis §4.3): elections need both majorities', () => {
  test('a candidate with only the old majority loses; with both it wins', () => {
    const env = quietEnv()
    run(
      env,
      'add-nodes 3 voters=(1,2,3) index=2 prevote=false checkquorum=false',
      'campaign 1',
      'stabilize',
      'add-nodes 2 prevote=false checkquorum=false',
      'propose-conf-change 1 transition=explicit r3 v4 v5',
      'stabilize',
    )
    assert.deepEqual(env.node(2).rawNode.status().config.voters, { incoming: [1, 2, 4, 5], outgoing: [1, 2, 3] })
    // 1 is gone; 2 gets votes from 3 (old majority 2,3) but not from 4 and 5.
    run(env, 'isolate 1 4 5', 'campaign 2', 'stabilize 2 3')
    assert.equal(env.node(2).rawNode.status().state, 'candidate')
    // With 4 reachable too: old majority {2,3}, new majority {2,4,5}? only {2,4}: still not enough.
    run(env, 'heal', 'isolate 1 5', 'campaign 2', 'stabilize 2 3 4')
    assert.equal(env.node(2).rawNode.status().state, 'candidate')
    run(env, 'heal', 'isolate 1', 'campaign 2', 'stabilize 2 3 4 5')
    assert.equal(env.node(2).rawNode.status().state, 'leader')
  })

  test('a leader elected in an auto-leave joint config leaves it on its own', () => {
    const env = quietEnv()
    run(
      env,
      'add-nodes 3 voters=(1,2,3) index=2',
      'campaign 1',
      'stabilize',
      'propose-conf-change 1 v4 v5',
      // Commit and apply the joint entry everywhere, but lose the leader before it leaves.
      'process-ready 1',
      'deliver-msgs 2 3',
      'process-ready 2 3',
      'deliver-msgs 1',
      'process-ready 1',
      'deliver-msgs 2 3',
      'process-ready 2 3',
      'isolate 1',
    )
    assert.equal(env.node(2).rawNode.status().config.autoLeave, true)
    run(env, 'add-nodes 2', 'transfer-leadership from=2 to=2')
    // Node 2 campaigns (its lease on node 1 has to expire first).
    run(env, 'tick-election 2', 'tick-election 3', 'stabilize 2 3 4 5', 'tick-election 2', 'stabilize 2 3 4 5')
    const st = env.node(2).rawNode.status()
    assert.equal(st.state, 'leader')
    assert.deepEqual(st.config.voters, { incoming: [1, 2, 3, 4, 5], outgoing: [] })
  })
})

describe('lease reads (thesis §6.4.1)', () => {
  test('no lease while a leadership transfer is under way', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2 read-only=lease-based', 'campaign 1', 'stabilize')
    const r = env.node(1).rawNode.internal
    assert.equal(r.leaseValid(), true)
    run(env, 'isolate 3', 'transfer-leadership from=1 to=3')
    assert.equal(r.leaseValid(), false)
  })

  test('a suspended lease: reads take the safe path until a full election timeout has passed', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2 read-only=lease-based', 'campaign 1', 'stabilize')
    const rn = env.node(1).rawNode
    const r = rn.internal
    assert.equal(r.leaseValid(), true)
    rn.suspendLease() // as a host does that did not tick the node for a while
    assert.equal(r.leaseValid(), false)
    rn.readIndex(enc.encode('r1'))
    assert.equal(r.readStates.length, 0, 'not answered from the lease')
    assert.deepEqual(
      r.msgs.filter((m) => m.type === 'MsgHeartbeat').map((m) => [m.to, new TextDecoder().decode(m.context)]),
      [[2, 'r1'], [3, 'r1']],
      'a heartbeat round confirms the leadership instead',
    )
    run(env, 'stabilize')
    for (let tick = 1; tick < 3; tick++) {
      run(env, 'tick 1', 'stabilize')
      assert.equal(r.leaseValid(), false, `a quorum answered, but only ${tick} of 3 ticks passed`)
    }
    run(env, 'tick 1', 'stabilize')
    assert.equal(r.leaseValid(), true)
  })

  test('a suspended lease comes back only with a quorum heard after the suspension', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2 read-only=lease-based', 'campaign 1', 'stabilize')
    const rn = env.node(1).rawNode
    rn.suspendLease()
    run(env, 'tick 1', 'tick 1', 'tick 1') // heartbeats go out, no answer arrives yet
    assert.equal(rn.internal.state, 'leader')
    assert.equal(rn.internal.leaseValid(), false, 'answers heard before the suspension do not count')
    run(env, 'stabilize')
    assert.equal(rn.internal.leaseValid(), true)
  })
})

describe('ReadIndex (thesis §6.4)', () => {
  test('a leader reads the committed entry from its storage once per term, not on every read', () => {
    const env = quietEnv()
    run(env, 'add-nodes 3 voters=(1,2,3) index=2', 'campaign 1', 'stabilize')
    const n = env.node(1)
    let termReads = 0
    const term = n.storage.term.bind(n.storage)
    n.storage.term = (i: number) => {
      termReads++
      return term(i)
    }
    for (let i = 0; i < 5; i++) {
      n.rawNode.readIndex(enc.encode(`r${i}`))
      assert.match(run(env, 'stabilize'), new RegExp(`ReadStates:\\n\\s*Index:3 Context:"r${i}"`), `read ${i} is answered`)
    }
    assert.ok(termReads <= 1, `the committed entry's term was read ${termReads} times for 5 reads`)
  })
})

// The synchronous front of the Raft core: the host feeds it ticks, messages and
// proposals, and collects work to do as Ready batches. Driving it with timers, disks and
// sockets is the host's job (mrdb's multiraft layer).

import { encodeConfChange } from './confchange/codec.js'
import type { Config } from './config.js'
import { payloadSize } from './entry-size.js'
import { StepLocalMessageError, StepPeerNotFoundError } from './errors.js'
import { newMessage, Raft } from './raft.js'
import type { ProgressStatus, Status } from './status.js'
import { isLocalMessage, isResponseMessage, NONE } from './types.js'
import type { AppendedAt, ConfChangeV2, ConfState, HardState, Message, MessageType, Ready, SoftState } from './types.js'

/**
 * A Raft node driven synchronously. Typical loop:
 *   tick() every tick; step() every received message; propose() client commands;
 *   while (hasReady()) { const rd = ready(); persist, send, apply (see Ready); advance(rd) }
 * A pipelined host acknowledges the two halves of a Ready separately instead:
 * advancePersisted(rd) once its write is durable, advanceApplied(rd) once its committed
 * entries are applied, and may take the next Ready in between (see ready()).
 * Everything is deterministic given the Config's storage and rng.
 */
export class RawNode {
  private readonly raft: Raft
  private prevSoftState: SoftState
  private prevHardState: HardState
  private lastReady: Ready | undefined = undefined

  /**
   * Creates a node from the state in config.storage (HardState, ConfState, log). A new
   * group starts from storage holding a snapshot whose ConfState names the initial members.
   * Throws ConfigInvalidError for a bad config.
   */
  constructor(config: Config) {
    this.raft = new Raft(config)
    this.prevSoftState = this.raft.softState()
    this.prevHardState = this.raft.hardState()
  }

  /** Advances logical time by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.raft.tick()
  }

  /** Starts an election now (with a pre-vote round if enabled). No-op on a leader or learner. */
  campaign(): void {
    this.raft.step(this.local('MsgHup'))
  }

  /**
   * Proposes data to be appended to the log. Throws ProposalDroppedError when the proposal
   * is certainly not appended (no leader, transfer under way, size limit...). Success means
   * only "forwarded or appended": the entry may still be lost with a leader change. Returns
   * the entry's index and term when this node appended it as leader, undefined when it
   * forwarded it to the leader.
   */
  propose(data: Uint8Array): AppendedAt | undefined {
    const m = this.local('MsgProp')
    m.entries = [{ term: 0, index: 0, type: 'normal', data }]
    // A proposal never changes the role: a leader appends it, anyone else forwards it.
    const leading = this.raft.state === 'leader'
    this.raft.step(m)
    return leading ? { index: this.raft.raftLog.lastIndex(), term: this.raft.term } : undefined
  }

  /**
   * Proposes a membership change. `changes: []` leaves a joint configuration. Throws
   * ProposalDroppedError if another change is still unapplied (one at a time) and
   * ConfChangeInvalidError if the leader finds it does not apply to the configuration.
   */
  proposeConfChange(cc: ConfChangeV2): void {
    const m = this.local('MsgProp')
    m.entries = [{ term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) }]
    this.raft.step(m)
  }

  /**
   * Applies a committed conf-change entry (decodeConfChange of its data) to the
   * configuration; call it in log order while applying committedEntries. Returns the new
   * ConfState, to be stored with the next snapshot. Throws ConfChangeInvalidError if cc
   * does not apply; every replica fails the same way, so the host may skip the entry.
   */
  applyConfChange(cc: ConfChangeV2): ConfState {
    return this.raft.applyConfChange(cc)
  }

  /**
   * Delivers a message received from a peer. Throws StepLocalMessageError for local-only
   * types, StepPeerNotFoundError for a response from a non-member, and ProposalDroppedError
   * for a forwarded proposal this node cannot accept.
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new StepLocalMessageError(m.type)
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) throw new StepPeerNotFoundError(m.from)
    this.raft.step(m)
  }

  /**
   * Requests a linearizable read point. The answer comes as a ReadState with the same
   * context in a later Ready: reads may be served once that index is applied. Requests are
   * dropped silently when there is no leader; the host retries after a timeout.
   */
  readIndex(context: Uint8Array): void {
    const m = newMessage('MsgReadIndex', NONE)
    m.context = context
    this.raft.step(m)
  }

  /**
   * Voids a lease-based leader's lease until the node has ticked a full election timeout
   * from now and heard from a quorum since: reads meanwhile take the safe ReadIndex path (a
   * heartbeat round). Call it when the node was not ticked for a while (a quiesced group
   * waking up): its lease is counted in ticks, so it looks fresh however long the pause was,
   * and another leader may have been elected meanwhile. No effect with readOnlyOption 'safe'.
   */
  suspendLease(): void {
    this.raft.suspendLease()
  }

  /**
   * A follower forgets its leader, for hosts that learned it is dead (its node's connection
   * broke): see Raft.forgetLeader. Returns whether it forgot; no-op on other roles and with
   * lease-based reads.
   */
  forgetLeader(): boolean {
    return this.raft.forgetLeader()
  }

  /**
   * Asks the leader to hand leadership to `to`: it catches `to` up, then tells it to
   * campaign (MsgTimeoutNow). Abandoned after an election timeout. Proposals are dropped
   * while a transfer is under way.
   */
  transferLeader(to: number): void {
    const m = this.local('MsgTransferLeader')
    m.from = to // by convention the transferee travels in `from`
    this.raft.step(m)
  }

  /** Tells the leader that messages to `id` may have been lost: it goes back to probing. */
  reportUnreachable(id: number): void {
    const m = this.local('MsgUnreachable')
    m.from = id
    this.raft.step(m)
  }

  /**
   * Reports the outcome of sending a snapshot to `id`. After 'failure' the leader probes
   * again from the follower's match; after 'finish' it waits for the follower's answer.
   */
  reportSnapshot(id: number, status: 'finish' | 'failure'): void {
    const m = this.local('MsgSnapStatus')
    m.from = id
    m.reject = status === 'failure'
    this.raft.step(m)
  }

  /** Whether ready() would return anything to do. */
  hasReady(): boolean {
    const r = this.raft
    const ss = r.softState()
    if (ss.lead !== this.prevSoftState.lead || ss.state !== this.prevSoftState.state) return true
    if (r.term !== this.prevHardState.term || r.vote !== this.prevHardState.vote) return true
    if (r.raftLog.committed !== this.prevHardState.commit) return true
    const u = r.raftLog.unstable
    return (
      r.msgs.length > 0 ||
      r.hasPendingAppends() ||
      u.hasNextEntries() ||
      u.nextSnapshot() !== undefined ||
      r.readStates.length > 0 ||
      r.raftLog.hasNextCommittedEnts()
    )
  }

  /**
   * The work to do now (see Ready for the order in which to do it). Everything is handed out
   * once: a later Ready holds only what is new since, even before this one is acknowledged.
   * So a host may take the next Ready while this one's write or apply is under way, as long
   * as it writes Readys in order, applies them in order, and sends each Ready's messages only
   * after that Ready's write (a leader may send its own before, see the Ready doc); committed
   * entries are handed out only once an earlier write made them durable here.
   */
  ready(): Ready {
    const r = this.raft
    r.flushPendingAppends()
    const log = r.raftLog
    const rd: Ready = {
      readStates: r.readStates,
      entries: log.nextUnstableEntries(),
      committedEntries: log.nextCommittedEnts(),
      messages: r.msgs,
      mustSync: false,
    }
    const ss = r.softState()
    if (ss.lead !== this.prevSoftState.lead || ss.state !== this.prevSoftState.state) {
      rd.softState = ss
      this.prevSoftState = ss
    }
    const hs = r.hardState()
    const prev = this.prevHardState
    if (hs.term !== prev.term || hs.vote !== prev.vote || hs.commit !== prev.commit) {
      rd.hardState = hs
      this.prevHardState = hs
    }
    const snap = log.unstable.nextSnapshot()
    if (snap !== undefined) rd.snapshot = snap
    rd.mustSync = rd.entries.length > 0 || snap !== undefined || hs.term !== prev.term || hs.vote !== prev.vote
    r.msgs = []
    r.readStates = []
    log.unstable.acceptInProgress()
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1]
    if (lastCommitted !== undefined) log.acceptApplying(lastCommitted.index)
    this.lastReady = rd
    return rd
  }

  /**
   * Acknowledges that rd (default: the last Ready) was processed: its entries and snapshot
   * are on stable storage and its committed entries are applied.
   */
  advance(rd: Ready | undefined = this.lastReady): void {
    if (rd === undefined) return
    if (rd === this.lastReady) this.lastReady = undefined
    const persisted = this.markStable(rd)
    this.markApplied(rd)
    if (persisted) this.raft.onPersisted()
  }

  /**
   * Acknowledges that rd's snapshot, entries and hard state are on stable storage. A leader
   * counts its own log toward commit from here on. Call it for Readys in the order they were
   * handed out.
   */
  advancePersisted(rd: Ready): void {
    if (this.markStable(rd)) this.raft.onPersisted()
  }

  /**
   * Acknowledges that rd's committed entries (or its snapshot) are applied. Call it for
   * Readys in the order they were handed out, after advancePersisted of the same Ready.
   */
  advanceApplied(rd: Ready): void {
    this.markApplied(rd)
  }

  /** Whether a snapshot received from the leader waits to be handed out in a Ready. */
  hasPendingSnapshot(): boolean {
    return this.raft.raftLog.unstable.nextSnapshot() !== undefined
  }

  /** Marks rd's snapshot and entries stable; returns whether it had any. */
  private markStable(rd: Ready): boolean {
    const log = this.raft.raftLog
    let persisted = false
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index)
      persisted = true
    }
    const last = rd.entries[rd.entries.length - 1]
    if (last !== undefined) {
      log.stableTo(last.index, last.term)
      persisted = true
    }
    return persisted
  }

  /** The host applied rd's committed entries, or else its snapshot (which it installed). */
  private markApplied(rd: Ready): void {
    const r = this.raft
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1]
    if (lastApplied !== undefined) r.appliedTo(lastApplied.index, payloadSize(rd.committedEntries))
    else if (rd.snapshot !== undefined) r.appliedTo(rd.snapshot.metadata.index, 0)
  }

  /** The node's current state; `progress` only on the leader. */
  /** The current term (what status() reports, without building the rest). */
  get term(): number {
    return this.raft.term
  }

  status(): Status {
    const r = this.raft
    const cfg = r.trk.config
    const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b)
    const st: Status = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      state: r.state,
      leadTransferee: r.leadTransferee,
      config: {
        voters: { incoming: cfg.voters.incoming.sorted(), outgoing: cfg.voters.outgoing.sorted() },
        learners: sorted(cfg.learners),
        learnersNext: sorted(cfg.learnersNext),
        autoLeave: cfg.autoLeave,
      },
    }
    if (r.state === 'leader') {
      const progress = new Map<number, ProgressStatus>()
      r.trk.visit((id, pr) => {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          paused: pr.isPaused(),
          pendingSnapshot: pr.pendingSnapshot,
          inflight: pr.inflights.count(),
        })
      })
      st.progress = progress
    }
    return st
  }

  /** The underlying state machine, for white-box tests and debugging tools only. */
  get internal(): Raft {
    return this.raft
  }

  private local(type: MessageType): Message {
    const m = newMessage(type, NONE)
    m.from = this.raft.id
    return m
  }
}

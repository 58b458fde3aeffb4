// The Raft algorithm as a deterministic state machine. It reads its log through Storage,
// is driven by tick() and step(), and leaves its output (messages, read states) in fields
// that RawNode turns into a Ready. No I/O, no clock, no randomness other than the Rng.
//
// A node's role decides how it reacts to ticks and messages. Roles change only in
// becomeFollower / becomePreCandidate / becomeCandidate / becomeLeader, which install the
// role's handlers (stepFn, tickFn and a few hooks); the rest of the code never asks
// which role it is in.

import { Changer, jointTransition, leavesJoint } from './confchange/confchange.js'
import type { ConfigAndProgress } from './confchange/confchange.js'
import { decodeConfChange } from './confchange/codec.js'
import { restoreConfig } from './confchange/restore.js'
import { resolveConfig } from './config.js'
import type { Config, RaftLogger, TestingKnobs } from './config.js'
import { payloadSize } from './entry-size.js'
import { ProposalDroppedError, RaftError, RaftErrorCode, RaftInvariantError } from './errors.js'
import { RaftLog } from './log.js'
import { ReadOnly } from './read-only.js'
import type { ReadOnlyOption } from './read-only.js'
import type { Rng } from './rng.js'
import { ProgressTracker } from './tracker/progress-tracker.js'
import type { Progress } from './tracker/progress.js'
import { NONE } from './types.js'
import type {
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  RaftStateType,
  ReadState,
  Snapshot,
  SoftState,
} from './types.js'

/** When maybeSendAppend sends a MsgApp without entries. */
export type EmptyAppendPolicy = 'never' | 'if-commit-news' | 'always'

/** Why a node campaigns: pre-vote round, real election, or forced by a leadership transfer. */
export type CampaignType = 'pre-election' | 'election' | 'transfer'

/** Context of vote requests sent because of a leadership transfer ("CampaignTransfer"). */
const CAMPAIGN_TRANSFER = new Uint8Array([
  0x43, 0x61, 0x6d, 0x70, 0x61, 0x69, 0x67, 0x6e, 0x54, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72,
])

const EMPTY_DATA = new Uint8Array(0)

function isCampaignTransfer(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== CAMPAIGN_TRANSFER.length) return false
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false
  return true
}

/** A message with every field present (a stable object shape) and zero values. */
export function newMessage(type: MessageType, to: number): Message {
  return {
    type,
    from: NONE,
    to,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: undefined,
    context: undefined,
  }
}

function voteRespType(t: MessageType): 'MsgVoteResp' | 'MsgPreVoteResp' {
  return t === 'MsgPreVote' ? 'MsgPreVoteResp' : 'MsgVoteResp'
}

function noop(): void {}

/**
 * One Raft node. Use it through RawNode; this class is exported for the core's own tests.
 * Invariant: term only grows; vote is NONE or the node voted for in term.
 */
export class Raft {
  readonly id: number
  /** Current term. Persisted (HardState). */
  term = 0
  /** Who this node voted for in `term`, or NONE. Persisted (HardState). */
  vote = NONE
  /** Answered ReadIndex requests not yet handed out in a Ready. */
  readStates: ReadState[] = []
  /** The term in which an entry of that term was seen committed (see committedEntryInCurrentTerm); -1: none yet. */
  private committedInTerm = -1
  readonly raftLog: RaftLog
  readonly trk: ProgressTracker
  /** The current role; changed only by the become* methods. */
  state: RaftStateType = 'follower'
  /** Whether this node is a learner in the current configuration. */
  isLearner = false
  /** Messages produced and not yet handed out in a Ready. */
  msgs: Message[] = []
  /** The leader of the current term, or NONE if unknown. */
  lead = NONE
  /** While a leadership transfer is under way: its target. Proposals are dropped meanwhile. */
  leadTransferee = NONE
  /**
   * Index of the last conf-change entry this leader may have appended. A new conf change is
   * refused until applied >= pendingConfIndex: one membership change in flight at a time.
   */
  pendingConfIndex = 0
  /** Payload bytes of uncommitted entries this leader appended (bounded by maxUncommittedSize). */
  uncommittedSize = 0
  readOnly: ReadOnly
  /**
   * Ticks since the last reset of the election timer. Followers and candidates: since the
   * last valid leader message or the start of the election. Leaders: since the last
   * check-quorum round.
   */
  electionElapsed = 0
  /** Ticks since the last heartbeat (leaders only). */
  heartbeatElapsed = 0
  /** Ticks since this node was created; lease reads are measured in it. */
  ticks = 0
  /** No lease before this tick (see suspendLease). */
  private leaseSuspendedUntil = 0
  /**
   * The election timeout for the current term, drawn from [electionTimeout, 2*electionTimeout).
   * Tests may overwrite it.
   */
  randomizedElectionTimeout = 0
  readonly checkQuorum: boolean
  readonly preVote: boolean
  readonly heartbeatTimeout: number
  readonly electionTimeout: number
  readonly leaseTicks: number
  readonly maxMsgSize: number
  readonly maxUncommittedSize: number
  readonly disableProposalForwarding: boolean
  /** ReadIndex requests received before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = []

  private readonly rng: Rng
  private readonly logger: RaftLogger
  private readonly knobs: TestingKnobs
  private readonly readOnlyOption: ReadOnlyOption
  /**
   * Set when proposals appended entries: one broadcast (at the next Ready) then carries all
   * of them, instead of one MsgApp per proposal per follower.
   */
  private appendsPending = false

  // Role handlers, installed by the become* methods.
  private stepFn: (this: Raft, m: Message) => void
  private tickFn: (this: Raft) => void
  private voteRespFor: 'MsgVoteResp' | 'MsgPreVoteResp' = 'MsgVoteResp'
  private onVoteWon: (this: Raft) => void = noop
  private afterApplied: (this: Raft, applied: number) => void = noop
  private afterConfigSwitch: (this: Raft) => void = noop

  constructor(config: Config) {
    const c = resolveConfig(config)
    this.id = c.id
    this.rng = c.rng
    this.logger = c.logger
    this.knobs = c.testingKnobs
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady)
    this.maxMsgSize = c.maxSizePerMsg
    this.maxUncommittedSize = c.maxUncommittedEntriesSize
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes)
    this.electionTimeout = c.electionTick
    this.heartbeatTimeout = c.heartbeatTick
    this.leaseTicks = c.electionTick - c.leaseDriftTicks
    this.checkQuorum = c.checkQuorum
    this.preVote = c.preVote
    this.readOnlyOption = c.readOnlyOption
    this.readOnly = new ReadOnly(c.readOnlyOption)
    this.disableProposalForwarding = c.disableProposalForwarding
    this.stepFn = this.stepFollower
    this.tickFn = this.tickElection

    const { hardState, confState } = c.storage.initialState()
    this.switchToConfig(
      restoreConfig(confState, this.raftLog.lastIndex(), this.trk.maxInflight, this.trk.maxInflightBytes),
    )
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState)
    if (c.applied > 0) this.raftLog.appliedTo(c.applied)
    this.becomeFollower(this.term, NONE)
    this.logger.info(
      `${this.id} newRaft [peers: ${this.trk.config}, term: ${this.term}, commit: ${this.raftLog.committed}, ` +
        `applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    )
  }

  // ---------------------------------------------------------------------------------------
  // State snapshots for RawNode

  /** The current HardState. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed }
  }

  /** The current SoftState. */
  softState(): SoftState {
    return { lead: this.lead, state: this.state }
  }

  // ---------------------------------------------------------------------------------------
  // Role changes: the only places that set `state` and install handlers.

  /** Follows `lead` (NONE if unknown) in `term`. */
  becomeFollower(term: number, lead: number): void {
    this.stepFn = this.stepFollower
    this.tickFn = this.tickElection
    this.onVoteWon = noop
    this.afterApplied = noop
    this.afterConfigSwitch = noop
    this.reset(term)
    this.lead = lead
    this.state = 'follower'
    this.logger.info(`${this.id} became follower at term ${this.term}`)
  }

  /**
   * Starts a pre-vote round (§9.6): asks for votes for term+1 without changing term or
   * vote, so a node that cannot win never disrupts the group by raising terms.
   */
  becomePreCandidate(): void {
    if (this.state === 'leader') throw new RaftInvariantError('invalid transition [leader -> pre-candidate]')
    this.stepFn = this.stepCandidate
    this.tickFn = this.tickElection
    this.voteRespFor = 'MsgPreVoteResp'
    this.onVoteWon = this.preVoteWon
    this.afterApplied = noop
    this.afterConfigSwitch = noop
    this.trk.resetVotes()
    this.lead = NONE
    this.state = 'pre-candidate'
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`)
  }

  /** Starts an election (§5.2): a new term, voting for itself. */
  becomeCandidate(): void {
    if (this.state === 'leader') throw new RaftInvariantError('invalid transition [leader -> candidate]')
    this.stepFn = this.stepCandidate
    this.tickFn = this.tickElection
    this.voteRespFor = 'MsgVoteResp'
    this.onVoteWon = this.electionWon
    this.afterApplied = noop
    this.afterConfigSwitch = noop
    this.reset(this.term + 1)
    this.vote = this.id
    this.state = 'candidate'
    this.logger.info(`${this.id} became candidate at term ${this.term}`)
  }

  /**
   * Takes over as leader of the current term and appends an empty entry: entries of
   * earlier terms are committed only once an entry of this term is (§5.4.2).
   */
  becomeLeader(): void {
    if (this.state === 'follower') throw new RaftInvariantError('invalid transition [follower -> leader]')
    this.stepFn = this.stepLeader
    this.tickFn = this.tickHeartbeat
    this.onVoteWon = noop
    this.afterApplied = this.leaderAfterApplied
    this.afterConfigSwitch = this.leaderAfterConfigSwitch
    this.reset(this.term)
    this.lead = this.id
    this.state = 'leader'
    const self = this.trk.progress.get(this.id)
    if (self !== undefined) {
      // The leader's own progress is always 'replicate' and always active.
      self.becomeReplicate()
      self.recentActive = true
    }
    // Conservatively assume the log's tail may hold an unapplied conf change.
    this.pendingConfIndex = this.raftLog.lastIndex()
    // An empty entry has no payload, so it cannot exceed the uncommitted-size limit.
    if (!this.appendEntry([{ term: 0, index: 0, type: 'normal', data: EMPTY_DATA }])) {
      throw new RaftInvariantError('empty entry was dropped')
    }
    this.logger.info(`${this.id} became leader at term ${this.term}`)
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term
      this.vote = NONE
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.resetRandomizedElectionTimeout()
    this.abortLeaderTransfer()
    this.trk.resetVotes()
    const next = this.raftLog.lastIndex() + 1
    const stable = this.raftLog.lastStableIndex()
    this.trk.visit((id, pr) => {
      pr.reset(next)
      // The node's own log is matched as far as it is persisted.
      if (id === this.id) pr.match = stable
    })
    this.pendingConfIndex = 0
    this.uncommittedSize = 0
    this.readOnly = new ReadOnly(this.readOnlyOption)
    this.pendingReadIndexMessages = []
    this.appendsPending = false
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rng.nextInt(this.electionTimeout)
  }

  // ---------------------------------------------------------------------------------------
  // Time

  /** Advances time by one tick. */
  tick(): void {
    this.ticks++
    this.tickFn()
  }

  /** Followers and candidates: campaign once the randomized election timeout passes. */
  private tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.step(this.localMessage('MsgHup'))
    }
  }

  /**
   * Leaders: heartbeat every heartbeatTimeout; every electionTimeout, give up a leadership
   * transfer that did not finish and (check-quorum) step down without a live quorum.
   */
  private tickHeartbeat(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0
      if (this.leadTransferee !== NONE) {
        this.logger.info(`${this.id} [term ${this.term}] abort leadership transfer to ${this.leadTransferee}: timed out`)
        this.abortLeaderTransfer()
      }
      if (this.checkQuorum && !this.checkQuorumActive()) return
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0
      this.bcastHeartbeat()
    }
  }

  /**
   * Leaders: steps down unless a quorum was active since the last round, then starts a new
   * round. Returns whether the node is still leader.
   */
  private checkQuorumActive(): boolean {
    if (!this.trk.quorumActive(this.id)) {
      this.logger.warn(`${this.id} stepped down to follower since quorum is not active`)
      this.becomeFollower(this.term, NONE)
      return false
    }
    this.trk.visit((id, pr) => {
      if (id !== this.id) pr.recentActive = false
    })
    return true
  }

  // ---------------------------------------------------------------------------------------
  // Messages in

  /**
   * Processes one message: term checks common to every role (§5.1), vote requests, then the
   * role's handler. Throws ProposalDroppedError for a MsgProp that cannot be accepted.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // A local message (or a forwarded proposal / read request).
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = isCampaignTransfer(m.context)
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: ignore the request
          // (the leader lease of §6.2 / §9.6) rather than let it depose a live leader.
          this.logger.info(
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] ` +
              `ignored ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: ` +
              `lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          )
          return
        }
      }
      if (m.type === 'MsgPreVote') {
        // Never change term in response to a pre-vote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted pre-vote carries the term we would campaign in; the term moves only if
        // the pre-vote is won.
      } else {
        this.logger.info(
          `${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`,
        )
        const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap'
        this.becomeFollower(m.term, fromLeader ? m.from : NONE)
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader (e.g. back from a partition). With check-quorum or pre-vote this
        // node may never raise its term to reach it, so tell it the current term.
        this.send(newMessage('MsgAppResp', m.from))
      } else if (m.type === 'MsgPreVote') {
        // Answer so that a pre-candidate of an older term learns the current one.
        const resp = newMessage('MsgPreVoteResp', m.from)
        resp.term = this.term
        resp.reject = true
        this.send(resp)
      }
      // Otherwise: a stale message; ignore it.
      return
    }

    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      this.handleVoteRequest(m)
      return
    }
    this.stepFn(m)
  }

  /** Grants or rejects a (pre-)vote (§5.2, §5.4.1). A granted MsgVote is recorded in `vote`. */
  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'MsgPreVote' && m.term > this.term)
    const upToDate = this.knobs.skipElectionRestriction === true || this.raftLog.isUpToDate(m.index, m.logTerm)
    const resp = newMessage(voteRespType(m.type), m.from)
    const desc =
      `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}]`
    if (canVote && upToDate) {
      this.logger.info(`${desc} cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`)
      // The response carries the request's term (for a pre-vote, the future term).
      resp.term = m.term
      this.send(resp)
      if (m.type === 'MsgVote') {
        // Persisted in the HardState of the same Ready, before the response is sent.
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.logger.info(`${desc} rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`)
      resp.term = this.term
      resp.reject = true
      this.send(resp)
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'MsgHup':
        this.hup(this.preVote ? 'pre-election' : 'election')
        return
      case 'MsgProp':
        if (this.lead === NONE) throw new ProposalDroppedError(`${this.id} has no leader at term ${this.term}`)
        if (this.disableProposalForwarding) {
          throw new ProposalDroppedError(`${this.id} is not leader and proposal forwarding is disabled`)
        }
        this.forwardToLeader(m)
        return
      case 'MsgApp':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleAppendEntries(m)
        return
      case 'MsgHeartbeat':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleHeartbeat(m)
        return
      case 'MsgSnap':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleSnapshot(m)
        return
      case 'MsgTransferLeader':
        if (this.lead === NONE) {
          this.logger.info(`${this.id} no leader at term ${this.term}; dropping leader transfer msg`)
          return
        }
        this.forwardToLeader(m)
        return
      case 'MsgTimeoutNow':
        this.logger.info(`${this.id} [term ${this.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership`)
        // Leadership transfers never use pre-vote: the leader asked for this election.
        this.hup('transfer')
        return
      case 'MsgReadIndex':
        if (this.lead === NONE) {
          this.logger.info(`${this.id} no leader at term ${this.term}; dropping index reading msg`)
          return
        }
        this.forwardToLeader(m)
        return
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, context: m.context ?? EMPTY_DATA })
        return
      default:
        return
    }
  }

  /** Shared by pre-candidates and candidates; voteRespFor tells which responses count. */
  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'MsgHup':
        this.hup(this.preVote ? 'pre-election' : 'election')
        return
      case 'MsgProp':
        throw new ProposalDroppedError(`${this.id} is campaigning at term ${this.term}`)
      case 'MsgApp':
        this.becomeFollower(m.term, m.from) // always m.term === this.term here
        this.handleAppendEntries(m)
        return
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from)
        this.handleHeartbeat(m)
        return
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from)
        this.handleSnapshot(m)
        return
      case 'MsgPreVoteResp':
      case 'MsgVoteResp': {
        if (m.type !== this.voteRespFor) return
        const { granted, rejected, result } = this.poll(m.from, m.type, !m.reject)
        this.logger.info(`${this.id} has received ${granted} ${m.type} votes and ${rejected} vote rejections`)
        if (result === 'won') this.onVoteWon()
        else if (result === 'lost') this.becomeFollower(this.term, NONE)
        return
      }
      default:
        return
    }
  }

  private stepLeader(m: Message): void {
    // Messages that need no progress of the sender.
    switch (m.type) {
      case 'MsgBeat':
        this.bcastHeartbeat()
        return
      case 'MsgCheckQuorum':
        this.checkQuorumActive()
        return
      case 'MsgHup':
        this.logger.debug?.(`${this.id} ignoring MsgHup because already leader`)
        return
      case 'MsgProp':
        this.handlePropose(m)
        return
      case 'MsgReadIndex':
        this.handleReadIndex(m)
        return
      default:
        break
    }

    const pr = this.trk.progress.get(m.from)
    if (pr === undefined) return
    switch (m.type) {
      case 'MsgAppResp':
        this.handleAppendResponse(m, pr)
        return
      case 'MsgHeartbeatResp':
        this.handleHeartbeatResponse(m, pr)
        return
      case 'MsgSnapStatus':
        if (pr.state !== 'snapshot') return
        if (m.reject) pr.pendingSnapshot = 0 // the follower did not get it: probe from match
        pr.becomeProbe()
        // Wait for a heartbeat response before probing, rather than flood a struggling peer.
        pr.msgAppFlowPaused = true
        return
      case 'MsgUnreachable':
        // Optimistic streaming probably lost messages: fall back to probing.
        if (pr.state === 'replicate') pr.becomeProbe()
        return
      case 'MsgTransferLeader':
        this.handleTransferLeader(m, pr)
        return
      default:
        return
    }
  }

  // ---------------------------------------------------------------------------------------
  // Elections

  /** Starts a campaign if this node may (a voter without unapplied conf changes). */
  private hup(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and can not campaign`)
      return
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`)
      return
    }
    this.logger.info(`${this.id} is starting a new election at term ${this.term}`)
    this.campaign(t)
  }

  /** Whether this node may become leader: a voter, and not installing a snapshot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id)
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot()
  }

  private hasUnappliedConfChanges(): boolean {
    const log = this.raftLog
    if (log.applied >= log.committed) return false
    const lo = Math.max(log.applied + 1, log.firstIndex())
    const ents = log.slice(lo, log.committed + 1, Number.POSITIVE_INFINITY)
    for (const e of ents) if (e.type === 'confChange') return true
    return false
  }

  /** Sends (pre-)vote requests to every voter; a single voter wins at once. */
  campaign(t: CampaignType): void {
    let term: number
    let voteMsg: 'MsgVote' | 'MsgPreVote'
    if (t === 'pre-election') {
      this.becomePreCandidate()
      voteMsg = 'MsgPreVote'
      term = this.term + 1 // the term we would campaign in; not adopted yet
    } else {
      this.becomeCandidate()
      voteMsg = 'MsgVote'
      term = this.term
    }
    // Our own vote: for MsgVote it is `vote`, persisted in the HardState of this Ready.
    if (this.poll(this.id, voteRespType(voteMsg), true).result === 'won') {
      this.onVoteWon()
      return
    }
    const lastIndex = this.raftLog.lastIndex()
    const lastTerm = this.raftLog.lastTerm()
    for (const id of this.trk.voterNodes()) {
      if (id === this.id) continue
      this.logger.info(
        `${this.id} [logterm: ${lastTerm}, index: ${lastIndex}] sent ${voteMsg} request to ${id} at term ${this.term}`,
      )
      const m = newMessage(voteMsg, id)
      m.term = term
      m.index = lastIndex
      m.logTerm = lastTerm
      if (t === 'transfer') m.context = CAMPAIGN_TRANSFER
      this.send(m)
    }
  }

  private poll(id: number, t: MessageType, granted: boolean): ReturnType<ProgressTracker['tallyVotes']> {
    if (granted) this.logger.info(`${this.id} received ${t} from ${id} at term ${this.term}`)
    else this.logger.info(`${this.id} received ${t} rejection from ${id} at term ${this.term}`)
    this.trk.recordVote(id, granted)
    return this.trk.tallyVotes()
  }

  private preVoteWon(): void {
    this.campaign('election')
  }

  private electionWon(): void {
    this.becomeLeader()
    this.bcastAppend()
  }

  // ---------------------------------------------------------------------------------------
  // Replication: leader side

  private handlePropose(m: Message): void {
    if (m.entries.length === 0) throw new RaftInvariantError(`${this.id} stepped empty MsgProp`)
    if (!this.trk.progress.has(this.id)) {
      // Removed from the configuration (or demoted): no longer allowed to propose.
      throw new ProposalDroppedError(`${this.id} is not a member of the configuration`)
    }
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(`${this.id} is transferring leadership to ${this.leadTransferee}`)
    }
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i] as Entry
      if (e.type === 'confChange') this.admitConfChange(e, this.raftLog.lastIndex() + i + 1)
    }
    if (!this.appendEntry(m.entries)) {
      throw new ProposalDroppedError(`${this.id} has too many uncommitted bytes (limit ${this.maxUncommittedSize})`)
    }
    this.appendsPending = true
  }

  /**
   * Checks a proposed conf change at `index`: only one may be in flight, a joint config must
   * be left before anything else, and the change must apply to the current configuration
   * (exact, since every earlier change is applied). Throws; else records pendingConfIndex.
   */
  private admitConfChange(e: Entry, index: number): void {
    const cc = decodeConfChange(e.data)
    const applied = this.raftLog.applied
    const joint = this.trk.config.voters.isJoint()
    const leave = leavesJoint(cc)
    let refused = ''
    if (this.pendingConfIndex > applied) {
      refused = `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${applied})`
    } else if (joint && !leave) {
      refused = 'must transition out of joint config first'
    } else if (!joint && leave) {
      refused = 'not in joint state; refusing empty conf change'
    }
    if (refused !== '') {
      this.logger.info(`${this.id} ignoring conf change at config ${this.trk.config}: ${refused}`)
      throw new ProposalDroppedError(refused)
    }
    this.computeConfChange(cc) // throws ConfChangeInvalidError if it cannot apply
    this.pendingConfIndex = index
  }

  /** Appends entries of the current term; false if the uncommitted-size limit refuses them. */
  private appendEntry(es: readonly Entry[]): boolean {
    const li = this.raftLog.lastIndex()
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warn(`${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`)
      return false
    }
    // Fresh entry objects: a proposal message may be delivered (or duplicated) elsewhere.
    const ents = new Array<Entry>(es.length)
    for (let i = 0; i < es.length; i++) {
      const e = es[i] as Entry
      ents[i] = { term: this.term, index: li + 1 + i, type: e.type, data: e.data }
    }
    this.raftLog.append(ents)
    // The leader's own acknowledgement arrives when the entries are persisted (onPersisted).
    return true
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    const s = payloadSize(ents)
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false
    this.uncommittedSize += s
    return true
  }

  private reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s
  }

  /** Sends what proposals appended since the last call (RawNode calls it before each Ready). */
  flushPendingAppends(): void {
    if (!this.appendsPending) return
    this.appendsPending = false
    this.bcastAppend()
  }

  /** Whether flushPendingAppends() has something to send. */
  hasPendingAppends(): boolean {
    return this.appendsPending
  }

  /** Sends every follower what it lacks (as far as its flow control allows), or the commit index. */
  bcastAppend(): void {
    const ids = this.trk.memberIds()
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k] as number
      if (id === this.id) continue
      if (this.maybeSendAppend(id, 'if-commit-news')) while (this.maybeSendAppend(id, 'never'));
    }
  }

  /**
   * Sends one MsgApp (or MsgSnap if the needed entries are compacted) to `to`, unless its
   * progress is paused. With no entries to send, `empty` decides: 'never'; 'if-commit-news'
   * only if the follower may not know the commit index yet; 'always' (a probe whose answer
   * reveals where the logs match). Returns whether a message was sent.
   */
  maybeSendAppend(to: number, empty: EmptyAppendPolicy): boolean {
    const pr = this.trk.progress.get(to)
    if (pr === undefined || pr.isPaused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = this.raftLog.termOrUndefined(prevIndex)
    if (prevTerm === undefined || pr.next < this.raftLog.firstIndex()) return this.maybeSendSnapshot(to, pr)
    // A replicating follower with a full inflight window gets only an empty MsgApp: if every
    // message that filled the window was lost, its answer is what clears the window.
    const throttled = pr.state === 'replicate' && pr.inflights.full()
    const ents = throttled ? [] : this.raftLog.entries(pr.next, this.maxMsgSize)
    const committed = this.raftLog.committed
    if (ents.length === 0) {
      if (empty === 'never') return false
      // Skip an empty MsgApp that would tell a streaming follower nothing new.
      if (empty === 'if-commit-news' && pr.state === 'replicate' && pr.sentCommit >= Math.min(committed, prevIndex)) {
        return false
      }
    }
    const m = newMessage('MsgApp', to)
    m.index = prevIndex
    m.logTerm = prevTerm
    m.entries = ents
    m.commit = committed
    this.send(m)
    pr.sentCommitIndex(Math.min(committed, prevIndex + ents.length))
    pr.sentEntries(ents.length, ents.length === 0 ? 0 : payloadSize(ents))
    return true
  }

  private maybeSendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug?.(`${this.id} ignore sending snapshot to ${to} since it is not recently active`)
      return false
    }
    let snap
    try {
      snap = this.raftLog.snapshot()
    } catch (err) {
      if (err instanceof RaftError && err.code === RaftErrorCode.SNAPSHOT_TEMPORARILY_UNAVAILABLE) {
        this.logger.debug?.(`${this.id} failed to send snapshot to ${to} because snapshot is temporarily unavailable`)
        return false
      }
      throw err
    }
    const { index, term } = snap.metadata
    if (index === 0) throw new RaftInvariantError('need non-empty snapshot')
    this.logger.info(
      `${this.id} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${index}, term: ${term}] to ${to} [${pr}]`,
    )
    pr.becomeSnapshot(index)
    const m = newMessage('MsgSnap', to)
    m.snapshot = snap
    this.send(m)
    return true
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true
    pr.lastHeardTick = this.ticks
    if (m.reject) {
      // The follower's log does not match at m.index. Use its hint (and, with a hint term,
      // our own log) to skip every entry that cannot match in one step.
      let nextProbeIdx = m.rejectHint
      if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0]
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.maybeSendAppend(m.from, 'always')
      }
      return
    }
    // A probe acknowledged at the known match point also ends probing.
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return
    if (pr.state === 'probe') {
      pr.becomeReplicate()
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The snapshot (or a later append) brought the follower within reach of the log.
      pr.becomeProbe()
      pr.becomeReplicate()
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index)
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages()
      this.bcastAppend()
    } else if (m.from !== this.id) {
      // The follower may not know the commit index: it was paused, or the message that told
      // it was lost (becomeProbe forgot it, and this acknowledgement, sent before the loss,
      // ended the probing). Tell it, unless it was told already (sentCommit).
      this.maybeSendAppend(m.from, 'if-commit-news')
    }
    if (m.from !== this.id) while (this.maybeSendAppend(m.from, 'never'));
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.logger.info(`${this.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`)
      this.sendTimeoutNow(m.from)
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true
    pr.lastHeardTick = this.ticks
    pr.msgAppFlowPaused = false
    if (pr.match < this.raftLog.lastIndex() || pr.state === 'probe') {
      // Once per heartbeat interval: an (empty if need be) MsgApp whose answer reveals a gap
      // left by lost messages, even when the inflight window is full.
      this.maybeSendAppend(m.from, 'always')
    }
    if (m.context === undefined || m.context.length === 0) return
    const acks = this.readOnly.recvAck(m.from, m.context)
    if (acks === undefined || this.trk.config.voters.voteResult(acks) !== 'won') return
    for (const rs of this.readOnly.advance(m.context)) this.answerReadIndex(rs.req, rs.index)
  }

  /**
   * Commits the highest index stored on a quorum if it is of the current term (§5.4.2).
   * Returns whether the commit index moved.
   */
  private maybeCommit(): boolean {
    const mci = this.trk.committed()
    if (!Number.isFinite(mci)) return false
    if (this.knobs.commitOldTermByCount === true) {
      if (mci <= this.raftLog.committed) return false
      this.raftLog.commitTo(mci)
      return true
    }
    return this.raftLog.maybeCommit(mci, this.term)
  }

  private bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingRequestCtx()
    this.bcastHeartbeatWithCtx(ctx)
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    const ids = this.trk.memberIds()
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k] as number
      if (id !== this.id) this.sendHeartbeat(id, ctx)
    }
  }

  /** A heartbeat carries only term, commit and context, so hosts can coalesce them. */
  private sendHeartbeat(to: number, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to) as Progress
    const m = newMessage('MsgHeartbeat', to)
    // Never tell a follower to commit past what it is known to hold.
    m.commit = Math.min(pr.match, this.raftLog.committed)
    pr.sentCommitIndex(m.commit)
    m.context = ctx
    this.send(m)
  }

  private sendTimeoutNow(to: number): void {
    this.send(newMessage('MsgTimeoutNow', to))
  }

  // ---------------------------------------------------------------------------------------
  // Replication: follower side

  private handleAppendEntries(m: Message): void {
    const resp = newMessage('MsgAppResp', m.from)
    if (m.index < this.raftLog.committed) {
      resp.index = this.raftLog.committed
      this.send(resp)
      return
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries)
    if (lastNew >= 0) {
      resp.index = lastNew
      this.send(resp)
      return
    }
    // The log does not hold (m.index, m.logTerm). Hint at the last index that could match:
    // the latest entry at or before m.index whose term is <= m.logTerm (§5.3, "fast backup").
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex())
    const [idx, term] = this.raftLog.findConflictByTerm(hintIndex, m.logTerm)
    this.logger.debug?.(
      `${this.id} [logterm: ${this.raftLog.termOrUndefined(m.index) ?? 0}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
    )
    resp.index = m.index
    resp.reject = true
    resp.rejectHint = idx
    resp.logTerm = term
    this.send(resp)
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit)
    const resp = newMessage('MsgHeartbeatResp', m.from)
    resp.context = m.context
    this.send(resp)
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot
    if (s === undefined) throw new RaftInvariantError('MsgSnap without snapshot')
    const { index, term } = s.metadata
    const resp = newMessage('MsgAppResp', m.from)
    if (this.restore(s)) {
      this.logger.info(`${this.id} [commit: ${this.raftLog.committed}] restored snapshot [index: ${index}, term: ${term}]`)
      resp.index = this.raftLog.lastIndex()
    } else {
      this.logger.info(`${this.id} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${index}, term: ${term}]`)
      resp.index = this.raftLog.committed
    }
    this.send(resp)
  }

  /**
   * Installs snapshot s unless it is not newer than the commit index, does not include this
   * node, or matches the log (then only the commit index moves). Returns whether installed.
   */
  private restore(s: Snapshot): boolean {
    const { index, term, confState: cs } = s.metadata
    if (index <= this.raftLog.committed) return false
    const member = cs.voters.includes(this.id) || cs.learners.includes(this.id) || cs.votersOutgoing.includes(this.id)
    if (!member) {
      this.logger.warn(`${this.id} attempted to restore snapshot but it is not in the snapshot's configuration`)
      return false
    }
    if (this.raftLog.matchTerm(index, term)) {
      // The log already has the snapshot's last entry: just fast-forward the commit index.
      this.logger.info(`${this.id} [commit: ${this.raftLog.committed}] fast-forwarded commit to snapshot [index: ${index}, term: ${term}]`)
      this.raftLog.commitTo(index)
      return false
    }
    this.raftLog.restore(s)
    this.switchToConfig(restoreConfig(cs, this.raftLog.lastIndex(), this.trk.maxInflight, this.trk.maxInflightBytes))
    return true
  }

  // ---------------------------------------------------------------------------------------
  // Membership

  /** Computes the configuration cc leads to from the current one; throws ConfChangeInvalidError. */
  private computeConfChange(cc: ConfChangeV2): ConfigAndProgress {
    const changer = new Changer(this.trk, this.raftLog.lastIndex())
    if (leavesJoint(cc)) return changer.leaveJoint()
    const joint = jointTransition(cc)
    if (joint !== undefined) return changer.enterJoint(joint.autoLeave, cc.changes)
    return changer.simple(cc.changes)
  }

  /** Applies a committed conf change to the configuration and returns the new ConfState. */
  applyConfChange(cc: ConfChangeV2): ConfState {
    return this.switchToConfig(this.computeConfChange(cc))
  }

  private switchToConfig(cp: ConfigAndProgress): ConfState {
    this.trk.setConfig(cp.config, cp.progress)
    this.logger.info(`${this.id} switched to configuration ${this.trk.config}`)
    const pr = this.trk.progress.get(this.id)
    this.isLearner = pr !== undefined && pr.isLearner
    this.afterConfigSwitch()
    return this.trk.confState()
  }

  /**
   * Leaders, after a config change: step down if removed (or demoted), else commit what the
   * new quorum allows and start probing new members.
   */
  private leaderAfterConfigSwitch(): void {
    const self = this.trk.progress.get(this.id)
    if (self === undefined || self.isLearner) {
      this.stepDownAfterRemoval()
      return
    }
    if (this.maybeCommit()) {
      this.bcastAppend()
    } else {
      const ids = this.trk.memberIds()
      for (const id of ids) if (id !== this.id) this.maybeSendAppend(id, 'never')
    }
    if (this.leadTransferee !== NONE && !this.trk.config.voters.has(this.leadTransferee)) {
      this.abortLeaderTransfer()
    }
  }

  /**
   * The configuration without this leader is applied: tell the followers the commit index,
   * ask the most caught-up voter to campaign at once (so the group does not wait an
   * election timeout), and step down.
   */
  private stepDownAfterRemoval(): void {
    this.bcastAppend()
    let best = NONE
    let bestMatch = -1
    for (const id of this.trk.voterNodes()) {
      const pr = this.trk.progress.get(id) as Progress
      if (id !== this.id && pr.match > bestMatch) {
        best = id
        bestMatch = pr.match
      }
    }
    if (best !== NONE && bestMatch === this.raftLog.lastIndex()) this.sendTimeoutNow(best)
    this.logger.info(`${this.id} stepping down: removed from configuration ${this.trk.config}`)
    this.becomeFollower(this.term, NONE)
  }

  /**
   * Records that the application applied up to `index`, releasing `size` payload bytes of
   * the uncommitted budget.
   */
  appliedTo(index: number, size: number): void {
    const applied = Math.max(index, this.raftLog.applied)
    this.raftLog.appliedTo(applied)
    this.reduceUncommittedSize(size)
    this.afterApplied(applied)
  }

  /** Leaders: once a joint config marked autoLeave is applied, propose leaving it. */
  private leaderAfterApplied(applied: number): void {
    if (!this.trk.config.autoLeave || applied < this.pendingConfIndex) return
    const m = this.localMessage('MsgProp')
    // Empty data decodes to the empty ConfChangeV2 and has no payload to count.
    m.entries = [{ term: 0, index: 0, type: 'confChange', data: EMPTY_DATA }]
    try {
      this.step(m)
      this.logger.info(`${this.id} initiating automatic transition out of joint configuration ${this.trk.config}`)
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err
      this.logger.info(`${this.id} not initiating automatic transition out of joint configuration ${this.trk.config}: ${err.message}`)
    }
  }

  /**
   * Called by RawNode after the host persisted a Ready: the leader counts its own log as
   * stored up to the last persisted index.
   */
  onPersisted(): void {
    const index = this.raftLog.lastStableIndex()
    if (index === 0) return
    const m = this.localMessage('MsgAppResp')
    m.term = this.term
    m.index = index
    this.stepFn(m)
  }

  // ---------------------------------------------------------------------------------------
  // Leadership transfer (thesis §3.10)

  private handleTransferLeader(m: Message, pr: Progress): void {
    const transferee = m.from
    if (pr.isLearner) {
      this.logger.info(`${this.id} [term ${this.term}] ignored transferring leadership to learner ${transferee}`)
      return
    }
    const last = this.leadTransferee
    if (last !== NONE) {
      if (last === transferee) return // already under way
      this.abortLeaderTransfer()
    }
    if (transferee === this.id) return // already leader
    this.logger.info(`${this.id} [term ${this.term}] starts to transfer leadership to ${transferee}`)
    // The transfer must finish within an election timeout or it is abandoned.
    this.electionElapsed = 0
    this.leadTransferee = transferee
    if (pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(transferee)
    } else {
      this.maybeSendAppend(transferee, 'always')
    }
  }

  /** Forgets any leadership transfer under way (proposals are accepted again). */
  abortLeaderTransfer(): void {
    this.leadTransferee = NONE
  }

  // ---------------------------------------------------------------------------------------
  // ReadIndex (thesis §6.4)

  private handleReadIndex(m: Message): void {
    if (this.trk.isSingleton()) {
      // Nobody else can have committed anything: the commit index is safe to read at.
      this.answerReadIndex(m, this.raftLog.committed)
      return
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Until an entry of this term commits, this leader may not know the latest commit index.
      this.pendingReadIndexMessages.push(m)
      return
    }
    this.confirmAndAnswerReadIndex(m)
  }

  /**
   * Whether the entry at the commit index is of this term. Once it is, it stays so for the
   * rest of the term (the commit index only grows, and a log's terms never decrease along it
   * nor pass the node's term), so the answer is kept per term: asked on every ReadIndex, it
   * would otherwise read (and checksum) the committed entry from the log storage each time.
   */
  private committedEntryInCurrentTerm(): boolean {
    if (this.committedInTerm === this.term) return true
    if (this.raftLog.termOrUndefined(this.raftLog.committed) !== this.term) return false
    this.committedInTerm = this.term
    return true
  }

  private confirmAndAnswerReadIndex(m: Message): void {
    if (this.readOnlyOption === 'lease-based' && this.leaseValid()) {
      this.answerReadIndex(m, this.raftLog.committed)
      return
    }
    // Safe: answer once a quorum acknowledges a heartbeat sent after the request arrived.
    this.readOnly.addRequest(this.raftLog.committed, m)
    this.readOnly.recvAck(this.id, m.context)
    this.bcastHeartbeatWithCtx(m.context)
  }

  /**
   * Whether this leader holds a lease: a quorum was heard from within the last leaseTicks
   * ticks (electionTick - leaseDriftTicks), so no other leader can have been elected, and
   * no leadership transfer (which bypasses leases) is under way.
   */
  leaseValid(): boolean {
    if (this.leadTransferee !== NONE || this.ticks < this.leaseSuspendedUntil) return false
    return this.trk.quorumHeardSince(this.id, this.ticks - this.leaseTicks + 1)
  }

  /**
   * Voids the lease until this node has ticked electionTimeout more times. By then the
   * lease window (leaseTicks <= electionTimeout) holds only ticks after this call, so only
   * followers heard from since count. For hosts that stopped ticking the node while real
   * time went on: contacts recorded before the pause prove nothing about the present.
   */
  suspendLease(): void {
    this.leaseSuspendedUntil = this.ticks + this.electionTimeout
  }

  /**
   * A follower forgets its leader (etcd's MsgForgetLeader): it stays a follower in its term,
   * but no longer ignores (pre-)votes for being in the leader's lease, so when a quorum of
   * followers forget a dead leader, one of them is elected at once instead of after the
   * election timeout. Hearing from the leader again restores it. Returns whether it forgot.
   * Refused with lease-based reads: a leader that is in fact alive keeps serving reads from
   * its lease, which counts on no other leader being elected before it runs out.
   */
  forgetLeader(): boolean {
    if (this.state !== 'follower' || this.lead === NONE || this.readOnlyOption === 'lease-based') return false
    this.logger.info(`${this.id} [term ${this.term}] forgot leader ${this.lead}`)
    this.lead = NONE
    return true
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return
    const msgs = this.pendingReadIndexMessages
    this.pendingReadIndexMessages = []
    for (const m of msgs) this.confirmAndAnswerReadIndex(m)
  }

  private answerReadIndex(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, context: req.context ?? EMPTY_DATA })
      return
    }
    const resp = newMessage('MsgReadIndexResp', req.from)
    resp.index = index
    resp.context = req.context
    this.send(resp)
  }

  // ---------------------------------------------------------------------------------------
  // Messages out

  /** Passes a proposal, read or transfer request on to the leader, term-less like a local message. */
  private forwardToLeader(m: Message): void {
    m.to = this.lead
    m.term = 0
    this.send(m)
  }

  private localMessage(type: MessageType): Message {
    const m = newMessage(type, this.id)
    m.from = this.id
    return m
  }

  /**
   * Queues m for the next Ready. Vote messages carry their own term; proposals and read
   * requests forwarded to the leader stay term-less (like local messages); every other
   * message gets the current term.
   */
  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id
    if (m.type === 'MsgVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp') {
      if (m.term === 0) throw new RaftInvariantError(`term should be set when sending ${m.type}`)
    } else {
      if (m.term !== 0) throw new RaftInvariantError(`term should not be set when sending ${m.type} (was ${m.term})`)
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') m.term = this.term
    }
    this.msgs.push(m)
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new RaftInvariantError(
        `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      )
    }
    this.raftLog.committed = hs.commit
    this.term = hs.term
    this.vote = hs.vote
  }
}

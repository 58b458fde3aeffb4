// The leader's (and candidate's) bookkeeping for the whole group: the configuration, the
// progress of every member, and the votes of the current election.

import { JointConfig } from '../quorum/joint.js'
import { MajorityConfig } from '../quorum/majority.js'
import type { AckedIndexer, VoteResult } from '../quorum/majority.js'
import type { ConfState } from '../types.js'
import { Progress } from './progress.js'

/**
 * A group configuration.
 * Invariant: learners ∩ voters = ∅; learnersNext ⊆ voters.outgoing and is disjoint from
 * voters.incoming; outside a joint config learnersNext is empty and autoLeave is false.
 */
export class TrackerConfig {
  voters: JointConfig
  /** Whether the joint config is left automatically once applied (thesis §4.3). */
  autoLeave: boolean
  /** Non-voting members that receive the log. */
  learners: Set<number>
  /**
   * Outgoing voters that become learners when the joint config is left. A node cannot be a
   * learner and a voter at once, so demotions wait here until then.
   */
  learnersNext: Set<number>

  constructor(
    voters: JointConfig = new JointConfig(),
    learners: Iterable<number> = [],
    learnersNext: Iterable<number> = [],
    autoLeave = false,
  ) {
    this.voters = voters
    this.learners = new Set(learners)
    this.learnersNext = new Set(learnersNext)
    this.autoLeave = autoLeave
  }

  /** A deep copy. */
  clone(): TrackerConfig {
    return new TrackerConfig(
      new JointConfig(new MajorityConfig(this.voters.incoming.ids), new MajorityConfig(this.voters.outgoing.ids)),
      this.learners,
      this.learnersNext,
      this.autoLeave,
    )
  }

  /** e.g. "voters=(1 2 3)&&(1 2) learners=(4) learners_next=(3) autoleave". */
  toString(): string {
    let s = `voters=${this.voters}`
    const sorted = (xs: Set<number>): string => `(${[...xs].sort((a, b) => a - b).join(' ')})`
    if (this.learners.size > 0) s += ` learners=${sorted(this.learners)}`
    if (this.learnersNext.size > 0) s += ` learners_next=${sorted(this.learnersNext)}`
    if (this.autoLeave) s += ' autoleave'
    return s
  }
}

/** Progress of every member (voters and learners), by node id. */
export type ProgressMap = Map<number, Progress>

/**
 * The configuration, per-member progress and election votes.
 * Invariant: progress has exactly one entry per voter (either half) and learner.
 */
export class ProgressTracker implements AckedIndexer {
  config: TrackerConfig
  progress: ProgressMap
  /** Votes received in the current election: true granted, false rejected. */
  votes: Map<number, boolean> = new Map()
  readonly maxInflight: number
  readonly maxInflightBytes: number
  /** Member ids ascending, cached: visiting in id order keeps output deterministic. */
  private ids: number[] = []

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight
    this.maxInflightBytes = maxInflightBytes
    this.config = new TrackerConfig()
    this.progress = new Map()
  }

  /** Installs a configuration and its progress map (built by confchange). */
  setConfig(config: TrackerConfig, progress: ProgressMap): void {
    this.config = config
    this.progress = progress
    this.ids = [...progress.keys()].sort((a, b) => a - b)
  }

  /** The configuration as a ConfState (ids ascending). */
  confState(): ConfState {
    const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b)
    return {
      voters: this.config.voters.incoming.sorted(),
      votersOutgoing: this.config.voters.outgoing.sorted(),
      learners: sorted(this.config.learners),
      learnersNext: sorted(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    }
  }

  /** Whether the group is a single voter outside a joint config (decisions need nobody else). */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0
  }

  /** The match index of member id (what the quorum functions count). */
  ackedIndex(id: number): number | undefined {
    const pr = this.progress.get(id)
    return pr === undefined ? undefined : pr.match
  }

  /** The largest index stored on a quorum (of both halves in a joint config). */
  committed(): number {
    return this.config.voters.committedIndex(this)
  }

  /** Calls fn for every member in ascending id order. */
  visit(fn: (id: number, pr: Progress) => void): void {
    const ids = this.ids
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k] as number
      fn(id, this.progress.get(id) as Progress)
    }
  }

  /** Member ids ascending (do not mutate). */
  memberIds(): readonly number[] {
    return this.ids
  }

  /** Whether a quorum of voters was recently active (self counts as active). */
  quorumActive(selfId: number): boolean {
    const votes = new Map<number, boolean>()
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue
      votes.set(id, id === selfId || pr.recentActive)
    }
    return this.config.voters.voteResult(votes) === 'won'
  }

  /**
   * Whether a quorum of voters was heard from at or after tick `since` (self counts).
   * Backs lease-based reads.
   */
  quorumHeardSince(selfId: number, since: number): boolean {
    const votes = new Map<number, boolean>()
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue
      votes.set(id, id === selfId || pr.lastHeardTick >= since)
    }
    return this.config.voters.voteResult(votes) === 'won'
  }

  /** Voter ids (both halves) ascending. */
  voterNodes(): number[] {
    return this.config.voters.ids()
  }

  /** Learner ids ascending. */
  learnerNodes(): number[] {
    return [...this.config.learners].sort((a, b) => a - b)
  }

  /** Forgets the votes of the previous election. */
  resetVotes(): void {
    this.votes = new Map()
  }

  /** Records a vote from id; only the first vote from each node counts. */
  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted)
  }

  /** Counts the votes: granted and rejected among voters, and the overall result. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0
    let rejected = 0
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue
      const v = this.votes.get(id)
      if (v === undefined) continue
      if (v) granted++
      else rejected++
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) }
  }
}

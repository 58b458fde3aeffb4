// What the leader knows about one follower's log, and how it sends to it.

import { Inflights } from './inflights.js'

/**
 * How the leader sends entries to a follower:
 * - 'probe': the leader does not know where the logs match; one MsgApp per heartbeat
 *   interval until a response locates the match point;
 * - 'replicate': the logs match up to `match`; entries stream optimistically, limited by
 *   the inflight window;
 * - 'snapshot': the follower needs a snapshot; nothing is sent until it is reported.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/**
 * The leader's view of one follower (and of itself).
 * Invariant: 0 <= match < next.
 */
export class Progress {
  /** Highest index known to be on the follower's stable storage. */
  match: number
  /** Index of the next entry to send. Invariant: next > match. */
  next: number
  state: ProgressState = 'probe'
  /** In 'snapshot' state: the index of the snapshot sent; the follower needs at least it. */
  pendingSnapshot = 0
  /** Whether the follower was heard from since the last check-quorum round. */
  recentActive: boolean
  /**
   * In 'probe': a MsgApp is out, wait for its answer or the next heartbeat response.
   * In 'replicate': the inflight window is full.
   */
  msgAppFlowPaused = false
  /** MsgApps sent and not yet acknowledged (used in 'replicate'). */
  inflights: Inflights
  isLearner: boolean
  /**
   * The highest commit index this follower can have learned from what was sent to it (a
   * commit index is usable only up to the entries the message covers). Lets the leader
   * skip empty MsgApps that would tell the follower nothing new.
   */
  sentCommit = 0
  /** The leader's tick count when it last heard from this follower (lease reads). */
  lastHeardTick = Number.NEGATIVE_INFINITY

  constructor(init: { match: number; next: number; inflights: Inflights; isLearner: boolean; recentActive: boolean }) {
    this.match = init.match
    this.next = init.next
    this.inflights = init.inflights
    this.isLearner = init.isLearner
    this.recentActive = init.recentActive
  }

  /** A copy that shares nothing mutable with this one. */
  clone(): Progress {
    const p = new Progress({
      match: this.match,
      next: this.next,
      inflights: this.inflights.clone(),
      isLearner: this.isLearner,
      recentActive: this.recentActive,
    })
    p.state = this.state
    p.pendingSnapshot = this.pendingSnapshot
    p.msgAppFlowPaused = this.msgAppFlowPaused
    p.lastHeardTick = this.lastHeardTick
    p.sentCommit = this.sentCommit
    return p
  }

  /** Forgets everything about the follower (new term): probe from `next`, nothing matched. */
  reset(next: number): void {
    this.resetState('probe')
    this.match = 0
    this.next = next
    this.recentActive = false
    this.lastHeardTick = Number.NEGATIVE_INFINITY
    this.sentCommit = 0
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false
    this.pendingSnapshot = 0
    this.state = state
    this.inflights.reset()
  }

  /**
   * Back to probing, from the match point (or, leaving 'snapshot', just after the snapshot
   * that was sent, since the follower most likely installed it). What was sent past that point
   * may be lost, the commit index it carried included: sentCommit falls back with `next`, so
   * the follower is told the commit index again (as etcd's raft does).
   */
  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot
      this.resetState('probe')
      this.next = Math.max(this.match + 1, pending + 1)
    } else {
      this.resetState('probe')
      this.next = this.match + 1
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1)
  }

  /** Streams entries from the match point on. */
  becomeReplicate(): void {
    this.resetState('replicate')
    this.next = this.match + 1
  }

  /** Waits for a snapshot at index `snapshotIndex` to be installed. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot')
    this.pendingSnapshot = snapshotIndex
    this.next = snapshotIndex + 1
    // A snapshot holds only committed entries: installing it tells the follower that much.
    this.sentCommit = snapshotIndex
  }

  /**
   * Records a MsgApp of `entries` entries and `bytes` payload bytes just sent. In
   * 'replicate' next moves optimistically past them; in 'probe' sending pauses until an
   * answer arrives.
   */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next += entries
        this.inflights.add(this.next - 1, bytes)
      }
      this.msgAppFlowPaused = this.inflights.full()
    } else if (entries > 0) {
      this.msgAppFlowPaused = true
    }
  }

  /** Records that a message told the follower commit index `commit`. */
  sentCommitIndex(commit: number): void {
    if (commit > this.sentCommit) this.sentCommit = commit
  }

  /**
   * Handles an acknowledgement up to n. Returns whether match moved (stale or duplicate
   * acknowledgements return false).
   */
  maybeUpdate(n: number): boolean {
    let updated = false
    if (this.match < n) {
      this.match = n
      updated = true
      this.msgAppFlowPaused = false
    }
    if (this.next < n + 1) this.next = n + 1
    return updated
  }

  /**
   * Handles a rejection of the MsgApp whose previous index was `rejected`; matchHint is the
   * follower's (or the leader's refined) guess of the highest possibly matching index.
   * Returns false if the rejection is stale and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Stale unless it rejects something past what we know matches.
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    // In probe state only the latest probe (at next-1) is meaningful.
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1)
    this.msgAppFlowPaused = false
    return true
  }

  /**
   * Whether sending MsgApp to this follower is paused: a probe is outstanding, the
   * inflight window is full, or a snapshot is in transfer.
   */
  isPaused(): boolean {
    return this.state === 'snapshot' ? true : this.msgAppFlowPaused
  }

  /** e.g. "StateReplicate match=5 next=6 inflight=1". */
  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`
    if (this.isLearner) s += ' learner'
    if (this.isPaused()) s += ' paused'
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`
    if (!this.recentActive) s += ' inactive'
    const n = this.inflights.count()
    if (n > 0) {
      s += ` inflight=${n}`
      if (this.inflights.full()) s += '[full]'
    }
    return s
  }
}

// Decisions of a joint configuration C_old,new: both majorities must agree (Raft thesis
// §4.3). Depends only on majority.ts.

import { MajorityConfig } from './majority.js'
import type { AckedIndexer, VoteResult } from './majority.js'

/**
 * Two majority configs, incoming and outgoing. Outside a joint configuration the outgoing
 * config is empty and every decision is the incoming majority's.
 */
export class JointConfig {
  readonly incoming: MajorityConfig
  readonly outgoing: MajorityConfig

  constructor(incoming: MajorityConfig = new MajorityConfig(), outgoing: MajorityConfig = new MajorityConfig()) {
    this.incoming = incoming
    this.outgoing = outgoing
  }

  /** Whether this is a joint configuration (outgoing is non-empty). */
  isJoint(): boolean {
    return this.outgoing.size > 0
  }

  /** Every voter of either half, ascending. */
  ids(): number[] {
    const all = new Set<number>(this.incoming.ids)
    for (const id of this.outgoing.ids) all.add(id)
    return [...all].sort((a, b) => a - b)
  }

  /** Whether id votes in either half. */
  has(id: number): boolean {
    return this.incoming.ids.has(id) || this.outgoing.ids.has(id)
  }

  /** "(1 2 3)" or "(1 2 4)&&(1 2 3)". */
  toString(): string {
    return this.isJoint() ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString()
  }

  /** The largest index acknowledged by a majority of BOTH halves. */
  committedIndex(l: AckedIndexer): number {
    return Math.min(this.incoming.committedIndex(l), this.outgoing.committedIndex(l))
  }

  /** Won only if both halves won; lost if either lost; else pending. */
  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes)
    const r2 = this.outgoing.voteResult(votes)
    if (r1 === r2) return r1
    if (r1 === 'lost' || r2 === 'lost') return 'lost'
    return 'pending'
  }
}

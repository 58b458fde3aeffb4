// A read-only picture of a node, for operators, tests and the multiraft layer.

import type { ProgressState } from './tracker/progress.js'
import type { RaftStateType } from './types.js'

/** What the leader knows about one member. */
export interface ProgressStatus {
  match: number
  next: number
  state: ProgressState
  isLearner: boolean
  recentActive: boolean
  /** Whether sending to it is paused (probe outstanding, window full, or snapshot). */
  paused: boolean
  pendingSnapshot: number
  /** MsgApps in flight. */
  inflight: number
}

/** Membership as seen by this node (ids ascending). */
export interface ConfigStatus {
  voters: { incoming: number[]; outgoing: number[] }
  learners: number[]
  learnersNext: number[]
  autoLeave: boolean
}

/** A snapshot of a node's state; `progress` is present only on the leader. */
export interface Status {
  id: number
  term: number
  vote: number
  commit: number
  applied: number
  lead: number
  state: RaftStateType
  leadTransferee: number
  config: ConfigStatus
  progress?: Map<number, ProgressStatus>
}

// The values that cross the boundary between the Raft core and its host: log entries,
// messages, persistent state, snapshots, configuration states and the Ready batch.
// Everything here is plain data; nothing in this file has behaviour.

/** The id that means "no node": no leader known, no vote cast. Real node ids are > 0. */
export const NONE = 0

/** Whether an entry carries application data or a membership change (a ConfChangeV2). */
export type EntryType = 'normal' | 'confChange'

/** Where a proposal's entry went into the local log when this node appended it as leader. */
export interface AppendedAt {
  index: number
  term: number
}

/**
 * One log entry. Once an entry has an index and term it is never mutated again; the core
 * shares entry objects between its log, messages and Ready batches instead of copying.
 */
export interface Entry {
  /** Term of the leader that created the entry (>= 1 once appended). */
  term: number
  /** Position in the log (>= 1 once appended). */
  index: number
  type: EntryType
  /** Application payload; for 'confChange' entries the encoding from encodeConfChange. */
  data: Uint8Array
}

/**
 * Every message the core sends or receives. Local messages (MsgHup, MsgBeat, MsgProp from
 * the host, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum) never leave the node.
 */
export type MessageType =
  | 'MsgHup'
  | 'MsgBeat'
  | 'MsgProp'
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgUnreachable'
  | 'MsgSnapStatus'
  | 'MsgCheckQuorum'
  | 'MsgTransferLeader'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'

/** Message types that are only ever stepped into the local node, never sent. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === 'MsgHup' ||
    t === 'MsgBeat' ||
    t === 'MsgUnreachable' ||
    t === 'MsgSnapStatus' ||
    t === 'MsgCheckQuorum'
  )
}

/** Message types that answer a request (the sender must be a known peer). */
export function isResponseMessage(t: MessageType): boolean {
  return (
    t === 'MsgAppResp' ||
    t === 'MsgVoteResp' ||
    t === 'MsgHeartbeatResp' ||
    t === 'MsgUnreachable' ||
    t === 'MsgPreVoteResp'
  )
}

/**
 * A Raft message. Fields that a given type does not use are zero, false or empty.
 * MsgHeartbeat and MsgHeartbeatResp carry only term, commit and context (besides
 * type/from/to), so a multiraft host may coalesce them per pair of nodes and rebuild them.
 */
export interface Message {
  type: MessageType
  from: number
  to: number
  term: number
  /** MsgApp: term of the entry at `index`; vote requests: term of the last entry; reject responses: hint term. */
  logTerm: number
  /** MsgApp: index preceding `entries`; MsgAppResp: last index matched (or rejected); votes: last index. */
  index: number
  entries: Entry[]
  commit: number
  reject: boolean
  /** On a rejected MsgAppResp: the follower's guess of the highest index that may match. */
  rejectHint: number
  snapshot?: Snapshot
  /** ReadIndex request id (MsgReadIndex, MsgReadIndexResp, heartbeats); campaign kind on votes. */
  context?: Uint8Array
}

/** State that must be on stable storage before any message of the same Ready is sent. */
export interface HardState {
  term: number
  /** The node voted for in `term`, or NONE. */
  vote: number
  commit: number
}

/**
 * The membership of a group as recorded in snapshots and returned by applyConfChange.
 * Invariant: voters, learners are disjoint; learnersNext ⊆ votersOutgoing; outside a joint
 * configuration votersOutgoing and learnersNext are empty and autoLeave is false.
 */
export interface ConfState {
  /** Voters of the incoming (or only) majority. */
  voters: number[]
  learners: number[]
  /** Voters of the outgoing majority while in a joint configuration, else empty. */
  votersOutgoing: number[]
  /** Voters of the outgoing config that become learners when the joint config is left. */
  learnersNext: number[]
  /** Whether the joint configuration is left automatically once it is applied. */
  autoLeave: boolean
}

/** Identifies the log position a snapshot replaces and the membership at that point. */
export interface SnapshotMetadata {
  index: number
  term: number
  confState: ConfState
}

/** An application state image that replaces the log up to metadata.index. */
export interface Snapshot {
  data: Uint8Array
  metadata: SnapshotMetadata
}

/** One membership operation inside a ConfChangeV2. */
export type ConfChangeType = 'addVoter' | 'addLearner' | 'removeNode'

/** A single membership operation on one node. */
export interface ConfChangeSingle {
  type: ConfChangeType
  nodeId: number
}

/**
 * How a ConfChangeV2 is carried out:
 * - 'auto': one change that touches at most one voter is applied directly; anything else
 *   goes through a joint configuration that is left automatically;
 * - 'implicit': always joint, left automatically;
 * - 'explicit': always joint, left only when the application proposes an empty change.
 */
export type ConfChangeTransition = 'auto' | 'implicit' | 'explicit'

/** A membership change. `changes: []` means "leave the joint configuration". */
export interface ConfChangeV2 {
  transition: ConfChangeTransition
  changes: ConfChangeSingle[]
  context?: Uint8Array
}

/** The answer to a ReadIndex request: reads may be served once `index` is applied. */
export interface ReadState {
  index: number
  context: Uint8Array
}

/** The role of a node. */
export type RaftStateType = 'follower' | 'pre-candidate' | 'candidate' | 'leader'

/** Volatile state that the host may want to observe; not persisted. */
export interface SoftState {
  lead: number
  state: RaftStateType
}

/**
 * Everything the core wants done, handed out by RawNode.ready() and acknowledged with
 * RawNode.advance(). The host processes the fields in this order:
 * 1. persist `snapshot`, `entries` and `hardState` (one atomic write, fsync'd if `mustSync`);
 * 2. send `messages`;
 * 3. apply `committedEntries` (calling applyConfChange for confChange entries), serve `readStates`;
 * 4. call advance().
 * A pipelined host may instead call advancePersisted() after step 1 and advanceApplied()
 * after step 3, and take the next Ready in between (RawNode.ready() says on what terms).
 */
export interface Ready {
  /** The current leader and role; present only when changed since the previous Ready. */
  softState?: SoftState
  /**
   * Term, vote and commit; present only when changed. Must be saved to stable storage
   * BEFORE `messages` are sent: a vote must never be granted twice in one term.
   */
  hardState?: HardState
  /**
   * Answers to readIndex() calls, in request order. They may be served before this Ready's
   * write: a read point is a commit index a quorum vouched for; the reader must still wait
   * until it is applied.
   */
  readStates: ReadState[]
  /**
   * Entries to append to stable storage BEFORE `messages` are sent. An entry here with the
   * same index as a stored one replaces it and every stored entry after it.
   */
  entries: Entry[]
  /** A snapshot to install into stable storage (before `entries`, which then follow it). */
  snapshot?: Snapshot
  /**
   * Committed entries to apply to the state machine, in order. Every entry here is already
   * on stable storage: the core hands out only entries acknowledged by an earlier advance()
   * or advancePersisted().
   */
  committedEntries: Entry[]
  /**
   * Messages to send AFTER `entries`, `hardState` and `snapshot` are persisted. The network
   * may drop, duplicate or reorder them (Raft tolerates all three), but sending each peer's
   * messages in order keeps replication fast. Report a failed MsgSnap with reportSnapshot()
   * and an unreachable peer with reportUnreachable(). Exceptions: a leader may send its own
   * before (thesis §10.2.1), and anyone MsgHeartbeatResp, which vouches for nothing stored
   * (etcd's raft holds back only MsgAppResp and vote responses).
   */
  messages: Message[]
  /** Whether the write of step 1 must be fsync'd (new entries, new term or new vote). */
  mustSync: boolean
}

// Errors the Raft core throws. Each has a stable `code` that callers switch on; messages
// are for humans and may change.

/** Every error code the core can produce. */
export const RaftErrorCode = {
  /** A proposal was not accepted (no leader, leadership transfer, size limit, removed node). */
  PROPOSAL_DROPPED: 'ERR_PROPOSAL_DROPPED',
  /** The requested index precedes the first index still in the log. */
  COMPACTED: 'ERR_COMPACTED',
  /** The requested index is beyond the last index in the log. */
  UNAVAILABLE: 'ERR_UNAVAILABLE',
  /** A snapshot at or before the storage's current snapshot was offered. */
  SNAPSHOT_OUT_OF_DATE: 'ERR_SNAPSHOT_OUT_OF_DATE',
  /** Storage cannot produce a snapshot right now; the core retries later. */
  SNAPSHOT_TEMPORARILY_UNAVAILABLE: 'ERR_SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  /** A local-only message (MsgHup, MsgBeat, ...) was passed to RawNode.step. */
  STEP_LOCAL_MSG: 'ERR_STEP_LOCAL_MSG',
  /** A response arrived from a node that is not in the configuration. */
  STEP_PEER_NOT_FOUND: 'ERR_STEP_PEER_NOT_FOUND',
  /** A configuration change cannot be applied to the current configuration. */
  CONF_CHANGE_INVALID: 'ERR_CONF_CHANGE_INVALID',
  /** The Config passed to RawNode is not usable. */
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  /** The host was stopped, or stopped itself after a failure it cannot go on from (e.g. a failed log write). */
  STOPPED: 'ERR_STOPPED',
  /** Internal state contradicts a Raft invariant: a bug or corrupted storage. */
  INVARIANT_VIOLATED: 'ERR_RAFT_INVARIANT_VIOLATED',
  /** Storage found the group's stored log damaged (a failed checksum): that group cannot go on, the others can. */
  CORRUPTION: 'ERR_CORRUPTION',
} as const

/** One of the values of RaftErrorCode. */
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode]

/** Base class of every error the core throws; `code` is stable. */
export class RaftError extends Error {
  readonly code: RaftErrorCode
  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'RaftError'
  }
}

/** The proposal was not appended; the caller may retry, possibly at another node. */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super(RaftErrorCode.PROPOSAL_DROPPED, `raft proposal dropped: ${reason}`)
    this.name = 'ProposalDroppedError'
  }
}

/** The requested log position was compacted away; a snapshot is needed instead. */
export class CompactedError extends RaftError {
  constructor(index: number) {
    super(RaftErrorCode.COMPACTED, `requested index ${index} is unavailable due to compaction`)
    this.name = 'CompactedError'
  }
}

/** The requested log position does not exist yet. */
export class UnavailableError extends RaftError {
  constructor(index: number) {
    super(RaftErrorCode.UNAVAILABLE, `requested entry at index ${index} is unavailable`)
    this.name = 'UnavailableError'
  }
}

/** The offered snapshot is not newer than the one storage already holds. */
export class SnapshotOutOfDateError extends RaftError {
  constructor(index: number, current: number) {
    super(RaftErrorCode.SNAPSHOT_OUT_OF_DATE, `snapshot at ${index} is not newer than ${current}`)
    this.name = 'SnapshotOutOfDateError'
  }
}

/** Storage is busy producing a snapshot; the leader will ask again later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor() {
    super(RaftErrorCode.SNAPSHOT_TEMPORARILY_UNAVAILABLE, 'snapshot is temporarily unavailable')
    this.name = 'SnapshotTemporarilyUnavailableError'
  }
}

/** RawNode.step was given a message type that only the node itself may generate. */
export class StepLocalMessageError extends RaftError {
  constructor(type: string) {
    super(RaftErrorCode.STEP_LOCAL_MSG, `cannot step local message ${type}`)
    this.name = 'StepLocalMessageError'
  }
}

/** RawNode.step was given a response from a node outside the configuration. */
export class StepPeerNotFoundError extends RaftError {
  constructor(from: number) {
    super(RaftErrorCode.STEP_PEER_NOT_FOUND, `response from unknown peer ${from}`)
    this.name = 'StepPeerNotFoundError'
  }
}

/** The configuration change is not valid against the current configuration. */
export class ConfChangeInvalidError extends RaftError {
  constructor(reason: string) {
    super(RaftErrorCode.CONF_CHANGE_INVALID, `invalid configuration change: ${reason}`)
    this.name = 'ConfChangeInvalidError'
  }
}

/** The RawNode configuration is not usable. */
export class ConfigInvalidError extends RaftError {
  constructor(reason: string) {
    super(RaftErrorCode.CONFIG_INVALID, `invalid raft config: ${reason}`)
    this.name = 'ConfigInvalidError'
  }
}

/**
 * Storage found this group's stored log damaged: an entry (`index`, when known) failed its
 * checksum. Wrong data was not returned, but the group cannot go on on this node: a
 * multiraft host stops that group alone and reports it.
 */
export class CorruptionError extends RaftError {
  constructor(
    readonly index: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(RaftErrorCode.CORRUPTION, message, options)
    this.name = 'CorruptionError'
  }
}

/** A Raft invariant was violated: a bug in the core or in the host's storage. Not recoverable. */
export class RaftInvariantError extends RaftError {
  constructor(message: string) {
    super(RaftErrorCode.INVARIANT_VIOLATED, message)
    this.name = 'RaftInvariantError'
  }
}

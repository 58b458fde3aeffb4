// How a RawNode is configured, with mrdb's defaults and validation.

import { ConfigInvalidError } from './errors.js'
import type { ReadOnlyOption } from './read-only.js'
import type { Rng } from './rng.js'
import type { Storage } from './storage.js'

/** Where the core reports notable events (role changes, refusals). Never on hot paths. */
export interface RaftLogger {
  debug?(msg: string): void
  info(msg: string): void
  warn(msg: string): void
}

/** Deliberately broken behaviours, only for tests proving that checkers catch them. */
export interface TestingKnobs {
  /** Grant votes without the up-to-date log check of §5.4.1. UNSAFE. */
  skipElectionRestriction?: boolean
  /** Commit any index stored on a quorum, even of an older term (Figure 8). UNSAFE. */
  commitOldTermByCount?: boolean
}

/** Parameters of one Raft node. Times are in ticks; the host decides how long a tick is. */
export interface Config {
  /** This node's id; > 0. */
  id: number
  /**
   * Base election timeout. A follower that hears nothing from a leader campaigns after a
   * randomized timeout in [electionTick, 2*electionTick). Must exceed heartbeatTick.
   * mrdb runs electionTick=3, heartbeatTick=1 at a 50 ms tick (150–300 ms, as the paper).
   */
  electionTick: number
  /** A leader sends heartbeats every heartbeatTick ticks. */
  heartbeatTick: number
  /** The persisted log; the host writes it from Ready, the core reads it. */
  storage: Storage
  /** Source of randomness (election timeouts). */
  rng: Rng
  /** The last index the application applied before a restart; default: the snapshot index. */
  applied?: number
  /** Byte budget of entries in one MsgApp (entrySize); default 1 MiB. 0 = one entry per message. */
  maxSizePerMsg?: number
  /** Maximum MsgApps in flight to one follower in 'replicate' state; default 256. */
  maxInflightMsgs?: number
  /** Maximum payload bytes in flight to one follower; default 0 = unlimited. */
  maxInflightBytes?: number
  /** A leader drops proposals while this many payload bytes are uncommitted; default 0 = unlimited. */
  maxUncommittedEntriesSize?: number
  /** Byte budget of committedEntries in one Ready; default maxSizePerMsg. */
  maxCommittedSizePerReady?: number
  /**
   * Default true. A leader steps down when it has not heard from a quorum within an
   * election timeout, and followers ignore vote requests while they hear from a leader.
   */
  checkQuorum?: boolean
  /** Default true. Candidates first check, without raising terms, that they could win (§9.6). */
  preVote?: boolean
  /**
   * 'safe' (default): ReadIndex confirms leadership with a heartbeat round.
   * 'lease-based': the leader answers from its lease while a quorum was heard from within
   * electionTick - leaseDriftTicks ticks (requires checkQuorum); else it falls back to 'safe'.
   */
  readOnlyOption?: ReadOnlyOption
  /**
   * Margin subtracted from the election timeout to get the lease, in ticks; default 1.
   * It must cover clock drift between nodes plus the delay of a heartbeat response.
   */
  leaseDriftTicks?: number
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean
  /** Where to report events; default: nowhere. */
  logger?: RaftLogger
  /** Deliberately broken variants, only for tests. */
  testingKnobs?: TestingKnobs
}

/** A Config with every default filled in. */
export interface ResolvedConfig {
  id: number
  electionTick: number
  heartbeatTick: number
  storage: Storage
  rng: Rng
  applied: number
  maxSizePerMsg: number
  maxInflightMsgs: number
  maxInflightBytes: number
  maxUncommittedEntriesSize: number
  maxCommittedSizePerReady: number
  checkQuorum: boolean
  preVote: boolean
  readOnlyOption: ReadOnlyOption
  leaseDriftTicks: number
  disableProposalForwarding: boolean
  logger: RaftLogger
  testingKnobs: TestingKnobs
}

/** Default byte budget of one MsgApp. */
export const DEFAULT_MAX_SIZE_PER_MSG = 1 << 20
/** Default inflight window, in messages. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256

const silentLogger: RaftLogger = { info() {}, warn() {} }

/** Fills in defaults and validates; throws ConfigInvalidError. */
export function resolveConfig(c: Config): ResolvedConfig {
  const fail = (why: string): never => {
    throw new ConfigInvalidError(why)
  }
  const nonNegInt = (v: number, name: string): number =>
    Number.isSafeInteger(v) && v >= 0 ? v : fail(`${name} must be a non-negative integer, got ${v}`)
  if (!Number.isSafeInteger(c.id) || c.id <= 0) fail('id must be a positive integer')
  if (!Number.isSafeInteger(c.heartbeatTick) || c.heartbeatTick <= 0) fail('heartbeatTick must be greater than 0')
  if (!Number.isSafeInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    fail('electionTick must be greater than heartbeatTick')
  }
  if (c.storage === undefined || c.storage === null) fail('storage cannot be missing')
  if (c.rng === undefined || c.rng === null) fail('rng cannot be missing')
  const maxSizePerMsg = nonNegInt(c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG, 'maxSizePerMsg')
  const maxInflightMsgs = c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS
  if (!Number.isSafeInteger(maxInflightMsgs) || maxInflightMsgs <= 0) fail('maxInflightMsgs must be greater than 0')
  const maxInflightBytes = nonNegInt(c.maxInflightBytes ?? 0, 'maxInflightBytes')
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsg) {
    fail('maxInflightBytes must be >= maxSizePerMsg')
  }
  const maxUncommitted = nonNegInt(c.maxUncommittedEntriesSize ?? 0, 'maxUncommittedEntriesSize')
  const checkQuorum = c.checkQuorum ?? true
  const readOnlyOption = c.readOnlyOption ?? 'safe'
  if (readOnlyOption !== 'safe' && readOnlyOption !== 'lease-based') fail(`unknown readOnlyOption ${String(readOnlyOption)}`)
  if (readOnlyOption === 'lease-based' && !checkQuorum) {
    fail('checkQuorum must be enabled when readOnlyOption is lease-based')
  }
  const leaseDriftTicks = nonNegInt(c.leaseDriftTicks ?? 1, 'leaseDriftTicks')
  if (leaseDriftTicks >= c.electionTick) fail('leaseDriftTicks must be smaller than electionTick')
  return {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    storage: c.storage,
    rng: c.rng,
    applied: nonNegInt(c.applied ?? 0, 'applied'),
    maxSizePerMsg,
    maxInflightMsgs,
    maxInflightBytes,
    maxUncommittedEntriesSize: maxUncommitted === 0 ? Number.POSITIVE_INFINITY : maxUncommitted,
    maxCommittedSizePerReady: nonNegInt(c.maxCommittedSizePerReady ?? maxSizePerMsg, 'maxCommittedSizePerReady'),
    checkQuorum,
    preVote: c.preVote ?? true,
    readOnlyOption,
    leaseDriftTicks,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    logger: c.logger ?? silentLogger,
    testingKnobs: c.testingKnobs ?? {},
  }
}

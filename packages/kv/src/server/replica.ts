// One replica of a range on this node: the state machine its Raft group applies to
// (commands → MVCC writes, with the applied index in the same engine batch), the proposer
// that waits for its commands to apply, and the linearizable read path.

import { randomInt } from 'node:crypto'
import { ProposalDroppedError, ProposalWaiters, RaftError, decodeConfChange, type ConfChangeSingle, type ConfState, type Entry, type MultiRaft, type Snapshot } from '@mrdb/raft'
import {
  KeyLockedError,
  MAX_TIMESTAMP,
  StorageError,
  StorageErrorCode,
  composeTimestamp,
  compareBytes,
  keySuccessor,
  physicalMs,
  crc32c,
  type BatchOp,
  type Engine,
  type MvccStore,
  type MvccWriter,
  type RaftLogStore,
} from '@mrdb/storage'
import type { KeyValue, TimestampSource, TxnMutation, TxnState } from '../api/types.js'
import { decodeCommand, encodeCommand, type Command, type CommandEnvelope } from './command.js'
import { checkCommand, clampEnd } from './command-check.js'
import { BOOTSTRAP_INDEX, BOOTSTRAP_TERM, bootstrapOps } from './range-bootstrap.js'
import { KvError, KvErrorCode } from '../api/errors.js'
import {
  descriptorFromJson,
  descriptorToJson,
  nextReplicaId,
  rangeContains,
  type RangeDescriptor,
  type RangeDescriptorJson,
  type ReplicaDescriptor,
} from '../api/range-descriptor.js'
import { RangeLogStorage } from './range-log-storage.js'
import { ReadTimestamps } from './read-timestamps.js'
import { decodeRangeSnapshot, encodeRangeSnapshot } from './range-snapshot.js'
import { decodeReplicaState, encodeReplicaState, replicaStateKey, type ReplicaState } from './replica-state.js'

/** A committed entry and its command (none for the empty entries leaders append). */
interface Decoded {
  entry: Entry
  env: CommandEnvelope | undefined
}

/**
 * What applying a command produced: for a CAS whether it swapped and the value it found;
 * for a DeleteRange how many keys it deleted and, if it stopped early (at the range's end
 * or after {@link DELETE_RANGE_MAX_KEYS}), the key to resume from; for a freeze, its index
 * and the range's last write timestamp.
 */
export type CommandResult =
  | { ok: true; succeeded?: boolean; current?: Uint8Array; deleted?: number; resume?: Uint8Array; frozen?: { index: number; lastTs: bigint }; txn?: TxnState; collected?: number; commitTs?: bigint }
  | { ok: false; error: KvError }


/** Most keys one DeleteRange command deletes; the client resumes for the rest. Keeps a command's batch bounded. */
export const DELETE_RANGE_MAX_KEYS = 10_000

/**
 * A one-phase commit this leader proposed and has not applied: a read at or above its commit
 * timestamp that touches one of its keys waits for it (see {@link Replica.proposeOnePhase}).
 */
interface InFlightCommit {
  /** Its keys, sorted. */
  keys: Uint8Array[]
  commitTs: bigint
  /** Resolves true once the command applied here (written or refused), false if its fate here became unknown (leadership lost). */
  settled: Promise<boolean>
  settle: (applied: boolean) => void
}

/**
 * How far past this node's clock the timestamp a one-phase commit would build on may lie.
 * Timestamps come from the oracle, whose physical part follows the PD leader's clock; a start
 * or read timestamp far ahead of it was not handed out by the oracle, and a commit above it
 * would hide from transactions that start after it (TiKV's max_commit_ts guard plays this part).
 */
const ONE_PHASE_MAX_AHEAD_MS = 10_000

/** What a replica asks of the store that hosts it. */
export interface ReplicaHost {
  /** A split applied here created the right-hand range's replica (its state is on disk): host it. */
  hostSplit(right: ReplicaState): void
  /** The replica's membership changed (a conf change or a snapshot): route to its new peers, or drop it if it left. */
  membershipChanged(replica: Replica): void
  /** This node's replica of a range, if it hosts one. */
  localReplica(rangeId: number): Replica | undefined
  /** A merge applied here took in range `rangeId`: stop hosting it and drop its log, keeping its data. */
  absorbMerged(rangeId: number): void
  /** The cluster's GC safe point as this node last learned it: no read below it is served. */
  readonly gcSafePoint: bigint
  /**
   * Something a walk over the ranges looks at changed in this range (see ChangedRanges): it
   * applied entries or a snapshot, its stats were counted or dropped, or it served its first
   * request since its load was taken.
   */
  markChanged(rangeId: number): void
}

/** One step of a membership change, by node: add a learner there, promote or demote its replica, or remove it. */
export interface ReplicaChange {
  op: 'addLearner' | 'promote' | 'demote' | 'remove'
  nodeId: number
}

/** The commands that read and write data (the others change the range itself). */
type DataCommand = Exclude<Command, { kind: 'split' | 'freeze' | 'merge' | 'gc' }>

/** Most engine entries one GC command deletes (it stops there; the next pass goes on). */
export const GC_MAX_DELETES = 20_000
/** How long after the last GC command applied here the range's spans are compacted (space given back). */
const GC_COMPACT_DELAY_MS = 2_000

/** A range's size, as {@link Replica.approximateStats} counts it. */
export interface RangeStats {
  keys: number
  bytes: number
  /** The key in the middle of the range, if it holds two keys or more. */
  middleKey: Uint8Array | undefined
  /** Bytes of the latest versions that hold values. */
  liveBytes: number
  /** Bytes only reads in the past need (deletions, older versions, rollback markers; partly estimated). */
  garbageBytes: number
}

/** How long counted range stats are reused, at least. */
const STATS_TTL_MS = 10_000
/**
 * Counted range stats are reused for at least this many times as long as counting them took:
 * counting walks the whole range, so a big range (hundreds of thousands of keys: seconds) is
 * counted less often, and counting never takes more than ~2% of the node's time.
 */
const STATS_COST_FACTOR = 50


/**
 * What a range's scan returned: its rows, all in [start, end) ∩ the range as the scan saw it,
 * and that range. `rangeEnd` is its end key (empty: no bound), always past the scan's start,
 * so a caller continuing into the next range from there only moves forward.
 */
export interface ScanResult {
  rows: KeyValue[]
  rangeEnd: Uint8Array
  /** The range the scan read, as of the read. */
  descriptor: RangeDescriptor
  /** Set when the scan stopped at its byte budget: the rest of the span starts here. */
  resume?: Uint8Array
}

/** Most locks one scan reports, for the reader to resolve together. */
const SCAN_MAX_LOCKS = 1000

/** About how many bytes one scan returns (keys and values), so that a response stays far below gRPC's message limit. */
export const SCAN_MAX_BYTES = 2 * 1024 * 1024

/** A replica of one range; see the file comment. */
export class Replica {
  /** The core's view of this range's Raft log. */
  readonly logStorage: RangeLogStorage
  private state: ReplicaState
  private readonly pending = new ProposalWaiters<CommandResult>()
  /** The last counted stats: when, at which descriptor generation and applied index, for how long they hold. */
  private stats: { at: number; generation: number; appliedIndex: number; ttlMs: number; value: RangeStats } | undefined
  /** The count under way, which concurrent callers share. */
  private counting: Promise<RangeStats> | undefined
  /**
   * Bytes of the log entries applied since the store last compacted this range's log (it
   * resets the count): with big entries, the log grows large long before it grows long.
   */
  appliedLogBytes = 0
  /** Reads and writes served as leader since {@link takeLoad} last ran. */
  private served = { reads: 0, writes: 0 }
  /**
   * Starts at random, so ids of this incarnation do not repeat those of an earlier one still
   * in the log (results are matched to waiters by node and proposal id). 2^48 ids of room.
   */
  private nextProposalId = randomInt(1, 2 ** 48)
  /**
   * The highest timestamps snapshot reads were served at here, by key and span (reads of the
   * latest do not count): a one-phase commit lands above those of its keys. Invariant: while
   * {@link readTsValid}, for every key it answers at or above every timestamp a read of the
   * key was served at, by this replica or any earlier leader (of this range, or of the ranges
   * it split from or merged with).
   */
  private readonly readTs = new ReadTimestamps()
  /**
   * Whether {@link readTs} covers earlier leaders' reads: its floor was raised to a timestamp
   * fetched from the oracle after this replica became leader (and after its last merge).
   * One-phase commits are refused (ONE_PHASE_REFUSED) until then.
   */
  private readTsValid = false
  /** Bumped when leadership changes or a merge applies: a refresh begun before counts for nothing. */
  private readTsEpoch = 0
  /** The epoch whose refresh is under way, if any. */
  private refreshingEpoch: number | undefined
  /** One-phase commits proposed here and not applied yet, by proposal id. */
  private readonly inFlight = new Map<number, InFlightCommit>()

  constructor(
    private readonly nodeId: number,
    state: ReplicaState,
    private readonly engine: Engine,
    private readonly mvcc: MvccStore,
    private readonly log: RaftLogStore,
    private readonly raft: MultiRaft,
    private readonly host: ReplicaHost,
    /** The oracle a new leader learns a timestamp above its predecessors' reads from; without one, no one-phase commits. */
    private readonly timestamps?: TimestampSource,
  ) {
    this.state = state
    this.logStorage = new RangeLogStorage(state.descriptor.rangeId, log, () => this.state.confState, () => this.makeSnapshot())
  }

  get rangeId(): number {
    return this.state.descriptor.rangeId
  }

  get descriptor(): RangeDescriptor {
    return this.state.descriptor
  }

  get appliedIndex(): number {
    return this.state.appliedIndex
  }

  /** The index of the freeze that stopped this range ahead of a merge, if it is frozen. */
  get frozenAt(): number | undefined {
    return this.state.frozenAt
  }

  /** Reads below this timestamp are refused (GC_THRESHOLD): garbage collection may have taken what they need. */
  get gcThreshold(): bigint {
    return this.state.gcThreshold ?? 0n
  }

  /** Transactions that started below this timestamp may not prewrite here (GC_THRESHOLD); never below {@link gcThreshold}. */
  get gcFence(): bigint {
    return this.state.gcFence ?? 0n
  }

  /** The last timestamp a write here used. */
  get lastTs(): bigint {
    return this.state.lastTs
  }

  /** This node's Raft replica id in the range. */
  get replicaId(): number {
    const r = this.state.descriptor.replicas.find((x) => x.nodeId === this.nodeId)
    if (!r) throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `range ${this.rangeId} has no replica on node ${this.nodeId}`)
    return r.replicaId
  }

  // ---- serving -----------------------------------------------------------------------

  /**
   * Throws NOT_LEADER (with a hint) unless this replica leads its range, as of the last Ready
   * the host processed. A replica that lost leadership since is caught by the core itself:
   * it drops the proposal or fails the ReadIndex.
   */
  checkLeader(): void {
    const lead = this.raft.leaderOf(this.rangeId)
    if (lead !== 0 && lead === this.replicaId) return
    throw new KvError(KvErrorCode.NOT_LEADER, `node ${this.nodeId} does not lead range ${this.rangeId}`, this.leaderHint())
  }

  /** The node this replica believes leads its range, for a NOT_LEADER's hint (none once its group is gone). */
  private leaderHint(): number | undefined {
    const lead = this.raft.hasGroup(this.rangeId) ? this.raft.leaderOf(this.rangeId) : 0
    return lead === 0 ? undefined : this.raft.nodeOf(this.rangeId, lead)
  }

  /** Throws KEY_NOT_IN_RANGE, with the range's current descriptor, unless every key belongs to this range. */
  checkKeys(...keys: Uint8Array[]): void {
    const d = this.state.descriptor
    for (const k of keys) {
      if (!rangeContains(d, k)) {
        throw new KvError(KvErrorCode.KEY_NOT_IN_RANGE, `key ${Buffer.from(k).toString('hex')} is not in range ${this.rangeId} (generation ${d.generation})`, undefined, { descriptor: d })
      }
    }
  }

  /**
   * Throws unless a read starting at `key` may be served here now, against the range as
   * applied at this moment (after {@link readBarrier}, as of the read's index): KEY_NOT_IN_RANGE
   * with the current descriptor for a key outside the range; UNAVAILABLE while the range is
   * frozen for a merge (its left neighbour may already hold its keys and have written them).
   */
  checkReadable(key: Uint8Array): void {
    this.checkKeys(key)
    if (this.state.frozenAt !== undefined) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${this.rangeId} is frozen: it is merging into its left neighbour, which serves its keys once merged`)
  }

  /**
   * Throws GC_THRESHOLD unless a read at `ts` may be served here: at or above the range's GC
   * threshold, as applied now (after {@link readBarrier}, as of the read's index), and at or
   * above the cluster's safe point as this node knows it.
   */
  checkReadTs(ts: bigint): void {
    const own = this.gcThreshold
    const threshold = own > this.host.gcSafePoint ? own : this.host.gcSafePoint
    if (ts < threshold) {
      throw new KvError(KvErrorCode.GC_THRESHOLD, `batch timestamp ${ts} must be after replica GC threshold ${threshold} (range ${this.rangeId}): the versions it needs may have been garbage collected`)
    }
  }

  /**
   * One read-only step of planning this range's garbage collection from `start` (see
   * {@link MvccStore.gcPlan}), within the range as applied now.
   */
  gcPlan(start: Uint8Array, threshold: bigint, lockBelow: bigint, maxKeys: number): ReturnType<MvccStore['gcPlan']> {
    const d = this.state.descriptor
    const from = compareBytes(start, d.startKey) > 0 ? start : d.startKey
    return this.mvcc.gcPlan({ start: from.length === 0 ? undefined : from, end: d.endKey.length === 0 ? undefined : d.endKey, threshold, lockBelow, maxKeys })
  }

  /**
   * Proposes a command and resolves with its result once applied here; TIMEOUT after
   * `timeoutMs` (outcome unknown). `proposing` runs with the proposal's id just before it is
   * handed to Raft, in the same turn of the event loop.
   */
  propose(command: Command, timeoutMs: number, proposing?: (proposalId: number) => void): Promise<CommandResult> {
    this.checkLeader()
    this.serve('writes')
    const proposalId = this.nextProposalId++
    const data = encodeCommand({ proposalId, nodeId: this.nodeId, ms: Date.now(), command })
    const result = this.pending.wait(proposalId, timeoutMs, () => ({
      ok: false,
      error: new KvError(KvErrorCode.TIMEOUT, `write to range ${this.rangeId} did not apply within ${timeoutMs} ms; it may or may not have`),
    }))
    try {
      proposing?.(proposalId)
      this.pending.appended(proposalId, this.raft.propose(this.rangeId, data))
    } catch (err) {
      this.pending.cancel(proposalId)
      // Never appended, so never applied: readers waiting for it may go on.
      this.settleInFlight(proposalId, true)
      return Promise.reject(err instanceof ProposalDroppedError ? new KvError(KvErrorCode.UNAVAILABLE, `range ${this.rangeId} dropped the proposal: ${err.message}`) : err)
    }
    return result
  }

  /**
   * Ends every write waiting to apply here at once, with TIMEOUT: this replica stopped (`why`)
   * and applies nothing more, while the range's other replicas may still commit the writes.
   */
  abandonProposals(why: string): void {
    this.pending.abandon(() => ({ ok: false, error: new KvError(KvErrorCode.TIMEOUT, `write to range ${this.rangeId} did not apply here: ${why}; it may or may not have`) }))
    this.releaseInFlight()
  }

  /**
   * Proposes a one-phase commit of `mutations` (all in this range) for the transaction at
   * `startTs`, and resolves with its result — on success, the commit timestamp it got, never
   * above `maxCommitTs` when given (the client read its commit-time conditions there).
   *
   * The commit timestamp is chosen here, on the leader, and travels in the command so every
   * replica writes the same: one above both the start and the reads of its keys served so far
   * ({@link readTs}), so it lands above all of them. Reads that arrive before it applies are
   * held back by the in-flight record registered in the same turn (see {@link admitRead}). Refused with
   * ONE_PHASE_REFUSED (nothing written; commit in two phases) until this leader's
   * {@link readTs} covers its predecessors' reads, when the commit would land above
   * `maxCommitTs`, or when the timestamps are implausibly far ahead of the clock.
   */
  proposeOnePhase(startTs: bigint, mutations: TxnMutation[], timeoutMs: number, maxCommitTs?: bigint): Promise<CommandResult> {
    this.checkLeader()
    if (!this.readTsValid) {
      this.refreshReadTs()
      throw new KvError(KvErrorCode.ONE_PHASE_REFUSED, `range ${this.rangeId}'s leader has not yet learned a timestamp above its predecessors' reads: commit in two phases`)
    }
    const keys = mutations.map((m) => m.key).sort(compareBytes)
    const read = this.readTs.maxOf(keys)
    const floor = startTs > read ? startTs : read
    if (physicalMs(floor) > Date.now() + ONE_PHASE_MAX_AHEAD_MS) {
      throw new KvError(KvErrorCode.ONE_PHASE_REFUSED, `timestamp ${floor} on range ${this.rangeId} is ahead of this node's clock: commit in two phases`)
    }
    const commitTs = floor + 1n
    if (maxCommitTs !== undefined && commitTs > maxCommitTs) {
      throw new KvError(KvErrorCode.ONE_PHASE_REFUSED, `range ${this.rangeId} served reads of these keys up to ${read}: a one-phase commit would land above ${maxCommitTs}; commit in two phases`)
    }
    let settle!: (applied: boolean) => void
    const settled = new Promise<boolean>((resolve) => (settle = resolve))
    return this.propose({ kind: 'onePhaseCommit', startTs, commitTs, mutations }, timeoutMs, (proposalId) => this.inFlight.set(proposalId, { keys, commitTs, settled, settle }))
  }

  /**
   * The range's leadership changed as this node sees it. The one-phase commits in flight here
   * lose their guard (a reader waiting on one fails and retries), and {@link readTs} stops
   * counting until a replica that became leader refreshes it from the oracle.
   */
  leaderChanged(): void {
    this.releaseInFlight()
    this.invalidateReadTs(this.leads())
  }

  /** Forgets that {@link readTs} covers earlier reads; a leader starts learning it anew. */
  private invalidateReadTs(leader: boolean): void {
    this.readTsEpoch++
    this.readTsValid = false
    if (leader) this.refreshReadTs()
  }

  /**
   * Raises the floor of {@link readTs} to a timestamp fetched from the oracle now, and marks
   * it valid if leadership did not change meanwhile. Every read an earlier leader served used a timestamp
   * the oracle handed out before that read was served, so before this replica became leader
   * (see docs/decisions.md, "One-phase commit"): the fetched one is above all of them.
   */
  private refreshReadTs(): void {
    const epoch = this.readTsEpoch
    if (!this.timestamps || this.refreshingEpoch === epoch) return
    this.refreshingEpoch = epoch
    this.timestamps.timestamp().then(
      (ts) => {
        if (this.refreshingEpoch === epoch) this.refreshingEpoch = undefined
        if (epoch !== this.readTsEpoch) return
        this.readTs.raiseFloor(ts)
        this.readTsValid = true
      },
      () => {
        // No timestamp now: one-phase commits stay refused; the next one asks again.
        if (this.refreshingEpoch === epoch) this.refreshingEpoch = undefined
      },
    )
  }

  /** Whether this replica leads its range, as of the last Ready the host processed (false once its group is gone). */
  leads(): boolean {
    if (!this.raft.hasGroup(this.rangeId)) return false
    const lead = this.raft.leaderOf(this.rangeId)
    return lead !== 0 && lead === this.ownReplicaId()
  }

  /** This node's replica id in the range, if it still holds one. */
  private ownReplicaId(): number | undefined {
    return this.state.descriptor.replicas.find((x) => x.nodeId === this.nodeId)?.replicaId
  }

  /** Ends every in-flight one-phase commit's guard with an unknown fate: readers waiting on them fail. */
  private releaseInFlight(): void {
    for (const c of this.inFlight.values()) c.settle(false)
    this.inFlight.clear()
  }

  /** The in-flight one-phase commit proposed as `proposalId` applied here (`applied`) or will never apply. */
  private settleInFlight(proposalId: number, applied: boolean): void {
    const c = this.inFlight.get(proposalId)
    if (!c) return
    this.inFlight.delete(proposalId)
    c.settle(applied)
  }

  /**
   * Admits a read at `ts` of `key`, or of [key, end) when `end` is given (empty: no bound):
   * records it in {@link readTs} (a read of the latest, at MAX_TIMESTAMP, changes
   * nothing: it sees whatever applied), then waits for every in-flight one-phase commit at or
   * below `ts` that writes a key the read covers. Both happen in one turn of the event loop:
   * a one-phase commit proposed after it lands above `ts`; one proposed before it is waited
   * for. Throws UNAVAILABLE (retry) if leadership changed while it waited: the commit may
   * still apply, under a new leader.
   */
  private admitRead(ts: bigint, key: Uint8Array, end?: Uint8Array): Promise<void> | undefined {
    if (ts === MAX_TIMESTAMP) return undefined
    if (end === undefined) this.readTs.readKey(key, ts)
    else this.readTs.readSpan(key, end, ts)
    if (this.inFlight.size === 0) return undefined
    const covers = (k: Uint8Array) =>
      end === undefined ? compareBytes(k, key) === 0 : compareBytes(k, key) >= 0 && (end.length === 0 || compareBytes(k, end) < 0)
    const waits = [...this.inFlight.values()].filter((c) => c.commitTs <= ts && c.keys.some(covers)).map((c) => c.settled)
    if (waits.length === 0) return undefined
    return Promise.all(waits).then((applied) => {
      if (!applied.every(Boolean)) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${this.rangeId}'s leadership changed while a read waited for a one-phase commit to apply: retry`)
    })
  }

  /** Waits until this leader may serve a linearizable read (ReadIndex, then apply up to it). */
  async readBarrier(): Promise<void> {
    this.checkLeader()
    this.serve('reads')
    let index: number
    try {
      index = await this.raft.readIndex(this.rangeId)
    } catch (err) {
      if (err instanceof RaftError) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${this.rangeId} could not confirm its leader: ${err.message}`)
      throw err
    }
    await this.raft.waitApplied(this.rangeId, index)
  }

  /**
   * The value of `key` as of `ts` (default: the latest); call {@link readBarrier} first for a
   * linearizable read. A key outside the range as applied now → KEY_NOT_IN_RANGE (see
   * {@link checkReadable}); a transaction's lock at or below `ts` → KEY_LOCKED with the lock.
   */
  async get(key: Uint8Array, ts = MAX_TIMESTAMP): Promise<Uint8Array | undefined> {
    this.checkReadable(key)
    this.checkReadTs(ts)
    const admitted = this.admitRead(ts, key)
    // The range may have changed while the read waited: checked again.
    if (admitted) return admitted.then(() => this.get(key, ts))
    return this.translate(() => this.mvcc.get(key, ts))
  }

  /**
   * Live pairs in [start, end) ∩ this range as of `ts` (default: the latest), up to `limit`
   * pairs and about {@link SCAN_MAX_BYTES} bytes, and the range as the scan read it. `start`
   * must lie in the range as applied now (else KEY_NOT_IN_RANGE with the current descriptor,
   * see {@link checkReadable}): a scan is never answered for a span this range does not hold,
   * so the range end it reports is past `start`, and a caller continuing into the next range
   * from there only moves forward, even if its cache predates a split or merge. When the byte
   * budget cut the scan short, `resume` is where the rest of it starts.
   */
  async scan(start: Uint8Array, end: Uint8Array, limit: number, ts = MAX_TIMESTAMP): Promise<ScanResult> {
    this.checkReadable(start)
    this.checkReadTs(ts)
    const d = this.state.descriptor
    const to = d.endKey.length === 0 ? end : end.length === 0 || compareBytes(end, d.endKey) > 0 ? d.endKey : end
    if (to.length > 0 && compareBytes(to, start) <= 0) return { rows: [], rangeEnd: d.endKey, descriptor: d }
    const admitted = this.admitRead(ts, start, to)
    // The range may have changed while the scan waited: checked again.
    if (admitted) return admitted.then(() => this.scan(start, end, limit, ts))
    return this.translate(async () => {
      const bounds = { start: start.length === 0 ? undefined : start, end: to.length === 0 ? undefined : to }
      const { rows, locks, full } = await this.mvcc.scanPage({ ...bounds, ts, limit, maxLocks: SCAN_MAX_LOCKS, maxBytes: SCAN_MAX_BYTES })
      if (locks.length > 0) {
        const infos = locks.map((l) => ({ key: l.key, primary: l.lock.primary, startTs: l.lock.startTs, ttlMs: l.lock.ttlMs }))
        throw new KvError(KvErrorCode.KEY_LOCKED, `${locks.length} key(s) in range ${this.rangeId} are locked; the first: ${locks[0]!.message}`, undefined, { locks: infos })
      }
      return full && rows.length < limit ? { rows, rangeEnd: d.endKey, descriptor: d, resume: keySuccessor(rows.at(-1)![0]) } : { rows, rangeEnd: d.endKey, descriptor: d }
    })
  }

  /**
   * The range's keys and bytes, and its middle key (where a split would halve it) if it has
   * two keys: {@link MvccStore.approximateStats}, counted again once the range changed (a split
   * or merge) or the count is older than {@link STATS_TTL_MS} and {@link STATS_COST_FACTOR}
   * times as long as it took — and never while the range applied nothing since (an idle
   * range's leader reports it every heartbeat, and thousands of idle ranges must cost nothing).
   */
  async approximateStats(): Promise<RangeStats> {
    const fresh = this.freshStats()
    if (fresh) return fresh
    const d = this.state.descriptor
    const index = this.state.appliedIndex
    this.counting ??= (async () => {
      const started = Date.now()
      try {
        const value: RangeStats = await this.mvcc.approximateStats(d.startKey.length === 0 ? undefined : d.startKey, d.endKey.length === 0 ? undefined : d.endKey)
        const took = Date.now() - started
        this.stats = { at: Date.now(), generation: d.generation, appliedIndex: index, ttlMs: Math.max(STATS_TTL_MS, STATS_COST_FACTOR * took), value }
        this.host.markChanged(this.rangeId)
        return value
      } finally {
        this.counting = undefined
      }
    })()
    return this.counting
  }

  /**
   * {@link approximateStats} when it needs no count (the usual case of an idle range), else
   * undefined: lets a caller visiting thousands of ranges skip an await for each.
   */
  freshStats(): RangeStats | undefined {
    const d = this.state.descriptor
    const cached = this.stats
    const index = this.state.appliedIndex
    return cached && cached.generation === d.generation && (cached.appliedIndex === index || Date.now() - cached.at < cached.ttlMs) ? cached.value : undefined
  }

  /**
   * Whether the last counted stats are of the range as it is now (nothing applied since): when
   * not, {@link freshStats} may still answer with them, and a count is due once they expire.
   */
  statsCurrent(): boolean {
    const cached = this.stats
    return cached !== undefined && cached.generation === this.state.descriptor.generation && cached.appliedIndex === this.state.appliedIndex
  }

  /** Counts a request served as leader; the first since {@link takeLoad} marks the range changed (its load is news). */
  private serve(kind: 'reads' | 'writes'): void {
    if (this.served.reads === 0 && this.served.writes === 0) this.host.markChanged(this.rangeId)
    this.served[kind]++
  }

  /** Reads and writes served as leader since the last call (the load a heartbeat reports). */
  takeLoad(): { reads: number; writes: number } {
    const load = this.served
    this.served = { reads: 0, writes: 0 }
    return load
  }

  /** A checksum of the range's MVCC data and the applied index it reflects. */
  async checksum(): Promise<{ appliedIndex: number; checksum: string; keys: number }> {
    const snap = this.engine.snapshot()
    try {
      const raw = await snap.get(replicaStateKey(this.rangeId))
      const state = raw ? decodeReplicaState(raw) : this.state
      let crc = 0
      let keys = 0
      for (const [gte, lt] of this.mvcc.engineSpans(state.descriptor.startKey, state.descriptor.endKey)) {
        for await (const [k, v] of snap.scan({ gte, lt })) {
          crc = crc32c(v, crc32c(k, crc))
          keys++
        }
      }
      return { appliedIndex: state.appliedIndex, checksum: crc.toString(16).padStart(8, '0'), keys }
    } finally {
      snap.release()
    }
  }

  // ---- the state machine --------------------------------------------------------------

  /** Reloads the in-memory state after the log writer installed a snapshot. */
  async restore(snapshot: Snapshot): Promise<void> {
    const raw = await this.engine.get(replicaStateKey(this.rangeId))
    if (!raw) throw new StorageError(StorageErrorCode.CORRUPTION, `range ${this.rangeId}: snapshot ${snapshot.metadata.index} installed without its replica state`)
    this.state = decodeReplicaState(raw)
    this.host.markChanged(this.rangeId)
    this.host.membershipChanged(this)
    // The snapshot covers entries this node never applies one by one: their outcomes are unknown here.
    this.abandonProposals(`a snapshot at index ${snapshot.metadata.index} replaced its log`)
  }

  /**
   * Applies committed entries: each run is one atomic engine batch with the applied index. A
   * DeleteRange (it scans committed data) and a split, freeze or merge (they change the
   * range) run alone.
   */
  async apply(entries: readonly Entry[]): Promise<void> {
    let run: Decoded[] = []
    for (const e of entries) {
      this.appliedLogBytes += e.data.length
      const env = e.data.length === 0 ? undefined : decodeCommand(e.data)
      const kind = env?.command.kind
      // A GC command reads stored history, so it must not follow other writes in its batch.
      const alone = kind === 'deleteRange' || kind === 'split' || kind === 'freeze' || kind === 'merge' || kind === 'gc'
      if (alone && run.length > 0) {
        await this.applyRun(run)
        run = []
      }
      run.push({ entry: e, env })
      if (alone) {
        await this.applyRun(run)
        run = []
      }
    }
    if (run.length > 0) await this.applyRun(run)
    this.host.markChanged(this.rangeId)
  }

  /** Persists the new membership, and the descriptor that follows from it, with the applied index of its entry. */
  async applyConfChange(entry: Entry, confState: ConfState): Promise<void> {
    const context = decodeConfChange(entry.data).context
    const proposed = context && context.length > 0 ? descriptorFromJson(JSON.parse(new TextDecoder().decode(context)) as RangeDescriptorJson) : undefined
    const descriptor = describeMembership(this.state.descriptor, proposed, confState)
    const next: ReplicaState = { ...this.state, appliedIndex: entry.index, appliedTerm: entry.term, confState, descriptor }
    await this.engine.batch([{ type: 'put', key: replicaStateKey(this.rangeId), value: encodeReplicaState(next) }])
    this.state = next
    this.host.markChanged(this.rangeId)
    this.host.membershipChanged(this)
    this.proposalsOverwritten(entry.term)
  }

  /**
   * Changes the range's membership (on its leader) and resolves with the descriptor once the
   * change is applied here, joint configuration left. Changes touching more than one voter go
   * through joint consensus; the joint configuration is left automatically.
   */
  async changeReplicas(changes: readonly ReplicaChange[], timeoutMs: number): Promise<RangeDescriptor> {
    this.checkLeader()
    if (this.state.confState.votersOutgoing.length > 0) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${this.rangeId} is still leaving a joint configuration`)
    const d = this.state.descriptor
    const target: RangeDescriptor = { ...d, replicas: d.replicas.map((r) => ({ ...r })) }
    let id = nextReplicaId(d)
    const singles: ConfChangeSingle[] = []
    for (const c of changes) {
      const existing = target.replicas.find((r) => r.nodeId === c.nodeId)
      if (c.op === 'addLearner') {
        if (existing) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `node ${c.nodeId} already holds a replica of range ${this.rangeId}`)
        target.replicas.push({ replicaId: id, nodeId: c.nodeId, role: 'learner' })
        singles.push({ type: 'addLearner', nodeId: id++ })
        continue
      }
      if (!existing) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `node ${c.nodeId} holds no replica of range ${this.rangeId}`)
      if (c.op === 'promote' && existing.role !== 'learner') throw new KvError(KvErrorCode.INVALID_ARGUMENT, `the replica on node ${c.nodeId} is already a voter`)
      if (c.op === 'demote' && existing.role !== 'voter') throw new KvError(KvErrorCode.INVALID_ARGUMENT, `the replica on node ${c.nodeId} is not a voter`)
      if (c.op === 'remove' && existing.replicaId === this.replicaId) {
        throw new KvError(KvErrorCode.INVALID_ARGUMENT, `node ${c.nodeId} leads range ${this.rangeId}: transfer its leadership first`)
      }
      singles.push({ type: c.op === 'promote' ? 'addVoter' : c.op === 'demote' ? 'addLearner' : 'removeNode', nodeId: existing.replicaId })
    }
    target.nextReplicaId = id
    const context = new TextEncoder().encode(JSON.stringify(descriptorToJson(target)))
    try {
      this.raft.proposeConfChange(this.rangeId, { transition: 'auto', changes: singles, context })
    } catch (err) {
      if (err instanceof RaftError) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${this.rangeId} refused the change: ${err.message}`)
      throw err
    }
    const deadline = Date.now() + timeoutMs
    while (this.state.descriptor.generation === d.generation || this.state.confState.votersOutgoing.length > 0) {
      if (Date.now() > deadline) throw new KvError(KvErrorCode.TIMEOUT, `the membership change of range ${this.rangeId} did not apply within ${timeoutMs} ms; it may still`)
      await new Promise((r) => setTimeout(r, 10))
    }
    return this.state.descriptor
  }

  /** On the leader: whether the replica on `nodeId` has every committed entry in its log. */
  caughtUp(nodeId: number): boolean {
    const r = this.state.descriptor.replicas.find((x) => x.nodeId === nodeId)
    const st = this.raft.status(this.rangeId)
    const pr = r && st.progress?.get(r.replicaId)
    return pr !== undefined && pr.match >= st.commit
  }

  /** Asks the replica on `nodeId` to take over leadership (on the leader). */
  transferLeader(nodeId: number): void {
    this.checkLeader()
    const to = this.state.descriptor.replicas.find((r) => r.nodeId === nodeId)
    if (!to || to.role !== 'voter') throw new KvError(KvErrorCode.INVALID_ARGUMENT, `node ${nodeId} holds no voter of range ${this.rangeId}`)
    this.raft.transferLeader(this.rangeId, to.replicaId)
  }

  /**
   * Engine operations that replace this range's data with a snapshot's: used by the log
   * writer, which writes them in the same batch as the Raft log's snapshot record.
   */
  async snapshotOps(snapshot: Snapshot): Promise<BatchOp[]> {
    return rangeSnapshotOps(this.engine, this.mvcc, snapshot)
  }

  private async applyRun(run: readonly Decoded[]): Promise<void> {
    const results: Array<[number, CommandResult]> = []
    let lastTs = this.state.lastTs
    let descriptor = this.state.descriptor
    let frozenAt = this.state.frozenAt
    let gcThreshold = this.gcThreshold
    let gcFence = this.gcFence
    let collected = false
    let created: ReturnType<typeof bootstrapOps> & { right: ReplicaState } | undefined
    let absorbed: number | undefined
    const last = run.at(-1)!.entry
    const next = (): ReplicaState => {
      const state: ReplicaState = { ...this.state, descriptor, appliedIndex: last.index, appliedTerm: last.term, lastTs }
      if (frozenAt !== undefined) state.frozenAt = frozenAt
      if (gcThreshold > 0n) state.gcThreshold = gcThreshold
      if (gcFence > 0n) state.gcFence = gcFence
      return state
    }
    // Checked once, against the range as this run starts: only a split or a merge changes the
    // range, and those run alone.
    const d = this.state.descriptor
    const rejections = run.map(({ entry, env }) => (env ? checkCommand(env.command, d, entry.data.length) : undefined))
    // Read ahead outside the write queue, so the reads of many ranges run at once: this
    // replica is its range's only writer and has awaited its previous run.
    const commands = run.flatMap(({ env }, i) => (env && !rejections[i] ? [env.command] : []))
    // Prewrites' rollback checks are read ahead too: one engine call instead of one per key.
    const rollbackChecks = commands.flatMap((c) => (c.kind === 'prewrite' || c.kind === 'onePhaseCommit' ? c.mutations.map((m) => [m.key, c.startTs] as const) : []))
    const prefetched = await this.mvcc.readRecords(commands.flatMap(keysOf), rollbackChecks)
    await this.mvcc.write(
      async (w) => {
        for (const [i, { entry, env }] of run.entries()) {
          if (!env) continue
          const physical = composeTimestamp(env.ms)
          const ts = physical > lastTs ? physical : lastTs + 1n
          lastTs = ts
          let result: CommandResult
          const rejected = rejections[i]
          if (frozenAt !== undefined) {
            result = { ok: false, error: new KvError(KvErrorCode.UNAVAILABLE, `range ${this.rangeId} is frozen: it is merging into its left neighbour`) }
          } else if (rejected) {
            result = { ok: false, error: rejected }
          } else if (env.command.kind === 'freeze') {
            frozenAt = entry.index
            result = { ok: true, frozen: { index: entry.index, lastTs } }
          } else if (env.command.kind === 'merge') {
            const merge = this.merge(env.command)
            result = merge.result
            if (merge.merged) {
              descriptor = merge.merged
              absorbed = merge.rightId
              if (env.command.rightLastTs > lastTs) lastTs = env.command.rightLastTs
              // The merged range refuses what either part refused.
              if (merge.rightGc.threshold > gcThreshold) gcThreshold = merge.rightGc.threshold
              if (merge.rightGc.fence > gcFence) gcFence = merge.rightGc.fence
            }
          } else if (env.command.kind === 'split') {
            const split = this.split(env.command, lastTs)
            result = { ok: true }
            descriptor = split.left
            if (split.right) {
              created = { ...bootstrapOps(this.log, split.right), right: split.right }
              w.ops.push(...created.ops)
            }
          } else if (env.command.kind === 'gc') {
            const c = env.command
            const fence = c.fence > gcFence ? c.fence : gcFence
            if (c.threshold > fence) {
              result = { ok: false, error: new KvError(KvErrorCode.INVALID_ARGUMENT, `GC threshold ${c.threshold} is above range ${this.rangeId}'s GC fence ${fence}`) }
            } else {
              gcFence = fence
              if (c.threshold > gcThreshold) gcThreshold = c.threshold
              // Writes without a transaction stay above the fence too.
              if (fence > lastTs) lastTs = fence
              result = await this.collect(w, c)
              collected ||= c.keys.length > 0
            }
          } else if ((env.command.kind === 'prewrite' || env.command.kind === 'onePhaseCommit') && env.command.startTs < gcFence) {
            result = { ok: false, error: new KvError(KvErrorCode.GC_THRESHOLD, `the transaction at ${env.command.startTs} started below range ${this.rangeId}'s GC fence ${gcFence}: restart it`) }
          } else {
            result = await this.applyCommand(w, env.command, ts)
            // Later writes here must stay above a transaction's commit timestamp.
            if (result.ok && (env.command.kind === 'commit' || env.command.kind === 'onePhaseCommit') && env.command.commitTs > lastTs) lastTs = env.command.commitTs
          }
          if (env.nodeId === this.nodeId && env.proposalId !== 0) results.push([env.proposalId, result])
        }
        // Built after the commands ran: it must carry the last timestamp they used.
        w.ops.push({ type: 'put', key: replicaStateKey(this.rangeId), value: encodeReplicaState(next()) })
      },
      // Ranges are disjoint, so the applies of many replicas may share one engine write.
      { shareBatch: true, prefetched },
    )
    this.state = next()
    if (collected) this.compactSoon()
    if (created) {
      created.committed()
      this.host.hostSplit(created.right)
    }
    if (absorbed !== undefined) {
      this.host.absorbMerged(absorbed)
      // The reads the absorbed range served are not in readTs: learned anew from the oracle.
      this.invalidateReadTs(this.leads())
    }
    for (const [id, result] of results) {
      // In the engine now: reads held back by a one-phase commit go on.
      this.settleInFlight(id, true)
      this.pending.resolve(id, result)
    }
    this.proposalsOverwritten(last.term)
  }

  /**
   * Entries up to one of term `term` applied: writes this node proposed as leader of an
   * earlier term that did not apply by now never will (a later leader overwrote them). They
   * fail at once with NOT_LEADER, a certain failure the client retries elsewhere, instead of
   * waiting out their timeout with an unknown outcome.
   */
  private proposalsOverwritten(term: number): void {
    if (this.pending.size === 0) return
    // The group may be gone already (this apply removed the replica here, or merged it away).
    const hint = this.leaderHint()
    const lost = this.pending.applied(term, () => ({
      ok: false,
      error: new KvError(KvErrorCode.NOT_LEADER, `node ${this.nodeId} lost the leadership of range ${this.rangeId} before the write applied: it was not applied`, hint),
    }))
    for (const id of lost) this.settleInFlight(id, true)
  }

  /**
   * A split of this range at `c.splitKey` (a checked command): the left part's new
   * descriptor and the right range's first state, on the same replicas with the same
   * membership. Both halves' data stays where it is (ranges share the node's MVCC keyspace).
   * If the right range already has a log here (it got there first, by snapshot), only the
   * left side changes.
   */
  private split(c: Command & { kind: 'split' }, lastTs: bigint): { left: RangeDescriptor; right?: ReplicaState } {
    const d = this.state.descriptor
    const generation = d.generation + 1
    const left: RangeDescriptor = { ...d, endKey: c.splitKey, generation }
    if (this.log.hasGroup(c.newRangeId)) return { left }
    const right: ReplicaState = {
      appliedIndex: BOOTSTRAP_INDEX,
      appliedTerm: BOOTSTRAP_TERM,
      lastTs,
      confState: structuredClone(this.state.confState),
      descriptor: { ...d, rangeId: c.newRangeId, startKey: c.splitKey, generation, replicas: d.replicas.map((r) => ({ ...r })) },
    }
    // Both halves keep refusing what the range refused.
    if (this.state.gcThreshold) right.gcThreshold = this.state.gcThreshold
    if (this.state.gcFence) right.gcFence = this.state.gcFence
    return { left, right }
  }

  /**
   * A merge of the frozen right-hand neighbour into this range. Whether it applies depends
   * only on the command and this range (so every replica decides alike): the neighbour must
   * start where this range ends and sit on the same nodes. Its data is already in this node's
   * MVCC keyspace, complete because its replica here applied the freeze (the merge is proposed
   * only once every replica has) — if it has not, this node stops applying rather than serve
   * a range with missing data.
   */
  private merge(c: Command & { kind: 'merge' }): { result: CommandResult; merged?: undefined } | { result: CommandResult; merged: RangeDescriptor; rightId: number; rightGc: { threshold: bigint; fence: bigint } } {
    const d = this.state.descriptor
    let right: RangeDescriptor
    try {
      right = descriptorFromJson(JSON.parse(new TextDecoder().decode(c.right)) as RangeDescriptorJson)
    } catch {
      return { result: { ok: false, error: new KvError(KvErrorCode.INVALID_ARGUMENT, 'the merged range descriptor is malformed') } }
    }
    const nodes = (x: RangeDescriptor) => x.replicas.map((r) => `${r.nodeId}:${r.role}`).sort().join(',')
    if (d.endKey.length === 0 || compareBytes(right.startKey, d.endKey) !== 0) {
      return { result: { ok: false, error: new KvError(KvErrorCode.INVALID_ARGUMENT, `range ${right.rangeId} does not start where range ${d.rangeId} ends`) } }
    }
    if (nodes(right) !== nodes(d)) {
      return { result: { ok: false, error: new KvError(KvErrorCode.INVALID_ARGUMENT, `ranges ${d.rangeId} and ${right.rangeId} are not on the same stores; move replicas first`) } }
    }
    const local = this.host.localReplica(right.rangeId)
    if (!local || local.frozenAt === undefined || local.descriptor.generation !== right.generation) {
      throw new KvError(KvErrorCode.UNAVAILABLE, `node ${this.nodeId} cannot merge range ${right.rangeId} into ${d.rangeId}: its replica here has not applied the freeze`)
    }
    const merged: RangeDescriptor = { ...d, endKey: right.endKey, generation: Math.max(d.generation, right.generation) + 1 }
    return { result: { ok: true }, merged, rightId: right.rangeId, rightGc: { threshold: local.gcThreshold, fence: local.gcFence } }
  }

  /**
   * Applies one checked command all or nothing. Rejections that every replica reaches alike
   * (a lock in the way) become its result; anything else (I/O, corruption) propagates and
   * stops the apply loop, so no replica moves past an entry it did not apply.
   */
  private async applyCommand(w: MvccWriter, c: DataCommand, ts: bigint): Promise<CommandResult> {
    try {
      return await w.atomic(() => this.execute(w, c, ts))
    } catch (err) {
      if (err instanceof KvError || err instanceof KeyLockedError || (err instanceof StorageError && REJECTIONS.has(err.code))) return { ok: false, error: toKvError(err) }
      throw err
    }
  }

  private async execute(w: MvccWriter, c: DataCommand, ts: bigint): Promise<CommandResult> {
    switch (c.kind) {
      case 'put':
        await w.put(c.key, c.value, ts)
        return { ok: true }
      case 'delete':
        await w.delete(c.key, ts)
        return { ok: true }
      case 'cas': {
        const current = await w.latest(c.key)
        const matches = current === undefined || c.expected === undefined ? current === c.expected : compareBytes(current, c.expected) === 0
        if (!matches) return { ok: true, succeeded: false, current }
        if (c.value === undefined) await w.delete(c.key, ts)
        else await w.put(c.key, c.value, ts)
        return { ok: true, succeeded: true, current }
      }
      case 'batch':
        for (const [i, write] of c.writes.entries()) {
          await yieldEvery(i)
          if (write.value === undefined) await w.delete(write.key, ts)
          else await w.put(write.key, write.value, ts)
        }
        return { ok: true }
      case 'deleteRange': {
        const { end, resume } = clampEnd(c.end, this.state.descriptor)
        let deleted = 0
        const bounds = { start: c.start.length === 0 ? undefined : c.start, end: end.length === 0 ? undefined : end }
        for await (const [k] of this.mvcc.scan({ ...bounds, ts: MAX_TIMESTAMP, limit: DELETE_RANGE_MAX_KEYS + 1 })) {
          if (deleted === DELETE_RANGE_MAX_KEYS) return { ok: true, deleted, resume: k }
          await yieldEvery(deleted)
          await w.delete(k, ts)
          deleted++
        }
        return { ok: true, deleted, resume }
      }
      case 'prewrite':
        for (const [i, m] of c.mutations.entries()) {
          await yieldEvery(i)
          await prewrite(w, m, c.primary, c.startTs, c.ttlMs)
        }
        return { ok: true }
      case 'onePhaseCommit':
        return onePhaseCommit(w, c)
      case 'commit':
        for (const [i, k] of c.keys.entries()) {
          await yieldEvery(i)
          await w.commit(k, c.startTs, c.commitTs)
        }
        return { ok: true }
      case 'rollback':
        for (const [i, k] of c.keys.entries()) {
          await yieldEvery(i)
          await w.rollback(k, c.startTs)
        }
        return { ok: true }
      case 'heartbeat':
        await w.heartbeat(c.primary, c.startTs, c.ttlMs)
        return { ok: true }
      case 'checkTxn':
        return { ok: true, txn: await checkTxn(w, c) }
    }
  }

  /** Collects on the keys of a checked GC command, at most {@link GC_MAX_DELETES} engine entries in all. */
  private async collect(w: MvccWriter, c: Command & { kind: 'gc' }): Promise<CommandResult> {
    let budget = GC_MAX_DELETES
    for (const [i, k] of c.keys.entries()) {
      await yieldEvery(i)
      if (budget <= 0) break
      const stats = await w.gcKey(k, c.threshold, budget)
      budget -= stats.versionsRemoved + stats.tombstonesRemoved + stats.rollbacksRemoved
    }
    return { ok: true, collected: GC_MAX_DELETES - budget }
  }

  private compactTimer: NodeJS.Timeout | undefined

  /**
   * Compacts the range's spans a little after garbage collection applied here, so the space of
   * what it deleted comes back (LevelDB keeps deleted entries until it compacts their files).
   * Local housekeeping: it changes no data, so replicas need not agree on when.
   */
  private compactSoon(): void {
    if (this.compactTimer) clearTimeout(this.compactTimer)
    this.compactTimer = setTimeout(() => {
      this.compactTimer = undefined
      const d = this.state.descriptor
      void (async () => {
        for (const [gte, lt] of this.mvcc.engineSpans(d.startKey, d.endKey)) await this.engine.compactRange(gte, lt)
        // The engine's size estimates of older versions changed: count again.
        this.stats = undefined
        this.host.markChanged(this.rangeId)
      })().catch(() => undefined) // the engine closed meanwhile: nothing to give back
    }, GC_COMPACT_DELAY_MS)
    this.compactTimer.unref()
  }

  private async makeSnapshot(): Promise<Snapshot> {
    const snap = this.engine.snapshot()
    try {
      const raw = await snap.get(replicaStateKey(this.rangeId))
      if (!raw) throw new StorageError(StorageErrorCode.CORRUPTION, `range ${this.rangeId} has no replica state`)
      const state = decodeReplicaState(raw)
      const pairs: Array<[Uint8Array, Uint8Array]> = []
      for (const [gte, lt] of this.mvcc.engineSpans(state.descriptor.startKey, state.descriptor.endKey)) {
        for await (const pair of snap.scan({ gte, lt })) pairs.push(pair)
      }
      return {
        data: encodeRangeSnapshot({ state, pairs }),
        metadata: { index: state.appliedIndex, term: state.appliedTerm, confState: state.confState },
      }
    } finally {
      snap.release()
    }
  }

  private async translate<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read()
    } catch (err) {
      throw toKvError(err)
    }
  }
}


/** Keys a command applies between two turns of the event loop (Raft ticks and heartbeats run in between). */
const APPLY_YIELD_EVERY = 256

/** Yields to the event loop before the `i`th key of a command when its turn has come. */
async function yieldEvery(i: number): Promise<void> {
  if (i > 0 && i % APPLY_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
}

/** A prewrite of one mutation; an insert that finds its key present is KEY_EXISTS with the key. */
async function prewrite(w: MvccWriter, m: TxnMutation, primary: Uint8Array, startTs: bigint, ttlMs: number): Promise<void> {
  try {
    await w.prewrite(m, primary, startTs, ttlMs)
  } catch (err) {
    if (err instanceof StorageError && err.code === StorageErrorCode.KEY_EXISTS) throw new KvError(KvErrorCode.KEY_EXISTS, err.message, undefined, { key: m.key })
    throw err
  }
}

/**
 * A one-phase commit (run inside {@link MvccWriter.atomic}): every mutation is prewritten
 * (another transaction's lock → KEY_LOCKED, a version committed after the start →
 * WRITE_CONFLICT, an insert over a live value → KEY_EXISTS) and then committed at the
 * command's timestamp, so the transient locks never reach the engine. Applied again (the same
 * request sent twice), it finds its own version and answers as before.
 */
async function onePhaseCommit(w: MvccWriter, c: Command & { kind: 'onePhaseCommit' }): Promise<CommandResult> {
  const primary = c.mutations[0]!.key
  // A put or delete leaves a version of this transaction (a lock-only mutation leaves none).
  const written = c.mutations.find((m) => m.kind !== 'lock')?.key
  const rec = written && (await w.record(written))
  // Only a version after the start can be this transaction's (the history is read only then).
  const done = written && rec?.version && rec.version.commitTs > c.startTs ? await w.findCommit(written, rec, c.startTs) : undefined
  if (done) return { ok: true, commitTs: done.commitTs }
  for (const [i, m] of c.mutations.entries()) {
    await yieldEvery(i)
    await prewrite(w, m, primary, c.startTs, 0)
  }
  for (const [i, m] of c.mutations.entries()) {
    await yieldEvery(i)
    await w.commit(m.key, c.startTs, c.commitTs)
  }
  return { ok: true, commitTs: c.commitTs }
}

/** Storage errors that are a command's deterministic outcome on every replica (not a fault of this node). */
const REJECTIONS: ReadonlySet<StorageErrorCode> = new Set([
  StorageErrorCode.WRITE_CONFLICT,
  StorageErrorCode.TXN_NOT_FOUND,
  StorageErrorCode.ALREADY_COMMITTED,
])

/**
 * The fate of the transaction at `c.startTs`, from its primary key. A live lock that expired
 * as of `c.nowTs` is rolled back; so is a transaction with no trace here at all (its primary
 * prewrite never applied: the marker left by the rollback makes sure it never will).
 */
async function checkTxn(w: MvccWriter, c: Command & { kind: 'checkTxn' }): Promise<TxnState> {
  const rec = await w.record(c.primary)
  if (rec?.lock?.startTs === c.startTs) {
    if (physicalMs(c.nowTs) < physicalMs(c.startTs) + rec.lock.ttlMs) return { state: 'locked', ttlMs: rec.lock.ttlMs }
    await w.rollback(c.primary, c.startTs)
    return { state: 'rolled-back' }
  }
  const committed = await w.findCommit(c.primary, rec, c.startTs)
  if (committed) return { state: 'committed', commitTs: committed.commitTs }
  if (!(await w.isRolledBack(c.primary, c.startTs))) await w.rollback(c.primary, c.startTs)
  return { state: 'rolled-back' }
}

/** The keys a command writes (for prefetching; a DeleteRange's are found by scanning). */
function keysOf(c: Command): Uint8Array[] {
  switch (c.kind) {
    case 'deleteRange':
    case 'split':
    case 'freeze':
    case 'merge':
      return []
    case 'batch':
      return c.writes.map((w) => w.key)
    case 'prewrite':
    case 'onePhaseCommit':
      return c.mutations.map((m) => m.key)
    case 'commit':
    case 'rollback':
      return c.keys
    case 'checkTxn':
    case 'heartbeat':
      return [c.primary]
    case 'gc':
      return c.keys
    default:
      return [c.key]
  }
}

/** Engine operations deleting every MVCC pair of a range's span. */
export async function clearRangeOps(engine: Engine, mvcc: MvccStore, d: RangeDescriptor): Promise<BatchOp[]> {
  const ops: BatchOp[] = []
  for (const [gte, lt] of mvcc.engineSpans(d.startKey, d.endKey)) {
    for await (const [k] of engine.scan({ gte, lt })) ops.push({ type: 'del', key: k })
  }
  return ops
}

/** Engine operations replacing a range's data with a snapshot's (clear its spans, write the pairs and the state). */
export async function rangeSnapshotOps(engine: Engine, mvcc: MvccStore, snapshot: Snapshot): Promise<BatchOp[]> {
  const { state, pairs } = decodeRangeSnapshot(snapshot.data)
  const ops = await clearRangeOps(engine, mvcc, state.descriptor)
  for (const [key, value] of pairs) ops.push({ type: 'put', key, value })
  ops.push({ type: 'put', key: replicaStateKey(state.descriptor.rangeId), value: encodeReplicaState(state) })
  return ops
}

/**
 * The descriptor after a membership change: the replicas of `cs` (nodes from the previous
 * descriptor or, for new ones, the proposed one), voters of the incoming majority and
 * outgoing voters being removed as voters, the rest learners; one generation later.
 */
function describeMembership(prev: RangeDescriptor, proposed: RangeDescriptor | undefined, cs: ConfState): RangeDescriptor {
  const nodeOf = new Map(prev.replicas.map((r) => [r.replicaId, r.nodeId]))
  for (const r of proposed?.replicas ?? []) if (!nodeOf.has(r.replicaId)) nodeOf.set(r.replicaId, r.nodeId)
  const ids = [...new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext])].sort((a, b) => a - b)
  const replicas = ids.map((replicaId): ReplicaDescriptor => {
    const nodeId = nodeOf.get(replicaId)
    if (nodeId === undefined) throw new StorageError(StorageErrorCode.CORRUPTION, `range ${prev.rangeId}: replica ${replicaId} joined without a node`)
    const learner = cs.learners.includes(replicaId) || cs.learnersNext.includes(replicaId)
    return { replicaId, nodeId, role: cs.voters.includes(replicaId) || !learner ? 'voter' : 'learner' }
  })
  const next = Math.max(nextReplicaId(prev), proposed ? nextReplicaId(proposed) : 0)
  return { ...prev, replicas, generation: prev.generation + 1, nextReplicaId: next }
}

/** The KV code of each storage error; others map to UNAVAILABLE. */
const STORAGE_TO_KV: Partial<Record<StorageErrorCode, KvErrorCode>> = {
  [StorageErrorCode.CORRUPTION]: KvErrorCode.CORRUPTION,
  [StorageErrorCode.INVALID_KEY]: KvErrorCode.INVALID_ARGUMENT,
  [StorageErrorCode.INVALID_VALUE]: KvErrorCode.INVALID_ARGUMENT,
  [StorageErrorCode.TOO_LARGE]: KvErrorCode.INVALID_ARGUMENT,
  [StorageErrorCode.INVALID_ARGUMENT]: KvErrorCode.INVALID_ARGUMENT,
  [StorageErrorCode.WRITE_CONFLICT]: KvErrorCode.WRITE_CONFLICT,
  [StorageErrorCode.KEY_EXISTS]: KvErrorCode.KEY_EXISTS,
  [StorageErrorCode.TXN_NOT_FOUND]: KvErrorCode.TXN_ABORTED,
  [StorageErrorCode.ALREADY_COMMITTED]: KvErrorCode.ALREADY_COMMITTED,
}

/** Maps storage errors to KV error codes. */
export function toKvError(err: unknown): KvError {
  if (err instanceof KvError) return err
  if (err instanceof KeyLockedError) {
    const lock = { key: err.key, primary: err.lock.primary, startTs: err.lock.startTs, ttlMs: err.lock.ttlMs }
    return new KvError(KvErrorCode.KEY_LOCKED, err.message, undefined, { cause: err, lock })
  }
  if (err instanceof StorageError) return new KvError(STORAGE_TO_KV[err.code] ?? KvErrorCode.UNAVAILABLE, err.message, undefined, { cause: err })
  return new KvError(KvErrorCode.UNAVAILABLE, err instanceof Error ? err.message : String(err), undefined, { cause: err })
}

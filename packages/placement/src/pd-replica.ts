// One node's replica of the PD group: the state machine its Raft group applies to (commands
// → PD records, with the applied index in the same engine batch), the proposer that waits
// for its commands to apply, the linearizable read barrier, PD snapshots, and the group's
// membership changes (on its leader), which move it between stores as a range's replicas move.

import { randomInt } from 'node:crypto'
import { ProposalWaiters, RaftError, emptyConfState, type ConfChangeSingle, type ConfState, type Entry, type GroupStateMachine, type MultiRaft, type Snapshot } from '@mrdb/raft'
import { compareBytes, type BatchOp, type Engine } from '@mrdb/storage'
import { PdError, PdErrorCode } from './errors.js'
import { applyPdCommand, checkInitialState } from './pd-apply.js'
import { decodePdEntry, encodePdCommand, MAX_CLUSTER_ID_LENGTH, type PdCommand, type PdResult } from './pd-command.js'
import { cloneRange, cloneStore, emptyPdState, parseRange, parseStore, PD_GROUP_ID, PdState, PdStateEdit, rangeToJson, type PdStateData, type RangeRecord, type StoreRecord } from './pd-state.js'
import { clearPdStateOps, decodePdSnapshot, encodePdSnapshot, pdEditOps, pdStateOps, readPdState, type PdApplied } from './pd-storage.js'

/** The Raft index and term a new PD group starts at: its log begins with a snapshot there. */
export const PD_BOOTSTRAP = { index: 1, term: 1 } as const

/** What a {@link PdReplica} runs on. */
export interface PdReplicaOptions {
  /** This node's (store's) id, which is also its replica id in the PD group. */
  nodeId: number
  /** The node's engine, which holds the PD state under its own prefix. */
  engine: Engine
  /** The node's multiraft host, through which proposals and reads go. */
  raft: MultiRaft
  /** Told when an applied membership (or snapshot) no longer holds this node, which the one before did: its replica is out of the group. */
  onRemoved?: () => void
}

/** One step of a PD membership change: a learner added, a learner made a voter, a replica removed. */
export interface PdMemberChange {
  op: 'addLearner' | 'promote' | 'remove'
  /** The store (and replica id) it concerns. */
  nodeId: number
}

/**
 * The PD replica of one node; see the file comment. In the PD group a node's replica id is
 * its store id, so the group's membership (its ConfState) says where every replica lives.
 * A store removed from the PD group must not be added back under the same id. Shaped as a
 * kv Store's SystemGroup, which hosts it beside the node's ranges.
 */
export class PdReplica implements GroupStateMachine {
  private readonly pending = new ProposalWaiters<PdResult>()
  /**
   * Starts at random, so ids of this incarnation do not repeat those of an earlier one still
   * in the log (results are matched to waiters by node and proposal id). 2^48 ids of room.
   */
  private nextProposalId = randomInt(1, 2 ** 48)
  /** Called after every membership this replica takes in (applied or from a snapshot). */
  private readonly confWaiters = new Set<() => void>()
  /** What {@link ranges} answered last, and for which state and version of the range table. */
  private rangesCache: { state: PdState; version: number; ranges: readonly RangeRecord[] } | undefined

  private constructor(
    private readonly o: PdReplicaOptions,
    private applied: PdApplied,
    private state: PdState,
    /** Where the group's replicas are, as the leader said when this node joined, until a snapshot tells (its applied membership may be older). */
    private joinPeers: readonly number[] = [],
  ) {}

  /** Loads this node's PD replica from its engine; undefined when the node holds no PD state. */
  static async load(options: PdReplicaOptions): Promise<PdReplica | undefined> {
    const stored = await readPdState(options.engine)
    return stored && new PdReplica(options, stored.applied, PdState.from(stored.data))
  }

  /**
   * The replica of a node the PD group is adding (as a learner): the state this node kept from
   * an earlier membership, if any (its log catches up), else none, in memory only, for the
   * leader's snapshot to fill. `members` are the group's replicas as the leader has them, this
   * one included: until a snapshot tells the membership, they are where messages go.
   */
  static async joining(options: PdReplicaOptions, members: readonly number[]): Promise<PdReplica> {
    const stored = await readPdState(options.engine)
    if (stored) return new PdReplica(options, stored.applied, PdState.from(stored.data), members)
    return new PdReplica(options, { appliedIndex: 0, appliedTerm: 0, confState: emptyConfState() }, PdState.from(emptyPdState()), members)
  }

  /**
   * The engine ops of the state a new PD group starts from, at {@link PD_BOOTSTRAP}. Write them
   * in the same batch as the Raft log's bootstrap snapshot record of group {@link PD_GROUP_ID}
   * (index 1, term 1, hard state commit 1) on every initial member. `initial` is usually
   * {@link emptyPdState} (then a `bootstrap` command sets the cluster up) or a whole
   * bootstrapped state. Throws a PdError if it breaks an invariant of the PD state.
   */
  static bootstrapOps(initial: PdStateData, confState: ConfState): BatchOp[] {
    const checked = checkData(initial)
    const rejected = checkInitialState(checked.clusterId, checked.stores, checked.ranges, checked.nextRangeId)
    if (rejected) throw rejected
    return pdStateOps({ appliedIndex: PD_BOOTSTRAP.index, appliedTerm: PD_BOOTSTRAP.term, confState }, checked)
  }

  /** The index of the last entry applied (durably) here. */
  get appliedIndex(): number {
    return this.applied.appliedIndex
  }

  /** This node's replica id in the PD group: its node id. */
  get replicaId(): number {
    return this.o.nodeId
  }

  /** The PD group's membership as of the applied index. */
  confState(): ConfState {
    return structuredClone(this.applied.confState)
  }

  /** The node of every replica of the PD group (the replica id is the node id). */
  peers(): ReadonlyMap<number, number> {
    const cs = this.applied.confState
    const ids = new Set([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext, ...this.joinPeers])
    return new Map([...ids].map((id) => [id, id]))
  }

  /** Whether the applied membership holds this node (in any role, joint or not). */
  isMember(): boolean {
    const cs = this.applied.confState
    return [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext].some((ids) => ids.includes(this.o.nodeId))
  }

  // ---- reading the state (call readBarrier first for a linearizable read) ----------------

  /** The cluster's id; empty before bootstrap. */
  get clusterId(): string {
    return this.state.counters.clusterId
  }

  /** The TSO's persisted upper bound. */
  get tsoLimit(): bigint {
    return this.state.counters.tsoLimit
  }

  /** The cluster's GC safe point as applied here (0: none yet). */
  get gcSafePoint(): bigint {
    return this.state.counters.gcSafePoint ?? 0n
  }

  /** Every store, by id. */
  stores(): StoreRecord[] {
    return [...this.state.allStores()].sort((a, b) => a.storeId - b.storeId).map(cloneStore)
  }

  /**
   * Every range, by start key. The same records until the range table changes (the PD leader
   * reads the whole table several times a second, and 10,000 copies each time were a part of
   * its idle work): callers must not change them.
   */
  ranges(): readonly RangeRecord[] {
    const cached = this.rangesCache
    if (cached?.state === this.state && cached.version === this.state.rangesVersion) return cached.ranges
    const ranges = [...this.state.allRanges()].sort((a, b) => compareBytes(a.startKey, b.startKey)).map(cloneRange)
    this.rangesCache = { state: this.state, version: this.state.rangesVersion, ranges }
    return ranges
  }

  /** A store's record, if known. */
  storeById(storeId: number): StoreRecord | undefined {
    const s = this.state.store(storeId)
    return s && cloneStore(s)
  }

  /** A range's record, if known. */
  rangeById(rangeId: number): RangeRecord | undefined {
    const r = this.state.range(rangeId)
    return r && cloneRange(r)
  }

  // ---- serving ----------------------------------------------------------------------------

  /**
   * Throws NOT_LEADER (with a hint) unless this replica leads the PD group, as of the host's
   * last Ready; NOT_LEADER without a hint once the group no longer runs here (its Raft log
   * turned out damaged), so that callers go to the other PD nodes.
   */
  checkLeader(): void {
    if (!this.o.raft.hasGroup(PD_GROUP_ID)) throw new PdError(PdErrorCode.NOT_LEADER, `node ${this.o.nodeId}'s PD replica no longer runs`)
    const lead = this.o.raft.leaderOf(PD_GROUP_ID)
    if (lead !== 0 && lead === this.replicaId) return
    throw new PdError(PdErrorCode.NOT_LEADER, `node ${this.o.nodeId} does not lead the PD group`, lead === 0 ? undefined : lead)
  }

  /**
   * Proposes a command and resolves with its result once applied here: the values of its
   * kind, or the error that rejected it. A TIMEOUT result after `timeoutMs` means the outcome
   * is unknown. Throws NOT_LEADER before proposing on a follower, UNAVAILABLE if Raft refuses.
   */
  propose<C extends PdCommand>(command: C, timeoutMs: number): Promise<PdResult<C['kind']>> {
    this.checkLeader()
    const proposalId = this.nextProposalId++
    const data = encodePdCommand({ proposalId, nodeId: this.o.nodeId, command })
    const result = this.pending.wait(proposalId, timeoutMs, (): PdResult => ({
      ok: false,
      error: new PdError(PdErrorCode.TIMEOUT, `${command.kind} did not apply within ${timeoutMs} ms; it may or may not have`),
    }))
    try {
      this.pending.appended(proposalId, this.o.raft.propose(PD_GROUP_ID, data))
    } catch (err) {
      this.pending.cancel(proposalId)
      return Promise.reject(err instanceof RaftError ? new PdError(PdErrorCode.UNAVAILABLE, `the PD group dropped the proposal: ${err.message}`, undefined, { cause: err }) : err)
    }
    return result as Promise<PdResult<C['kind']>>
  }

  /** Raises the TSO's persisted bound through the group: a TimestampOracle's `raiseLimit`. Throws the command's PdError. */
  async raiseTsoLimit(limit: bigint, timeoutMs: number): Promise<bigint> {
    const r = await this.propose({ kind: 'raiseTsoLimit', limit }, timeoutMs)
    if (!r.ok) throw r.error
    return r.limit
  }

  /** Raises the cluster's GC safe point through the group; resolves with the safe point now. Throws the command's PdError. */
  async raiseGcSafePoint(safePoint: bigint, timeoutMs: number): Promise<bigint> {
    const r = await this.propose({ kind: 'raiseGcSafePoint', safePoint }, timeoutMs)
    if (!r.ok) throw r.error
    return r.safePoint
  }

  /** Waits until this leader may serve a linearizable read (ReadIndex, then apply up to it). */
  async readBarrier(): Promise<void> {
    this.checkLeader()
    try {
      await this.o.raft.waitApplied(PD_GROUP_ID, await this.o.raft.readIndex(PD_GROUP_ID))
    } catch (err) {
      if (err instanceof RaftError) throw new PdError(PdErrorCode.UNAVAILABLE, `the PD group could not confirm its leader: ${err.message}`, undefined, { cause: err })
      throw err
    }
  }

  // ---- membership (on the leader) --------------------------------------------------------

  /**
   * Changes the group's membership and resolves with it once applied here, any joint
   * configuration left (a change of more than one voter goes through one, left
   * automatically). Throws INVALID_ARGUMENT for a change that does not fit the membership
   * (this leader cannot remove itself: transfer leadership first), UNAVAILABLE while an
   * earlier change is under way or when Raft refuses, TIMEOUT after `timeoutMs` (it may
   * still apply).
   */
  async changeMembership(changes: readonly PdMemberChange[], timeoutMs: number): Promise<ConfState> {
    this.checkLeader()
    const cs = this.applied.confState
    if (cs.votersOutgoing.length > 0) throw new PdError(PdErrorCode.UNAVAILABLE, 'the PD group is still leaving a joint configuration')
    const voters = new Set(cs.voters)
    const learners = new Set(cs.learners)
    const singles: ConfChangeSingle[] = changes.map((c) => {
      const invalid = (why: string) => new PdError(PdErrorCode.INVALID_ARGUMENT, `PD membership: store ${c.nodeId} ${why}`)
      switch (c.op) {
        case 'addLearner':
          if (voters.has(c.nodeId) || learners.has(c.nodeId)) throw invalid('already holds a PD replica')
          learners.add(c.nodeId)
          return { type: 'addLearner', nodeId: c.nodeId }
        case 'promote':
          if (!learners.delete(c.nodeId)) throw invalid('holds no PD learner')
          voters.add(c.nodeId)
          return { type: 'addVoter', nodeId: c.nodeId }
        case 'remove':
          if (c.nodeId === this.o.nodeId) throw invalid('leads the PD group: transfer its leadership first')
          if (!voters.delete(c.nodeId) && !learners.delete(c.nodeId)) throw invalid('holds no PD replica')
          return { type: 'removeNode', nodeId: c.nodeId }
      }
    })
    if (voters.size === 0) throw new PdError(PdErrorCode.INVALID_ARGUMENT, 'PD membership: the group needs a voter')
    const done = (): boolean => {
      const now = this.applied.confState
      return now.votersOutgoing.length === 0 && sameIds(now.voters, voters) && sameIds(now.learners, learners)
    }
    try {
      this.o.raft.proposeConfChange(PD_GROUP_ID, { transition: 'auto', changes: singles })
    } catch (err) {
      if (err instanceof RaftError) throw new PdError(PdErrorCode.UNAVAILABLE, `the PD group refused the membership change: ${err.message}`, undefined, { cause: err })
      throw err
    }
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!done()) return
        clearTimeout(timer)
        this.confWaiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        this.confWaiters.delete(check)
        reject(new PdError(PdErrorCode.TIMEOUT, `the PD membership change did not apply within ${timeoutMs} ms; it may still`))
      }, timeoutMs)
      timer.unref()
      this.confWaiters.add(check)
      check()
    })
    return this.confState()
  }

  /** On the leader: whether the replica on `nodeId` has every committed entry in its log. */
  caughtUp(nodeId: number): boolean {
    const st = this.o.raft.status(PD_GROUP_ID)
    const pr = st.progress?.get(nodeId)
    return pr !== undefined && pr.match >= st.commit
  }

  /** Asks the PD voter on `nodeId` to take over leadership (on the leader). */
  transferLeader(nodeId: number): void {
    this.checkLeader()
    if (!this.applied.confState.voters.includes(nodeId)) throw new PdError(PdErrorCode.INVALID_ARGUMENT, `store ${nodeId} holds no PD voter`)
    this.o.raft.transferLeader(PD_GROUP_ID, nodeId)
  }

  // ---- the state machine ----------------------------------------------------------------

  /** Applies committed entries: their changes and the new applied index in one engine batch. */
  async apply(entries: readonly Entry[]): Promise<void> {
    const last = entries.at(-1)
    if (!last) return
    const edit = new PdStateEdit(this.state)
    const results: Array<[number, PdResult]> = []
    for (const e of entries) {
      const decoded = e.data.length === 0 ? undefined : decodePdEntry(e.data)
      if (!decoded) continue
      const { command } = decoded
      const result: PdResult = command instanceof PdError ? { ok: false, error: command } : applyPdCommand(edit, command)
      if (decoded.nodeId === this.o.nodeId && decoded.proposalId !== 0) results.push([decoded.proposalId, result])
    }
    const applied: PdApplied = { ...this.applied, appliedIndex: last.index, appliedTerm: last.term }
    await this.o.engine.batch(pdEditOps(applied, edit))
    this.state.commit(edit)
    this.applied = applied
    for (const [id, result] of results) this.pending.resolve(id, result)
    this.proposalsOverwritten(last.term)
  }

  /**
   * Entries up to one of term `term` applied: commands this node proposed as leader of an
   * earlier term that did not apply by now never will. They fail at once with NOT_LEADER (a
   * certain failure, retried at the new leader) instead of waiting out their timeout.
   */
  private proposalsOverwritten(term: number): void {
    if (this.pending.size === 0) return
    // The group may be gone already (this apply removed the replica here).
    const lead = this.o.raft.hasGroup(PD_GROUP_ID) ? this.o.raft.leaderOf(PD_GROUP_ID) : 0
    this.pending.applied(term, (): PdResult => ({
      ok: false,
      error: new PdError(PdErrorCode.NOT_LEADER, `node ${this.o.nodeId} lost the PD group's leadership before the command applied: it was not applied`, lead === 0 ? undefined : lead),
    }))
  }

  /** Persists the new membership with the applied index of its entry, and tells the host where the replicas live. */
  async applyConfChange(entry: Entry, confState: ConfState): Promise<void> {
    const applied: PdApplied = { appliedIndex: entry.index, appliedTerm: entry.term, confState }
    await this.o.engine.batch(pdEditOps(applied, new PdStateEdit(this.state)))
    const wasMember = this.isMember()
    this.applied = applied
    this.membershipApplied(wasMember)
    this.proposalsOverwritten(entry.term)
  }

  /** Reloads the in-memory state after the log writer installed a snapshot (with {@link snapshotOps}). */
  async restore(snapshot: Snapshot): Promise<void> {
    const stored = await readPdState(this.o.engine)
    if (!stored || stored.applied.appliedIndex !== snapshot.metadata.index) {
      throw new PdError(PdErrorCode.CORRUPTION, `PD snapshot ${snapshot.metadata.index} was installed without its state`)
    }
    const wasMember = this.isMember()
    this.applied = stored.applied
    this.state = PdState.from(stored.data)
    this.joinPeers = []
    this.membershipApplied(wasMember)
    // The snapshot covers entries this node never applies one by one: their outcomes are unknown here.
    this.pending.abandon((): PdResult => ({ ok: false, error: new PdError(PdErrorCode.TIMEOUT, `a PD snapshot at index ${snapshot.metadata.index} replaced this node's log; the command may or may not have applied`) }))
  }

  /** The whole PD state at the applied index, from a consistent engine snapshot. */
  async makeSnapshot(): Promise<Snapshot> {
    const snap = this.o.engine.snapshot()
    try {
      const stored = await readPdState(snap)
      if (!stored) throw new PdError(PdErrorCode.CORRUPTION, `node ${this.o.nodeId} has no PD state`)
      const { appliedIndex, appliedTerm, confState } = stored.applied
      return { data: encodePdSnapshot(stored.data), metadata: { index: appliedIndex, term: appliedTerm, confState } }
    } finally {
      snap.release()
    }
  }

  /**
   * Engine ops replacing this node's PD state with a snapshot's. The log writer writes them
   * in the same batch as the Raft log's snapshot record; {@link restore} follows.
   */
  async snapshotOps(snapshot: Snapshot): Promise<BatchOp[]> {
    const data = decodePdSnapshot(snapshot.data)
    const { index, term, confState } = snapshot.metadata
    return [...(await clearPdStateOps(this.o.engine)), ...pdStateOps({ appliedIndex: index, appliedTerm: term, confState }, data)]
  }

  /** Tells the host where the replicas live, wakes membership waiters, and reports this node's removal (`wasMember` before). */
  private membershipApplied(wasMember: boolean): void {
    if (this.o.raft.hasGroup(PD_GROUP_ID)) this.o.raft.setPeers(PD_GROUP_ID, this.peers())
    for (const w of [...this.confWaiters]) w()
    if (wasMember && !this.isMember()) this.o.onRemoved?.()
  }
}

function sameIds(a: readonly number[], b: ReadonlySet<number>): boolean {
  return a.length === b.size && a.every((id) => b.has(id))
}

/** Checks every record and counter of a state given in code, as commands are checked; throws a PdError. */
function checkData(d: PdStateData): PdStateData {
  const invalid = (message: string): PdError => new PdError(PdErrorCode.INVALID_ARGUMENT, message)
  if (typeof d.clusterId !== 'string' || d.clusterId.length > MAX_CLUSTER_ID_LENGTH) throw invalid(`cluster id must be a string of at most ${MAX_CLUSTER_ID_LENGTH} characters`)
  if (!Number.isSafeInteger(d.nextRangeId) || d.nextRangeId < 1 || !Number.isSafeInteger(d.nextReplicaId) || d.nextReplicaId < 1) throw invalid('next ids must be positive integers')
  if (typeof d.tsoLimit !== 'bigint' || d.tsoLimit < 0n) throw invalid('the TSO limit must be a non-negative bigint')
  return { ...d, stores: d.stores.map(parseStore), ranges: d.ranges.map((r) => parseRange(rangeToJson(r))) }
}

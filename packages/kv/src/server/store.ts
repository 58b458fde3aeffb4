// A node's store: one engine holding every local replica's Raft log and MVCC data, the
// multiraft host that drives their groups, and the routing of KV requests to replicas.
// Replicas whose stored Raft log fails verification at start are quarantined, not run; a
// replica whose log turns out damaged while it runs is stopped and quarantined the same way.

import { CorruptionError, MultiRaft, SeededRng, type ConfState, type GroupStateMachine, type Message, type RaftLogger, type Rng, type Snapshot, type Transport } from '@mrdb/raft'
import { MAX_TIMESTAMP, MvccStore, RaftLogStore, raftLogEntryKey, type BatchOp, type Engine, type RaftLogDamage } from '@mrdb/storage'
import { ChangedRanges } from './changed-ranges.js'
import { EngineLogWriter } from './engine-log-writer.js'
import { RangeLogStorage } from './range-log-storage.js'
import { KvError, KvErrorCode } from '../api/errors.js'
import { rangeContains, rangesOverlap, replicaOnNode, type RangeDescriptor } from '../api/range-descriptor.js'
import { Replica, clearRangeOps, rangeSnapshotOps, type CommandResult, type ReplicaChange, type ScanResult, type ReplicaHost } from './replica.js'
import { decodeReplicaState, encodeReplicaState, REPLICA_STATE_SPAN, replicaStateKey, type ReplicaState } from './replica-state.js'
import type { Command } from './command.js'
import type { TimestampSource, TxnMutation } from '../api/types.js'
import { checkCommand } from './command-check.js'
import { BOOTSTRAP_INDEX, BOOTSTRAP_TERM, bootstrapLog, bootstrapOps } from './range-bootstrap.js'

/** Bytes of applied log entries after which a range's log is compacted, however few they are. */
const MAX_LOG_BYTES = 64 * 1024 * 1024
/**
 * Bytes of applied log entries after which a quiesced range's log is cut to its applied index
 * (every replica holds every entry: nobody needs them any more).
 */
const IDLE_LOG_BYTES = 64 * 1024
/**
 * Bytes of a quiesced range's cut after which the cut span is compacted at once, so the space
 * comes back now (a compaction flushes LevelDB's write buffer: not for every small cut).
 */
const IDLE_COMPACT_BYTES = 4 * 1024 * 1024

/** Ranges a bootstrap prepares or hosts between two turns of the event loop. */
const BOOTSTRAP_CHUNK = 250

/** Lets the event loop run what waits (I/O, timers) before going on. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Options of {@link Store.open}. */
export interface StoreOptions {
  nodeId: number
  engine: Engine
  transport: Transport
  /** Seed of election timeouts; default: derived from the node id and the clock. */
  rng?: Rng
  tickMs?: number
  /** fsync Raft log writes (default true). */
  sync?: boolean
  /** How long a write waits to apply before TIMEOUT; default 5 s. */
  proposalTimeoutMs?: number
  /**
   * Serve linearizable reads from the leader's lease instead of a ReadIndex heartbeat round
   * (faster; safe only while clock drift stays within the lease margin). Default false.
   */
  leaseReads?: boolean
  /** Raft log entries a range keeps before it is compacted; default 10,000. */
  maxLogEntries?: number
  /**
   * The timestamp oracle (the node's batcher): a replica that becomes leader fetches a
   * timestamp from it before it accepts one-phase commits. Without it, every one-phase commit
   * is refused (ONE_PHASE_REFUSED) and transactions commit in two phases.
   */
  timestamps?: TimestampSource
  /** The cluster's GC safe point as this node last learned it (kept across restarts by the caller); default 0. */
  gcSafePoint?: bigint
  logger?: RaftLogger
}

/**
 * A Raft group the store hosts beside its ranges, with a state machine of its own (the
 * placement driver's); it shares the node's engine, log writer and multiraft loop.
 */
export interface SystemGroup extends GroupStateMachine {
  /** This node's replica id in the group. */
  readonly replicaId: number
  /** The node of every replica id. */
  peers(): ReadonlyMap<number, number>
  /** The index applied durably before this start. */
  readonly appliedIndex: number
  /** The membership as of the applied index. */
  confState(): ConfState
  /** A snapshot of the state at the applied index. */
  makeSnapshot(): Promise<Snapshot>
  /** Engine operations that replace this node's state with a snapshot's. */
  snapshotOps(snapshot: Snapshot): Promise<BatchOp[]>
}

/**
 * A range replica this node does not run because its stored Raft state is damaged (found by
 * the verification at start, or by a read while it ran): it never votes, acknowledges, or
 * serves. It waits to be removed from its range (by the placement driver, through the
 * range's healthy majority); then its data is deleted.
 */
export interface QuarantinedReplica {
  rangeId: number
  /** This node's replica id in the range, as of the last state it applied. */
  replicaId: number
  /** The range as the replica last applied it. */
  descriptor: RangeDescriptor
  /** The first damaged log index; absent when the damage is not pinned to an entry (the log's metadata). */
  index?: number
  /** What is wrong. */
  reason: string
}

/** The replicas of one node; see the file comment. */
export class Store implements ReplicaHost {
  private readonly replicas = new Map<number, Replica>()
  /** Replicas with damaged Raft state, by range id; never in {@link replicas}. */
  private readonly quarantine = new Map<number, QuarantinedReplica>()
  /** Damage found in groups' Raft state (ranges' and system groups'), at start or while running, by group id. */
  private readonly damage = new Map<number, RaftLogDamage>()
  private readonly systemGroups = new Map<number, SystemGroup>()
  private compactionTimer: NodeJS.Timeout | undefined
  /** The feeds of {@link watchChanges}, each marked at every change. */
  private readonly changeFeeds: ChangedRanges[] = []
  /** The ranges {@link compactLogs} looks at next: those changed since its last pass, and those it left waiting. */
  private readonly logsChanged = this.watchChanges()
  /**
   * Bootstraps, replica creations and deletions of quarantined replicas run one at a time, so
   * two requests for one range cannot both create (or delete) it.
   */
  private creations: Promise<unknown> = Promise.resolve()
  private safePoint: bigint

  private constructor(
    readonly nodeId: number,
    private readonly engine: Engine,
    private readonly log: RaftLogStore,
    private readonly mvcc: MvccStore,
    private readonly writer: EngineLogWriter,
    readonly raft: MultiRaft,
    private readonly o: StoreOptions,
  ) {
    this.safePoint = o.gcSafePoint ?? 0n
  }

  /**
   * The cluster's GC safe point as this node last learned it: every range here refuses reads
   * below it (GC_THRESHOLD), even one whose own threshold is lower because it had nothing to
   * collect since (a range raises its threshold only with a command that collects).
   */
  get gcSafePoint(): bigint {
    return this.safePoint
  }

  /** Takes the safe point the placement driver published (it only rises; a lower one changes nothing). */
  learnGcSafePoint(ts: bigint): void {
    if (ts > this.safePoint) this.safePoint = ts
  }

  /**
   * Opens the store: verifies every stored Raft log entry, loads every replica from the engine
   * and starts their groups — except replicas whose log is damaged, which are quarantined.
   */
  static async open(o: StoreOptions): Promise<Store> {
    const log = await RaftLogStore.open(o.engine)
    const damage = await log.verify()
    const mvcc = new MvccStore(o.engine)
    let store: Store | undefined
    const writer = new EngineLogWriter(o.engine, log, (groupId, snap) => {
      const hosted = store?.replicas.get(groupId) ?? store?.systemGroups.get(groupId)
      return hosted ? hosted.snapshotOps(snap) : rangeSnapshotOps(o.engine, mvcc, snap)
    })
    const raft = new MultiRaft({
      nodeId: o.nodeId,
      transport: o.transport,
      logWriter: writer,
      rng: o.rng ?? new SeededRng((o.nodeId * 2654435761 + Date.now()) >>> 0),
      tickMs: o.tickMs,
      sync: o.sync,
      readOnlyOption: o.leaseReads ? 'lease-based' : 'safe',
      logger: o.logger,
      onUnknownGroup: (groupId, msg, fromNode) => store?.onUnknownGroup(groupId, msg, fromNode),
      onGroupDamaged: (groupId, _replicaId, err) => store?.groupDamaged(groupId, err),
      onLeaderChange: (groupId) => {
        store?.markChanged(groupId)
        store?.replicas.get(groupId)?.leaderChanged()
      },
    })
    store = new Store(o.nodeId, o.engine, log, mvcc, writer, raft, o)
    for (const d of damage) store.damage.set(d.groupId, d)
    const states: ReplicaState[] = []
    for await (const [, value] of o.engine.scan({ gte: REPLICA_STATE_SPAN[0], lt: REPLICA_STATE_SPAN[1] })) states.push(decodeReplicaState(value))
    for (const state of states) {
      const found = store.damage.get(state.descriptor.rangeId)
      if (found) await store.quarantineReplica(state.descriptor, found, 'at start')
      else store.host(state)
    }
    await raft.start()
    store.compactionTimer = setInterval(() => store.compactLogs(), 1000)
    return store
  }

  /**
   * Creates ranges' initial state here where this node holds one of their replicas and has
   * no state for them yet (idempotent). Every replica of a new range is bootstrapped the same
   * way, so they start from an identical snapshot at index 1.
   */
  bootstrapRange(...ds: RangeDescriptor[]): Promise<void> {
    return this.bootstrapRanges(ds)
  }

  /**
   * {@link bootstrapRange}, the ranges starting with GC fence and threshold `gcFloor` (a
   * cluster's first ranges: see `bootstrapGcFloor` in @mrdb/placement). Every replica of a
   * range must be given the same floor.
   */
  bootstrapRanges(ds: readonly RangeDescriptor[], gcFloor = 0n): Promise<void> {
    return this.oneAtATime(() => this.bootstrapMany(ds, gcFloor))
  }

  /** Bootstraps the given ranges' replicas here, a chunk of ranges per engine batch. */
  private async bootstrapMany(ds: readonly RangeDescriptor[], gcFloor: bigint): Promise<void> {
    const states: ReplicaState[] = []
    for (const d of ds) {
      if (!replicaOnNode(d, this.nodeId) || this.replicas.has(d.rangeId) || this.log.hasGroup(d.rangeId)) continue
      const voters = d.replicas.filter((r) => r.role === 'voter').map((r) => r.replicaId)
      const learners = d.replicas.filter((r) => r.role === 'learner').map((r) => r.replicaId)
      states.push({
        appliedIndex: BOOTSTRAP_INDEX,
        appliedTerm: BOOTSTRAP_TERM,
        lastTs: 0n,
        confState: { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false },
        descriptor: d,
        ...(gcFloor > 0n ? { gcFence: gcFloor, gcThreshold: gcFloor } : {}),
      })
    }
    if (states.length === 0) return
    // Thousands of ranges at once (`mrdb init --ranges 10000`): the work is cut into chunks
    // with a turn of the event loop between them, so the node goes on answering its peers
    // (gRPC keepalives, Raft frames) meanwhile.
    // One engine batch per chunk too: preparing one batch of 10,000 ranges' records blocked
    // the loop for seconds. Each range's records stay in one batch, so a crash between two
    // chunks leaves some ranges bootstrapped whole and the rest not at all; a repeated
    // bootstrap finds the first done and does the rest.
    for (let i = 0; i < states.length; i += BOOTSTRAP_CHUNK) {
      const parts = states.slice(i, i + BOOTSTRAP_CHUNK).map((state) => bootstrapOps(this.log, state))
      await this.engine.batch(parts.flatMap((p) => p.ops), { sync: true })
      for (const p of parts) p.committed()
    }
    // One replica of each new range campaigns at once and the others wait for it (see
    // GroupOptions.awaitLeaderOn): the voter at rangeId mod voters, so that leaders start
    // spread over the nodes. Every node picks the same one from the descriptor.
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!
      const voters = state.descriptor.replicas.filter((r) => r.role === 'voter').sort((a, b) => a.replicaId - b.replicaId)
      const first = voters[state.descriptor.rangeId % Math.max(1, voters.length)]
      this.host(state, first?.nodeId)
      if (first?.nodeId === this.nodeId) this.raft.campaign(state.descriptor.rangeId)
      if (i % BOOTSTRAP_CHUNK === BOOTSTRAP_CHUNK - 1) await yieldToLoop()
    }
  }

  /**
   * A new feed of the ranges that change from now on: a range is marked when it is hosted or
   * dropped here, changes leader, applies entries or a snapshot, has its stats counted or
   * dropped, serves its first request since its load was taken ({@link Replica.takeLoad}), or
   * when {@link markChanged} is called for it. Walks that run every second take their ranges
   * from it instead of visiting every range hosted.
   */
  watchChanges(): ChangedRanges {
    const feed = new ChangedRanges()
    this.changeFeeds.push(feed)
    return feed
  }

  /** Marks a range changed in every feed of {@link watchChanges} (the GC queue marks ranges whose lock report it changed). */
  markChanged(rangeId: number): void {
    for (const feed of this.changeFeeds) feed.mark(rangeId)
  }

  /** How many replicas are hosted here. */
  get hostedCount(): number {
    return this.replicas.size
  }

  /** Every replica hosted here, in no order: for walks that need none (the sort of {@link descriptors} costs per range). */
  hostedReplicas(): Replica[] {
    return [...this.replicas.values()]
  }

  /** The replicas of `rangeIds` hosted here (those not hosted are left out), in the ids' order. */
  hostedReplicasOf(rangeIds: Iterable<number>): Replica[] {
    const out: Replica[] = []
    for (const id of rangeIds) {
      const r = this.replicas.get(id)
      if (r) out.push(r)
    }
    return out
  }

  /** Descriptors of every range with a replica here. */
  descriptors(): RangeDescriptor[] {
    return [...this.replicas.values()].map((r) => r.descriptor).sort((a, b) => a.rangeId - b.rangeId)
  }

  /** The local replica of a range, or RANGE_NOT_FOUND (also for a quarantined replica: it serves nothing). */
  replica(rangeId: number): Replica {
    const r = this.replicas.get(rangeId)
    if (r) return r
    const q = this.quarantine.get(rangeId)
    if (q) throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `node ${this.nodeId}'s replica of range ${rangeId} is quarantined (${q.reason}); it serves nothing until it is replaced`)
    throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `node ${this.nodeId} has no replica of range ${rangeId}`)
  }

  /** The replicas quarantined here, by range id. */
  quarantined(): QuarantinedReplica[] {
    return [...this.quarantine.values()].sort((a, b) => a.rangeId - b.rangeId)
  }

  /** Damage found in a group's stored Raft state (a range's or a system group's), at start or while running, if any: such a group does not run here. */
  logDamage(groupId: number): RaftLogDamage | undefined {
    return this.damage.get(groupId)
  }

  /**
   * Deletes the log, state and data of every quarantined replica that `ranges` (current
   * descriptors of the cluster's ranges, e.g. the placement driver's table) show removed from
   * its range: a newer generation without its replica id. Replica ids are never reused, so
   * such a replica is out of its group for good and nothing needs its data. Resolves with the
   * ids of the ranges whose replica went.
   */
  destroyRemovedQuarantined(ranges: readonly RangeDescriptor[]): Promise<number[]> {
    const current = new Map(ranges.map((d) => [d.rangeId, d]))
    const removed = this.quarantined().filter((q) => {
      const d = current.get(q.rangeId)
      return d !== undefined && removedFrom(q, d)
    })
    if (removed.length === 0) return Promise.resolve([])
    return this.oneAtATime(async () => {
      const gone: number[] = []
      for (const q of removed) {
        const d = current.get(q.rangeId)!
        if (this.quarantine.get(q.rangeId) !== q) continue
        await this.destroyQuarantined(q, `the range no longer holds it (generation ${d.generation})`)
        gone.push(q.rangeId)
      }
      return gone
    })
  }

  /** The local replica whose range holds `key`, or RANGE_NOT_FOUND. */
  replicaForKey(key: Uint8Array): Replica {
    for (const r of this.replicas.values()) if (rangeContains(r.descriptor, key)) return r
    throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `node ${this.nodeId} has no replica holding key ${Buffer.from(key).toString('hex')}`)
  }

  // ---- KV operations on a range (the service calls these) -------------------------------

  /**
   * Linearizable read of one key on the range's leader, as of `ts` (default: the latest). The
   * key is checked against the range's bounds as of the read's index (after the ReadIndex
   * barrier): a key the range no longer holds gets KEY_NOT_IN_RANGE with its descriptor.
   */
  async get(rangeId: number, key: Uint8Array, ts = MAX_TIMESTAMP): Promise<Uint8Array | undefined> {
    const r = this.replica(rangeId)
    await r.readBarrier()
    return this.stillHosted(r, await r.get(key, ts))
  }

  /**
   * Linearizable scan of [start, end) ∩ the range on its leader, as of `ts` (default: the
   * latest). `start` is checked against the range's bounds as of the read's index, as by
   * {@link get}: never an answer for a span the range does not hold.
   */
  async scan(rangeId: number, start: Uint8Array, end: Uint8Array, limit: number, ts = MAX_TIMESTAMP): Promise<ScanResult> {
    const r = this.replica(rangeId)
    await r.readBarrier()
    return this.stillHosted(r, await r.scan(start, end, limit, ts))
  }

  /**
   * `result`, read from `r`, if this node still hosts `r`: a replica that left meanwhile (its
   * data is being deleted) may have read a partial range, so its read gets RANGE_NOT_FOUND.
   */
  private stillHosted<T>(r: Replica, result: T): T {
    if (this.replicas.get(r.rangeId) !== r) throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `node ${this.nodeId}'s replica of range ${r.rangeId} left while it read`)
    return result
  }

  /** Replicates and applies a write on the range; resolves with its result. */
  async write(rangeId: number, command: Command): Promise<CommandResult> {
    const r = this.writable(rangeId, command)
    return r.propose(command, this.o.proposalTimeoutMs ?? 5000)
  }

  /**
   * Commits the transaction at `startTs` in one phase, as one command on the range's leader:
   * the checks of a prewrite, then `mutations` (all in the range) written at a commit
   * timestamp the leader chooses (see {@link Replica.proposeOnePhase}). Resolves with its
   * result, whose `commitTs` is the transaction's commit timestamp, at most `maxCommitTs` if
   * given. ONE_PHASE_REFUSED: nothing was written, commit in two phases; KEY_NOT_IN_RANGE: a
   * key is not (or no longer) in the range.
   */
  async commitOnePhase(rangeId: number, startTs: bigint, mutations: TxnMutation[], maxCommitTs?: bigint): Promise<CommandResult> {
    // Checked with a stand-in commit timestamp: the leader chooses the real one at proposal.
    const r = this.writable(rangeId, { kind: 'onePhaseCommit', startTs, commitTs: startTs + 1n, mutations })
    return r.proposeOnePhase(startTs, mutations, this.o.proposalTimeoutMs ?? 5000, maxCommitTs)
  }

  /** The range's replica, if it may take `command` now: not frozen, the command valid for the range, a transaction not below its GC fence. */
  private writable(rangeId: number, command: Command): Replica {
    const r = this.replica(rangeId)
    if (r.frozenAt !== undefined) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${rangeId} is frozen: it is merging into its left neighbour`)
    const rejected = checkCommand(command, r.descriptor)
    if (rejected) throw rejected
    if ((command.kind === 'prewrite' || command.kind === 'onePhaseCommit') && command.startTs < r.gcFence) {
      throw new KvError(KvErrorCode.GC_THRESHOLD, `the transaction at ${command.startTs} started below range ${rangeId}'s GC fence ${r.gcFence}: restart it`)
    }
    return r
  }

  /** Stops the groups; the engine stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.compactionTimer) clearInterval(this.compactionTimer)
    await this.raft.stop()
  }

  /**
   * Creates an empty replica of a range this node is joining (it must be in `d`): it waits
   * for a snapshot from the range's leader once the membership change that adds it applies.
   * Idempotent; refused while a local replica of another range overlaps the span.
   */
  createReplica(d: RangeDescriptor): Promise<void> {
    return this.oneAtATime(() => this.createOne(d))
  }

  /** Runs `work` after every creation or deletion queued before it. */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.creations.then(work)
    this.creations = run.catch(() => undefined)
    return run
  }

  private async createOne(d: RangeDescriptor): Promise<void> {
    const mine = replicaOnNode(d, this.nodeId)
    if (!mine) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `range ${d.rangeId} has no replica on node ${this.nodeId}`)
    const quarantined = this.quarantine.get(d.rangeId)
    if (quarantined) {
      // The damaged replica must be out of the group before its data goes: `d` (committed by
      // the range's leader) showing a newer configuration without it proves that.
      if (!removedFrom(quarantined, d)) {
        throw new KvError(KvErrorCode.UNAVAILABLE, `node ${this.nodeId}'s replica of range ${d.rangeId} is quarantined and still a member; remove it from the range first`)
      }
      await this.destroyQuarantined(quarantined, `replaced by replica ${mine.replicaId}`)
    }
    const existing = this.replicas.get(d.rangeId)
    if (existing) {
      if (existing.replicaId === mine.replicaId) return
      // A replica under another id that never got data (its change never committed), or one
      // from an older descriptor (removed while this node was away), goes first.
      if (existing.appliedIndex > 0 && existing.descriptor.generation >= d.generation) {
        throw new KvError(KvErrorCode.UNAVAILABLE, `node ${this.nodeId} holds a replica of range ${d.rangeId} as new as the one asked for`)
      }
      await this.destroy(existing.descriptor)
    }
    // Quarantined replicas count: their data still occupies their span.
    const overlapping = [...this.replicas.values(), ...this.quarantine.values()].find((r) => rangesOverlap(r.descriptor, d))
    if (overlapping) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${d.rangeId} overlaps range ${overlapping.rangeId} on node ${this.nodeId}`)
    const state: ReplicaState = { appliedIndex: 0, appliedTerm: 0, lastTs: 0n, confState: { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, descriptor: d }
    await this.engine.put(replicaStateKey(d.rangeId), encodeReplicaState(state))
    this.host(state)
  }

  /** Changes a range's membership on its leader here (see {@link Replica.changeReplicas}). */
  changeReplicas(rangeId: number, changes: readonly ReplicaChange[]): Promise<RangeDescriptor> {
    return this.replica(rangeId).changeReplicas(changes, this.o.proposalTimeoutMs ?? 5000)
  }

  /** Routes a replica to its peers after a membership change, or destroys it once it is no longer a member. */
  membershipChanged(replica: Replica): void {
    const d = replica.descriptor
    if (this.replicas.get(d.rangeId) !== replica) return
    if (replicaOnNode(d, this.nodeId)) {
      this.raft.setPeers(d.rangeId, new Map(d.replicas.map((r) => [r.replicaId, r.nodeId])))
      return
    }
    this.destroy(d).catch((err: unknown) => this.o.logger?.warn(`range ${d.rangeId}: removing the replica's data failed: ${err instanceof Error ? err.message : String(err)}`))
  }

  /** Stops hosting the range's replica and deletes its log, state and data (the span of `d`). */
  private destroy(d: RangeDescriptor): Promise<void> {
    return this.drop(d.rangeId, async () => clearRangeOps(this.engine, this.mvcc, d))
  }

  /**
   * Keeps a replica whose Raft state is damaged out of its group: no Raft group runs for it,
   * so it never votes or acknowledges (its log may lack entries it acknowledged before), and
   * requests for its range get RANGE_NOT_FOUND. A state that no longer lists this node (its
   * removal applied, its deletion did not) is deleted at once. `found` says when the damage
   * was found, for the log.
   */
  private async quarantineReplica(d: RangeDescriptor, damage: RaftLogDamage, found: 'at start' | 'while running'): Promise<void> {
    this.damage.set(d.rangeId, damage)
    const mine = replicaOnNode(d, this.nodeId)
    if (!mine) {
      await this.destroy(d)
      this.damage.delete(d.rangeId)
      this.o.logger?.warn(`range ${d.rangeId}: deleted node ${this.nodeId}'s damaged replica (${damage.reason}): its last applied state shows it removed`)
      return
    }
    const q: QuarantinedReplica = { rangeId: d.rangeId, replicaId: mine.replicaId, descriptor: d, reason: damage.reason }
    if (damage.index !== undefined) q.index = damage.index
    this.quarantine.set(d.rangeId, q)
    const where = damage.index === undefined ? 'its Raft log metadata' : `Raft log entry ${damage.index}`
    this.o.logger?.warn(
      `range ${d.rangeId}: quarantined replica ${q.replicaId} on node ${this.nodeId}: ${where} is damaged (${damage.reason}), found ${found}. ` +
        'It does not vote, acknowledge or serve; the placement driver removes it from the range, then a fresh replica is added and filled by a snapshot',
    )
  }

  /**
   * The multiraft host stopped a group whose stored log a read found damaged while it ran. A
   * range's replica leaves service and is quarantined, as if found at start: writes waiting
   * on it end with TIMEOUT (the range's other replicas may still commit them). A system
   * group's replica stays out of its group.
   */
  private groupDamaged(groupId: number, err: CorruptionError): void {
    const damage: RaftLogDamage = { groupId, reason: err.message }
    if (err.index !== undefined) damage.index = err.index
    const replica = this.replicas.get(groupId)
    if (replica) {
      this.replicas.delete(groupId)
      replica.abandonProposals('its replica here stopped: its Raft log is damaged')
      this.quarantineReplica(replica.descriptor, damage, 'while running').catch((e: unknown) =>
        this.o.logger?.warn(`range ${groupId}: deleting the damaged replica failed: ${e instanceof Error ? e.message : String(e)}`),
      )
      return
    }
    if (!this.systemGroups.delete(groupId)) return
    this.damage.set(groupId, damage)
    this.o.logger?.warn(`group ${groupId}: node ${this.nodeId}'s replica of this system group stopped: its Raft state is damaged (${damage.reason}); it stays out of the group, which goes on with its other members; it is not replaced automatically`)
  }

  /**
   * Deletes a quarantined replica's log, state and data: the span of its state as persisted,
   * which an apply under way when it stopped at runtime may have split or merged since.
   */
  private async destroyQuarantined(q: QuarantinedReplica, why: string): Promise<void> {
    const persisted = await this.engine.get(replicaStateKey(q.rangeId))
    await this.destroy(persisted ? decodeReplicaState(persisted).descriptor : q.descriptor)
    this.quarantine.delete(q.rangeId)
    this.damage.delete(q.rangeId)
    this.o.logger?.warn(`range ${q.rangeId}: deleted quarantined replica ${q.replicaId} on node ${this.nodeId}: ${why}`)
  }

  /** Stops hosting a range's replica and deletes its log and state with `dataOps()` (its data, or nothing). */
  private drop(rangeId: number, dataOps: () => Promise<BatchOp[]>): Promise<void> {
    this.replicas.get(rangeId)?.abandonProposals('its replica here was removed')
    this.replicas.delete(rangeId)
    this.markChanged(rangeId)
    this.raft.removeGroup(rangeId)
    return this.writer.destroyGroup(rangeId, async () => [...(await dataOps()), { type: 'del', key: replicaStateKey(rangeId) }])
  }

  /**
   * Starts a new system group here from Raft index 1 (like a new range), with `dataOps`
   * (its state machine's initial state) in the same engine batch. Idempotent.
   */
  async bootstrapSystemGroup(groupId: number, dataOps: BatchOp[]): Promise<void> {
    if (this.log.hasGroup(groupId)) return
    const batch = bootstrapLog(this.log, groupId)
    await this.engine.batch([...batch.operations, ...dataOps], { sync: true })
    batch.committed()
  }

  /**
   * Hosts a system group (its log and state must be on disk: bootstrapped, or left by an
   * earlier run). A group whose Raft state is damaged ({@link logDamage}) is refused with
   * CORRUPTION: it must not take part in its group.
   */
  hostSystemGroup(groupId: number, g: SystemGroup): void {
    const damage = this.damage.get(groupId)
    if (damage) throw new KvError(KvErrorCode.CORRUPTION, `group ${groupId}'s Raft state on node ${this.nodeId} is damaged: ${damage.reason}`)
    const storage = new RangeLogStorage(groupId, this.log, () => g.confState(), () => g.makeSnapshot())
    this.raft.addGroup({ groupId, replicaId: g.replicaId, peers: g.peers(), storage, stateMachine: g, applied: g.appliedIndex })
    this.systemGroups.set(groupId, g)
  }

  /** This node's replica of a range, if it hosts one. */
  localReplica(rangeId: number): Replica | undefined {
    return this.replicas.get(rangeId)
  }

  /** Stops hosting a range a local merge took in: its group and log go, its data now belongs to the merged range. */
  absorbMerged(rangeId: number): void {
    if (!this.replicas.has(rangeId)) return
    this.drop(rangeId, async () => [])
      .catch((err: unknown) => this.o.logger?.warn(`range ${rangeId}: dropping the merged range's log failed: ${err instanceof Error ? err.message : String(err)}`))
  }

  /** Hosts the right-hand range a local split created (see {@link ReplicaHost}). */
  hostSplit(right: ReplicaState): void {
    this.host(right)
  }

  private host(state: ReplicaState, awaitLeaderOn?: number): void {
    const replica = new Replica(this.nodeId, state, this.engine, this.mvcc, this.log, this.raft, this, this.o.timestamps)
    this.raft.addGroup({
      groupId: state.descriptor.rangeId,
      replicaId: replica.replicaId,
      peers: new Map(state.descriptor.replicas.map((r) => [r.replicaId, r.nodeId])),
      storage: replica.logStorage,
      stateMachine: replica,
      applied: state.appliedIndex,
      awaitLeaderOn,
    })
    this.replicas.set(state.descriptor.rangeId, replica)
    this.markChanged(state.descriptor.rangeId)
  }

  private onUnknownGroup(groupId: number, msg: Message, fromNode: number): void {
    this.o.logger?.debug?.(`node ${this.nodeId}: ${msg.type} from node ${fromNode} for range ${groupId}, which has no replica here`)
  }

  /**
   * Cuts each range's log behind its applied index once it is longer than maxLogEntries, or
   * once more than {@link MAX_LOG_BYTES} of entries were applied since the last cut (TiKV
   * bounds its Raft logs by size too). A tenth of the allowance stays, for followers a little
   * behind. A quiesced range's log is cut whole once {@link IDLE_LOG_BYTES} were applied since
   * the last cut (CockroachDB's raft log queue likewise truncates what every follower has), and
   * a large cut's span compacted: an idle range does not keep its last burst of writes on disk twice.
   * System groups' logs are cut by length.
   *
   * Only the ranges changed since the last pass are looked at (a log grows only by an apply,
   * which marks its range), and those left waiting for their group to quiesce: with thousands
   * of idle ranges, a look at every one each second cost more than anything else left to do.
   */
  private compactLogs(): void {
    const max = this.o.maxLogEntries ?? 10_000
    for (const r of this.hostedReplicasOf(this.logsChanged.take())) {
      const first = this.log.firstIndex(r.rangeId)
      const running = this.raft.hasGroup(r.rangeId)
      const quiesced = running && this.raft.isQuiesced(r.rangeId)
      const idle = r.appliedLogBytes >= IDLE_LOG_BYTES && quiesced
      const long = r.appliedIndex - first >= max
      const large = r.appliedLogBytes >= MAX_LOG_BYTES
      const upTo = idle ? r.appliedIndex : r.appliedIndex - Math.floor(Math.min(max, r.appliedIndex - first) / 10)
      if ((!idle && !long && !large) || upTo <= first) {
        // Enough applied for an idle cut, but the group is awake: looked at again until it quiesces.
        if (r.appliedLogBytes >= IDLE_LOG_BYTES && running && !quiesced) this.logsChanged.mark(r.rangeId)
        continue
      }
      let term: number
      try {
        term = r.logStorage.term(upTo)
      } catch (err) {
        // Nothing else may have read that entry since it was applied.
        if (!(err instanceof CorruptionError)) throw err
        this.raft.stopDamagedGroup(r.rangeId, err)
        continue
      }
      const giveBack = idle && r.appliedLogBytes >= IDLE_COMPACT_BYTES
      r.appliedLogBytes = 0
      this.writer
        .compact(r.rangeId, upTo, term)
        .then(() => (giveBack ? this.engine.compactRange(raftLogEntryKey(r.rangeId, first), raftLogEntryKey(r.rangeId, upTo + 1)) : undefined))
        .catch((err) => {
          this.o.logger?.warn(`range ${r.rangeId}: log compaction failed: ${err instanceof Error ? err.message : String(err)}`)
        })
    }
    // System groups (the placement driver's) by length alone: their entries are small, and a
    // follower behind the cut gets a snapshot of the group's state (SystemGroup.makeSnapshot).
    for (const id of this.systemGroups.keys()) {
      if (!this.raft.hasGroup(id)) continue
      const first = this.log.firstIndex(id)
      const applied = this.raft.status(id).applied
      const upTo = applied - Math.floor(max / 10)
      if (applied - first < max || upTo <= first) continue
      let term: number
      try {
        term = this.log.term(id, upTo)
      } catch (err) {
        this.o.logger?.warn(`group ${id}: log compaction failed: ${err instanceof Error ? err.message : String(err)}`)
        continue
      }
      this.writer.compact(id, upTo, term).catch((err) => {
        this.o.logger?.warn(`group ${id}: log compaction failed: ${err instanceof Error ? err.message : String(err)}`)
      })
    }
  }
}

/** Whether `d`, a newer configuration of the quarantined replica's range, no longer holds it. */
function removedFrom(q: QuarantinedReplica, d: RangeDescriptor): boolean {
  return d.generation > q.descriptor.generation && !d.replicas.some((r) => r.replicaId === q.replicaId)
}

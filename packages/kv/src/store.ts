// A node's store: one engine holding every local replica's Raft log and MVCC data, the
// multiraft host that drives their groups, and the routing of KV requests to replicas.

import { MultiRaft, SeededRng, type ConfState, type GroupStateMachine, type Message, type RaftLogger, type Rng, type Snapshot, type Transport } from '@mrdb/raft'
import { MAX_TIMESTAMP, MvccStore, RaftLogStore, type BatchOp, type Engine } from '@mrdb/storage'
import { EngineLogWriter } from './engine-log-writer.js'
import { RangeLogStorage } from './range-log-storage.js'
import { KvError, KvErrorCode } from './errors.js'
import { rangeContains, rangesOverlap, replicaOnNode, type RangeDescriptor } from './range-descriptor.js'
import { Replica, clearRangeOps, rangeSnapshotOps, type CommandResult, type ReplicaChange, type ScanResult, type ReplicaHost } from './replica.js'
import { decodeReplicaState, encodeReplicaState, REPLICA_STATE_SPAN, replicaStateKey, type ReplicaState } from './replica-state.js'
import type { Command } from './command.js'
import { checkCommand } from './command-check.js'
import { BOOTSTRAP_INDEX, BOOTSTRAP_TERM, bootstrapLog, bootstrapOps } from './range-bootstrap.js'

/** Bytes of applied log entries after which a range's log is compacted, however few they are. */
const MAX_LOG_BYTES = 64 * 1024 * 1024

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

/** The replicas of one node; see the file comment. */
export class Store implements ReplicaHost {
  private readonly replicas = new Map<number, Replica>()
  private readonly systemGroups = new Map<number, SystemGroup>()
  private compactionTimer: NodeJS.Timeout | undefined
  /** Bootstraps and replica creations run one at a time, so two requests for one range cannot both create it. */
  private creations: Promise<void> = Promise.resolve()

  private constructor(
    readonly nodeId: number,
    private readonly engine: Engine,
    private readonly log: RaftLogStore,
    private readonly mvcc: MvccStore,
    private readonly writer: EngineLogWriter,
    readonly raft: MultiRaft,
    private readonly o: StoreOptions,
  ) {}

  /** Opens the store: loads every replica from the engine and starts their groups. */
  static async open(o: StoreOptions): Promise<Store> {
    const log = await RaftLogStore.open(o.engine)
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
    })
    store = new Store(o.nodeId, o.engine, log, mvcc, writer, raft, o)
    for await (const [, value] of o.engine.scan({ gte: REPLICA_STATE_SPAN[0], lt: REPLICA_STATE_SPAN[1] })) {
      store.host(decodeReplicaState(value))
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
    return this.oneAtATime(() => this.bootstrapMany(ds))
  }

  /** Bootstraps the given ranges' replicas here in one engine batch (one fsync). */
  private async bootstrapMany(ds: readonly RangeDescriptor[]): Promise<void> {
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
      })
    }
    if (states.length === 0) return
    const parts = states.map((state) => bootstrapOps(this.log, state))
    await this.engine.batch(parts.flatMap((p) => p.ops), { sync: true })
    for (const p of parts) p.committed()
    for (const state of states) this.host(state)
  }

  /** Descriptors of every range with a replica here. */
  descriptors(): RangeDescriptor[] {
    return [...this.replicas.values()].map((r) => r.descriptor).sort((a, b) => a.rangeId - b.rangeId)
  }

  /** The local replica of a range, or RANGE_NOT_FOUND. */
  replica(rangeId: number): Replica {
    const r = this.replicas.get(rangeId)
    if (!r) throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `node ${this.nodeId} has no replica of range ${rangeId}`)
    return r
  }

  /** The local replica whose range holds `key`, or RANGE_NOT_FOUND. */
  replicaForKey(key: Uint8Array): Replica {
    for (const r of this.replicas.values()) if (rangeContains(r.descriptor, key)) return r
    throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `node ${this.nodeId} has no replica holding key ${Buffer.from(key).toString('hex')}`)
  }

  // ---- KV operations on a range (the service calls these) -------------------------------

  /** Linearizable read of one key on the range's leader, as of `ts` (default: the latest). */
  async get(rangeId: number, key: Uint8Array, ts = MAX_TIMESTAMP): Promise<Uint8Array | undefined> {
    const r = this.replica(rangeId)
    r.checkKeys(key)
    await r.readBarrier()
    return r.get(key, ts)
  }

  /** Linearizable scan of [start, end) ∩ the range on its leader, as of `ts` (default: the latest). */
  async scan(rangeId: number, start: Uint8Array, end: Uint8Array, limit: number, ts = MAX_TIMESTAMP): Promise<ScanResult> {
    const r = this.replica(rangeId)
    await r.readBarrier()
    return r.scan(start, end, limit, ts)
  }

  /** Replicates and applies a write on the range; resolves with its result. */
  async write(rangeId: number, command: Command): Promise<CommandResult> {
    const r = this.replica(rangeId)
    if (r.frozenAt !== undefined) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${rangeId} is frozen: it is merging into its left neighbour`)
    const rejected = checkCommand(command, r.descriptor)
    if (rejected) throw rejected
    return r.propose(command, this.o.proposalTimeoutMs ?? 5000)
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

  /** Runs `create` after every creation queued before it. */
  private oneAtATime(create: () => Promise<void>): Promise<void> {
    const run = this.creations.then(create)
    this.creations = run.catch(() => undefined)
    return run
  }

  private async createOne(d: RangeDescriptor): Promise<void> {
    const mine = replicaOnNode(d, this.nodeId)
    if (!mine) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `range ${d.rangeId} has no replica on node ${this.nodeId}`)
    const existing = this.replicas.get(d.rangeId)
    if (existing) {
      if (existing.replicaId === mine.replicaId) return
      // A replica under another id that never got data (its change never committed), or one
      // from an older descriptor (removed while this node was away), goes first.
      if (existing.appliedIndex > 0 && existing.descriptor.generation >= d.generation) {
        throw new KvError(KvErrorCode.UNAVAILABLE, `node ${this.nodeId} holds a replica of range ${d.rangeId} as new as the one asked for`)
      }
      await this.destroy(existing)
    }
    const overlapping = [...this.replicas.values()].find((r) => rangesOverlap(r.descriptor, d))
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
    this.destroy(replica).catch((err: unknown) => this.o.logger?.warn(`range ${d.rangeId}: removing the replica's data failed: ${err instanceof Error ? err.message : String(err)}`))
  }

  /** Stops hosting a replica and deletes its log, state and data. */
  private destroy(replica: Replica): Promise<void> {
    const d = replica.descriptor
    return this.drop(d.rangeId, async () => clearRangeOps(this.engine, this.mvcc, d))
  }

  /** Stops hosting a range's replica and deletes its log and state with `dataOps()` (its data, or nothing). */
  private drop(rangeId: number, dataOps: () => Promise<BatchOp[]>): Promise<void> {
    this.replicas.delete(rangeId)
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

  /** Hosts a system group (its log and state must be on disk: bootstrapped, or left by an earlier run). */
  hostSystemGroup(groupId: number, g: SystemGroup): void {
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

  private host(state: ReplicaState): void {
    const replica = new Replica(this.nodeId, state, this.engine, this.mvcc, this.log, this.raft, this)
    this.raft.addGroup({
      groupId: state.descriptor.rangeId,
      replicaId: replica.replicaId,
      peers: new Map(state.descriptor.replicas.map((r) => [r.replicaId, r.nodeId])),
      storage: replica.logStorage,
      stateMachine: replica,
      applied: state.appliedIndex,
    })
    this.replicas.set(state.descriptor.rangeId, replica)
  }

  private onUnknownGroup(groupId: number, msg: Message, fromNode: number): void {
    this.o.logger?.debug?.(`node ${this.nodeId}: ${msg.type} from node ${fromNode} for range ${groupId}, which has no replica here`)
  }

  /**
   * Cuts each range's log behind its applied index once it is longer than maxLogEntries, or
   * once more than {@link MAX_LOG_BYTES} of entries were applied since the last cut (TiKV
   * bounds its Raft logs by size too). A tenth of the allowance stays, for followers a little
   * behind.
   */
  private compactLogs(): void {
    const max = this.o.maxLogEntries ?? 10_000
    for (const r of this.replicas.values()) {
      const first = this.log.firstIndex(r.rangeId)
      const long = r.appliedIndex - first >= max
      const large = r.appliedLogBytes >= MAX_LOG_BYTES
      const upTo = r.appliedIndex - Math.floor(Math.min(max, r.appliedIndex - first) / 10)
      if ((!long && !large) || upTo <= first) continue
      r.appliedLogBytes = 0
      this.writer.compact(r.rangeId, upTo, this.log.term(r.rangeId, upTo)).catch((err) => {
        this.o.logger?.warn(`range ${r.rangeId}: log compaction failed: ${err instanceof Error ? err.message : String(err)}`)
      })
    }
  }
}

// The placement driver at work on the node that leads the PD group: it takes the stores'
// heartbeats (liveness, load, and the ranges each store leads), keeps the replicated range
// table current from them, hands out timestamps and ids, and runs the scheduler every
// interval, carrying its operators out through the nodes. Liveness, load and the replicas
// stores quarantined live in memory only: a new PD leader starts by treating every store as
// just heard from, and learns the rest within a heartbeat interval.

import type { MultiRaft } from '@mrdb/raft'
import { PdError, PdErrorCode } from './errors.js'
import type { PdCommand, PdResultValues } from './pd-command.js'
import { runPdOperator, type PdMemberCalls } from './pd-membership.js'
import type { PdReplica } from './pd-replica.js'
import { PD_GROUP_ID, type RangeRecord, type StoreRecord, type StoreState } from './pd-state.js'
import { DEFAULT_SCHEDULER_CONFIG, schedule, type Operator, type SchedulerConfig, type StoreStats } from './scheduler.js'
import { TimestampOracle, type TimestampBatch } from './tso.js'
import { clusterHealth, type ClusterHealth } from './cluster-health.js'
import { DEFAULT_GC_TTL_MS, gcTargets, type GcTargets } from './gc-safe-point.js'

/** A range as its leader reports it. */
export interface RangeReport {
  range: RangeRecord
  approximateBytes: number
  approximateKeys: number
  /** Reads per second its leader served since the last report. */
  readsPerSecond: number
  /** Writes per second its leader served since the last report. */
  writesPerSecond: number
  /** Bytes of its latest versions holding values. */
  liveBytes?: number
  /** Bytes only reads in the past need (deletions, older versions, rollback markers; partly estimated). */
  garbageBytes?: number
  /** The GC fence below which its leader found no lock left (at this generation); absent: not yet. */
  gcLocksClearBelow?: bigint
}

/** A replica a store keeps out of its range because its stored Raft state is damaged. */
export interface QuarantineReport {
  rangeId: number
  replicaId: number
}

/**
 * How long a range forgotten at an operator's end may go unlisted by every store before the
 * stores are asked for complete lists (a few heartbeats: its leader lists it in its next one).
 */
export const FORGOTTEN_WAIT_MS = 5_000

/** What a store tells the PD every heartbeat interval. */
export interface StoreHeartbeat {
  storeId: number
  address: string
  capacityBytes: number
  usedBytes: number
  /**
   * The ranges whose leader is on this store: every one when `complete`, else only those whose
   * report changed since the store's previous heartbeat (an idle store sends almost none).
   */
  leading: RangeReport[]
  /** Whether `leading` lists every range the store leads; default true. */
  complete?: boolean
  /** How many replicas the store holds. */
  replicaCount: number
  /** Replicas the store quarantined (it says so until their data is deleted); absent: none. */
  quarantined?: QuarantineReport[]
  /**
   * A timestamp at or below the start of every transaction running on this store's gateway,
   * and below every one it starts later (see TransactionalKv.oldestRunningTs); absent: not known.
   */
  oldestTxnTs?: bigint
}

/** A range with the store its leader was last reported on (0: unknown). */
export interface RoutedRange {
  range: RangeRecord
  leaderNodeId: number
  /** Size and load as its leader last reported them (zeros until it has). */
  approximateBytes: number
  approximateKeys: number
  queriesPerSecond: number
  liveBytes: number
  garbageBytes: number
}

/** A store with the PD leader's view of its liveness and load; `replicaCount` counts its PD replica too. */
export interface StoreView extends StoreStats {
  address: string
  live: boolean
  /** Its replica of the PD group, if it holds one. */
  pdRole?: 'voter' | 'learner'
}

/** Carries an operator out on the cluster (through the range's leader node). */
export type OperatorRunner = (op: Operator) => Promise<void>

/** Options of {@link PlacementDriver}. */
export interface PlacementDriverOptions {
  replica: PdReplica
  raft: MultiRaft
  /** Carries out operators on ranges. */
  runner: OperatorRunner
  /** Reaches the stores that join or leave the PD group (its own operators run here, on its leader). */
  pdMembers: PdMemberCalls
  config?: Partial<SchedulerConfig>
  /** How often the scheduler runs; default 1000 ms. */
  intervalMs?: number
  /** How long one PD command may take; default 5000 ms. */
  commandTimeoutMs?: number
  /** Membership and split operators carried out at once, cluster-wide; default 4. */
  maxRunningOperators?: number
  /** Leadership transfers (cheap: no data moves) carried out at once; default 64. */
  maxRunningTransfers?: number
  clock?: () => number
  /** Told of operators that failed (they are tried again when the scheduler still wants them). */
  onOperatorError?: (op: Operator, err: unknown) => void
  /** Told when a store turns dead or alive again, as the leader's scheduler passes see it (not of stores as they are when it takes over). */
  onStoreLiveness?: (storeId: number, live: boolean) => void
  /** How long MVCC versions are kept after they are overwritten or deleted; default 25 h. */
  gcTtlMs?: number
}

interface Load {
  leaderNodeId: number
  approximateBytes: number
  approximateKeys: number
  queriesPerSecond: number
  liveBytes: number
  garbageBytes: number
}

interface StoreLoad {
  lastHeartbeatMs: number
  oldestTxnTs: bigint | undefined
  capacityBytes: number
  usedBytes: number
  replicaCount: number
}

/** See the file comment. Every public method throws PdError NOT_LEADER (with a hint) on a node that does not lead the PD group. */
export class PlacementDriver {
  private readonly config: SchedulerConfig
  private readonly clock: () => number
  private readonly timeoutMs: number
  private readonly storeLoad = new Map<number, StoreLoad>()
  private readonly rangeLoad = new Map<number, Load>()
  /** Quarantined replicas by store, as each store's last heartbeat listed them. */
  private readonly quarantined = new Map<number, readonly QuarantineReport[]>()
  private readonly running = new Map<number, Operator>()
  /** The PD term this node's in-memory view belongs to; a new term starts it afresh. */
  private term = 0
  private leaderSinceMs = 0
  private tso: TimestampOracle | undefined
  /** GC targets as this leader last set them (from the persisted safe point at a new term). */
  private gc: GcTargets = { fence: 0n, safePoint: 0n }
  /** Per range: the generation and fence below which its leader reported no lock. */
  private readonly gcClear = new Map<number, { generation: number; below: bigint }>()
  /** Counts changes to {@link gcClear}. */
  private gcClearVersion = 0
  /** Every range's lock report as the GC targets take them, built from a range table at a {@link gcClearVersion}. */
  private gcRanges: { ranges: readonly RangeRecord[]; version: number; reports: Array<{ rangeId: number; locksClearBelow: bigint | undefined }> } | undefined
  private timer: NodeJS.Timeout | undefined
  /** Each store's liveness as the last scheduler pass of this term saw it. */
  private readonly liveness = new Map<number, boolean>()
  /**
   * Stores whose complete list of led ranges this leader has taken since it last forgot what
   * stores lead (a new term, or a forgotten range not listed in time: see {@link forgotten});
   * the others are asked for one (wantsCompleteReport).
   */
  private readonly completeReports = new Set<number>()
  /**
   * Ranges whose load this leader forgot at an operator's end, with when, until a store lists
   * them again: the store that now leads one lists it in its next heartbeat (a new leader, a
   * new generation: its report changed), and until then its leader count is short of it.
   */
  private readonly forgotten = new Map<number, number>()
  /**
   * Counts changes to what a scheduler pass decides from besides the range table and the
   * stores: a range's leader, size or load, an operator's start or end, a quarantine report.
   */
  private inputsVersion = 0
  /** What the last scheduler pass that found nothing to do decided from (see {@link passKey}). */
  private idleKey: PassKey | undefined
  /** Replicas per store, counted from a range table (the same array until the table changes). */
  private replicaCounts: { ranges: readonly RangeRecord[]; counts: Map<number, number> } | undefined
  /** Leaderships per store, counted at an {@link inputsVersion}. */
  private leaderCounts: { version: number; counts: Map<number, number> } | undefined
  /** Scheduler passes that ran the scheduler, and those skipped as their inputs had not changed since one that found nothing to do. */
  readonly passes = { scheduled: 0, skipped: 0 }

  constructor(private readonly o: PlacementDriverOptions) {
    this.config = { ...DEFAULT_SCHEDULER_CONFIG, ...o.config }
    this.clock = o.clock ?? Date.now
    this.timeoutMs = o.commandTimeoutMs ?? 5000
  }

  /** Starts the scheduler loop (it acts only while this node leads the PD group). */
  start(): void {
    this.timer = setInterval(() => void this.tick().catch(() => {}), this.o.intervalMs ?? 1000)
    this.timer.unref()
  }

  /** Stops the scheduler loop; operators under way finish on their own. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /**
   * Takes a store's heartbeat: registers the store, records its load, and brings the range
   * table up to date with what it leads. Resolves with the GC targets its ranges are to reach.
   */
  async heartbeat(h: StoreHeartbeat): Promise<GcTargets> {
    this.lead()
    const known = this.o.replica.storeById(h.storeId)
    if (known?.state === 'removed') throw new PdError(PdErrorCode.STORE_REMOVED, `store ${h.storeId} was removed from the cluster`)
    if (!known || known.address !== h.address) await this.command({ kind: 'putStore', store: { storeId: h.storeId, address: h.address, state: known?.state ?? 'up' } })
    this.storeLoad.set(h.storeId, { lastHeartbeatMs: this.clock(), oldestTxnTs: h.oldestTxnTs, capacityBytes: h.capacityBytes, usedBytes: h.usedBytes, replicaCount: h.replicaCount })
    if (h.complete !== false) this.completeReports.add(h.storeId)
    if (h.quarantined && h.quarantined.length > 0) {
      this.quarantined.set(h.storeId, h.quarantined)
      this.inputsVersion++
    } else if (this.quarantined.delete(h.storeId)) this.inputsVersion++
    for (const r of h.leading) {
      this.forgotten.delete(r.range.rangeId)
      const queriesPerSecond = r.readsPerSecond + r.writesPerSecond
      this.setRangeLoad(r.range.rangeId, { leaderNodeId: h.storeId, approximateBytes: r.approximateBytes, approximateKeys: r.approximateKeys, queriesPerSecond, liveBytes: r.liveBytes ?? 0, garbageBytes: r.garbageBytes ?? 0 })
      if (r.gcLocksClearBelow !== undefined) this.setGcClear(r.range.rangeId, r.range.generation, r.gcLocksClearBelow)
      const stored = this.o.replica.rangeById(r.range.rangeId)
      if (!stored || stored.generation < r.range.generation) await this.command({ kind: 'putRange', range: r.range })
    }
    return this.gc
  }

  /**
   * Whether this leader needs store `storeId`'s next heartbeat to list every range it leads:
   * it has not taken a complete list from it since it last forgot what stores lead.
   */
  wantsCompleteReport(storeId: number): boolean {
    return !this.completeReports.has(storeId)
  }

  /** The GC targets this leader publishes now. */
  gcTargets(): GcTargets {
    this.lead()
    return this.gc
  }

  /**
   * Moves the GC targets on (see {@link gcTargets}) from the live stores' oldest transactions
   * and the ranges' lock reports, and persists a risen safe point through the PD group.
   */
  private async advanceGc(): Promise<void> {
    const stores = this.storeStats()
      .filter((s) => this.isLive(s))
      .map((s) => ({ storeId: s.storeId, oldestTxnTs: this.storeLoad.get(s.storeId)?.oldestTxnTs }))
    const table = this.o.replica.ranges()
    if (this.gcRanges?.ranges !== table || this.gcRanges.version !== this.gcClearVersion) {
      const reports = table.map((r) => {
        const clear = this.gcClear.get(r.rangeId)
        return { rangeId: r.rangeId, locksClearBelow: clear?.generation === r.generation ? clear.below : undefined }
      })
      this.gcRanges = { ranges: table, version: this.gcClearVersion, reports }
    }
    const ranges = this.gcRanges.reports
    const next = gcTargets({ nowMs: this.clock(), ttlMs: this.o.gcTtlMs ?? DEFAULT_GC_TTL_MS, stores, ranges, previous: this.gc })
    if (next.safePoint > this.o.replica.gcSafePoint) await this.o.replica.raiseGcSafePoint(next.safePoint, this.timeoutMs)
    this.gc = next
  }

  /** Records ranges that just changed (a split, a membership change), as reported by the node that led the change. */
  async reportRanges(ranges: readonly RangeRecord[], leaderNodeId: number): Promise<void> {
    this.lead()
    for (const range of ranges) {
      const stored = this.o.replica.rangeById(range.rangeId)
      if (!stored || stored.generation < range.generation) await this.command({ kind: 'putRange', range })
      const load = this.rangeLoad.get(range.rangeId)
      this.setRangeLoad(range.rangeId, { leaderNodeId, approximateBytes: load?.approximateBytes ?? 0, approximateKeys: load?.approximateKeys ?? 0, queriesPerSecond: 0, liveBytes: load?.liveBytes ?? 0, garbageBytes: load?.garbageBytes ?? 0 })
    }
  }

  /** Every range with its leader's store, and every store (a linearizable read of the table). */
  async routing(): Promise<{ ranges: RoutedRange[]; stores: StoreRecord[] }> {
    this.lead()
    await this.o.replica.readBarrier()
    const ranges = this.o.replica.ranges().map((range) => {
      const load = this.rangeLoad.get(range.rangeId)
      return {
        range,
        leaderNodeId: load?.leaderNodeId ?? 0,
        approximateBytes: load?.approximateBytes ?? 0,
        approximateKeys: load?.approximateKeys ?? 0,
        queriesPerSecond: load?.queriesPerSecond ?? 0,
        liveBytes: load?.liveBytes ?? 0,
        garbageBytes: load?.garbageBytes ?? 0,
      }
    })
    return { ranges, stores: this.o.replica.stores() }
  }

  /** `count` fresh timestamps. */
  async timestamps(count: number): Promise<TimestampBatch> {
    this.lead()
    if (!this.tso) {
      const tso = new TimestampOracle({ raiseLimit: (limit) => this.o.replica.raiseTsoLimit(limit, this.timeoutMs) })
      await this.o.replica.readBarrier()
      tso.start(this.o.replica.tsoLimit)
      this.tso ??= tso
    }
    return this.tso.next(count)
  }

  /** A fresh range id. */
  async allocateRangeId(): Promise<number> {
    this.lead()
    return (await this.command({ kind: 'allocIds', idKind: 'range', count: 1 })).first
  }

  /** Every store with its liveness and load as this PD leader knows them. */
  async stores(): Promise<StoreView[]> {
    this.lead()
    await this.o.replica.readBarrier()
    const cs = this.o.replica.confState()
    return this.storeStats().map((s) => {
      const pdRole = cs.voters.includes(s.storeId) ? 'voter' : cs.learners.includes(s.storeId) ? 'learner' : undefined
      const view: StoreView = { ...s, replicaCount: s.replicaCount + (pdRole ? 1 : 0), address: this.o.replica.storeById(s.storeId)?.address ?? '', live: this.isLive(s) }
      if (pdRole) view.pdRole = pdRole
      return view
    })
  }

  /** The stores of every PD group replica as this leader applied them: voters (incoming, then outgoing while joint), then learners. */
  pdMembers(): number[] {
    this.lead()
    const cs = this.o.replica.confState()
    return [...new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext])]
  }

  /** The cluster's health: unavailable and under-replicated ranges (a quarantined voter is not live), live and dead stores, the PD group. */
  async health(): Promise<ClusterHealth> {
    const { ranges } = await this.routing()
    const withQuarantine = ranges.map((r) => ({ ...r, quarantinedReplicas: this.quarantinedReplicas(r.range) }))
    const cs = this.o.replica.confState()
    const pd = { voters: cs.voters, learners: cs.learners, leaderNodeId: this.o.raft.leaderOf(PD_GROUP_ID) }
    return clusterHealth(withQuarantine, await this.stores(), this.config.replicationFactor, pd)
  }

  /** Moves a store to `state` (decommissioning drains it; removed is final). */
  async setStoreState(storeId: number, state: StoreState): Promise<void> {
    this.lead()
    await this.command({ kind: 'setStoreState', storeId, state })
  }

  /**
   * Runs an operator a person asked for (`mrdb range move`) as the scheduler runs its own:
   * while it runs, the scheduler starts nothing else on that range, so it cannot undo the
   * change halfway. Resolves once the range has changed; RANGE_BUSY while another operator
   * changes it.
   */
  async runRequested(op: Operator): Promise<void> {
    this.lead()
    const busy = this.running.get(op.rangeId)
    if (busy) throw new PdError(PdErrorCode.RANGE_BUSY, `range ${op.rangeId} is busy: ${busy.kind} (${busy.reason}) runs on it`)
    this.running.set(op.rangeId, op)
    this.inputsVersion++
    try {
      await this.o.runner(op)
    } finally {
      this.running.delete(op.rangeId)
      this.inputsVersion++
      // The range changed or failed to: its leader's next heartbeat says how it is now.
      this.forgetRangeLoad(op.rangeId)
    }
  }

  /** One scheduler pass: decide, then start the operators there is room for. */
  async tick(): Promise<void> {
    if (!this.isLeader()) return
    this.lead()
    // No read barrier: the leader's applied state is recent enough to decide on, every
    // operator is checked again by the range it changes, and an idle PD group can quiesce.
    const now = this.clock()
    await this.advanceGc().catch(() => undefined) // tried again next tick
    const stores = this.storeStats()
    this.reportLiveness(stores)
    const cs = this.o.replica.confState()
    const pdLeader = this.o.raft.leaderOf(PD_GROUP_ID)
    const pd = {
      voters: cs.voters,
      learners: [...cs.learners, ...cs.learnersNext],
      joint: cs.votersOutgoing.length > 0,
      leaderNodeId: pdLeader === 0 ? undefined : pdLeader,
      pendingOperator: this.running.get(PD_GROUP_ID),
    }
    const key = this.passKey(stores, pd)
    if (this.idleKey && samePassKey(this.idleKey, key)) {
      this.passes.skipped++
      return
    }
    this.passes.scheduled++
    const ranges = key.ranges.map((record) => {
      const load = this.rangeLoad.get(record.rangeId)
      return {
        record,
        leaderNodeId: load?.leaderNodeId,
        approximateBytes: load?.approximateBytes ?? 0,
        approximateKeys: load?.approximateKeys ?? 0,
        queriesPerSecond: load?.queriesPerSecond ?? 0,
        pendingOperator: this.running.get(record.rangeId),
        quarantinedReplicas: this.quarantinedReplicas(record),
      }
    })
    const ops = schedule({ stores, ranges, pd, nowMs: now, config: this.config })
    this.idleKey = ops.length === 0 ? key : undefined
    const running = (transfers: boolean) => [...this.running.values()].filter((op) => (op.kind === 'transferLeader') === transfers).length
    // Leader counts are whole only once every range forgotten at an operator's end was listed
    // again, and every live store sent a complete list this term: until then a store that just
    // took leaderships looks short of them, and balancing on that sent it more, then took them back.
    this.expireForgotten(now)
    const countsWhole = this.forgotten.size === 0 && stores.every((s) => !this.isLive(s) || this.completeReports.has(s.storeId))
    for (const op of ops) {
      const transfer = op.kind === 'transferLeader'
      if (transfer && !countsWhole) continue
      if (running(transfer) >= (transfer ? (this.o.maxRunningTransfers ?? 64) : (this.o.maxRunningOperators ?? 4))) continue
      if (this.running.has(op.rangeId)) continue
      this.running.set(op.rangeId, op)
      this.inputsVersion++
      const run = op.rangeId === PD_GROUP_ID ? runPdOperator(this.o.replica, op, this.o.pdMembers, this.timeoutMs) : this.o.runner(op)
      run
        .catch((err: unknown) => this.o.onOperatorError?.(op, err))
        .finally(() => {
          this.running.delete(op.rangeId)
          this.inputsVersion++
          // The range changed or failed to: its leader's next heartbeat says how it is now.
          this.forgetRangeLoad(op.rangeId)
        })
    }
  }

  /** Ids of the range's replicas that their stores report quarantined. */
  private quarantinedReplicas(range: RangeRecord): number[] {
    return range.replicas
      .filter((x) => this.quarantined.get(x.nodeId)?.some((q) => q.rangeId === range.rangeId && q.replicaId === x.replicaId))
      .map((x) => x.replicaId)
  }

  /**
   * What a scheduler pass decides from, short of the ranges' stats: the range table (the same
   * array until it changes), {@link inputsVersion}, and per store and for the PD group what
   * the scheduler looks at. Not the time, nor the stores' free bytes: the time counts only
   * through the stores' liveness, and free bytes only order the stores an operator could go
   * to — a pass that found nothing to do finds nothing again on the same key.
   */
  private passKey(stores: readonly StoreStats[], pd: { voters: readonly number[]; learners: readonly number[]; joint: boolean; leaderNodeId?: number; pendingOperator?: Operator }): PassKey {
    const storesKey = stores.map((s) => `${s.storeId}:${s.state}:${this.isLive(s)}:${s.replicaCount}:${s.leaderCount}`).join(',')
    const pdKey = `${pd.voters.join(',')}/${pd.learners.join(',')}/${pd.joint}/${pd.leaderNodeId ?? ''}/${pd.pendingOperator ? 'busy' : ''}`
    return { ranges: this.o.replica.ranges(), version: this.inputsVersion, stores: storesKey, pd: pdKey }
  }

  /** Records the fence below which a range's leader found no lock; a change counts in {@link gcClearVersion}. */
  private setGcClear(rangeId: number, generation: number, below: bigint): void {
    const was = this.gcClear.get(rangeId)
    if (was?.generation === generation && was.below === below) return
    this.gcClear.set(rangeId, { generation, below })
    this.gcClearVersion++
  }

  /** Records what a range's leader reported; a change the scheduler looks at counts in {@link inputsVersion}. */
  private setRangeLoad(rangeId: number, load: Load): void {
    const was = this.rangeLoad.get(rangeId)
    this.rangeLoad.set(rangeId, load)
    const same =
      was !== undefined &&
      was.leaderNodeId === load.leaderNodeId &&
      was.approximateBytes === load.approximateBytes &&
      was.approximateKeys === load.approximateKeys &&
      was.queriesPerSecond === load.queriesPerSecond
    if (!same) this.inputsVersion++
  }

  private storeStats(): StoreStats[] {
    if (this.leaderCounts?.version !== this.inputsVersion) {
      const counts = new Map<number, number>()
      for (const load of this.rangeLoad.values()) counts.set(load.leaderNodeId, (counts.get(load.leaderNodeId) ?? 0) + 1)
      this.leaderCounts = { version: this.inputsVersion, counts }
    }
    const table = this.o.replica.ranges()
    if (this.replicaCounts?.ranges !== table) {
      const counts = new Map<number, number>()
      for (const r of table) for (const rep of r.replicas) counts.set(rep.nodeId, (counts.get(rep.nodeId) ?? 0) + 1)
      this.replicaCounts = { ranges: table, counts }
    }
    const leaders = this.leaderCounts.counts
    const replicas = this.replicaCounts.counts
    return this.o.replica.stores().map((s) => {
      const load = this.storeLoad.get(s.storeId)
      return {
        storeId: s.storeId,
        state: s.state,
        // A store not heard from since this node took over counts from the takeover.
        lastHeartbeatMs: load?.lastHeartbeatMs ?? this.leaderSinceMs,
        capacityBytes: load?.capacityBytes ?? 0,
        usedBytes: load?.usedBytes ?? 0,
        replicaCount: replicas.get(s.storeId) ?? 0,
        leaderCount: leaders.get(s.storeId) ?? 0,
      }
    })
  }

  private isLive(s: StoreStats): boolean {
    return s.state !== 'removed' && this.clock() - s.lastHeartbeatMs < this.config.storeDeadMs
  }

  private isLeader(): boolean {
    try {
      this.o.replica.checkLeader()
      return true
    } catch {
      return false
    }
  }

  /** Tells {@link PlacementDriverOptions.onStoreLiveness} of stores whose liveness changed since the last pass. */
  private reportLiveness(stores: readonly StoreStats[]): void {
    for (const s of stores) {
      if (s.state === 'removed') continue
      const live = this.isLive(s)
      const was = this.liveness.get(s.storeId)
      this.liveness.set(s.storeId, live)
      if (was !== undefined && was !== live) this.o.onStoreLiveness?.(s.storeId, live)
    }
  }

  /** Throws NOT_LEADER on a follower; on a new term, forgets the previous term's view. */
  /** Forgets what a range's leader last reported, until a store lists it again (see {@link forgotten}). */
  private forgetRangeLoad(rangeId: number): void {
    if (this.rangeLoad.delete(rangeId)) this.inputsVersion++
    if (!this.forgotten.has(rangeId)) this.forgotten.set(rangeId, this.clock())
  }

  /**
   * A forgotten range not listed within {@link FORGOTTEN_WAIT_MS} changed nothing its leader
   * reports (a transfer that failed), or is led nowhere (merged away): every store is asked
   * for a complete list, which settles them all. Before, every operator's end did that, and
   * at 10,000 ranges each round of complete lists cost the stores and this leader more than
   * an idle cluster's every other work.
   */
  private expireForgotten(now: number): void {
    for (const since of this.forgotten.values()) {
      if (now - since <= FORGOTTEN_WAIT_MS) continue
      this.forgotten.clear()
      this.completeReports.clear()
      return
    }
  }

  private lead(): void {
    this.o.replica.checkLeader()
    const term = this.o.raft.status(PD_GROUP_ID).term
    if (term === this.term) return
    this.term = term
    this.leaderSinceMs = this.clock()
    this.storeLoad.clear()
    this.rangeLoad.clear()
    this.completeReports.clear()
    this.forgotten.clear()
    this.quarantined.clear()
    this.inputsVersion++
    this.liveness.clear()
    this.tso = undefined
    this.gcClear.clear()
    this.gcClearVersion++
    const sp = this.o.replica.gcSafePoint
    this.gc = { fence: sp, safePoint: sp }
  }

  /** Proposes a PD command; resolves with its values, throws the PdError that rejected it. */
  private async command<C extends PdCommand>(c: C): Promise<PdResultValues[C['kind']]> {
    const r = await this.o.replica.propose(c, this.timeoutMs)
    if (!r.ok) throw r.error
    return r
  }
}

/** What a scheduler pass decides from; see PlacementDriver's passKey. */
interface PassKey {
  ranges: readonly RangeRecord[]
  version: number
  stores: string
  pd: string
}

function samePassKey(a: PassKey, b: PassKey): boolean {
  return a.ranges === b.ranges && a.version === b.version && a.stores === b.stores && a.pd === b.pd
}

// The PD's scheduling decisions as a pure function: from the stores' liveness and stats and
// the ranges' records and load, the operators to carry out next. No I/O, no clock of its own
// (`nowMs` comes in), and the same input always gives the same operators in the same order.
//
// Rules, in priority order; a range gets at most one operator, from the first rule that acts:
//   (a) repair: a replica on a dead, removed or decommissioning store, or one its store
//       quarantined (its Raft log is damaged), is replaced by a new one on a healthy store
//       (moveReplica), or just removed when the range has more voters than it needs; learners
//       there are removed. A quarantined replica with no other store to move to is removed
//       too: unlike a dead store it never comes back, and rule (b) then adds a fresh replica,
//       on its own store if need be.
//   (b) replication factor: a range with too few voters gets one (a learner it has is
//       promoted, else a replica added); one with too many loses one; stray learners go.
//   (c) replica balance: a replica moves from the store with the most replicas to one with
//       the fewest while their difference exceeds balanceThreshold.
//   (d) leader balance: leadership moves likewise, to a store holding a voter of the range.
//   (e) split: a range over splitBytes, splitKeys or splitQps is to be split (its leader
//       picks the key: the middle of its keys, which halves load spread evenly over them).
// Membership changes need a quorum of live voters before and after (a quarantined replica
// is not live: it does not vote). Only ranges with one before get any, and removals keep it
// after: a range with a bad replica loses its worst one first (dead or quarantined before
// decommissioning), which leaves the live voters as many (it was not live) or all of them
// (none was dead); rule (b) sees only healthy ranges. A replica that leads its range hands leadership to a healthy
// voter (transferLeader) before a later pass removes or moves it. Adding a replica means
// sending it a snapshot, so a store takes at most maxConcurrentSnapshotsPerStore pending and
// new additions at once. A range gets nothing without a known live leader (which carries out
// every operator) or without a quorum of live voters (Raft cannot commit there).
//
// The PD's own group (operators with rangeId PD_GROUP_ID; its replica ids are store ids)
// comes first, by rule (pd): a learner on an unhealthy store is removed; a voter on a dead,
// removed or decommissioning store is replaced (moveReplica: a learner on a healthy store
// without a PD replica — the one a failed move left, if any — caught up by snapshot, then
// one joint change promotes it and removes the bad voter), or, with nowhere to go, removed
// while more than MIN_PD_VOTERS voters remain and the rest keep a live quorum; a stray
// learner is removed. Nothing happens while a change is pending or joint, without a live PD
// leader, or without a quorum of live voters; a PD leader on a bad store hands off first.
// A store never holds two PD replicas (the replica id is the store id).

import { PdError, PdErrorCode } from './errors.js'
import { PD_GROUP_ID, type RangeRecord, type ReplicaRecord, type StoreState } from './pd-state.js'

/** The fewest voters rule (pd) shrinks the PD group to when a bad voter has no replacement. */
export const MIN_PD_VOTERS = 3

/**
 * Something to do to one range.
 * - addReplica: add a learner on `nodeId`, catch it up by snapshot, then promote it to voter.
 * - promoteLearner: make the range's learner on `nodeId` a voter (once it has caught up).
 * - removeReplica: remove the replica (voter or learner) on `nodeId`; never its leader.
 * - moveReplica: add a learner on `toNodeId`, catch it up by snapshot, then one joint
 *   configuration change promotes it and removes the replica on `fromNodeId` (never the
 *   leader), and the range leaves the joint configuration. The voter count never changes.
 * - transferLeader: hand leadership to the voter on `toNodeId`.
 * - splitRange: split the range; its leader finds the split key.
 * An operator whose rangeId is PD_GROUP_ID acts on the PD's own group (never a split).
 */
export type Operator =
  | { kind: 'addReplica'; rangeId: number; nodeId: number; reason: string }
  | { kind: 'promoteLearner'; rangeId: number; nodeId: number; reason: string }
  | { kind: 'removeReplica'; rangeId: number; nodeId: number; reason: string }
  | { kind: 'moveReplica'; rangeId: number; fromNodeId: number; toNodeId: number; reason: string }
  | { kind: 'transferLeader'; rangeId: number; toNodeId: number; reason: string }
  | { kind: 'splitRange'; rangeId: number; reason: string }

/** A store as the scheduler sees it: its record's state, liveness and load. */
export interface StoreStats {
  storeId: number
  state: StoreState
  /** When the PD last heard from the store. */
  lastHeartbeatMs: number
  capacityBytes: number
  usedBytes: number
  replicaCount: number
  leaderCount: number
}

/** A range as the scheduler sees it. */
export interface RangeStats {
  record: RangeRecord
  /** The store its leader is on, if known. */
  leaderNodeId?: number
  approximateBytes: number
  approximateKeys: number
  /** Reads and writes per second its leader served lately; absent: unknown. */
  queriesPerSecond?: number
  /** An operator on this range still being carried out: the range gets no other. */
  pendingOperator?: Operator
  /** Ids of its replicas that their stores quarantined (damaged Raft state): they take no part in the range and never will. */
  quarantinedReplicas?: readonly number[]
}

/** The PD's own Raft group as the scheduler sees it; its replica ids are store ids. */
export interface PdGroupStats {
  /** Stores of its voters (the incoming ones while joint). */
  voters: readonly number[]
  /** Stores of its learners. */
  learners: readonly number[]
  /** Whether it is in a joint configuration (a change is under way). */
  joint: boolean
  /** The store its leader is on, if known. */
  leaderNodeId?: number
  /** An operator on the PD group still being carried out: it gets no other. */
  pendingOperator?: Operator
}

/** Knobs of {@link schedule}. */
export interface SchedulerConfig {
  /** Voters each range should have. */
  replicationFactor: number
  /** A store unheard of for longer than this is dead. */
  storeDeadMs: number
  /** Snapshots (replica additions) a store receives at once. */
  maxConcurrentSnapshotsPerStore: number
  /** A range over this many bytes is split. */
  splitBytes: number
  /** A range over this many keys is split. */
  splitKeys: number
  /** A range serving more reads and writes per second than this is split (load-based splitting). */
  splitQps: number
  /** Replica or leader counts of two stores may differ by this much before a move; at least 1 (0 would ping-pong). */
  balanceThreshold: number
}

/** The defaults of {@link SchedulerConfig}. */
export const DEFAULT_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = {
  replicationFactor: 3,
  storeDeadMs: 30_000,
  maxConcurrentSnapshotsPerStore: 2,
  splitBytes: 64 * 1024 * 1024,
  splitKeys: 1_000_000,
  splitQps: 2500,
  balanceThreshold: 2,
}

/** What {@link schedule} decides from. */
export interface ScheduleInput {
  stores: readonly StoreStats[]
  ranges: readonly RangeStats[]
  /** The PD's own group; absent: left alone. */
  pd?: PdGroupStats
  nowMs: number
  config?: Partial<SchedulerConfig>
}

/** The store an operator sends a snapshot to, if it adds a replica. */
export function snapshotTarget(op: Operator): number | undefined {
  return op.kind === 'addReplica' ? op.nodeId : op.kind === 'moveReplica' ? op.toNodeId : undefined
}

/** The operators to carry out next, in priority order (see the file comment). Throws INVALID_ARGUMENT on a bad config. */
export function schedule(input: ScheduleInput): Operator[] {
  const planner = new Planner(input, checkConfig({ ...DEFAULT_SCHEDULER_CONFIG, ...input.config }))
  return planner.run()
}

function checkConfig(c: SchedulerConfig): SchedulerConfig {
  const positiveInt = (v: number): boolean => Number.isSafeInteger(v) && v >= 1
  if (!positiveInt(c.replicationFactor) || !positiveInt(c.maxConcurrentSnapshotsPerStore) || !positiveInt(c.balanceThreshold)) {
    throw new PdError(PdErrorCode.INVALID_ARGUMENT, 'replicationFactor, maxConcurrentSnapshotsPerStore and balanceThreshold must be positive integers')
  }
  if (!(c.storeDeadMs >= 0) || !(c.splitBytes > 0) || !(c.splitKeys > 0) || !(c.splitQps > 0)) {
    throw new PdError(PdErrorCode.INVALID_ARGUMENT, 'storeDeadMs must be non-negative, splitBytes, splitKeys and splitQps positive')
  }
  return c
}

/** One scheduling pass: the working counts it changes as it decides. */
class Planner {
  private readonly stores: Map<number, StoreStats>
  private readonly ranges: RangeStats[]
  /** Replica and leader counts per store, as they will be once the operators decided so far are done. */
  private readonly replicas = new Map<number, number>()
  private readonly leaders = new Map<number, number>()
  /** Snapshots pending or scheduled per store. */
  private readonly snapshots = new Map<number, number>()
  /** Ranges with a pending or new operator. */
  private readonly busy = new Set<number>()
  private readonly ops: Operator[] = []

  constructor(
    private readonly input: ScheduleInput,
    private readonly c: SchedulerConfig,
  ) {
    this.stores = new Map(input.stores.map((s) => [s.storeId, s]))
    this.ranges = [...input.ranges].sort((a, b) => a.record.rangeId - b.record.rangeId)
    for (const s of input.stores) {
      this.replicas.set(s.storeId, s.replicaCount)
      this.leaders.set(s.storeId, s.leaderCount)
    }
    for (const r of this.ranges) {
      if (!r.pendingOperator) continue
      this.busy.add(r.record.rangeId)
      const target = snapshotTarget(r.pendingOperator)
      if (target !== undefined) this.bump(this.snapshots, target, 1)
    }
    const pdPending = input.pd?.pendingOperator && snapshotTarget(input.pd.pendingOperator)
    if (pdPending !== undefined) this.bump(this.snapshots, pdPending, 1)
  }

  run(): Operator[] {
    this.repairPd()
    for (const r of this.schedulable()) if (!this.repair(r)) this.replicate(r)
    this.balanceReplicas()
    this.balanceLeaders()
    for (const r of this.schedulable()) this.split(r)
    return this.ops
  }

  // ---- the rules ---------------------------------------------------------------------------

  /** (a) Replaces or removes the range's worst replica (quarantined, or on the worst store); true if the range has one. */
  private repair(r: RangeStats): boolean {
    const bad = r.record.replicas
      .filter((x) => this.isQuarantined(r, x) || !this.healthy(x.nodeId))
      .sort((a, b) => Number(this.replicaLive(r, a)) - Number(this.replicaLive(r, b)) || a.nodeId - b.nodeId)[0]
    if (!bad) return false
    const quarantined = this.isQuarantined(r, bad)
    const why = quarantined ? `quarantined on store ${bad.nodeId} (its Raft log is damaged)` : `on ${this.badReason(bad.nodeId)}`
    const voters = this.voters(r)
    if (bad.role === 'learner') {
      this.add(r, { kind: 'removeReplica', rangeId: r.record.rangeId, nodeId: bad.nodeId, reason: `learner ${why}` })
      return true
    }
    if (voters.length > this.c.replicationFactor) {
      this.removeOrHandOff(r, bad.nodeId, `voter ${why}; range has ${voters.length} voters`)
      return true
    }
    const target = this.pickTarget(r)
    if (target === undefined) {
      // Nowhere to move it. A dead store may come back; a quarantined replica never does.
      if (quarantined && this.outsiders(r).length === 0) this.removeOrHandOff(r, bad.nodeId, `voter ${why}; no other store to move it to, a fresh replica follows`)
      return true
    }
    if (bad.nodeId === r.leaderNodeId) this.handOff(r, bad.nodeId, `leader ${why}, to be replaced`)
    else this.add(r, { kind: 'moveReplica', rangeId: r.record.rangeId, fromNodeId: bad.nodeId, toNodeId: target, reason: `replace replica ${why}` })
    return true
  }

  /** (pd) Replaces or removes a PD replica on an unhealthy store, or removes a stray learner (see the file comment). */
  private repairPd(): void {
    const pd = this.input.pd
    if (!pd || pd.pendingOperator || pd.joint || pd.leaderNodeId === undefined || !this.live(pd.leaderNodeId)) return
    if (!this.pdQuorum(pd.voters)) return
    const badLearner = pd.learners.find((n) => !this.healthy(n))
    if (badLearner !== undefined) return this.addPd({ kind: 'removeReplica', rangeId: PD_GROUP_ID, nodeId: badLearner, reason: `PD learner on ${this.badReason(badLearner)}` })
    // Dead stores first: they cost the group a vote now.
    const bad = pd.voters.filter((n) => !this.healthy(n)).sort((a, b) => Number(this.live(a)) - Number(this.live(b)) || a - b)[0]
    if (bad === undefined) {
      const stray = pd.learners[0]
      if (stray !== undefined) this.addPd({ kind: 'removeReplica', rangeId: PD_GROUP_ID, nodeId: stray, reason: `stray PD learner; the PD group has its ${pd.voters.length} voters` })
      return
    }
    const why = `PD voter on ${this.badReason(bad)}`
    const holders = new Set([...pd.voters, ...pd.learners])
    const target =
      pd.learners.find((n) => this.healthy(n)) ??
      this.healthyStores()
        .filter((s) => !holders.has(s) && this.hasSnapshotRoom(s))
        .sort((a, b) => this.count(this.replicas, a) - this.count(this.replicas, b) || this.free(b) - this.free(a) || a - b)[0]
    if (target !== undefined) {
      if (!this.pdQuorum([...pd.voters.filter((n) => n !== bad), target], target)) return
      if (bad === pd.leaderNodeId) this.handOffPd(pd, bad, `${why}, to be replaced`)
      else this.addPd({ kind: 'moveReplica', rangeId: PD_GROUP_ID, fromNodeId: bad, toNodeId: target, reason: `replace ${why}` })
      return
    }
    const rest = pd.voters.filter((n) => n !== bad)
    if (rest.length < MIN_PD_VOTERS || !this.pdQuorum(rest)) return // a dead store may come back
    if (bad === pd.leaderNodeId) this.handOffPd(pd, bad, `${why}, to be removed`)
    else this.addPd({ kind: 'removeReplica', rangeId: PD_GROUP_ID, nodeId: bad, reason: `${why}; no store to move it to, ${rest.length} voters remain` })
  }

  /** Whether a majority of `voters` are on live stores (`joining` counts as live: it is healthy). */
  private pdQuorum(voters: readonly number[], joining?: number): boolean {
    return voters.filter((n) => n === joining || this.live(n)).length > voters.length / 2
  }

  /** Transfers PD leadership from `from` to the healthy voter leading the fewest ranges, if any. */
  private handOffPd(pd: PdGroupStats, from: number, reason: string): void {
    const to = pd.voters.filter((n) => n !== from && this.healthy(n)).sort((a, b) => this.count(this.leaders, a) - this.count(this.leaders, b) || a - b)[0]
    if (to !== undefined) this.addPd({ kind: 'transferLeader', rangeId: PD_GROUP_ID, toNodeId: to, reason: `${reason}; its leadership moves first` })
  }

  /** Records an operator on the PD group (its replicas are not counted among the ranges'). */
  private addPd(op: Operator): void {
    this.ops.push(op)
    const target = snapshotTarget(op)
    if (target !== undefined) this.bump(this.snapshots, target, 1)
  }

  /** (b) Brings the range's voter count to the replication factor and removes stray learners. */
  private replicate(r: RangeStats): void {
    const rangeId = r.record.rangeId
    const voters = this.voters(r)
    const want = this.c.replicationFactor
    if (voters.length < want) {
      const reason = `range has ${voters.length} voters, wants ${want}`
      const learner = r.record.replicas.find((x) => x.role === 'learner')
      if (learner) return this.add(r, { kind: 'promoteLearner', rangeId, nodeId: learner.nodeId, reason })
      const target = this.pickTarget(r)
      if (target !== undefined) this.add(r, { kind: 'addReplica', rangeId, nodeId: target, reason })
      return
    }
    if (voters.length > want) {
      const victim = voters
        .filter((n) => n !== r.leaderNodeId)
        .sort((a, b) => this.count(this.replicas, b) - this.count(this.replicas, a) || a - b)[0]
      if (victim !== undefined) this.add(r, { kind: 'removeReplica', rangeId, nodeId: victim, reason: `range has ${voters.length} voters, wants ${want}` })
      return
    }
    const stray = r.record.replicas.find((x) => x.role === 'learner')
    if (stray) this.add(r, { kind: 'removeReplica', rangeId, nodeId: stray.nodeId, reason: `stray learner; range has its ${want} voters` })
  }

  /** (c) Moves replicas from fuller healthy stores to emptier ones while their gap exceeds the threshold. */
  private balanceReplicas(): void {
    for (;;) {
      const found = this.findMove()
      if (!found) return
      const [r, src, dst] = found
      const reason = `store ${src} holds ${this.count(this.replicas, src)} replicas, store ${dst} ${this.count(this.replicas, dst)}`
      if (r.leaderNodeId === src) {
        this.handOff(r, src, `${reason}; its leader moves first`)
        return // the move itself comes in a later pass
      }
      this.add(r, { kind: 'moveReplica', rangeId: r.record.rangeId, fromNodeId: src, toNodeId: dst, reason })
    }
  }

  /** (d) Moves leadership from healthy stores leading more ranges to voters on stores leading fewer. */
  private balanceLeaders(): void {
    // Once, not per transfer: with 10,000 ranges and hundreds of transfers due, recomputing
    // it for each held the PD leader's event loop for seconds. And only once a transfer is due.
    let ranges: RangeStats[] | undefined
    const schedulable = () => (ranges ??= this.schedulable())
    for (;;) {
      const found = this.findTransfer(schedulable)
      if (!found) return
      const [r, src, dst] = found
      const reason = `store ${src} leads ${this.count(this.leaders, src)} ranges, store ${dst} ${this.count(this.leaders, dst)}`
      this.add(r, { kind: 'transferLeader', rangeId: r.record.rangeId, toNodeId: dst, reason })
    }
  }

  /** (e) Suggests splitting a range over a size, key-count or load threshold. */
  private split(r: RangeStats): void {
    const qps = r.queriesPerSecond ?? 0
    const over =
      r.approximateBytes > this.c.splitBytes
        ? `~${r.approximateBytes} bytes, over ${this.c.splitBytes}`
        : r.approximateKeys > this.c.splitKeys
          ? `~${r.approximateKeys} keys, over ${this.c.splitKeys}`
          : qps > this.c.splitQps
            ? `~${Math.round(qps)} reads and writes per second, over ${this.c.splitQps}`
            : undefined
    if (over) this.add(r, { kind: 'splitRange', rangeId: r.record.rangeId, reason: `range has ${over}` })
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** Ranges that may get an operator now: none pending or decided, a live leader, a quorum of live voters. */
  private schedulable(): RangeStats[] {
    return this.ranges.filter((r) => !this.busy.has(r.record.rangeId) && r.leaderNodeId !== undefined && this.live(r.leaderNodeId) && this.hasQuorum(r))
  }

  /**
   * The first replica move that narrows a gap over the threshold: sources from the fullest
   * store down, targets from the emptiest (with snapshot room) up, ranges by id among those
   * fully healthy at the replication factor, preferring ranges the source does not lead.
   */
  private findMove(): [RangeStats, number, number] | undefined {
    const stores = this.healthyStores()
    const n = (s: number): number => this.count(this.replicas, s)
    // Built only when some store has a replica to give: a balanced pass visits no range.
    let ranges: RangeStats[] | undefined
    for (const src of [...stores].sort((a, b) => n(b) - n(a) || a - b)) {
      const dsts = stores
        .filter((s) => s !== src && this.hasSnapshotRoom(s) && n(src) - n(s) > this.c.balanceThreshold)
        .sort((a, b) => n(a) - n(b) || this.free(b) - this.free(a) || a - b)
      if (dsts.length === 0) continue
      ranges ??= this.schedulable().filter(
        (r) => r.record.replicas.length === this.c.replicationFactor && r.record.replicas.every((x) => x.role === 'voter' && this.healthy(x.nodeId) && !this.isQuarantined(r, x)),
      )
      const held = ranges.filter((r) => r.record.replicas.some((x) => x.nodeId === src))
      // Ranges src does not lead first: they move at once, the others need a leader transfer.
      held.sort((a, b) => Number(a.leaderNodeId === src) - Number(b.leaderNodeId === src))
      for (const dst of dsts) {
        const r = held.find((x) => !x.record.replicas.some((y) => y.nodeId === dst))
        if (r) return [r, src, dst]
      }
    }
    return undefined
  }

  /** The first leader transfer that narrows a gap over the threshold: sources from the store leading most down, targets up. */
  /** A transfer of one of `ranges()` (schedulable when the pass began; those given an operator since are passed over). */
  private findTransfer(ranges: () => readonly RangeStats[]): [RangeStats, number, number] | undefined {
    const stores = this.healthyStores()
    const n = (s: number): number => this.count(this.leaders, s)
    for (const src of [...stores].sort((a, b) => n(b) - n(a) || a - b)) {
      const dsts = stores.filter((s) => s !== src && n(src) - n(s) > this.c.balanceThreshold).sort((a, b) => n(a) - n(b) || a - b)
      for (const dst of dsts) {
        const r = ranges().find((x) => x.leaderNodeId === src && !this.busy.has(x.record.rangeId) && this.healthyVoters(x).includes(dst))
        if (r) return [r, src, dst]
      }
    }
    return undefined
  }

  /** Removes the replica on `nodeId`, or if it leads, hands its leadership off first. */
  private removeOrHandOff(r: RangeStats, nodeId: number, reason: string): void {
    if (nodeId === r.leaderNodeId) this.handOff(r, nodeId, `${reason}; its leader moves first`)
    else this.add(r, { kind: 'removeReplica', rangeId: r.record.rangeId, nodeId, reason })
  }

  /** Transfers leadership from `from` to the healthy voter leading the fewest ranges, if any. */
  private handOff(r: RangeStats, from: number, reason: string): void {
    const to = this.healthyVoters(r)
      .filter((n) => n !== from)
      .sort((a, b) => this.count(this.leaders, a) - this.count(this.leaders, b) || a - b)[0]
    if (to !== undefined) this.add(r, { kind: 'transferLeader', rangeId: r.record.rangeId, toNodeId: to, reason })
  }

  /** The healthy store without a replica of the range and with snapshot room that holds the fewest replicas (then has most free space). */
  private pickTarget(r: RangeStats): number | undefined {
    return this.outsiders(r)
      .filter((s) => this.hasSnapshotRoom(s))
      .sort((a, b) => this.count(this.replicas, a) - this.count(this.replicas, b) || this.free(b) - this.free(a) || a - b)[0]
  }

  /** Healthy stores holding no replica of the range. */
  private outsiders(r: RangeStats): number[] {
    const holders = new Set(r.record.replicas.map((x) => x.nodeId))
    return this.healthyStores().filter((s) => !holders.has(s))
  }

  /** Records an operator and what it will change. */
  private add(r: RangeStats, op: Operator): void {
    this.ops.push(op)
    this.busy.add(op.rangeId)
    const target = snapshotTarget(op)
    if (target !== undefined) this.bump(this.snapshots, target, 1)
    switch (op.kind) {
      case 'addReplica':
        this.bump(this.replicas, op.nodeId, 1)
        break
      case 'removeReplica':
        this.bump(this.replicas, op.nodeId, -1)
        break
      case 'moveReplica':
        this.bump(this.replicas, op.fromNodeId, -1)
        this.bump(this.replicas, op.toNodeId, 1)
        break
      case 'transferLeader':
        if (r.leaderNodeId !== undefined) this.bump(this.leaders, r.leaderNodeId, -1)
        this.bump(this.leaders, op.toNodeId, 1)
        break
      case 'promoteLearner':
      case 'splitRange':
        break
    }
  }

  private voters(r: RangeStats): number[] {
    return r.record.replicas.filter((x) => x.role === 'voter').map((x) => x.nodeId)
  }

  /** Stores of the range's voters that may lead it: healthy, and not quarantined. */
  private healthyVoters(r: RangeStats): number[] {
    return r.record.replicas.filter((x) => x.role === 'voter' && this.healthy(x.nodeId) && !this.isQuarantined(r, x)).map((x) => x.nodeId)
  }

  /** Whether a majority of the range's voters are live replicas. */
  private hasQuorum(r: RangeStats): boolean {
    const voters = r.record.replicas.filter((x) => x.role === 'voter')
    return voters.filter((x) => this.replicaLive(r, x)).length > voters.length / 2
  }

  /** Whether the replica takes part in its range: on a live store and not quarantined. */
  private replicaLive(r: RangeStats, x: ReplicaRecord): boolean {
    return this.live(x.nodeId) && !this.isQuarantined(r, x)
  }

  private isQuarantined(r: RangeStats, x: ReplicaRecord): boolean {
    return r.quarantinedReplicas?.includes(x.replicaId) ?? false
  }

  /** Known, not removed, and heard from within storeDeadMs (a decommissioning store is live). */
  private live(storeId: number): boolean {
    const s = this.stores.get(storeId)
    return s !== undefined && s.state !== 'removed' && this.input.nowMs - s.lastHeartbeatMs <= this.c.storeDeadMs
  }

  /** Live and up: may take replicas and leadership. */
  private healthy(storeId: number): boolean {
    return this.live(storeId) && this.stores.get(storeId)?.state === 'up'
  }

  private healthyStores(): number[] {
    return [...this.stores.keys()].filter((s) => this.healthy(s)).sort((a, b) => a - b)
  }

  private badReason(storeId: number): string {
    const s = this.stores.get(storeId)
    if (!s) return `unknown store ${storeId}`
    if (s.state !== 'up') return `${s.state} store ${storeId}`
    return `dead store ${storeId} (no heartbeat for ${this.input.nowMs - s.lastHeartbeatMs} ms)`
  }

  private hasSnapshotRoom(storeId: number): boolean {
    return this.count(this.snapshots, storeId) < this.c.maxConcurrentSnapshotsPerStore
  }

  private free(storeId: number): number {
    const s = this.stores.get(storeId)
    return s ? s.capacityBytes - s.usedBytes : 0
  }

  private count(counts: Map<number, number>, storeId: number): number {
    return counts.get(storeId) ?? 0
  }

  private bump(counts: Map<number, number>, storeId: number, by: number): void {
    counts.set(storeId, this.count(counts, storeId) + by)
  }
}

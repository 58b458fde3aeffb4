// The PD's scheduling decisions as a pure function: from the stores' liveness and stats and
// the ranges' records and load, the operators to carry out next. No I/O, no clock of its own
// (`nowMs` comes in), and the same input always gives the same operators in the same order.
//
// Rules, in priority order; a range gets at most one operator, from the first rule that acts:
//   (a) repair: a replica on a dead, removed or decommissioning store is replaced by a new one
//       on a healthy store (moveReplica), or just removed when the range has more voters than
//       it needs; learners there are removed.
//   (b) replication factor: a range with too few voters gets one (a learner it has is
//       promoted, else a replica added); one with too many loses one; stray learners go.
//   (c) replica balance: a replica moves from the store with the most replicas to one with
//       the fewest while their difference exceeds balanceThreshold.
//   (d) leader balance: leadership moves likewise, to a store holding a voter of the range.
//   (e) split: a range over splitBytes or splitKeys is to be split (its leader picks the key).
// Membership changes need a quorum of live voters before and after; no rule removes a voter
// that would leave fewer. A replica that leads its range hands leadership to a healthy voter
// (transferLeader) before a later pass removes or moves it. Adding a replica means sending it
// a snapshot, so a store takes at most maxConcurrentSnapshotsPerStore pending and new
// additions at once. A range with no known live leader gets nothing: its leader carries out
// every operator.

import { PdError, PdErrorCode } from './errors.js'
import type { RangeRecord, StoreState } from './pd-state.js'

/**
 * Something to do to one range.
 * - addReplica: add a learner on `nodeId`, catch it up by snapshot, then promote it to voter.
 * - promoteLearner: make the range's learner on `nodeId` a voter.
 * - removeReplica: remove the replica (voter or learner) on `nodeId`; never its leader.
 * - moveReplica: add a learner on `toNodeId`, catch it up by snapshot, then one joint
 *   configuration change promotes it and removes the replica on `fromNodeId` (never the
 *   leader), and the range leaves the joint configuration. The voter count never changes.
 * - transferLeader: hand leadership to the voter on `toNodeId`.
 * - splitRange: split the range; its leader finds the split key.
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
  /** An operator on this range still being carried out: the range gets no other. */
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
  balanceThreshold: 2,
}

/** What {@link schedule} decides from. */
export interface ScheduleInput {
  stores: readonly StoreStats[]
  ranges: readonly RangeStats[]
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
  if (!(c.storeDeadMs >= 0) || !(c.splitBytes > 0) || !(c.splitKeys > 0)) {
    throw new PdError(PdErrorCode.INVALID_ARGUMENT, 'storeDeadMs must be non-negative, splitBytes and splitKeys positive')
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
  }

  run(): Operator[] {
    for (const r of this.schedulable()) this.repair(r) || this.replicate(r)
    this.balanceReplicas()
    this.balanceLeaders()
    for (const r of this.schedulable()) this.split(r)
    return this.ops
  }

  // ---- the rules ---------------------------------------------------------------------------

  /** (a) Replaces or removes the replica on the worst store of the range; true if the range has one. */
  private repair(r: RangeStats): boolean {
    const bad = r.record.replicas
      .filter((x) => !this.healthy(x.nodeId))
      .sort((a, b) => Number(this.live(a.nodeId)) - Number(this.live(b.nodeId)) || a.nodeId - b.nodeId)[0]
    if (!bad) return false
    const why = this.badReason(bad.nodeId)
    if (bad.role === 'learner') {
      this.add(r, { kind: 'removeReplica', rangeId: r.record.rangeId, nodeId: bad.nodeId, reason: `learner on ${why}` })
      return true
    }
    const voters = this.voters(r)
    if (voters.length > this.c.replicationFactor) {
      if (this.hasQuorum(voters.filter((n) => n !== bad.nodeId))) this.removeOrHandOff(r, bad.nodeId, `voter on ${why}; range has ${voters.length} voters`)
      return true
    }
    if (!this.hasQuorum(voters)) return true // no quorum: Raft cannot change membership
    const target = this.pickTarget(r)
    if (target === undefined) return true
    if (bad.nodeId === r.leaderNodeId) this.handOff(r, bad.nodeId, `leader on ${why}, to be replaced`)
    else this.add(r, { kind: 'moveReplica', rangeId: r.record.rangeId, fromNodeId: bad.nodeId, toNodeId: target, reason: `replace replica on ${why}` })
    return true
  }

  /** (b) Brings the range's voter count to the replication factor and removes stray learners. */
  private replicate(r: RangeStats): void {
    const rangeId = r.record.rangeId
    const voters = this.voters(r)
    const want = this.c.replicationFactor
    if (voters.length < want) {
      if (!this.hasQuorum(voters)) return
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
      if (victim !== undefined && this.hasQuorum(voters.filter((n) => n !== victim))) {
        this.add(r, { kind: 'removeReplica', rangeId, nodeId: victim, reason: `range has ${voters.length} voters, wants ${want}` })
      }
      return
    }
    const stray = r.record.replicas.find((x) => x.role === 'learner')
    if (stray) this.add(r, { kind: 'removeReplica', rangeId, nodeId: stray.nodeId, reason: `stray learner; range has its ${want} voters` })
  }

  /** (c) Moves replicas from the fullest healthy store toward the emptiest while the gap exceeds the threshold. */
  private balanceReplicas(): void {
    for (;;) {
      const stores = this.healthyStores()
      const src = maxBy(stores, (s) => this.count(this.replicas, s))
      if (src === undefined) return
      const dsts = stores
        .filter((s) => s !== src && this.hasSnapshotRoom(s) && this.count(this.replicas, src) - this.count(this.replicas, s) > this.c.balanceThreshold)
        .sort((a, b) => this.count(this.replicas, a) - this.count(this.replicas, b) || this.free(b) - this.free(a) || a - b)
      const found = this.findMove(src, dsts)
      if (!found) return
      const [r, dst] = found
      const reason = `store ${src} holds ${this.count(this.replicas, src)} replicas, store ${dst} ${this.count(this.replicas, dst)}`
      if (r.leaderNodeId === src) {
        this.handOff(r, src, `${reason}; its leader moves first`)
        return // the move itself comes in a later pass
      }
      this.add(r, { kind: 'moveReplica', rangeId: r.record.rangeId, fromNodeId: src, toNodeId: dst, reason })
    }
  }

  /** (d) Moves leadership from the healthy store leading the most ranges toward the one leading the fewest. */
  private balanceLeaders(): void {
    for (;;) {
      const stores = this.healthyStores()
      const src = maxBy(stores, (s) => this.count(this.leaders, s))
      if (src === undefined) return
      const dsts = stores
        .filter((s) => s !== src && this.count(this.leaders, src) - this.count(this.leaders, s) > this.c.balanceThreshold)
        .sort((a, b) => this.count(this.leaders, a) - this.count(this.leaders, b) || a - b)
      let moved = false
      for (const dst of dsts) {
        const r = this.schedulable().find((x) => x.leaderNodeId === src && this.voters(x).includes(dst))
        if (!r) continue
        const reason = `store ${src} leads ${this.count(this.leaders, src)} ranges, store ${dst} ${this.count(this.leaders, dst)}`
        this.add(r, { kind: 'transferLeader', rangeId: r.record.rangeId, toNodeId: dst, reason })
        moved = true
        break
      }
      if (!moved) return
    }
  }

  /** (e) Suggests splitting a range over a size or key threshold. */
  private split(r: RangeStats): void {
    const over =
      r.approximateBytes > this.c.splitBytes
        ? `~${r.approximateBytes} bytes, over ${this.c.splitBytes}`
        : r.approximateKeys > this.c.splitKeys
          ? `~${r.approximateKeys} keys, over ${this.c.splitKeys}`
          : undefined
    if (over) this.add(r, { kind: 'splitRange', rangeId: r.record.rangeId, reason: `range has ${over}` })
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** Ranges that may get an operator now: none pending or decided, and a live leader. */
  private schedulable(): RangeStats[] {
    return this.ranges.filter((r) => !this.busy.has(r.record.rangeId) && r.leaderNodeId !== undefined && this.live(r.leaderNodeId))
  }

  /** A range that may move a replica from `src` to one of `dsts` (tried in order): fully healthy, at the replication factor. */
  private findMove(src: number, dsts: readonly number[]): [RangeStats, number] | undefined {
    const candidates = this.schedulable().filter(
      (r) =>
        r.record.replicas.every((x) => x.role === 'voter' && this.healthy(x.nodeId)) &&
        r.record.replicas.length === this.c.replicationFactor &&
        r.record.replicas.some((x) => x.nodeId === src),
    )
    // Ranges src does not lead first: they move at once, the others need a leader transfer.
    candidates.sort((a, b) => Number(a.leaderNodeId === src) - Number(b.leaderNodeId === src))
    for (const dst of dsts) {
      const r = candidates.find((x) => !x.record.replicas.some((y) => y.nodeId === dst))
      if (r) return [r, dst]
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
    const to = this.voters(r)
      .filter((n) => n !== from && this.healthy(n))
      .sort((a, b) => this.count(this.leaders, a) - this.count(this.leaders, b) || a - b)[0]
    if (to !== undefined) this.add(r, { kind: 'transferLeader', rangeId: r.record.rangeId, toNodeId: to, reason })
  }

  /** The healthy store without a replica of the range and with snapshot room that holds the fewest replicas (then has most free space). */
  private pickTarget(r: RangeStats): number | undefined {
    const holders = new Set(r.record.replicas.map((x) => x.nodeId))
    return this.healthyStores()
      .filter((s) => !holders.has(s) && this.hasSnapshotRoom(s))
      .sort((a, b) => this.count(this.replicas, a) - this.count(this.replicas, b) || this.free(b) - this.free(a) || a - b)[0]
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

  /** Whether a majority of `voters` are on live stores. */
  private hasQuorum(voters: readonly number[]): boolean {
    return voters.filter((n) => this.live(n)).length > voters.length / 2
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

/** The item with the largest key (the first of equals), or undefined for none. */
function maxBy<T>(items: readonly T[], key: (item: T) => number): T | undefined {
  let best: T | undefined
  for (const item of items) if (best === undefined || key(item) > key(best)) best = item
  return best
}

// Many Raft groups on one node. One loop drains the Ready of every group that has work:
// it writes all their entries and hard states in ONE batch with ONE fsync, sends every
// message in one frame per destination node (heartbeats coalesced), and applies committed
// entries. The loop is pipelined: the apply of one write's Readys runs while the next write
// is collected and fsync'd (see iterate() for what overlaps what, and why it is safe). Idle
// groups quiesce: no ticks, no heartbeats, until a proposal or a message wakes them;
// node-level liveness (any frame from a node) lets a quiesced follower notice that its
// leader's node died, and a broken connection to it (onPeerLost) starts an election at once.
// A failed log write or apply stops the host for good: like stop(), it fails every caller
// still waiting, and every later call, with ERR_STOPPED.
// A group whose storage reports its stored log damaged (CorruptionError, wherever the core
// read it: a step, a tick, a Ready, an advance) is stopped alone: it does no more work, its
// waiters fail, the host reports it, and every other group goes on.

import { decodeConfChange } from '../core/confchange/codec.js'
import type { RaftLogger } from '../core/config.js'
import type { ReadOnlyOption } from '../core/read-only.js'
import { CorruptionError, ProposalDroppedError, RaftError, RaftErrorCode } from '../core/errors.js'
import { RawNode } from '../core/raw-node.js'
import type { Rng } from '../core/rng.js'
import type { Status } from '../core/status.js'
import type { AppendedAt, ConfChangeV2, Message, RaftStateType, Ready } from '../core/types.js'
import type { CoalescedHeartbeat, QuiesceNotice, RaftFrame, Transport } from '../transport/transport.js'
import type { GroupOptions, GroupStateMachine, LogUpdate, RaftLogWriter } from './types.js'

/** Options of a {@link MultiRaft} host. */
export interface MultiRaftOptions {
  /** This node's (store's) id. */
  nodeId: number
  transport: Transport
  logWriter: RaftLogWriter
  rng: Rng
  /** Milliseconds per tick; default 50. */
  tickMs?: number
  /**
   * Election timeout base in ticks; default 10 (500–1000 ms at 50 ms). Raft's own ticks share
   * Node's one thread with the work they order: a node busy applying, serving and parsing runs
   * its timers 100–300 ms late at the 99th percentile, and shorter timeouts then depose healthy
   * leaders (see docs/decisions.md).
   */
  electionTick?: number
  /** Heartbeat interval in ticks; default 1. */
  heartbeatTick?: number
  /** How leaders confirm linearizable reads: 'safe' (a ReadIndex heartbeat round, the default) or 'lease-based'. */
  readOnlyOption?: ReadOnlyOption
  /**
   * Most groups one loop pass takes a Ready from (dirty groups without one are passed over and
   * do not count); default 256. A pass is synchronous up to its log write (ready(), encoding
   * the write, sending), so a node where thousands of groups have work at once (10,000 ranges
   * electing after `mrdb init`) held its event loop for seconds: ticks, peers' frames and
   * other nodes' heartbeats waited, and leaders elsewhere lost their quorum. The groups left
   * over stay dirty and are taken, in turn, by the next passes, with a turn of the event loop
   * between.
   */
  maxGroupsPerPass?: number
  /** fsync log writes; default true. Turn off only for tests that do not crash. */
  sync?: boolean
  /**
   * How long a node may go unheard before quiesced followers of ranges it leads wake up and
   * may campaign; default 2000 ms. Far longer than an election timeout on purpose: a busy
   * node's keepalives arrive late, and waking hundreds of followers whose leader is alive
   * but quiesced lets their leases lapse and depose it.
   */
  livenessTimeoutMs?: number
  /**
   * How long a peer node may go without a frame from here before it gets an empty one (the
   * node-level keepalive quiesced groups rely on); default an eighth of livenessTimeoutMs, so
   * a node misses seven in a row before its peers take it for silent.
   */
  keepaliveMs?: number
  /** Called for a message to a group this node does not host (e.g. a replica being added). */
  onUnknownGroup?: (groupId: number, msg: Message, fromNode: number) => void
  /** Called when a group's known leader changes (replica id, 0 when unknown). */
  onLeaderChange?: (groupId: number, leaderReplicaId: number) => void
  /**
   * Called when the host stopped a group because its storage reported the group's stored log
   * damaged: the group is no longer hosted (see the file comment). Called once per group.
   */
  onGroupDamaged?: (groupId: number, replicaId: number, err: CorruptionError) => void
  logger?: RaftLogger
}

/** Counters a host exposes for metrics and tests. */
export interface MultiRaftMetrics {
  /** Loop iterations that processed at least one Ready. */
  iterations: number
  /** Log writes, and how many of them were fsync'd. */
  logWrites: number
  fsyncs: number
  /**
   * Log writes that started while committed entries of an earlier write were still being
   * applied: the pipeline at work (see iterate()).
   */
  overlappedWrites: number
  /** Frames sent, and the heartbeats coalesced into them. */
  framesSent: number
  heartbeatsCoalesced: number
  /** Group ticks run (quiesced groups are not ticked). */
  groupTicks: number
  /**
   * Groups the ticks looked at: awake groups, and quiesced ones only while reads wait or an
   * early campaign is planned (an idle node's ticks cost nothing per quiesced group).
   */
  tickVisits: number
  /** Groups currently quiesced. */
  quiesced: number
  /**
   * Nodes with a liveness record: nodes holding a replica of a hosted group that were heard
   * from since they became one. Frames from other nodes leave no trace.
   */
  heardNodes: number
  /** Proposals (commands and membership changes) handed to groups, and those refused at once. */
  proposals: number
  proposalsDropped: number
  /** Ticks that ran more than a whole tick interval late (the event loop was busy). */
  ticksLate: number
  /**
   * Ticks that advanced no group because the loop had a backlog of more than a pass of work
   * (see tick()): the node's Raft time waited for it.
   */
  ticksHeld: number
}

interface Group {
  readonly id: number
  readonly replicaId: number
  readonly raw: RawNode
  peers: ReadonlyMap<number, number>
  readonly stateMachine: GroupStateMachine
  quiesced: boolean
  /** The leader's node this quiesced follower watches (its key in quiescedFollowers); undefined otherwise. */
  watching: number | undefined
  lead: number
  /** The role as of the last Ready taken from the core. */
  role: RaftStateType
  /** ReadIndex requests waiting for their ReadState, by context. */
  readonly reads: Map<string, { resolve: (index: number) => void; reject: (err: Error) => void; deadlineTick: number }>
  /** Callers waiting for the applied index to reach a value. */
  readonly appliedWaiters: Array<{ index: number; resolve: () => void; reject: (err: Error) => void }>
  applied: number
  /** Set once the group was stopped for a damaged log: it does no more work, even in the loop run under way. */
  damaged: boolean
  /** Set while this follower campaigns early because its leader's node was lost (see onPeerLost). */
  failover: { campaignAt: number } | undefined
  /** Readys of this group persisted and waiting for, or under, their apply. */
  applying: number
  /** The end of this group's chain of applies: a Ready's apply starts when the one before ends. */
  applyTail: Promise<void>
}

/**
 * Ticks between the early campaigns of two followers of a lost leader, by rank (onPeerLost):
 * longer than a pre-vote round on a busy node (timers run 100–300 ms late under load), so
 * that the next one starts only if the first could not win, never racing it into a split vote.
 */
const FAILOVER_STAGGER_TICKS = 5

const EMPTY_FRAME_LISTS = (): Pick<RaftFrame, 'messages' | 'heartbeats' | 'heartbeatResponses' | 'quiesce'> => ({
  messages: [],
  heartbeats: [],
  heartbeatResponses: [],
  quiesce: [],
})

/** Hosts the Raft groups of one node; see the file comment. */
export class MultiRaft {
  readonly metrics: MultiRaftMetrics = { iterations: 0, logWrites: 0, fsyncs: 0, overlappedWrites: 0, framesSent: 0, heartbeatsCoalesced: 0, groupTicks: 0, tickVisits: 0, quiesced: 0, heardNodes: 0, proposals: 0, proposalsDropped: 0, ticksLate: 0, ticksHeld: 0 }
  private readonly groups = new Map<number, Group>()
  /** Who else hears of leader changes (see {@link watchLeaders}). */
  private readonly leaderWatchers = new Set<(groupId: number, leaderReplicaId: number) => void>()
  /**
   * The groups a tick visits. Invariant: holds every group that is awake, has reads waiting
   * or an early campaign planned; a quiesced group without either leaves it at its next tick,
   * so an idle node's tick costs nothing per quiesced range.
   */
  private readonly ticking = new Set<Group>()
  /**
   * Quiesced followers by their leader's node: when a node goes silent, only the followers it
   * leads are woken, without a walk over every group each tick.
   */
  private readonly quiescedFollowers = new Map<number, { since: number; groups: Set<Group> }>()
  /**
   * New groups waiting for a designated leader (awaitLeaderOn), by the tick at which they stop
   * waiting: if no message of their group came by then (that node does not host it, say), they
   * wake and elect as usual. In tick order.
   */
  private readonly awaiting: Array<{ untilTick: number; groups: Group[] }> = []
  private readonly dirty = new Set<Group>()
  private readonly o: Required<Omit<MultiRaftOptions, 'onUnknownGroup' | 'onLeaderChange' | 'onGroupDamaged' | 'logger' | 'readOnlyOption' | 'keepaliveMs'>> & MultiRaftOptions
  private ticks = 0
  /** When the last tick ran (performance.now()), to count late ones. */
  private lastTickAt: number | undefined
  private timer: NodeJS.Timeout | undefined
  private loopScheduled = false
  private looping = false
  /** Why the host stopped (stop() or a failed loop run); once set, it does no more work. */
  private stopReason: { message: string; cause?: unknown } | undefined
  /** The run of stop(), shared by repeated calls. */
  private closing: Promise<void> | undefined
  private readContext = 0
  /**
   * Every node that holds a replica of a hosted group (this one included), with how many
   * replicas of hosted groups it holds. Kept by addGroup, removeGroup and setPeers.
   */
  private readonly peerNodes = new Map<number, number>()
  /**
   * Tick at which each peer node was last heard from (any frame). Invariant: its keys are in
   * peerNodes, so made-up sender ids cannot grow it.
   */
  private readonly lastHeard = new Map<number, number>()
  /** When a frame last went to each peer node (performance.now()); one silent for {@link keepaliveMs} gets a keepalive. */
  private readonly lastSentAt = new Map<number, number>()
  /**
   * How long a peer node may go without a frame from here (see MultiRaftOptions.keepaliveMs).
   * Not every tick: with nothing else to send, a keepalive per peer per tick was most of an
   * idle node's work.
   */
  private readonly keepaliveMs: number
  /** Quiesce notices to attach to the next frames, by node. */
  private readonly quiesceNotices = new Map<number, QuiesceNotice[]>()
  /** Resolves when the current loop run ends. */
  private idle: Promise<void> = Promise.resolve()
  /** Applies under way or queued, of every group (see startApply). */
  private readonly applies = new Set<Promise<void>>()

  constructor(options: MultiRaftOptions) {
    // `??`, not a spread: an option passed as undefined must not erase its default.
    this.o = {
      ...options,
      tickMs: options.tickMs ?? 50,
      electionTick: options.electionTick ?? 10,
      heartbeatTick: options.heartbeatTick ?? 1,
      sync: options.sync ?? true,
      livenessTimeoutMs: options.livenessTimeoutMs ?? 2000,
      maxGroupsPerPass: options.maxGroupsPerPass ?? 256,
    }
    this.keepaliveMs = options.keepaliveMs ?? this.o.livenessTimeoutMs / 8
  }

  /** Starts the transport and the ticker. */
  async start(): Promise<void> {
    await this.o.transport.start({
      onFrame: (f) => this.onFrame(f),
      onUnreachable: (node) => this.onUnreachable(node),
      onPeerLost: (node) => this.onPeerLost(node),
      onSnapshotStatus: (groupId, to, status) => {
        const g = this.groups.get(groupId)
        if (g && this.contained(g, () => g.raw.reportSnapshot(to, status))) this.markDirty(g)
      },
      hostsReplica: (groupId, replicaId) => !this.stopped && this.groups.get(groupId)?.replicaId === replicaId,
    })
    this.timer = setInterval(() => this.tick(), this.o.tickMs)
  }

  /**
   * Stops ticking and the transport, after the current loop run. Pending reads and
   * applied-waiters fail with ERR_STOPPED, and so do later proposals, reads and waits.
   */
  stop(): Promise<void> {
    this.closing ??= this.close()
    return this.closing
  }

  private async close(): Promise<void> {
    this.halt(`multiraft node ${this.o.nodeId} is stopped`)
    // A failed run has been logged and has halted the host already.
    await this.idle.catch(() => undefined)
    await Promise.allSettled([...this.applies])
    this.failAllWaiters()
    await this.o.transport.close()
  }

  /** Stops all work for good: no more ticks, frames or loop runs. The first reason stays. */
  private halt(message: string, cause?: unknown): void {
    this.stopReason ??= { message, cause }
    if (this.timer) clearInterval(this.timer)
  }

  private get stopped(): boolean {
    return this.stopReason !== undefined
  }

  private stoppedError(): RaftError {
    const reason = this.stopReason ?? { message: `multiraft node ${this.o.nodeId} is stopped` }
    return new RaftError(RaftErrorCode.STOPPED, reason.message, { cause: reason.cause })
  }

  private failAllWaiters(): void {
    for (const g of this.groups.values()) failWaiters(g, this.stoppedError())
  }

  /**
   * Stops a group whose stored log its host found damaged outside the core's own reads (while
   * compacting the log, say), as the host does when the core finds it: see onGroupDamaged.
   */
  stopDamagedGroup(groupId: number, err: CorruptionError): void {
    const g = this.groups.get(groupId)
    if (g) this.stopDamaged(g, err)
  }

  /** Hosts a group. Its storage must already hold what the core needs to restart. */
  addGroup(opts: GroupOptions): void {
    if (this.groups.has(opts.groupId)) throw new RaftError(RaftErrorCode.CONFIG_INVALID, `group ${opts.groupId} is already hosted`)
    const raw = new RawNode({
      id: opts.replicaId,
      electionTick: this.o.electionTick,
      heartbeatTick: this.o.heartbeatTick,
      storage: opts.storage,
      rng: this.o.rng,
      applied: opts.applied,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: this.o.readOnlyOption ?? 'safe',
      logger: this.o.logger,
    })
    const g: Group = {
      id: opts.groupId,
      replicaId: opts.replicaId,
      raw,
      peers: opts.peers,
      stateMachine: opts.stateMachine,
      quiesced: false,
      watching: undefined,
      lead: 0,
      role: 'follower',
      reads: new Map(),
      appliedWaiters: [],
      applied: opts.applied,
      damaged: false,
      failover: undefined,
      applying: 0,
      applyTail: Promise.resolve(),
    }
    this.groups.set(opts.groupId, g)
    this.countPeers(opts.peers, 1)
    const leaderNode = opts.awaitLeaderOn
    if (leaderNode !== undefined && leaderNode !== this.o.nodeId && [...opts.peers.values()].includes(leaderNode)) {
      g.quiesced = true
      this.watch(g, leaderNode)
      const untilTick = this.ticks + Math.ceil(this.o.livenessTimeoutMs / this.o.tickMs)
      const last = this.awaiting.at(-1)
      if (last?.untilTick === untilTick) last.groups.push(g)
      else this.awaiting.push({ untilTick, groups: [g] })
    } else this.ticking.add(g)
    this.markDirty(g)
  }

  /** Stops hosting a group (its replica was removed or the range merged away). */
  removeGroup(groupId: number): void {
    const g = this.groups.get(groupId)
    if (!g) return
    this.groups.delete(groupId)
    this.forget(g)
    this.countPeers(g.peers, -1)
    this.dirty.delete(g)
    failWaiters(g, new RaftError(RaftErrorCode.PROPOSAL_DROPPED, `group ${groupId} was removed from this node`))
  }

  /** Whether this node hosts the group. */
  hasGroup(groupId: number): boolean {
    return this.groups.has(groupId)
  }

  /**
   * Calls `listener` whenever a group's known leader changes, as {@link MultiRaftOptions.onLeaderChange}
   * is; returns what stops it. Lets an observer follow leaderships without visiting every group.
   */
  watchLeaders(listener: (groupId: number, leaderReplicaId: number) => void): () => void {
    this.leaderWatchers.add(listener)
    return () => this.leaderWatchers.delete(listener)
  }

  /** Ids of every hosted group. */
  groupIds(): number[] {
    return [...this.groups.keys()]
  }

  /** Updates where a group's replicas live (after a membership change). */
  setPeers(groupId: number, peers: ReadonlyMap<number, number>): void {
    const g = this.group(groupId)
    this.countPeers(peers, 1)
    this.countPeers(g.peers, -1)
    g.peers = peers
    // A quiesced follower watches its leader's node, which may have changed.
    if (g.watching !== undefined) {
      this.unwatch(g)
      const node = peers.get(g.lead)
      if (node !== undefined) this.watch(g, node)
    }
  }

  /** Drops a group that leaves the host from the tick's sets. */
  private forget(g: Group): void {
    this.ticking.delete(g)
    this.unwatch(g)
  }

  /** Files a quiesced follower under its leader's node (see quiescedFollowers). */
  private watch(g: Group, node: number): void {
    g.watching = node
    let w = this.quiescedFollowers.get(node)
    if (!w) this.quiescedFollowers.set(node, (w = { since: this.ticks, groups: new Set() }))
    w.groups.add(g)
  }

  private unwatch(g: Group): void {
    if (g.watching === undefined) return
    const w = this.quiescedFollowers.get(g.watching)
    w?.groups.delete(g)
    if (w?.groups.size === 0) this.quiescedFollowers.delete(g.watching)
    g.watching = undefined
  }

  /**
   * Whether followers watching `node` stay quiesced: it was heard within the liveness window,
   * or, never heard yet (new groups waiting for their first leader), they have not waited that long.
   */
  private watchedAlive(node: number, since: number): boolean {
    if (node === this.o.nodeId || this.nodeAlive(node)) return true
    return !this.lastHeard.has(node) && (this.ticks - since) * this.o.tickMs <= this.o.livenessTimeoutMs
  }

  /** Adds `delta` to the replica count of each node in `peers`; a node whose count reaches 0 is forgotten. */
  private countPeers(peers: ReadonlyMap<number, number>, delta: 1 | -1): void {
    for (const node of peers.values()) {
      const n = (this.peerNodes.get(node) ?? 0) + delta
      if (n > 0) {
        this.peerNodes.set(node, n)
        continue
      }
      this.peerNodes.delete(node)
      this.lastHeard.delete(node)
    }
    this.metrics.heardNodes = this.lastHeard.size
  }

  /** The node id of a replica of a group, if known. */
  nodeOf(groupId: number, replicaId: number): number | undefined {
    return this.groups.get(groupId)?.peers.get(replicaId)
  }

  /**
   * Proposes a command; throws a RaftError with code ERR_PROPOSAL_DROPPED if it cannot be
   * accepted now, ERR_STOPPED once the host stopped. Returns where this node appended it as
   * the group's leader, undefined when it forwarded it (see RawNode.propose).
   */
  propose(groupId: number, data: Uint8Array): AppendedAt | undefined {
    const g = this.wake(this.liveGroup(groupId))
    let at: AppendedAt | undefined
    this.counted(() => this.drive(g, () => { at = g.raw.propose(data) }))
    return at
  }

  /** Proposes a membership change (one in flight at a time); throws like {@link propose}. */
  proposeConfChange(groupId: number, cc: ConfChangeV2): void {
    const g = this.wake(this.liveGroup(groupId))
    this.counted(() => this.drive(g, () => g.raw.proposeConfChange(cc)))
  }

  /** Runs a proposal, counting it, and counting it dropped if it throws. */
  private counted(proposal: () => void): void {
    this.metrics.proposals++
    try {
      proposal()
    } catch (err) {
      this.metrics.proposalsDropped++
      throw err
    }
  }

  /** Asks the group's leader to hand leadership to replica `to`. */
  transferLeader(groupId: number, to: number): void {
    const g = this.wake(this.liveGroup(groupId))
    this.drive(g, () => g.raw.transferLeader(to))
  }

  /** Starts an election for this node's replica now. */
  campaign(groupId: number): void {
    const g = this.wake(this.liveGroup(groupId))
    this.drive(g, () => g.raw.campaign())
  }

  /**
   * Runs a caller's request on a group's core. If the core found the group's log damaged,
   * the group is stopped and the caller gets ERR_PROPOSAL_DROPPED: nothing the core did for
   * the request can leave this node, since the group never hands out another Ready.
   */
  private drive(g: Group, request: () => void): void {
    if (!this.contained(g, request)) throw new ProposalDroppedError(`group ${g.id} stopped on node ${this.o.nodeId}: its stored log is damaged`)
    this.markDirty(g)
  }

  /**
   * A linearizable read point: resolves with a commit index that covers every write
   * acknowledged before the call, once the group's leader confirmed it still leads.
   * Rejects with ERR_PROPOSAL_DROPPED if no answer comes within two election timeouts,
   * with ERR_STOPPED once the host stopped.
   */
  readIndex(groupId: number): Promise<number> {
    if (this.stopped) return Promise.reject(this.stoppedError())
    const g = this.wake(this.group(groupId))
    const key = `${this.o.nodeId}:${++this.readContext}`
    return new Promise<number>((resolve, reject) => {
      g.reads.set(key, { resolve, reject, deadlineTick: this.ticks + 4 * this.o.electionTick })
      // If the group stops for a damaged log, stopping it fails this read too.
      if (this.contained(g, () => g.raw.readIndex(new TextEncoder().encode(key)))) this.markDirty(g)
    })
  }

  /**
   * Resolves once the group's state machine has applied `index`. Rejects with ERR_STOPPED
   * once the host stopped, and with ERR_PROPOSAL_DROPPED if the group is removed first.
   */
  waitApplied(groupId: number, index: number): Promise<void> {
    if (this.stopped) return Promise.reject(this.stoppedError())
    const g = this.group(groupId)
    if (g.applied >= index) return Promise.resolve()
    return new Promise((resolve, reject) => g.appliedWaiters.push({ index, resolve, reject }))
  }

  /** The core's view of a group (role, term, leader, commit, progress on the leader). */
  status(groupId: number): Status {
    return this.group(groupId).raw.status()
  }

  /** A group's current term on this node. */
  termOf(groupId: number): number {
    return this.group(groupId).raw.term
  }

  /** The leader replica id of a group as this node knows it (0 if unknown). */
  leaderOf(groupId: number): number {
    return this.group(groupId).lead
  }

  /** Whether a group is quiesced on this node. */
  isQuiesced(groupId: number): boolean {
    return this.group(groupId).quiesced
  }

  // ---- ticking and quiescence ---------------------------------------------------------

  /**
   * One tick of every awake group — unless the loop still has more than a pass of work
   * waiting (maxGroupsPerPass groups or more dirty): then the groups' Raft time waits for the
   * loop, and only the keepalives go out. Timeouts are counted in ticks on the assumption that
   * a message is answered within a few ticks; a node where thousands of groups have work at
   * once (10,000 ranges electing after `mrdb init`) answered only after dozens, so every
   * election timed out before its votes came back and leaders stepped down for want of acks
   * that were on their way, and the node never got out of that storm. CockroachDB's Raft
   * scheduler gets the same effect by queueing ticks behind the ranges' other work. Not with
   * lease-based reads: a leader's lease is counted in its ticks and must not outlast its
   * followers' patience.
   */
  private tick(): void {
    if (this.stopped) return
    if (this.dirty.size >= this.o.maxGroupsPerPass && this.o.readOnlyOption !== 'lease-based') {
      this.metrics.ticksHeld++
      this.sendKeepalives()
      return
    }
    this.ticks++
    const now = performance.now()
    if (this.lastTickAt !== undefined && now - this.lastTickAt > 2 * this.o.tickMs) this.metrics.ticksLate++
    this.lastTickAt = now
    // New groups whose designated leader never showed up stop waiting for it.
    while (this.awaiting.length > 0 && this.awaiting[0]!.untilTick <= this.ticks) {
      for (const g of this.awaiting.shift()!.groups) if (g.quiesced && g.lead === 0 && this.groups.get(g.id) === g) this.wake(g)
    }
    // Quiesced followers whose leader's node went silent wake up (and are ticked below).
    for (const [node, { since, groups }] of this.quiescedFollowers) {
      if (this.watchedAlive(node, since)) continue
      this.o.logger?.info(`node ${node} went silent: unquiescing the ${groups.size} group(s) it leads here`)
      for (const g of [...groups]) this.wake(g)
    }
    let awake = 0
    // Sets stay valid while iterated as groups leave them (a damaged group, a quiesced one).
    for (const g of this.ticking) {
      if (this.groups.get(g.id) !== g) {
        this.ticking.delete(g)
        continue
      }
      this.metrics.tickVisits++
      // Quiesced groups too: a follower's forwarded read may be lost while its leader quiesces.
      this.expireReads(g)
      this.contained(g, () => {
        if (g.failover) this.failoverTick(g, g.failover)
        if (!this.tickGroup(g)) awake++
      })
      if (g.quiesced && g.reads.size === 0 && g.failover === undefined) this.ticking.delete(g)
    }
    this.metrics.quiesced = this.groups.size - awake
    this.sendKeepalives()
  }

  /** Ticks one group unless it is (or now becomes) quiesced; returns whether it is quiesced. */
  private tickGroup(g: Group): boolean {
    if (g.quiesced) return true
    // A leader decides before ticking. Its followers were told the final commit index (the core
    // sends it after the commit moves, and again after a loss the transport reported); one that
    // missed it anyway learns it from the quiesce notice (onQuiesceNotice).
    if (this.maybeQuiesce(g)) return true
    g.raw.tick()
    this.metrics.groupTicks++
    this.markDirty(g)
    return false
  }

  /** A leader quiesces a group that is fully replicated, applied and idle, with every follower's node alive. */
  private maybeQuiesce(g: Group): boolean {
    if (g.lead !== g.replicaId || g.reads.size > 0 || g.applying > 0 || g.raw.hasReady()) return false
    const st = g.raw.status()
    if (st.state !== 'leader' || st.leadTransferee !== 0 || st.applied !== st.commit || !st.progress) return false
    const last = st.progress.get(g.replicaId)?.match ?? -1
    if (last !== st.commit) return false
    const followerNodes: number[] = []
    for (const [replica, pr] of st.progress) {
      if (replica === g.replicaId) continue
      const node = g.peers.get(replica)
      if (node === undefined || pr.match !== last || pr.state !== 'replicate' || !this.nodeAlive(node)) return false
      followerNodes.push(node)
    }
    g.quiesced = true
    const notice: QuiesceNotice = { groupId: g.id, term: st.term, commit: st.commit }
    for (const node of followerNodes) {
      const list = this.quiesceNotices.get(node)
      if (list) list.push(notice)
      else this.quiesceNotices.set(node, [notice])
    }
    return true
  }

  /**
   * Unquiesces a group. Its core was not ticked while quiesced, so a leader's lease, counted
   * in ticks, looks as fresh as when it quiesced, however long ago that was: another leader
   * may have been elected since. Until the group has ticked a full election timeout awake
   * (and heard from a quorum meanwhile), its reads take the safe ReadIndex path.
   */
  private wake(g: Group): Group {
    if (!g.quiesced) return g
    g.quiesced = false
    this.unwatch(g)
    this.ticking.add(g)
    g.raw.suspendLease()
    return g
  }

  private nodeAlive(node: number): boolean {
    const heard = this.lastHeard.get(node)
    return heard !== undefined && (this.ticks - heard) * this.o.tickMs <= this.o.livenessTimeoutMs
  }

  /**
   * A frame to every peer node that got nothing for {@link keepaliveMs} (node-level
   * liveness), and quiesce notices, which follow the heartbeats of earlier ticks on the same
   * ordered stream.
   */
  private sendKeepalives(): void {
    const now = performance.now()
    for (const node of this.peerNodes.keys()) {
      if (node === this.o.nodeId) continue
      const quiesce = this.quiesceNotices.get(node) ?? []
      if (quiesce.length === 0 && now - (this.lastSentAt.get(node) ?? -Infinity) < this.keepaliveMs) continue
      this.sendFrame({ from: this.o.nodeId, to: node, ...EMPTY_FRAME_LISTS(), quiesce })
    }
    this.quiesceNotices.clear()
  }

  private expireReads(g: Group): void {
    for (const [key, r] of g.reads) {
      if (this.ticks < r.deadlineTick) continue
      g.reads.delete(key)
      r.reject(new RaftError(RaftErrorCode.PROPOSAL_DROPPED, `read index on group ${g.id} timed out (no leader confirmed)`))
    }
  }

  // ---- receiving -------------------------------------------------------------------------

  /**
   * Steps every message of a frame into its group. Liveness is recorded only for nodes that
   * hold a replica of a hosted group: a node that just joined one (by a membership change, or
   * a new replica here waiting for its snapshot) is such a node as soon as this node learns of
   * it, and until then its messages are stepped all the same.
   */
  private onFrame(f: RaftFrame): void {
    if (this.stopped) return
    if (this.peerNodes.has(f.from)) {
      this.lastHeard.set(f.from, this.ticks)
      this.metrics.heardNodes = this.lastHeard.size
    }
    for (const { groupId, msg } of f.messages) this.stepInto(groupId, msg, f.from)
    for (const hb of f.heartbeats) this.stepInto(hb.groupId, heartbeatMessage('MsgHeartbeat', hb), f.from)
    for (const hb of f.heartbeatResponses) this.stepInto(hb.groupId, heartbeatMessage('MsgHeartbeatResp', hb), f.from)
    for (const notice of f.quiesce) this.onQuiesceNotice(notice, f.from)
  }

  /**
   * A leader's node says it quiesced a group. Its follower here quiesces only if it knows the
   * leader's term and commit index (CockroachDB's rule): the message that told it the commit
   * index may have been lost without the leader hearing of it, and while the group sleeps no
   * other comes, so the follower would hold committed entries it never applies — until the
   * next write. Otherwise the notice counts as the leader's heartbeat: stepping it teaches the
   * follower the commit index (the leader counted it as holding every entry up to there), and
   * its answer wakes the leader, whose next notice it then takes.
   */
  private onQuiesceNotice(notice: QuiesceNotice, fromNode: number): void {
    const g = this.groups.get(notice.groupId)
    if (!g || g.quiesced || g.lead === 0 || g.lead === g.replicaId || g.peers.get(g.lead) !== fromNode) return
    const st = g.raw.status()
    if (st.term === notice.term && st.commit >= notice.commit) {
      g.quiesced = true
      this.watch(g, fromNode)
      return
    }
    const heartbeat: CoalescedHeartbeat = { groupId: g.id, from: g.lead, to: g.replicaId, term: notice.term, commit: notice.commit }
    this.stepInto(g.id, heartbeatMessage('MsgHeartbeat', heartbeat), fromNode)
  }

  private stepInto(groupId: number, msg: Message, fromNode: number): void {
    const g = this.groups.get(groupId)
    if (!g) {
      this.o.onUnknownGroup?.(groupId, msg, fromNode)
      return
    }
    this.wake(g)
    const stepped = this.contained(g, () => {
      try {
        g.raw.step(msg)
      } catch (err) {
        // A message the core refuses is dropped; a damaged log stops the group (contained).
        if (!(err instanceof RaftError) || err instanceof CorruptionError) throw err
        this.o.logger?.debug?.(`group ${groupId}: dropped ${msg.type} from ${msg.from}: ${err.message}`)
      }
    })
    if (stepped) this.markDirty(g)
  }

  /**
   * The open connection to `node` broke: its process most likely died (a dead process's
   * connections are reset at once; a partition or a frozen process shows nothing, and the
   * election timeout still covers those). Every follower here whose leader lives there
   * forgets it, so that it grants votes at once (RawNode.forgetLeader), wakes if quiesced, and
   * campaigns early instead of after an election timeout: the surviving voters in replica id
   * order, the first at the next tick (the other followers hear of the loss meanwhile: one that
   * has not yet ignores pre-votes, being in the lease), each next one FAILOVER_STAGGER_TICKS
   * later and only if it granted no one's (pre-)vote meanwhile, so that two early campaigns
   * never race into a split vote. One that could not win (its log was behind) leaves it to the
   * next; if none wins, the election timeout elects as before. See failoverTick. Safe
   * whatever the hint's truth: an election is always safe, and pre-vote keeps a live leader
   * that its other followers still hear from in place. Not with lease-based reads, where
   * forgetLeader refuses (a live leader's lease counts on no early election).
   */
  private onPeerLost(node: number): void {
    if (this.stopped || node === this.o.nodeId) return
    for (const g of this.groups.values()) {
      const lead = g.lead
      if (lead === 0 || lead === g.replicaId || g.peers.get(lead) !== node) continue
      let forgot = false
      this.contained(g, () => (forgot = g.raw.forgetLeader()))
      if (!forgot) continue
      this.wake(g)
      const { incoming, outgoing } = g.raw.status().config.voters
      const survivors = [...new Set([...incoming, ...outgoing])].filter((r) => r !== lead).sort((a, b) => a - b)
      const rank = survivors.indexOf(g.replicaId)
      if (rank >= 0) g.failover = { campaignAt: this.ticks + 1 + rank * FAILOVER_STAGGER_TICKS }
      this.markDirty(g)
    }
  }

  /**
   * An early campaign after onPeerLost, once its turn comes: only by a follower that knows no
   * leader yet (one already campaigning on its own timeout goes on). Called once; the Readys
   * cancel it when the replica grants a (pre-)vote first (see iterate).
   */
  private failoverTick(g: Group, f: NonNullable<Group['failover']>): void {
    if (this.ticks < f.campaignAt) return
    g.failover = undefined
    const st = g.raw.status()
    if (st.lead !== 0 || st.state !== 'follower') return
    this.o.logger?.info(`group ${g.id}: campaigning early on node ${this.o.nodeId}: its leader's node was lost`)
    g.raw.campaign()
    this.markDirty(g)
  }

  private onUnreachable(node: number): void {
    for (const g of this.groups.values()) {
      if (g.lead !== g.replicaId) continue
      this.contained(g, () => {
        for (const [replica, n] of g.peers) if (n === node) g.raw.reportUnreachable(replica)
      })
    }
  }

  // ---- damaged groups --------------------------------------------------------------------

  /**
   * Runs one group's work on its core. A CorruptionError (its storage found the group's log
   * damaged) stops that group alone and returns false; any other error propagates.
   */
  private contained(g: Group, work: () => void): boolean {
    try {
      work()
      return true
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err
      this.stopDamaged(g, err)
      return false
    }
  }

  /**
   * Stops a group whose log is damaged: it leaves the host (its core, with whatever the
   * failed call left half done, is dropped unread: no message or Ready of it goes out), its
   * reads and applied-waiters fail, and the host reports it.
   */
  private stopDamaged(g: Group, err: CorruptionError): void {
    if (g.damaged) return
    g.damaged = true
    if (this.groups.get(g.id) === g) this.groups.delete(g.id)
    this.forget(g)
    this.dirty.delete(g)
    this.o.logger?.warn(`group ${g.id}: stopped replica ${g.replicaId} on node ${this.o.nodeId}: ${err.message}`)
    if (g.role === 'leader') this.handOff(g)
    failWaiters(g, new RaftError(RaftErrorCode.PROPOSAL_DROPPED, `group ${g.id} stopped on node ${this.o.nodeId}: its stored log is damaged`, { cause: err }))
    this.o.onGroupDamaged?.(g.id, g.replicaId, err)
  }

  /**
   * A stopped leader's followers may be quiesced, and this node stays alive: nothing would
   * tell them their leader is gone. As at the end of a leadership transfer, the voter with the
   * longest log is told to campaign now (MsgTimeoutNow); the vote rules decide as in any
   * election, and the campaign wakes the other followers.
   */
  private handOff(g: Group): void {
    const st = g.raw.status()
    let to: { replica: number; match: number } | undefined
    for (const [replica, pr] of st.progress ?? []) {
      if (replica === g.replicaId || pr.isLearner || (to && to.match >= pr.match)) continue
      to = { replica, match: pr.match }
    }
    const node = to && g.peers.get(to.replica)
    if (!to || node === undefined) return
    const msg: Message = { type: 'MsgTimeoutNow', from: g.replicaId, to: to.replica, term: st.term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 }
    this.sendFrame({ from: this.o.nodeId, to: node, ...EMPTY_FRAME_LISTS(), messages: [{ groupId: g.id, msg }] })
  }

  // ---- the loop --------------------------------------------------------------------------

  private markDirty(g: Group): void {
    this.dirty.add(g)
    if (this.loopScheduled || this.looping || this.stopped) return
    this.loopScheduled = true
    setImmediate(() => this.runLoop())
  }

  private runLoop(): void {
    this.loopScheduled = false
    if (this.looping || this.stopped) return
    this.looping = true
    this.idle = (async () => {
      try {
        while (this.dirty.size > 0 && !this.stopped) {
          // A capped pass left groups behind: let timers and peers' frames in before the next.
          if (await this.iterate()) await new Promise<void>((resolve) => setImmediate(resolve))
        }
      } catch (err) {
        this.o.logger?.warn(`multiraft loop failed: ${err instanceof Error ? err.stack : String(err)}`)
        throw err
      } finally {
        this.looping = false
      }
    })()
    this.idle.catch((err: unknown) => {
      // Logged above. The node cannot go on safely after a failed log write.
      this.halt(`multiraft node ${this.o.nodeId} stopped: its loop failed`, err)
      this.failAllWaiters()
    })
  }

  /**
   * One pass: take the Ready of every dirty group (up to maxGroupsPerPass of them), send
   * what leaders send, persist everything in one write, then send the rest and start the
   * applies; the next pass starts at once, so applying this write's committed entries
   * overlaps collecting and writing the next one. Returns whether dirty groups were left for
   * the next pass.
   *
   * What overlaps what, and why each is safe (Raft's rules on the Ready fields, thesis §10.2.1):
   * - Leaders send before their own write: what a leader sends does not depend on its own
   *   durability (it counts its entries toward commit only once persisted, advancePersisted,
   *   and its term and vote were made durable while it was a candidate), so its disk and its
   *   followers' work overlap.
   * - Every other message (MsgAppResp, votes: anything that vouches for entries or a hard
   *   state) leaves only after the write of its own Ready, and writes run one at a time, in
   *   order: by then everything the group handed out before is durable too. Heartbeat
   *   responses vouch for nothing stored and leave before the write (sendsBeforeWrite).
   * - Read points the leader confirmed are answered when its Ready is taken; readers wait for
   *   the apply themselves (serveReadStates).
   * - Committed entries are handed out by the core only once durable here, and applied only
   *   after the write of their Ready, which carries the hard state whose commit index covers
   *   them: a restart never finds an applied index above its stored commit index. So the apply
   *   of write N runs alongside write N+1 (and N+2...), never before write N.
   * - A group's Readys are applied one at a time, in order (its apply chain); the core hands
   *   out each committed entry once (ready() even before advanceApplied), so the next pass may
   *   take the group's next Ready while its apply runs.
   * - A Ready with a snapshot is not taken from a group whose apply is under way: the log
   *   writer installs the snapshot's data in the write, and an older apply must not write
   *   that range's data after it. The group is taken once its apply ends.
   */
  private async iterate(): Promise<boolean> {
    const batch: Array<[Group, Ready]> = []
    for (const g of this.dirty) {
      // Only groups with work count: a tick marks every awake group dirty, most with none.
      if (batch.length === this.o.maxGroupsPerPass) break
      this.dirty.delete(g)
      if (this.groups.get(g.id) !== g) continue
      // ready() reads the log: committed entries to apply, entries for appends to followers.
      this.contained(g, () => {
        // Held back (see above); the end of its apply marks the group dirty again.
        if (g.applying > 0 && g.raw.hasPendingSnapshot()) return
        if (g.raw.hasReady()) batch.push([g, g.raw.ready()])
      })
    }
    const capped = this.dirty.size > 0
    if (batch.length === 0) return capped
    this.metrics.iterations++

    const leaders: Array<[Group, Ready]> = []
    const others: Array<[Group, Ready]> = []
    for (const entry of batch) {
      const [g, rd] = entry
      if (rd.softState) this.observe(g, rd.softState.lead, rd.softState.state)
      // Another survivor campaigns early and has this replica's (pre-)vote: do not race it.
      if (g.failover && rd.messages.some((m) => (m.type === 'MsgPreVoteResp' || m.type === 'MsgVoteResp') && !m.reject)) g.failover = undefined
      ;(g.role === 'leader' ? leaders : others).push(entry)
      this.serveReadStates(g, rd)
    }
    this.send(leaders)
    this.send(others, sendsBeforeWrite)

    const updates: LogUpdate[] = []
    let mustSync = false
    for (const [g, rd] of batch) {
      if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {
        updates.push({ groupId: g.id, snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState })
      }
      mustSync ||= rd.mustSync
    }
    if (updates.length > 0) {
      const sync = mustSync && this.o.sync
      if (this.applies.size > 0) this.metrics.overlappedWrites++
      await this.o.logWriter.write(updates, sync)
      this.metrics.logWrites++
      if (sync) this.metrics.fsyncs++
    }

    // A group stopped during the write (a frame stepped into it meanwhile) does no more work.
    const live = (entry: [Group, Ready]) => !entry[0].damaged
    this.send(others.filter(live), (m) => !sendsBeforeWrite(m))
    for (const [g, rd] of batch.filter(live)) {
      // advancePersisted() reads the log too: a leader checks the term of the entry it may now commit.
      const persisted = this.contained(g, () => {
        g.raw.advancePersisted(rd)
        if (g.raw.hasReady()) this.dirty.add(g)
      })
      if (persisted) this.startApply(g, rd)
    }
    return capped
  }

  /**
   * Queues the apply of a persisted Ready on its group's apply chain, acknowledged with
   * advanceApplied() when done. Applies do not hold up the loop; one that fails stops the
   * host, as a failed log write does. Once the host stopped, queued applies are skipped: their
   * entries are durable, and the state machine applies them after a restart. So are those of
   * a group removed from the host meanwhile.
   */
  private startApply(g: Group, rd: Ready): void {
    if (!rd.snapshot && rd.committedEntries.length === 0) return
    g.applying++
    const run = g.applyTail.then(async () => {
      try {
        // A group removed meanwhile (its replica destroyed, or merged away) applies nothing more.
        if (g.damaged || this.stopped || this.groups.get(g.id) !== g) return
        await this.apply(g, rd)
        if (g.damaged) return
        this.contained(g, () => g.raw.advanceApplied(rd))
      } finally {
        g.applying--
      }
      // More committed entries (past the byte budget of one Ready), or a held-back snapshot.
      let more = false
      if (!g.damaged) this.contained(g, () => (more = g.raw.hasReady()))
      if (more) this.markDirty(g)
    })
    g.applyTail = run.catch(() => undefined)
    this.applies.add(run)
    run.then(
      () => this.applies.delete(run),
      (err: unknown) => {
        this.applies.delete(run)
        this.o.logger?.warn(`multiraft apply of group ${g.id} failed: ${err instanceof Error ? err.stack : String(err)}`)
        this.halt(`multiraft node ${this.o.nodeId} stopped: an apply failed`, err)
        this.failAllWaiters()
      },
    )
  }

  /** Records a role or leader change from a Ready. */
  private observe(g: Group, lead: number, role: RaftStateType): void {
    g.role = role
    if (lead === g.lead) return
    g.lead = lead
    this.o.onLeaderChange?.(g.id, lead)
    for (const w of this.leaderWatchers) w(g.id, lead)
  }

  /** Sends the messages of `batch` that `which` picks (default: all), one frame per destination node. */
  private send(batch: ReadonlyArray<[Group, Ready]>, which: (m: Message) => boolean = () => true): void {
    const frames = new Map<number, RaftFrame>()
    const frameTo = (node: number): RaftFrame => {
      let f = frames.get(node)
      if (!f) frames.set(node, (f = { from: this.o.nodeId, to: node, ...EMPTY_FRAME_LISTS() }))
      return f
    }
    for (const [g, rd] of batch) {
      for (const m of rd.messages) {
        if (!which(m)) continue
        const node = g.peers.get(m.to)
        if (node === undefined) continue
        if (m.type === 'MsgHeartbeat') frameTo(node).heartbeats.push(coalesce(g.id, m))
        else if (m.type === 'MsgHeartbeatResp') frameTo(node).heartbeatResponses.push(coalesce(g.id, m))
        else frameTo(node).messages.push({ groupId: g.id, msg: m })
      }
    }
    for (const f of frames.values()) this.sendFrame(f)
  }

  private sendFrame(f: RaftFrame): void {
    this.metrics.framesSent++
    this.metrics.heartbeatsCoalesced += f.heartbeats.length + f.heartbeatResponses.length
    this.lastSentAt.set(f.to, performance.now())
    this.o.transport.send(f)
  }

  private async apply(g: Group, rd: Ready): Promise<void> {
    if (rd.snapshot) {
      await g.stateMachine.restore(rd.snapshot)
      g.applied = rd.snapshot.metadata.index
    }
    let start = 0
    const entries = rd.committedEntries
    for (let i = 0; i < entries.length; i++) {
      // Conf changes are applied one at a time: the core must learn each before the next entry.
      if (entries[i]!.type !== 'confChange') continue
      if (i > start) await g.stateMachine.apply(entries.slice(start, i))
      const e = entries[i]!
      await g.stateMachine.applyConfChange(e, g.raw.applyConfChange(decodeConfChange(e.data)))
      start = i + 1
    }
    if (start < entries.length) await g.stateMachine.apply(start === 0 ? entries : entries.slice(start))
    if (entries.length > 0) g.applied = entries.at(-1)!.index
    this.releaseAppliedWaiters(g)
  }

  /**
   * Answers the reads whose ReadIndex the leader confirmed in `rd`, as soon as the Ready is
   * taken: a read point is a commit index a quorum vouched for, durable there whatever this
   * node's write holds, and the reader then waits for its apply (waitApplied). Before, the
   * answer waited for this pass's write and for the group's earlier applies.
   */
  private serveReadStates(g: Group, rd: Ready): void {
    for (const rs of rd.readStates) {
      const key = new TextDecoder().decode(rs.context)
      const r = g.reads.get(key)
      if (!r) continue
      g.reads.delete(key)
      r.resolve(rs.index)
    }
  }

  private releaseAppliedWaiters(g: Group): void {
    if (g.appliedWaiters.length === 0) return
    const still: Group['appliedWaiters'] = []
    for (const w of g.appliedWaiters) (w.index <= g.applied ? w.resolve() : still.push(w))
    g.appliedWaiters.length = 0
    g.appliedWaiters.push(...still)
  }

  /** The group, for calls that make it work: throws ERR_STOPPED once the host stopped. */
  private liveGroup(groupId: number): Group {
    if (this.stopped) throw this.stoppedError()
    return this.group(groupId)
  }

  private group(groupId: number): Group {
    const g = this.groups.get(groupId)
    if (!g) throw new RaftError(RaftErrorCode.CONFIG_INVALID, `group ${groupId} is not hosted on node ${this.o.nodeId}`)
    return g
  }
}

/**
 * Whether a non-leader may send `m` before the write of its Ready. A heartbeat response
 * vouches for nothing stored (no entry, no vote): it tells the leader that this replica, at
 * that moment, knows no higher term — which is all a ReadIndex confirmation counts on. A
 * replica that crashes before its write and forgets the term it answered in has voted for no
 * one in it, and the leader's own election needed durable votes from a majority. etcd's raft
 * holds back only MsgAppResp, MsgVoteResp and MsgPreVoteResp (raft.go, send(), with
 * asynchronous storage writes). So a follower's ack no longer waits for an fsync of entries
 * that arrived in the same pass.
 */
function sendsBeforeWrite(m: Message): boolean {
  return m.type === 'MsgHeartbeatResp'
}

function coalesce(groupId: number, m: Message): CoalescedHeartbeat {
  const hb: CoalescedHeartbeat = { groupId, from: m.from, to: m.to, term: m.term, commit: m.commit }
  if (m.context && m.context.length > 0) hb.context = m.context
  return hb
}

function heartbeatMessage(type: 'MsgHeartbeat' | 'MsgHeartbeatResp', hb: CoalescedHeartbeat): Message {
  return {
    type,
    from: hb.from,
    to: hb.to,
    term: hb.term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: hb.commit,
    reject: false,
    rejectHint: 0,
    context: hb.context,
  }
}

/** Fails every read and applied-waiter of a group. */
function failWaiters(g: Group, err: Error): void {
  for (const r of g.reads.values()) r.reject(err)
  g.reads.clear()
  for (const w of g.appliedWaiters) w.reject(err)
  g.appliedWaiters.length = 0
}

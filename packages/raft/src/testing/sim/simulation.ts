// The seeded cluster simulator. One seed fixes everything — timeouts, faults, proposals,
// membership changes — so a failing seed replays exactly with `pnpm sim --seed N`.
//
// A run has two phases. Chaos: `steps` ticks of random proposals, membership changes
// (add/remove voters, add and promote learners, joint changes, removing the leader),
// message loss, duplication, delay and reordering, symmetric and asymmetric partitions,
// crashes and restarts from disk, snapshots and log compaction. Then recovery: faults heal,
// and within a bounded number of ticks a leader must emerge and a new proposal must be
// applied by every voter. Safety invariants are checked at every step of both phases.

import type { TestingKnobs } from '../../core/config.js'
import { RaftError } from '../../core/errors.js'
import { SeededRng } from '../../core/rng.js'
import type { ConfChangeV2, Entry, Message } from '../../core/types.js'
import { chainHash, InvariantViolation, SafetyChecker } from './checker.js'
import { CALM, SimNetwork, type NetworkFaults } from './network.js'
import { encodeState, SimNode } from './sim-node.js'

/** Parameters of one simulated run. */
export interface SimOptions {
  seed: number
  /** Ticks of the chaos phase. */
  steps: number
  /** Voters at bootstrap: 3 or 5. */
  nodes: number
  /** Deliberately broken core behaviour, to show the checkers catch it. */
  knobs?: TestingKnobs
}

/** What a run did and whether it kept every invariant. */
export interface SimResult {
  seed: number
  ok: boolean
  violation?: string
  stats: SimStats
  /** The last events before the end (most useful on failure). */
  trace: string[]
}

/** Counters of one run. */
export interface SimStats {
  proposals: number
  applied: number
  leaders: number
  confChanges: number
  crashes: number
  partitions: number
  snapshots: number
  reads: number
}

/** Ticks the recovery phase may take before liveness counts as failed. */
export const RECOVERY_TICKS = 300
const ROUNDS_PER_TICK = 4
const MAX_VOTERS = 5
const MIN_VOTERS = 3
const TRACE_LENGTH = 60

/** The shell command that replays a run exactly. */
export function replayCommand(o: SimOptions): string {
  const broken = Object.entries(o.knobs ?? {})
    .filter(([, on]) => on)
    .map(([k]) => ` --broken ${k}`)
    .join('')
  return `pnpm sim --seed ${o.seed} --steps ${o.steps} --nodes ${o.nodes}${broken}`
}

/** Runs one seeded simulation. Never throws for a violation: it is reported in the result. */
export function runSimulation(options: SimOptions): SimResult {
  const sim = new Simulation(options)
  try {
    sim.run()
    return { seed: options.seed, ok: true, stats: sim.stats, trace: sim.trace }
  } catch (err) {
    const violation = err instanceof InvariantViolation ? err.message : `unexpected error: ${err instanceof Error ? err.stack : String(err)}`
    return { seed: options.seed, ok: false, violation, stats: sim.stats, trace: sim.trace }
  }
}

class Simulation {
  readonly stats: SimStats = { proposals: 0, applied: 0, leaders: 0, confChanges: 0, crashes: 0, partitions: 0, snapshots: 0, reads: 0 }
  readonly trace: string[] = []
  private readonly rng: SeededRng
  private readonly checker = new SafetyChecker()
  private readonly network: SimNetwork
  private readonly nodes = new Map<number, SimNode>()
  private nextNodeId: number
  private round = 0
  private tickNo = 0
  private proposalNo = 0
  /** The recovery phase's proposal, and the index it was applied at once it was. */
  private marker: Uint8Array | undefined
  private markerIndex: number | undefined
  /** Outstanding ReadIndex requests (reads may be dropped; a client would retry): context → the applied index it must not fall below. */
  private readonly pendingReads = new Map<string, number>()

  constructor(private readonly o: SimOptions) {
    this.rng = new SeededRng(o.seed)
    this.network = new SimNetwork(this.rng, ROUNDS_PER_TICK)
    const voters = Array.from({ length: o.nodes }, (_, i) => i + 1)
    this.nextNodeId = o.nodes + 1
    const bootHash = chainHash(0, 1, new Uint8Array(0))
    this.checker.appliedEntry(0, 1, 1, bootHash)
    for (const id of voters) {
      const node = this.addNode(id)
      node.bootstrap({ data: encodeState(bootHash), metadata: { index: 1, term: 1, confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } }, bootHash)
      node.start(this.nodeRng(id))
    }
  }

  run(): void {
    for (let s = 0; s < this.o.steps; s++) this.chaosStep()
    this.recover()
    this.stats.applied = this.checker.maxApplied
    this.stats.leaders = this.checker.leaderCount
  }

  private chaosStep(): void {
    const r = this.rng.nextInt(1000)
    if (r < 15) this.crashOne()
    else if (r < 35) this.restartOne()
    else if (r < 45) this.partitionRandomly()
    else if (r < 60) this.heal()
    else if (r < 80) this.changeFaults()
    else if (r < 110) this.changeMembership()
    else if (r < 125) this.transferLeadership()
    else if (r < 160) this.readIndex()
    const proposals = this.rng.nextInt(3)
    for (let i = 0; i < proposals; i++) this.propose()
    if (this.rng.nextInt(10) === 0) this.compactOne()
    this.tick(true)
  }

  /** Heals everything, then demands a leader and a committed proposal within RECOVERY_TICKS. */
  private recover(): void {
    this.network.heal()
    this.network.faults = CALM
    for (const n of this.nodes.values()) if (!n.alive) this.restart(n)
    this.log('recovery: healed, all nodes up')
    const marker = `final-${this.o.seed}`
    this.marker = new TextEncoder().encode(marker)
    let proposedAt = -1
    for (let t = 0; t < RECOVERY_TICKS; t++) {
      this.tick(false)
      if (t % 50 === 49) this.log(`recovery: ${this.describe()}`)
      const leader = this.leader()
      if (!leader) continue
      const voters = this.votersOf(leader)
      if (proposedAt < 0 || t - proposedAt > 20) {
        proposedAt = t
        this.tryPropose(leader, marker)
      }
      const target = this.checker.maxApplied
      const markerApplied = leader.appliedIndex >= target && this.markerIndex !== undefined && target >= this.markerIndex
      if (markerApplied && voters.every((id) => (this.nodes.get(id)?.appliedIndex ?? 0) >= target)) {
        this.log(`recovery: done after ${t} ticks, applied ${target}`)
        return
      }
    }
    throw new InvariantViolation('liveness', `no leader committed a new proposal on every voter within ${RECOVERY_TICKS} ticks after healing`)
  }

  // ---- the clock and the message pump ------------------------------------------------

  /** One tick: several delivery rounds, then every live node ticks (some skip: clock skew). */
  private tick(skew: boolean): void {
    this.tickNo++
    for (let i = 0; i < ROUNDS_PER_TICK; i++) {
      this.round++
      const { deliver, lost } = this.network.takeDue(this.round)
      for (const m of lost) this.lost(m)
      for (const m of deliver) this.deliver(m)
      this.drainReadies()
    }
    for (const n of this.nodes.values()) {
      if (n.alive && (!skew || this.rng.nextInt(10) !== 0)) n.raw!.tick()
    }
    this.drainReadies()
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to)
    if (!to?.alive) return this.lost(m)
    to.deliver(m)
    if (m.type === 'MsgSnap') {
      this.log(`snapshot ${m.from}->${m.to} at ${m.snapshot?.metadata.index} delivered`)
      this.nodes.get(m.from)?.raw?.reportSnapshot(m.to, 'finish')
    }
  }

  /** A message that did not arrive: tell the sender what a real transport would tell it. */
  private lost(m: Message): void {
    const from = this.nodes.get(m.from)?.raw
    if (!from) return
    if (m.type === 'MsgSnap') {
      this.log(`snapshot ${m.from}->${m.to} at ${m.snapshot?.metadata.index} lost`)
      from.reportSnapshot(m.to, 'failure')
    } else if (m.type === 'MsgApp') from.reportUnreachable(m.to)
  }

  private drainReadies(): void {
    for (let pass = 0; pass < 1000; pass++) {
      let any = false
      for (const n of this.nodes.values()) {
        const out = n.processReady()
        if (!out) continue
        any = true
        for (const m of out.messages) this.network.send(m, this.round)
        for (const r of out.reads) this.readAnswered(n.id, r.context, r.index)
      }
      if (!any) return
    }
    throw new InvariantViolation('progress', 'Ready never drained: the core keeps producing work without input')
  }

  // ---- client actions -----------------------------------------------------------------

  private propose(): void {
    const live = this.liveNodes()
    if (live.length === 0) return
    const leader = this.leader()
    const at = leader && this.rng.nextInt(4) > 0 ? leader : live[this.rng.nextInt(live.length)]!
    this.tryPropose(at, `p${this.o.seed}-${++this.proposalNo}`)
  }

  private tryPropose(n: SimNode, payload: string): void {
    try {
      n.raw!.propose(new TextEncoder().encode(payload))
      this.stats.proposals++
    } catch (err) {
      if (!(err instanceof RaftError)) throw err
    }
    this.drainReadies()
  }

  /** A ReadIndex request must be answered with an index at or past everything applied before it was asked. */
  private readIndex(): void {
    const live = this.liveNodes()
    if (live.length === 0) return
    const n = live[this.rng.nextInt(live.length)]!
    const context = `r${this.o.seed}-${this.tickNo}-${n.id}`
    this.pendingReads.set(context, this.checker.maxApplied)
    n.raw!.readIndex(new TextEncoder().encode(context))
    this.drainReadies()
  }

  private readAnswered(node: number, context: string, index: number): void {
    const floor = this.pendingReads.get(context)
    if (floor === undefined) return
    this.stats.reads++
    if (index < floor) {
      throw new InvariantViolation('linearizable read', `node ${node} answered read ${context} at index ${index}, but ${floor} was applied before it was asked`)
    }
    this.pendingReads.delete(context)
  }

  // ---- faults ------------------------------------------------------------------------

  private crashOne(): void {
    const live = this.liveNodes()
    if (live.length === 0) return
    const n = live[this.rng.nextInt(live.length)]!
    n.crash()
    this.stats.crashes++
    this.log(`crash ${n.id}`)
  }

  private restartOne(): void {
    const down = [...this.nodes.values()].filter((n) => !n.alive)
    if (down.length === 0) return
    this.restart(down[this.rng.nextInt(down.length)]!)
  }

  private restart(n: SimNode): void {
    n.start(this.nodeRng(n.id))
    this.log(`restart ${n.id} (applied ${n.appliedIndex}, log ${n.storage.firstIndex()}..${n.storage.lastIndex()})`)
  }

  private partitionRandomly(): void {
    const ids = [...this.nodes.keys()]
    this.network.heal()
    this.stats.partitions++
    const kind = this.rng.nextInt(3)
    if (kind === 0) {
      // Symmetric split into two sides.
      const a = ids.filter(() => this.rng.nextInt(2) === 0)
      const b = ids.filter((id) => !a.includes(id))
      this.network.partition(a, b)
      this.log(`partition [${a}] | [${b}]`)
    } else if (kind === 1) {
      // Isolate the leader (or a random node).
      const victim = this.leader()?.id ?? ids[this.rng.nextInt(ids.length)]!
      this.network.partition([victim], ids.filter((id) => id !== victim))
      this.log(`isolate ${victim}`)
    } else {
      // Asymmetric: some one-way links fail.
      const cuts: string[] = []
      for (let i = 0; i < 1 + this.rng.nextInt(3); i++) {
        const from = ids[this.rng.nextInt(ids.length)]!
        const to = ids[this.rng.nextInt(ids.length)]!
        if (from === to) continue
        this.network.cutOneWay(from, to)
        cuts.push(`${from}->${to}`)
      }
      this.log(`cut one-way ${cuts.join(' ')}`)
    }
  }

  private heal(): void {
    if (!this.network.partitioned) return
    this.network.heal()
    this.log('heal')
  }

  private changeFaults(): void {
    const pick = (max: number) => (this.rng.nextInt(3) === 0 ? 0 : this.rng.nextInt(max + 1) / 100)
    const faults: NetworkFaults = { drop: pick(20), duplicate: pick(10), delay: pick(20) }
    this.network.faults = faults
    this.log(`faults drop=${faults.drop} dup=${faults.duplicate} delay=${faults.delay}`)
  }

  private compactOne(): void {
    const live = this.liveNodes()
    if (live.length === 0) return
    const n = live[this.rng.nextInt(live.length)]!
    const before = n.storage.firstIndex()
    n.compact(this.rng.nextInt(10))
    if (n.storage.firstIndex() !== before) this.stats.snapshots++
  }

  // ---- membership --------------------------------------------------------------------

  private changeMembership(): void {
    const leader = this.leader()
    if (!leader) return
    const cfg = leader.raw!.status().config
    const voters = cfg.voters.incoming
    const learners = cfg.learners
    let cc: ConfChangeV2
    let created: number | undefined
    if (cfg.voters.outgoing.length > 0) {
      if (cfg.autoLeave) return
      cc = { transition: 'auto', changes: [] }
    } else {
      const options: Array<() => ConfChangeV2 | undefined> = [
        () => {
          if (voters.length + learners.length >= MAX_VOTERS + 2) return undefined
          created = this.nextNodeId++
          return { transition: 'auto', changes: [{ type: 'addLearner', nodeId: created }] }
        },
        () => {
          if (learners.length === 0 || voters.length >= MAX_VOTERS) return undefined
          return { transition: 'auto', changes: [{ type: 'addVoter', nodeId: learners[this.rng.nextInt(learners.length)]! }] }
        },
        () => {
          if (voters.length <= MIN_VOTERS) return undefined
          return { transition: 'auto', changes: [{ type: 'removeNode', nodeId: voters[this.rng.nextInt(voters.length)]! }] }
        },
        () => {
          // Remove the leader itself.
          if (voters.length <= MIN_VOTERS) return undefined
          return { transition: 'auto', changes: [{ type: 'removeNode', nodeId: leader.id }] }
        },
        () => {
          // A joint change: promote a learner and demote or remove a voter together.
          if (learners.length === 0) return undefined
          const out = voters[this.rng.nextInt(voters.length)]!
          const transition = this.rng.nextInt(2) === 0 ? 'auto' : 'explicit'
          const demote = this.rng.nextInt(2) === 0
          return {
            transition,
            changes: [
              { type: 'addVoter', nodeId: learners[this.rng.nextInt(learners.length)]! },
              demote ? { type: 'addLearner', nodeId: out } : { type: 'removeNode', nodeId: out },
            ],
          }
        },
      ]
      const chosen = options[this.rng.nextInt(options.length)]!()
      if (!chosen) return
      cc = chosen
    }
    try {
      leader.raw!.proposeConfChange(cc)
      this.stats.confChanges++
      this.log(`leader ${leader.id} proposes ${cc.transition} ${JSON.stringify(cc.changes)}`)
      if (created !== undefined) {
        const n = this.addNode(created)
        n.start(this.nodeRng(created))
      }
    } catch (err) {
      if (!(err instanceof RaftError)) throw err
    }
    this.drainReadies()
  }

  private transferLeadership(): void {
    const leader = this.leader()
    if (!leader) return
    const voters = this.votersOf(leader).filter((id) => id !== leader.id)
    if (voters.length === 0) return
    const to = voters[this.rng.nextInt(voters.length)]!
    leader.raw!.transferLeader(to)
    this.log(`transfer leadership ${leader.id} -> ${to}`)
    this.drainReadies()
  }

  // ---- helpers -----------------------------------------------------------------------

  private applied(e: Entry): void {
    const m = this.marker
    if (m && this.markerIndex === undefined && e.data.length === m.length && e.data.every((b, i) => b === m[i])) this.markerIndex = e.index
  }

  private addNode(id: number): SimNode {
    const n = new SimNode(id, this.checker, this.o.knobs ?? {}, (e) => this.applied(e))
    this.nodes.set(id, n)
    return n
  }

  private nodeRng(id: number): SeededRng {
    return new SeededRng((this.o.seed * 7919 + id * 104729 + this.tickNo) >>> 0)
  }

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive)
  }

  /** The live leader with the highest term, if any. */
  private leader(): SimNode | undefined {
    let best: SimNode | undefined
    let bestTerm = -1
    for (const n of this.nodes.values()) {
      const st = n.raw?.status()
      if (st?.state === 'leader' && st.term > bestTerm) {
        best = n
        bestTerm = st.term
      }
    }
    return best
  }

  private votersOf(n: SimNode): number[] {
    const cfg = n.raw!.status().config
    return [...new Set([...cfg.voters.incoming, ...cfg.voters.outgoing])]
  }

  /** One line per node: role, term, leader, applied index and the voters it knows. */
  private describe(): string {
    return [...this.nodes.values()]
      .map((n) => {
        const st = n.raw?.status()
        if (!st) return `${n.id}:down`
        const v = st.config.voters
        const progress = [...(st.progress ?? [])].map(([id, p]) => `${id}=${p.state}:${p.match}/${p.next}${p.paused ? '(paused)' : ''}`)
        const seen = progress.length > 0 ? ` progress{${progress.join(' ')}}` : ''
        return `${n.id}:${st.state}/t${st.term}/lead${st.lead}/applied${n.appliedIndex}/voters[${v.incoming}${v.outgoing.length ? `|${v.outgoing}` : ''}]${seen}`
      })
      .join(' ')
  }

  private log(event: string): void {
    this.trace.push(`t${this.tickNo} ${event}`)
    if (this.trace.length > TRACE_LENGTH) this.trace.shift()
  }
}

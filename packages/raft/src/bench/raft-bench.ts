/**
 * `pnpm bench:raft`: the Raft core alone, in memory — 3-node groups whose messages are
 * handed over directly, persisted to MemoryStorage, applied by counting. Prints committed
 * entries per second for one group and for 1,000 groups, and heap bytes allocated per
 * committed entry. Aim: ≥ 200,000 small entries/s for one group (the core is never the
 * bottleneck of a node whose disk does ~4k fsyncs/s).
 */
import { PerformanceObserver } from 'node:perf_hooks'
import { RawNode } from '../core/raw-node.js'
import { SeededRng } from '../core/rng.js'
import { MemoryStorage } from '../core/storage.js'
import type { Message } from '../core/types.js'

const ENTRY = new Uint8Array(16).fill(7)
const PROPOSALS_PER_ROUND = 64

/** One 3-node group wired together in memory. */
class Group {
  readonly nodes = new Map<number, { raw: RawNode; storage: MemoryStorage }>()
  private readonly inbox: Message[] = []
  committed = 0

  constructor(seed: number) {
    const voters = [1, 2, 3]
    for (const id of voters) {
      const storage = new MemoryStorage()
      storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } })
      storage.setHardState({ term: 1, vote: 0, commit: 1 })
      this.nodes.set(id, { raw: new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, rng: new SeededRng(seed * 3 + id) }), storage })
    }
    this.nodes.get(1)!.raw.campaign()
    this.drain()
  }

  get leader(): RawNode {
    return this.nodes.get(1)!.raw
  }

  /** Processes every Ready and delivers every message until nothing is left to do. */
  drain(): void {
    for (;;) {
      let worked = false
      for (const [id, n] of this.nodes) {
        if (!n.raw.hasReady()) continue
        worked = true
        const rd = n.raw.ready()
        if (rd.snapshot) n.storage.applySnapshot(rd.snapshot)
        if (rd.entries.length > 0) n.storage.append(rd.entries)
        if (rd.hardState) n.storage.setHardState(rd.hardState)
        for (const m of rd.messages) this.inbox.push(m)
        if (id === 1) this.committed += rd.committedEntries.length
        n.raw.advance(rd)
      }
      while (this.inbox.length > 0) {
        worked = true
        const m = this.inbox.shift()!
        this.nodes.get(m.to)!.raw.step(m)
      }
      if (!worked) return
    }
  }

  /** Keeps logs short, as a real host would after applying. */
  compact(): void {
    for (const n of this.nodes.values()) {
      const applied = n.raw.status().applied
      if (applied - n.storage.firstIndex() > 10_000) n.storage.compact(applied - 1000)
    }
  }
}

function run(groups: Group[], rounds: number): { entries: number; seconds: number } {
  const before = groups.reduce((s, g) => s + g.committed, 0)
  const start = process.hrtime.bigint()
  for (let r = 0; r < rounds; r++) {
    for (const g of groups) {
      for (let i = 0; i < PROPOSALS_PER_ROUND; i++) g.leader.propose(ENTRY)
      g.drain()
    }
    if (r % 50 === 0) for (const g of groups) g.compact()
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return { entries: groups.reduce((s, g) => s + g.committed, 0) - before, seconds }
}

/** Heap bytes allocated per committed entry, measured over a stretch with no GC at all. */
function allocationPerEntry(group: Group): string {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) return 'n/a (run with node --expose-gc)'
  let collections = 0
  const obs = new PerformanceObserver((list) => (collections += list.getEntries().length))
  obs.observe({ entryTypes: ['gc'] })
  gc()
  const before = process.memoryUsage().heapUsed
  const { entries } = run([group], 100)
  const after = process.memoryUsage().heapUsed
  obs.disconnect()
  const perEntry = (after - before) / entries
  return collections > 0 ? `≥ ${perEntry.toFixed(0)} B (a GC ran during the measurement)` : `${perEntry.toFixed(0)} B`
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

const one = new Group(1)
run([one], 200) // warm up
const single = run([one], 10_000)
console.log(`Raft core, in-memory 3-node groups, ${PROPOSALS_PER_ROUND} proposals of ${ENTRY.length} B per group per round`)
console.log(`1 group:      ${fmt(single.entries / single.seconds).padStart(10)} committed entries/s  (${fmt(single.entries)} in ${single.seconds.toFixed(2)} s)`)

const many = Array.from({ length: 1000 }, (_, i) => new Group(i + 2))
run(many, 2)
const multi = run(many, 20)
console.log(`1,000 groups: ${fmt(multi.entries / multi.seconds).padStart(10)} committed entries/s  (${fmt(multi.entries)} in ${multi.seconds.toFixed(2)} s)`)
console.log(`allocated per committed entry (1 group): ${allocationPerEntry(one)}`)
const rate = single.entries / single.seconds
console.log(`aim: ≥ 200,000 entries/s for one group → ${rate >= 200_000 ? 'met' : 'NOT met'}`)

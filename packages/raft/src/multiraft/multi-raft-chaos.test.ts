// The simulator's safety properties, rechecked at the multiraft level: many groups per node,
// real timers, the in-memory network dropping and delaying frames, partitions, and hosts
// that stop and restart from their logs. Per group, every node must apply the same
// sequence (one is a prefix of the other), and every write a leader applied must be on
// every node once the faults heal.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRng } from '../core/rng.js'
import { MemoryNetwork } from '../transport/memory-transport.js'
import { MemoryLogWriter, RecordingStateMachine } from '../testing/memory-log.js'
import { MultiRaft } from './multi-raft.js'

const NODES = [1, 2, 3]
const GROUPS = 12
const TICK_MS = 5

class ChaosNode {
  host: MultiRaft | undefined
  readonly log = new MemoryLogWriter()
  readonly machines = new Map<number, RecordingStateMachine>()

  constructor(
    readonly id: number,
    private readonly network: MemoryNetwork,
  ) {
    for (let g = 1; g <= GROUPS; g++) this.machines.set(g, new RecordingStateMachine())
  }

  async start(seed: number): Promise<void> {
    const host = new MultiRaft({ nodeId: this.id, transport: this.network.transport(this.id), logWriter: this.log, rng: new SeededRng(seed), tickMs: TICK_MS, sync: false })
    for (let g = 1; g <= GROUPS; g++) {
      const sm = this.machines.get(g)!
      host.addGroup({ groupId: g, replicaId: this.id, peers: new Map(NODES.map((n) => [n, n])), storage: this.log.storage(g, NODES), stateMachine: sm, applied: sm.appliedIndex })
    }
    await host.start()
    this.host = host
  }

  async stop(): Promise<void> {
    const host = this.host
    this.host = undefined
    await host?.stop()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function isPrefix(a: string[], b: string[]): boolean {
  return a.every((x, i) => b[i] === x)
}

test('multiraft under faults: per-group apply order agrees on every node and acknowledged writes survive', async () => {
  const rng = new SeededRng(20261123)
  const network = new MemoryNetwork()
  const nodes = NODES.map((id) => new ChaosNode(id, network))
  const acknowledged = new Map<number, Set<string>>()
  try {
    for (const n of nodes) await n.start(n.id)
    let proposal = 0
    for (let round = 0; round < 60; round++) {
      // A fault now and then.
      const fault = rng.nextInt(10)
      if (fault === 0) network.partition([1 + rng.nextInt(3)], NODES)
      else if (fault === 1) network.heal()
      else if (fault === 2) network.faults = { drop: rng.nextInt(20) / 100 }
      else if (fault === 3) {
        const n = nodes[rng.nextInt(3)]!
        if (n.host) await n.stop()
        else await n.start(1000 + round)
      }
      // Proposals at whoever leads each group now.
      for (let i = 0; i < 6; i++) {
        const g = 1 + rng.nextInt(GROUPS)
        const leader = nodes.find((n) => n.host?.hasGroup(g) && n.host.status(g).state === 'leader')
        if (!leader) continue
        const value = `p${++proposal}`
        try {
          leader.host!.propose(g, new TextEncoder().encode(value))
        } catch {
          continue
        }
        // Acknowledged once this leader applies it (as a client would be told).
        void leader.host!.waitApplied(g, leader.host!.status(g).commit + 1).then(() => {
          if (leader.machines.get(g)!.applied.includes(value)) {
            const set = acknowledged.get(g) ?? new Set<string>()
            set.add(value)
            acknowledged.set(g, set)
          }
        })
      }
      await sleep(15)
      // Safety at every round: one node's applied sequence is a prefix of another's.
      for (let g = 1; g <= GROUPS; g++) {
        const seqs = nodes.map((n) => n.machines.get(g)!.applied)
        for (const a of seqs) for (const b of seqs) assert.ok(isPrefix(a, b) || isPrefix(b, a), `group ${g}: nodes applied diverging sequences`)
      }
    }
    // Heal everything; every acknowledged write must reach every node.
    network.heal()
    network.faults = {}
    for (const n of nodes) if (!n.host) await n.start(5000 + n.id)
    const deadline = Date.now() + 20_000
    for (;;) {
      const missing = [...acknowledged].flatMap(([g, values]) => nodes.flatMap((n) => [...values].filter((v) => !n.machines.get(g)!.applied.includes(v)).map((v) => `${v}@n${n.id}/g${g}`)))
      if (missing.length === 0) break
      if (Date.now() > deadline) assert.fail(`acknowledged writes missing after healing: ${missing.slice(0, 10).join(', ')}`)
      // Any new write through each group's leader pushes the commit index to everyone.
      await sleep(50)
    }
    assert.ok([...acknowledged.values()].reduce((s, v) => s + v.size, 0) > 50, 'the run acknowledged enough writes to mean something')
  } finally {
    for (const n of nodes) await n.stop()
  }
})

// The nemesis: every few seconds it deals the next fault from a shuffled deck of every
// kind (so even a short run meets each kind; the shuffle is seeded, so a seed replays the
// same schedule) and applies it to the cluster under test. Faults that
// last — a killed or paused process, a partition — are held for a few seconds and then
// healed; operator actions — moving a replica, a split, a merge, a leadership transfer —
// happen at once and stay, and so does a damaged Raft log entry (its replica is
// quarantined and replaced from its peers). At most one lasting fault is active at a time.

import { setTimeout as sleep } from 'node:timers/promises'
import type { SeededRng } from '@mrdb/raft'
import type { ClusterControl } from './cluster-control.js'

/** The faults the nemesis knows. */
export const FAULT_KINDS = ['kill', 'pause', 'partition-halves', 'partition-bridge', 'isolate-leader', 'move-replica', 'split', 'merge', 'transfer-leader', 'damage-log'] as const

/** One of {@link FAULT_KINDS}. */
export type FaultKind = (typeof FAULT_KINDS)[number]

/** One fault the nemesis applied. */
export interface FaultRecord {
  kind: FaultKind
  /** What exactly, in words ("kill -9 node 3", "partition {1,2} | {3,4,5}"). */
  description: string
  startMs: number
  /** When a lasting fault was healed. */
  healedMs?: number
  /** Why the fault could not be applied (an operator action the cluster refused, say). */
  error?: string
}

/** Options of a {@link Nemesis}. */
export interface NemesisOptions {
  /** Time between the starts of two faults: uniformly in [min, max] ms. */
  intervalMs: readonly [number, number]
  /** How long a lasting fault is held: uniformly in [min, max] ms. */
  holdMs: readonly [number, number]
  /** The faults to choose from; default all. */
  kinds?: readonly FaultKind[]
  /** Keys to split ranges at. */
  splitKeys: readonly string[]
  /** Milliseconds on the run's clock. */
  now: () => number
  /** Told of each fault as it starts and heals. */
  log: (line: string) => void
}

/** The nemesis; see the file comment. */
export class Nemesis {
  /** Every fault applied so far. */
  readonly faults: FaultRecord[] = []
  private readonly killed = new Set<number>()
  private readonly paused = new Set<number>()
  /**
   * Ranges whose log was damaged: never damaged twice (two replicas of one range lost at once
   * is beyond what three replicas survive) and never merged (a known limit: see
   * docs/decisions.md, Corruption).
   */
  private readonly damaged = new Set<number>()

  constructor(
    private readonly control: ClusterControl,
    private readonly rng: SeededRng,
    private readonly o: NemesisOptions,
  ) {}

  /** Applies faults until `stopped()`, then heals everything. */
  async run(stopped: () => boolean): Promise<void> {
    const kinds = this.o.kinds ?? FAULT_KINDS
    let deck: FaultKind[] = []
    try {
      while (!stopped()) {
        const start = this.o.now()
        const interval = this.between(this.o.intervalMs)
        await sleepUntil(() => this.o.now() >= start + interval / 3 || stopped())
        if (stopped()) break
        if (deck.length === 0) deck = this.shuffle(kinds)
        await this.apply(deck.pop()!)
        await sleepUntil(() => this.o.now() >= start + interval || stopped())
      }
    } finally {
      await this.healAll()
    }
  }

  /** Restarts killed nodes, resumes paused ones and heals every partition. */
  async healAll(): Promise<void> {
    const p = this.control.processes
    for (const id of this.paused) p.resume(id)
    this.paused.clear()
    for (const id of [...this.killed]) {
      await p.restart(id)
      this.killed.delete(id)
    }
    await this.control.heal()
  }

  private async apply(kind: FaultKind): Promise<void> {
    const record: FaultRecord = { kind, description: kind, startMs: this.o.now() }
    this.faults.push(record)
    try {
      const heal = await this.start(kind, record)
      this.o.log(`${this.stamp(record.startMs)} ${record.description}`)
      if (heal) {
        await sleep(this.between(this.o.holdMs))
        await heal()
        record.healedMs = this.o.now()
        this.o.log(`${this.stamp(record.healedMs)} healed: ${record.description}`)
      }
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err)
      this.o.log(`${this.stamp(this.o.now())} ${record.description} failed: ${record.error}`)
      await this.healAll()
    }
  }

  /** Starts a fault; returns how to heal it when it lasts. */
  private async start(kind: FaultKind, record: FaultRecord): Promise<(() => Promise<void>) | undefined> {
    const p = this.control.processes
    const ids = p.nodeIds()
    switch (kind) {
      case 'kill': {
        const id = this.pick(ids)
        record.description = `kill -9 node ${id}`
        this.killed.add(id)
        await p.kill(id)
        return async () => {
          await p.restart(id)
          this.killed.delete(id)
        }
      }
      case 'pause': {
        const id = this.pick(ids)
        record.description = `pause (SIGSTOP) node ${id}`
        this.paused.add(id)
        p.pause(id)
        return async () => {
          p.resume(id)
          this.paused.delete(id)
        }
      }
      case 'partition-halves': {
        const order = this.shuffle(ids)
        const minority = order.slice(0, Math.floor(ids.length / 2))
        const majority = order.slice(minority.length)
        record.description = `partition ${set(minority)} | ${set(majority)}`
        await this.control.partition(across(minority, majority))
        return () => this.control.heal()
      }
      case 'partition-bridge': {
        const [bridge, ...rest] = this.shuffle(ids)
        const left = rest.slice(0, Math.floor(rest.length / 2))
        const right = rest.slice(left.length)
        record.description = `partition ${set(left)} | ${set(right)}, node ${bridge} a bridge between them`
        await this.control.partition(across(left, right))
        return () => this.control.heal()
      }
      case 'isolate-leader': {
        const led = (await this.control.ranges()).filter((r) => r.leader !== undefined)
        const leader = led.length > 0 ? this.pick(led).leader! : this.pick(ids)
        record.description = `isolate node ${leader} (a range leader) from every other node`
        await this.control.partition(across([leader], ids.filter((i) => i !== leader)))
        return () => this.control.heal()
      }
      case 'move-replica': {
        const range = this.pick(await this.control.ranges())
        const holders = range.descriptor.replicas.map((r) => r.nodeId)
        const from = this.pick(holders)
        const to = this.pick(ids.filter((i) => !holders.includes(i)))
        record.description = `move range ${range.descriptor.rangeId}'s replica from node ${from} to node ${to}`
        await this.control.moveReplica(range.leader ?? from, range.descriptor.rangeId, from, to)
        return undefined
      }
      case 'split': {
        // At a key the clients use, so that operations keep crossing the new boundary.
        const key = this.pick(this.o.splitKeys)
        record.description = `split the range holding ${key} at it`
        await this.control.split(this.pick(ids), Buffer.from(key))
        return undefined
      }
      case 'merge': {
        // As CockroachDB's merge queue does: first move the right-hand range's replicas onto
        // the left-hand range's stores (joint consensus), then merge.
        const ranges = (await this.control.ranges()).filter((r) => !this.damaged.has(r.descriptor.rangeId))
        const pairs = ranges.flatMap((left) => {
          const right = ranges.find((r) => left.descriptor.endKey !== '' && r.descriptor.startKey === left.descriptor.endKey)
          return right ? [{ left, right }] : []
        })
        record.description = 'merge two neighbouring ranges'
        const { left, right } = this.pick(pairs)
        const leftStores = left.descriptor.replicas.map((r) => r.nodeId)
        const rightStores = right.descriptor.replicas.map((r) => r.nodeId)
        const missing = leftStores.filter((id) => !rightStores.includes(id))
        const extra = rightStores.filter((id) => !leftStores.includes(id))
        record.description = `merge range ${left.descriptor.rangeId} with range ${right.descriptor.rangeId}${missing.length > 0 ? `, after moving ${missing.length} of its replicas next to it` : ''}`
        for (const [i, to] of missing.entries()) await this.control.moveReplica(right.leader ?? extra[i]!, right.descriptor.rangeId, extra[i]!, to)
        await this.control.merge(left.leader ?? leftStores[0]!, left.descriptor.rangeId)
        return undefined
      }
      case 'damage-log': {
        const range = this.pick((await this.control.ranges()).filter((r) => !this.damaged.has(r.descriptor.rangeId)))
        this.damaged.add(range.descriptor.rangeId)
        const node = this.pick(range.descriptor.replicas.map((r) => r.nodeId))
        const index = await this.control.damageLogEntry(node, range.descriptor.rangeId)
        record.description = `damage Raft log entry ${index} of range ${range.descriptor.rangeId} on node ${node}`
        return undefined
      }
      case 'transfer-leader': {
        const range = this.pick(await this.control.ranges())
        const to = this.pick(range.descriptor.replicas.filter((r) => r.role === 'voter' && r.nodeId !== range.leader)).nodeId
        record.description = `transfer range ${range.descriptor.rangeId}'s leadership to node ${to}`
        await this.control.transferLeader(range.leader ?? to, range.descriptor.rangeId, to)
        return undefined
      }
    }
  }

  private stamp(ms: number): string {
    return `[nemesis +${(ms / 1000).toFixed(1)}s]`
  }

  private between([min, max]: readonly [number, number]): number {
    return min + this.rng.nextInt(Math.max(1, max - min + 1))
  }

  private pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('nothing to choose from')
    return items[this.rng.nextInt(items.length)]!
  }

  private shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }
}

/** Every pair with one node in `a` and one in `b`. */
function across(a: readonly number[], b: readonly number[]): Array<[number, number]> {
  return a.flatMap((x) => b.map((y): [number, number] => [x, y]))
}

const set = (ids: readonly number[]) => `{${[...ids].sort((x, y) => x - y).join(',')}}`

async function sleepUntil(done: () => boolean): Promise<void> {
  while (!done()) await sleep(100)
}

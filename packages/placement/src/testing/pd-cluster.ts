// A PD group of several nodes in one process, for tests: real MultiRaft hosts on the
// in-memory network, each node's PD state in a real engine in a temp dir, and each node's
// Raft log in memory, kept across the node's restarts like a disk would keep it.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryNetwork, MemoryStorage, MultiRaft, SeededRng, type ConfState, type LogUpdate, type RaftLogWriter } from '@mrdb/raft'
import { open, type Engine } from '@mrdb/storage'
import { PdErrorCode } from '../errors.js'
import type { PdCommand, PdResult } from '../pd-command.js'
import { PD_BOOTSTRAP, PdReplica } from '../pd-replica.js'
import { PD_GROUP_ID, type PdStateData } from '../pd-state.js'
import { waitFor } from './wait.js'

/** One running node of a {@link PdTestCluster}. */
export interface PdTestNode {
  id: number
  engine: Engine
  raft: MultiRaft
  pd: PdReplica
}

/** The PD group's log writer of one node: a snapshot's PD state goes to the engine before the log takes the snapshot. */
class PdLogWriter implements RaftLogWriter {
  pd: PdReplica | undefined

  constructor(
    private readonly log: MemoryStorage,
    private readonly engine: Engine,
  ) {}

  async write(updates: readonly LogUpdate[]): Promise<void> {
    for (const u of updates) {
      if (u.groupId !== PD_GROUP_ID) throw new Error(`unexpected group ${u.groupId}`)
      if (u.snapshot) {
        await this.engine.batch(await this.pd!.snapshotOps(u.snapshot))
        this.log.applySnapshot(u.snapshot)
      }
      if (u.entries.length > 0) this.log.append(u.entries)
      if (u.hardState) this.log.setHardState(u.hardState)
    }
  }
}

/** Nodes hosting one PD group; see the file comment. */
export class PdTestCluster {
  readonly network = new MemoryNetwork()
  readonly nodes = new Map<number, PdTestNode>()
  /** Each node's Raft log, surviving its restarts. */
  readonly logs = new Map<number, MemoryStorage>()

  private constructor(readonly dir: string) {}

  /** Bootstraps the PD group on `ids` (all voters) from `initial` and starts every node. */
  static async start(ids: number[], initial: PdStateData): Promise<PdTestCluster> {
    const c = new PdTestCluster(await mkdtemp(join(tmpdir(), 'mrdb-pd-')))
    const confState: ConfState = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
    for (const id of ids) await c.bootstrapNode(id, initial, confState)
    for (const id of ids) await c.startNode(id)
    return c
  }

  /** Writes a node's PD state and log as the group started them: `initial` at index 1 with `confState`. */
  async bootstrapNode(id: number, initial: PdStateData, confState: ConfState): Promise<void> {
    const engine = await open(join(this.dir, `n${id}`))
    await engine.batch(PdReplica.bootstrapOps(initial, confState))
    await engine.close()
    const log = new MemoryStorage()
    log.applySnapshot({ data: new Uint8Array(0), metadata: { ...PD_BOOTSTRAP, confState } })
    log.setHardState({ term: PD_BOOTSTRAP.term, vote: 0, commit: PD_BOOTSTRAP.index })
    this.logs.set(id, log)
  }

  /** Starts (or restarts) a node from its engine directory and its log. */
  async startNode(id: number): Promise<PdTestNode> {
    const log = this.logs.get(id)!
    const engine = await open(join(this.dir, `n${id}`))
    const writer = new PdLogWriter(log, engine)
    const raft = new MultiRaft({ nodeId: id, transport: this.network.transport(id), logWriter: writer, rng: new SeededRng(id), tickMs: 10, sync: false })
    const pd = await PdReplica.load({ nodeId: id, engine, raft })
    if (!pd) throw new Error(`node ${id} has no PD state`)
    writer.pd = pd
    raft.addGroup({ groupId: PD_GROUP_ID, replicaId: pd.replicaId, peers: pd.peers(), storage: log, stateMachine: pd, applied: pd.appliedIndex })
    await raft.start()
    const node = { id, engine, raft, pd }
    this.nodes.set(id, node)
    return node
  }

  /**
   * Starts a node the group is adding, as a node does when the PD leader asks it to join: a
   * fresh engine and log, and a replica with no state that the leader's snapshot fills.
   * `onRemoved` is told when the group removes it again.
   */
  async joinNode(id: number, members: readonly number[], onRemoved?: () => void): Promise<PdTestNode> {
    const log = new MemoryStorage()
    this.logs.set(id, log)
    const engine = await open(join(this.dir, `n${id}`))
    const writer = new PdLogWriter(log, engine)
    const raft = new MultiRaft({ nodeId: id, transport: this.network.transport(id), logWriter: writer, rng: new SeededRng(id), tickMs: 10, sync: false })
    const pd = await PdReplica.joining({ nodeId: id, engine, raft, onRemoved }, members)
    writer.pd = pd
    raft.addGroup({ groupId: PD_GROUP_ID, replicaId: pd.replicaId, peers: pd.peers(), storage: log, stateMachine: pd, applied: pd.appliedIndex })
    await raft.start()
    const node = { id, engine, raft, pd }
    this.nodes.set(id, node)
    return node
  }

  /** Every running node snapshots its PD state and cuts its log there, so a new replica needs the snapshot. */
  async compactLogs(): Promise<void> {
    for (const n of this.nodes.values()) {
      const snap = await n.pd.makeSnapshot()
      const log = this.logs.get(n.id)!
      log.createSnapshot(snap.metadata.index, snap.metadata.confState, snap.data)
      log.compact(snap.metadata.index)
    }
  }

  async stopNode(id: number): Promise<void> {
    const node = this.nodes.get(id)
    if (!node) return
    this.nodes.delete(id)
    await node.raft.stop()
    await node.engine.close()
  }

  /** The running node whose replica leads the group, if any. */
  leader(): PdTestNode | undefined {
    return [...this.nodes.values()].find((n) => n.raft.leaderOf(PD_GROUP_ID) === n.id)
  }

  async waitLeader(): Promise<PdTestNode> {
    await waitFor('a PD leader', () => this.leader() !== undefined)
    return this.leader()!
  }

  /** Proposes through whoever leads, retrying while leadership moves. */
  async propose<C extends PdCommand>(command: C): Promise<PdResult<C['kind']>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await (await this.waitLeader()).pd.propose(command, 5000)
      } catch (err) {
        const code = (err as { code?: string }).code
        if (attempt > 100 || (code !== PdErrorCode.NOT_LEADER && code !== PdErrorCode.UNAVAILABLE)) throw err
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** Waits until every running node has applied what the leader has. */
  async waitApplied(): Promise<void> {
    const target = (await this.waitLeader()).pd.appliedIndex
    await waitFor(`every node at index ${target}`, () => [...this.nodes.values()].every((n) => n.pd.appliedIndex >= target))
  }

  async stop(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stopNode(id)
    await rm(this.dir, { recursive: true, force: true })
  }
}

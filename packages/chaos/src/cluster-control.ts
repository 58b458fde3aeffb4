// How a chaos run acts on the cluster under test. Processes (kill, restart, pause, resume)
// are the caller's: it started them. Everything else goes over the nodes' own admin
// service: partitions and damaged log entries (nodes started with --fault-injection), range
// status, splits, merges and membership changes.

import { Client, credentials, type MethodDefinition } from '@grpc/grpc-js'
import { unaryCall, type RangeDescriptorJson } from '@mrdb/kv'
import { NODE_SERVICE, type NodeStatusResponse } from '@mrdb/server'

/** The node processes of the cluster under test. */
export interface ChaosProcesses {
  /** Store ids of every node. */
  nodeIds(): number[]
  /** The address (host:port) of node `id`; it keeps it across restarts. */
  address(id: number): string
  /** Where node `id` serves SQL clients (PostgreSQL wire protocol, no password); kept across restarts. */
  sqlAddress(id: number): string
  /** Kills node `id` with SIGKILL and waits for it to die. */
  kill(id: number): Promise<void>
  /** Starts node `id` again on its address and data; resolves once it listens. */
  restart(id: number): Promise<void>
  /** Stops node `id` with SIGSTOP (it keeps its sockets, and answers nothing). */
  pause(id: number): void
  /** Continues a paused node with SIGCONT. */
  resume(id: number): void
}

/** An admin answer's error body. */
interface WithError {
  error?: { code: string; message: string; leaderHint?: number }
}

const ADMIN_TIMEOUT_MS = 10_000
/** Tries of a range action that meets NOT_LEADER or UNAVAILABLE. */
const LEADER_ATTEMPTS = 5

/** The admin side of a chaos run; see the file comment. */
export class ClusterControl {
  private readonly channels = new Map<string, Client>()

  constructor(readonly processes: ChaosProcesses) {}

  /** Makes each listed pair of nodes unable to reach each other (both ways); every other pair is healed. */
  async partition(cut: ReadonlyArray<readonly [number, number]>): Promise<void> {
    const ids = this.processes.nodeIds()
    await Promise.all(
      ids.map(async (id) => {
        const blocked = cut.flatMap(([a, b]) => (a === id ? [b] : b === id ? [a] : [])).map((peer) => this.processes.address(peer))
        await this.call(id, NODE_SERVICE.networkFaults, { blocked })
      }),
    )
  }

  /** Heals every partition on the nodes that answer (a node restarted since has none). */
  async heal(): Promise<void> {
    await Promise.allSettled(this.processes.nodeIds().map((id) => this.call(id, NODE_SERVICE.networkFaults, { blocked: [] })))
  }

  /** Node `id`'s status: its replicas, their roles and leaders. */
  status(id: number): Promise<NodeStatusResponse> {
    return this.call(id, NODE_SERVICE.status, {})
  }

  /** The current descriptors of every range and the node leading each, as the nodes that answer report them. */
  async ranges(): Promise<Array<{ descriptor: RangeDescriptorJson; leader: number | undefined }>> {
    const answers = await Promise.allSettled(this.processes.nodeIds().map(async (id) => ({ id, status: await this.status(id) })))
    const byRange = new Map<number, { descriptor: RangeDescriptorJson; leader: number | undefined }>()
    for (const a of answers) {
      if (a.status !== 'fulfilled') continue
      for (const r of a.value.status.ranges ?? []) {
        const known = byRange.get(r.rangeId)
        if (!known || r.descriptor.generation > known.descriptor.generation) byRange.set(r.rangeId, { descriptor: r.descriptor, leader: known?.leader })
        if (r.leader) byRange.get(r.rangeId)!.leader = a.value.id
      }
    }
    return [...byRange.values()].sort((a, b) => a.descriptor.rangeId - b.descriptor.rangeId)
  }

  /** Splits the range holding `key` at `key`, through node `via` (which forwards to the leader). */
  async split(via: number, key: Uint8Array): Promise<void> {
    await this.callLeader(via, NODE_SERVICE.split, { key: Buffer.from(key).toString('base64') })
  }

  /** Merges range `rangeId` with its right-hand neighbour, through node `via`. */
  async merge(via: number, rangeId: number): Promise<void> {
    await this.callLeader(via, NODE_SERVICE.merge, { rangeId })
  }

  /** Moves range `rangeId`'s replica from store `from` to store `to` (joint consensus), through node `via`. */
  async moveReplica(via: number, rangeId: number, from: number, to: number): Promise<void> {
    await this.callLeader(via, NODE_SERVICE.member, { rangeId, op: 'move', storeId: from, toStoreId: to })
  }

  /** Transfers range `rangeId`'s leadership to store `to`, through node `via`. */
  async transferLeader(via: number, rangeId: number, to: number): Promise<void> {
    await this.callLeader(via, NODE_SERVICE.member, { rangeId, op: 'transferLeader', storeId: to })
  }

  /** Flips a bit of range `rangeId`'s last stored Raft log entry on node `id`; returns the entry's index. */
  async damageLogEntry(id: number, rangeId: number): Promise<number> {
    const res = await this.call(id, NODE_SERVICE.damageLogEntry, { rangeId })
    return res.index ?? 0
  }

  /** Closes the admin connections. */
  close(): void {
    for (const c of this.channels.values()) c.close()
    this.channels.clear()
  }

  /**
   * {@link call} for a range action, tried again (at the hinted leader, else the next node) while
   * the answer is NOT_LEADER or UNAVAILABLE: answers after which the action did nothing.
   */
  private async callLeader<Req, Res extends WithError>(via: number, method: MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    const ids = this.processes.nodeIds()
    let target = via
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call(target, method, req)
      } catch (err) {
        const { code, leaderHint } = err as { code?: string; leaderHint?: number }
        if ((code !== 'NOT_LEADER' && code !== 'UNAVAILABLE') || attempt >= LEADER_ATTEMPTS) throw err
        target = leaderHint !== undefined && ids.includes(leaderHint) ? leaderHint : ids[(ids.indexOf(target) + 1) % ids.length]!
        await new Promise((r) => setTimeout(r, 200 * attempt))
      }
    }
  }

  private async call<Req, Res extends WithError>(id: number, method: MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    const address = this.processes.address(id)
    let channel = this.channels.get(address)
    if (!channel) this.channels.set(address, (channel = new Client(address, credentials.createInsecure())))
    const res = await unaryCall(channel, method, req, Date.now() + ADMIN_TIMEOUT_MS)
    if (res.error) throw Object.assign(new Error(`node ${id}: ${res.error.code}: ${res.error.message}`), { code: res.error.code, leaderHint: res.error.leaderHint })
    return res
  }
}

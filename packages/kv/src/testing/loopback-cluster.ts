// Three KV stores in one process, Raft over memory, each serving its KV service over gRPC on
// loopback: what a test of the client, the senders or transactions needs, without processes.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Server, ServerCredentials } from '@grpc/grpc-js'
import { MemoryNetwork } from '@mrdb/raft'
import { open, type Engine } from '@mrdb/storage'
import type { RangeDescriptor } from '../api/range-descriptor.js'
import type { TimestampSource } from '../api/types.js'
import { GrpcSender } from '../client/grpc-sender.js'
import { addKvService } from '../server/kv-service.js'
import { LocalSender } from '../server/local-sender.js'
import { KvRequestHandler } from '../server/request-handler.js'
import { Store } from '../server/store.js'
import { waitFor } from './wait.js'

const b = (s: string) => Buffer.from(s)
const voters = [1, 2, 3].map((n) => ({ replicaId: n, nodeId: n, role: 'voter' as const }))
/** The ranges every loopback cluster starts with: range 1 holds ['', 'm'), range 2 ['m', +inf). */
export const LOOPBACK_RANGES: readonly RangeDescriptor[] = [
  { rangeId: 1, startKey: new Uint8Array(0), endKey: b('m'), generation: 1, replicas: voters },
  { rangeId: 2, startKey: b('m'), endKey: new Uint8Array(0), generation: 1, replicas: voters.map((r) => ({ ...r, replicaId: r.replicaId + 10 })) },
]

/** One node of a loopback cluster: its store, its gRPC address, and both ways to send to it. */
export interface LoopbackNode {
  id: number
  address: string
  store: Store
  local: LocalSender
  remote: GrpcSender
}

/**
 * Runs `fn` on a fresh three-node cluster holding {@link LOOPBACK_RANGES}, once every node knows
 * each range's leader and has applied its first entry; stops everything after, even on failure.
 * With `timestamps`, the stores' oracle (which one-phase commits need).
 */
export async function withLoopbackCluster(fn: (nodes: LoopbackNode[]) => Promise<void>, options: { timestamps?: TimestampSource } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-loopback-'))
  const network = new MemoryNetwork()
  const engines: Engine[] = []
  const servers: Server[] = []
  const nodes: LoopbackNode[] = []
  try {
    for (const id of [1, 2, 3]) {
      const engine = await open(join(dir, `n${id}`))
      engines.push(engine)
      const store = await Store.open({ nodeId: id, engine, transport: network.transport(id), tickMs: 50, sync: false, proposalTimeoutMs: 30_000, timestamps: options.timestamps })
      for (const d of LOOPBACK_RANGES) await store.bootstrapRange(d)
      const server = new Server()
      servers.push(server)
      const handler = new KvRequestHandler(store, {
        nodes: () => nodes.map((n) => ({ nodeId: n.id, address: n.address })),
        ranges: async () => LOOPBACK_RANGES.map((descriptor) => ({ descriptor, leaderNodeId: 0 })),
      })
      addKvService(server, handler)
      const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
      nodes.push({ id, address: `127.0.0.1:${port}`, store, local: new LocalSender(handler), remote: new GrpcSender() })
    }
    // Every node knows each range's leader and has applied the leader's first entry.
    const settled = (rangeId: number) => {
      const leaders = new Set(nodes.map((n) => n.store.raft.leaderOf(rangeId)))
      const applied = new Set(nodes.map((n) => n.store.replica(rangeId).appliedIndex))
      return leaders.size === 1 && !leaders.has(0) && applied.size === 1 && !applied.has(1)
    }
    await waitFor('leaders of both ranges, known everywhere', () => LOOPBACK_RANGES.every((d) => settled(d.rangeId)))
    await fn(nodes)
  } finally {
    for (const n of nodes) {
      n.local.close()
      n.remote.close()
    }
    for (const s of servers) s.forceShutdown()
    for (const n of nodes) await n.store.close()
    for (const e of engines) await e.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** The node leading `rangeId`, and one following it. */
export function loopbackRoles(nodes: LoopbackNode[], rangeId: number): { leader: LoopbackNode; follower: LoopbackNode } {
  const leads = (n: LoopbackNode) => n.store.raft.leaderOf(rangeId) === n.store.replica(rangeId).replicaId
  return { leader: nodes.find(leads)!, follower: nodes.find((n) => !leads(n))! }
}

// One mrdb node: its engine, its store of replicas, and one gRPC server on --listen that
// carries the Raft transport, the KV service and node administration. Nodes learn each
// other's addresses by Hello; `init` bootstraps a static layout (ranges pre-split evenly on
// the first two key bytes, replicas on the three lowest store ids) that the placement
// driver will later make dynamic.

import { randomUUID } from 'node:crypto'
import { Client, Server, ServerCredentials, credentials, type MethodDefinition, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js'
import { KvError, Store, addKvService, descriptorFromJson, descriptorToJson, unaryCall, type RangeDescriptor } from '@mrdb/kv'
import { GrpcTransport, type RaftLogger } from '@mrdb/raft'
import { open, type Engine } from '@mrdb/storage'
import { NODE_SERVICE, type AdminError, type BootstrapRequest, type HelloRequest, type InitRequest, type NodeStatusResponse } from './admin-protocol.js'
import { NodeError, NodeErrorCode } from './errors.js'
import { loadNodeMeta, saveNodeMeta, type NodeMeta } from './node-meta.js'

/** Options of {@link NodeServer.start}. */
export interface NodeServerOptions {
  storeId: number
  /** host:port to serve on; port 0 picks a free one. */
  listen: string
  /** Addresses of nodes to join (empty for the first node). */
  join: string[]
  dataDir: string
  /** Milliseconds per Raft tick; default 50. */
  tickMs?: number
  /** fsync the Raft log; default true. */
  sync?: boolean
  /** Serve linearizable reads from leader leases instead of ReadIndex rounds; default false. */
  leaseReads?: boolean
  logger?: RaftLogger
}

/** Replicas per range in the static layout. */
const REPLICATION = 3
const DEFAULT_RANGES = 8
/** Split points use the first two key bytes. */
const MAX_RANGES = 65536
const HELLO_INTERVAL_MS = 1000
/** How long stop() lets calls in flight finish before it cuts them off. */
const SHUTDOWN_GRACE_MS = 2000

/** A running node; see the file comment. */
export class NodeServer {
  private helloTimer: NodeJS.Timeout | undefined
  private readonly channels = new Map<string, Client>()
  private stopped = false

  private constructor(
    private readonly o: NodeServerOptions,
    private readonly engine: Engine,
    private readonly meta: NodeMeta,
    private readonly grpc: Server,
    readonly store: Store,
    /** The address peers and clients reach this node at. */
    readonly address: string,
  ) {}

  /** Opens the data directory, starts serving, and begins exchanging addresses with peers. */
  static async start(o: NodeServerOptions): Promise<NodeServer> {
    if (!Number.isSafeInteger(o.storeId) || o.storeId <= 0) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `store id must be a positive integer, got ${o.storeId}`)
    const engine = await open(o.dataDir)
    let grpc: Server | undefined
    let store: Store | undefined
    try {
      const meta = (await loadNodeMeta(engine)) ?? { storeId: o.storeId, clusterId: undefined, nodes: new Map(), ranges: [] }
      if (meta.storeId !== o.storeId) {
        throw new NodeError(NodeErrorCode.STORE_ID_MISMATCH, `${o.dataDir} belongs to store ${meta.storeId}, not ${o.storeId}`)
      }
      const server = (grpc = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 }))
      const transport = new GrpcTransport({ nodeId: o.storeId, server, resolve: (id) => meta.nodes.get(id), logger: o.logger })
      store = await Store.open({ nodeId: o.storeId, engine, transport, tickMs: o.tickMs, sync: o.sync, leaseReads: o.leaseReads, logger: o.logger })
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(o.listen, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      )
      const address = `${o.listen.slice(0, o.listen.lastIndexOf(':'))}:${port}`
      meta.nodes.set(o.storeId, address)
      await saveNodeMeta(engine, meta)
      const node: NodeServer = new NodeServer(o, engine, meta, server, store, address)
      addKvService(server, store, { nodes: () => node.nodeList(), ranges: () => node.meta.ranges })
      server.addService(NODE_SERVICE, node.adminService())
      node.helloTimer = setInterval(() => void node.helloRound(), HELLO_INTERVAL_MS)
      void node.helloRound()
      return node
    } catch (err) {
      grpc?.forceShutdown()
      await store?.close()
      await engine.close()
      throw err
    }
  }

  /** The cluster id, once bootstrapped. */
  get clusterId(): string | undefined {
    return this.meta.clusterId
  }

  /** Stops serving and closes the data directory. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.helloTimer) clearInterval(this.helloTimer)
    for (const c of this.channels.values()) c.close()
    await this.store.close()
    // Calls in flight get a grace period to finish; then the server closes regardless.
    const grace = setTimeout(() => this.grpc.forceShutdown(), SHUTDOWN_GRACE_MS)
    await new Promise<void>((resolve) => this.grpc.tryShutdown(() => resolve()))
    clearTimeout(grace)
    await this.engine.close()
  }

  /**
   * Bootstraps the cluster once: pre-splits the keyspace into `ranges` ranges and places
   * every range on the three lowest store ids known (waiting briefly for them to join).
   */
  async init(ranges = DEFAULT_RANGES): Promise<{ clusterId: string; ranges: number; replicaNodes: number[] }> {
    if (this.meta.clusterId) throw new NodeError(NodeErrorCode.ALREADY_INITIALIZED, `the cluster is already initialized (${this.meta.clusterId})`)
    if (!Number.isSafeInteger(ranges) || ranges < 1 || ranges > MAX_RANGES) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `ranges must be 1..${MAX_RANGES}, got ${ranges}`)
    const deadline = Date.now() + 15_000
    while (this.meta.nodes.size < REPLICATION && Date.now() < deadline) {
      await this.helloRound()
      await new Promise((r) => setTimeout(r, 200))
    }
    if (this.meta.nodes.size < REPLICATION) {
      throw new NodeError(NodeErrorCode.NOT_ENOUGH_NODES, `need ${REPLICATION} nodes to place replicas, know ${this.meta.nodes.size}`)
    }
    const replicaNodes = [...this.meta.nodes.keys()].sort((a, b) => a - b).slice(0, REPLICATION)
    const layout = staticLayout(ranges, replicaNodes)
    const clusterId = randomUUID()
    const request: BootstrapRequest = { clusterId, ranges: layout.map(descriptorToJson) }
    const targets = [...this.meta.nodes]
    const results = await Promise.allSettled(
      targets.map(async ([id, address]) => {
        if (id === this.o.storeId) return this.bootstrap(request)
        const res = await this.call(address, NODE_SERVICE.bootstrap, request)
        if (res.error) throw new NodeError(res.error.code, res.error.message)
      }),
    )
    results.forEach((r, i) => {
      if (r.status === 'rejected' && replicaNodes.includes(targets[i]![0])) {
        const reason = r.reason instanceof Error ? r.reason.message : String(r.reason)
        throw new NodeError(NodeErrorCode.UNAVAILABLE, `bootstrap of replica node ${targets[i]![0]} failed: ${reason}`)
      }
    })
    return { clusterId, ranges, replicaNodes }
  }

  private async bootstrap(req: BootstrapRequest): Promise<void> {
    if (this.meta.clusterId && this.meta.clusterId !== req.clusterId) {
      throw new NodeError(NodeErrorCode.CLUSTER_MISMATCH, `this node belongs to cluster ${this.meta.clusterId}`)
    }
    const layout = req.ranges.map(descriptorFromJson)
    for (const d of layout) await this.store.bootstrapRange(d)
    this.meta.clusterId = req.clusterId
    this.meta.ranges = layout
    await saveNodeMeta(this.engine, this.meta)
  }

  private nodeList(): Array<{ nodeId: number; address: string }> {
    return [...this.meta.nodes].map(([nodeId, address]) => ({ nodeId, address }))
  }

  /** Exchanges address books with every join address and known peer. */
  private async helloRound(): Promise<void> {
    const targets = new Set([...this.o.join, ...[...this.meta.nodes].filter(([id]) => id !== this.o.storeId).map(([, a]) => a)])
    targets.delete(this.address)
    const req: HelloRequest = { nodeId: this.o.storeId, address: this.address, nodes: [...this.meta.nodes] }
    await Promise.all(
      [...targets].map(async (address) => {
        try {
          const res = await this.call(address, NODE_SERVICE.hello, req)
          if (res.nodes) await this.learn(res.nodes)
        } catch {
          // unreachable peers are retried next round
        }
      }),
    )
  }

  private async learn(nodes: Array<[number, string]>): Promise<void> {
    let changed = false
    for (const [id, address] of nodes) {
      if (id === this.o.storeId || this.meta.nodes.get(id) === address) continue
      this.meta.nodes.set(id, address)
      changed = true
    }
    if (changed && !this.stopped) await saveNodeMeta(this.engine, this.meta)
  }

  private adminService() {
    return {
      hello: admin(async (req: HelloRequest) => {
        await this.learn([[req.nodeId, req.address], ...(req.nodes ?? [])])
        return { nodes: [...this.meta.nodes] }
      }),
      init: admin(async (req: InitRequest) => this.init(req.ranges ?? DEFAULT_RANGES)),
      bootstrap: admin(async (req: BootstrapRequest) => {
        await this.bootstrap(req)
        return {}
      }),
      status: admin(async (): Promise<NodeStatusResponse> => ({
        nodeId: this.o.storeId,
        address: this.address,
        clusterId: this.meta.clusterId,
        ranges: this.store.descriptors().map((d) => {
          const st = this.store.raft.status(d.rangeId)
          return {
            rangeId: d.rangeId,
            leader: this.store.raft.leaderOf(d.rangeId) === this.store.replica(d.rangeId).replicaId,
            appliedIndex: this.store.replica(d.rangeId).appliedIndex,
            quiesced: this.store.raft.isQuiesced(d.rangeId),
            role: st.state,
            term: st.term,
            leaderReplica: st.lead,
            commit: st.commit,
          }
        }),
        metrics: { ...this.store.raft.metrics, cpuUserMicros: process.cpuUsage().user, cpuSystemMicros: process.cpuUsage().system },
      })),
    }
  }

  private call<Req, Res>(address: string, method: MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    let channel = this.channels.get(address)
    if (!channel) this.channels.set(address, (channel = new Client(address, credentials.createInsecure())))
    return unaryCall(channel, method, req, Date.now() + 5000)
  }
}

/** Ranges split evenly on the first two key bytes, each with replicas 1..3 on `nodes`. */
export function staticLayout(ranges: number, nodes: number[]): RangeDescriptor[] {
  const split = (i: number) => {
    const at = Math.floor((MAX_RANGES * i) / ranges)
    return at % 256 === 0 ? Uint8Array.of(at >> 8) : Uint8Array.of(at >> 8, at & 0xff)
  }
  const bounds = Array.from({ length: ranges + 1 }, (_, i) => (i === 0 || i === ranges ? new Uint8Array(0) : split(i)))
  return Array.from({ length: ranges }, (_, i) => ({
    rangeId: i + 1,
    startKey: bounds[i]!,
    endKey: bounds[i + 1]!,
    generation: 1,
    replicas: nodes.map((nodeId, r) => ({ replicaId: r + 1, nodeId, role: 'voter' as const })),
  }))
}

function admin<Req, Res>(fn: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    fn(call.request ?? ({} as Req)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(null, { error: adminError(err) } as unknown as Res),
    )
  }
}

function adminError(err: unknown): AdminError {
  if (err instanceof NodeError) return { code: err.code, message: err.message }
  if (err instanceof KvError) return { code: NodeErrorCode.UNAVAILABLE, message: err.message }
  return { code: NodeErrorCode.UNAVAILABLE, message: err instanceof Error ? err.message : String(err) }
}

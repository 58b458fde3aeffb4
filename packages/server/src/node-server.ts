// One mrdb node: its engine, its store of replicas, and one gRPC server on --listen that
// carries the Raft transport, the KV service, node administration and the placement
// driver's service. Nodes learn each other's addresses by Hello. `init` bootstraps the
// cluster once: the PD group on the first three stores (five when there are five) and the
// first ranges; from then on every node heartbeats to the PD leader, which keeps the range
// table and moves replicas, and a node holding a PD replica runs the placement driver. The
// PD group moves off dead and decommissioned stores as a range does: its leader asks the new
// store to join (JoinPd) and the removed one to leave (LeavePd), and every heartbeat's answer
// tells a node where the group is now.

import { randomUUID } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Client, Metadata, Server, ServerCredentials, credentials, type ClientDuplexStream, type MethodDefinition } from '@grpc/grpc-js'
import { GcQueue, GrpcSender, KvClient, LocalSender, RoutingSender, Store, TransactionalKv, addKvService, descriptorFromJson, descriptorToJson, resolveLocks, unaryCall, type RangeDescriptor } from '@mrdb/kv'
import { DEFAULT_GC_TTL_MS, PD_GROUP_ID, PdReplica, PlacementDriver, bootstrapGcFloor, type PdReplicaOptions, type SchedulerConfig } from '@mrdb/placement'
import { GrpcTransport, NetworkFaults } from '@mrdb/raft'
import { ExecutorPool, putUser, ROOT_USER, SqlEngine } from '@mrdb/sql'
import { open, raftLogEntryKey, type Engine } from '@mrdb/storage'
import { admin } from './admin-handler.js'
import { advertisedAddress, splitHostPort } from './advertise.js'
import { NODE_SERVICE, type BootstrapRequest, type DamageLogEntryRequest, type HelloRequest, type HelloResponse, type NetworkFaultsResponse, type NodeStatusResponse } from './admin-protocol.js'
import { NodeError, NodeErrorCode, fromAdminError } from './errors.js'
import { loadNodeMeta, saveNodeMeta, type NodeMeta } from './node-meta.js'
import { runOperator } from './operator-runner.js'
import { PdEndpoint } from './pd-endpoint.js'
import { PgServer } from './pgwire/server.js'
import { RangeAdmin } from './range-admin.js'
import { NODE_REQUESTS } from './request-check.js'
import { LeadReports, storeHeartbeat, type ReportRound } from './store-heartbeat.js'
import { TimestampBatcher } from './timestamp-batcher.js'
import { CountingSender } from './counting-sender.js'
import type { LevelWithSilent } from 'pino'
import { addConsoleRoutes } from './http/console-routes.js'
import { healthHandler, type Readiness } from './http/health.js'
import { HttpServer } from './http/http-server.js'
import { grpcChannelCredentials, grpcServerCredentials, loadIdentity } from './tls/certs.js'
import { nodeOnlyInterceptor } from './tls/node-only.js'
import { Router } from './http/router.js'
import { openNodeLog, textLogger, throttled, type NodeLog, type NodeLogger } from './log/node-log.js'
import { ObservedRequestHandler, type KvRequestOutcome } from './metrics/kv-requests.js'
import { LeadershipWatch } from './metrics/leadership-watch.js'
import { NodeMetrics, type SqlStatementOutcome } from './metrics/node-metrics.js'
import { ObservedTransport } from './metrics/raft-traffic.js'

/** Options of {@link NodeServer.start}. */
export interface NodeServerOptions {
  storeId: number
  /** host:port to serve on; port 0 picks a free one. */
  listen: string
  /**
   * A certificates directory (tls/certs.ts): every gRPC channel (peers, clients), the HTTP port
   * and the SQL port then use TLS with the node's certificate, and peers and clients must show
   * certificates of the cluster's CA. Absent: plaintext (--insecure).
   */
  certsDir?: string
  /** host:port peers and clients are told to reach this node at (see {@link advertisedAddress}); default: the listen address. */
  advertise?: string
  /** Addresses of nodes to join (empty for the first node). */
  join: string[]
  dataDir: string
  /** Milliseconds per Raft tick; default 50. */
  tickMs?: number
  /** fsync the Raft log; default true. */
  sync?: boolean
  /** Serve linearizable reads from leader leases instead of ReadIndex rounds; default false. */
  leaseReads?: boolean
  /** The placement driver's scheduling knobs (used while this node leads the PD group). */
  placement?: Partial<SchedulerConfig>
  /** How often this node heartbeats to the PD and the PD schedules; default 1000 ms. */
  heartbeatMs?: number
  /** How long MVCC versions are kept after being overwritten or deleted (the PD leader's value counts); default 25 h. */
  gcTtlMs?: number
  /** Accept injected faults over the admin service: network partitions (`mrdb check`), damaged Raft log entries (tests); default false. */
  faultInjection?: boolean
  /**
   * How often the server pings each connection; one that has not answered within as long
   * again is dropped (a peer that vanished, a socket that never spoke, a client that broke
   * HTTP/2 and never hung up). Default 10,000 ms.
   */
  keepaliveMs?: number
  /** host:port of the PostgreSQL wire protocol listener (port 0 picks a free one); none when absent. */
  sqlListen?: string
  /** Let SQL clients in without a password; without it every SQL login is refused (28000) until passwords exist. */
  insecure?: boolean
  /** Most concurrent SQL sessions; default 100. */
  sqlMaxConnections?: number
  /** Milliseconds a new SQL connection has to finish its startup; default 10,000. */
  sqlStartupTimeoutMs?: number
  /** The default statement_timeout of SQL sessions in ms; default 0 (none). */
  statementTimeoutMs?: number
  /** Bytes one SQL statement's operators may hold (53200 past it; sorts spill under `<dataDir>/sql-spill`); default 256 MiB. */
  sqlMemoryBudgetBytes?: number
  /** host:port of the HTTP port (/health, /metrics; port 0 picks a free one); none when absent. */
  httpListen?: string
  /** The least level of log lines on stderr (the log file under the data directory takes info and up); default 'info'. */
  stderrLogLevel?: LevelWithSilent
}

/** Replicas per range when the cluster starts. */
const REPLICATION = 3
const DEFAULT_RANGES = 1
/** Split points use the first two key bytes. */
const MAX_RANGES = 65536
const HELLO_INTERVAL_MS = 1000
/** The event-loop delay monitor's timer period. */
const LOOP_DELAY_RESOLUTION_MS = 10
/** How long stop() lets calls in flight finish before it cuts them off. */
const SHUTDOWN_GRACE_MS = 2000
/**
 * How long the SQL gateway plans statements with a catalog it validated, without reading the
 * catalog version again (schema-lease.ts in @mrdb/sql); every DDL waits about twice that before it returns.
 */
const SCHEMA_LEASE_MS = 250
/** Deadline of admin calls between nodes; membership changes wait for a snapshot to land. */
const CALL_TIMEOUT_MS = 60_000
/** How long `init` waits for each node it bootstraps to answer before it reports NODE_NOT_READY. */
const READY_CHECK_MS = 2000
/** The largest message the server accepts (a batch of Raft frames, a KV command batch). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024
const KEEPALIVE_MS = 10_000
/** A write that waited this long for fsync is logged (etcd warns at the same bound). */
const SLOW_FSYNC_MS = 1000
/** A KV request or SQL statement that took this long is logged. */
const SLOW_REQUEST_MS = 2000
/** At most one slow-fsync or slow-request line of each kind per this many ms. */
const SLOW_LOG_INTERVAL_MS = 1000
/** Readiness: the node is out of service once its heartbeats to the placement driver have failed this long. */
const PD_UNREACHABLE_MS = 10_000

/** A running node; see the file comment. */
export class NodeServer {
  private helloTimer: NodeJS.Timeout | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private readonly channels = new Map<string, Client>()
  private stopped = false
  private driver: PlacementDriver | undefined
  /** This node's replica of the PD group while it runs here. */
  private pdReplica: PdReplica | undefined
  /** Joins and leaves of the PD group, one at a time (see {@link pdOneAtATime}). */
  private pdMembership: Promise<unknown> = Promise.resolve()
  private lastHeartbeatMs = Date.now()
  /** The node's way to the placement driver (and the PD service it serves). */
  readonly pd: PdEndpoint
  /** The node's log (see log/node-log.ts). */
  readonly log: NodeLogger
  private readonly ranges: RangeAdmin
  /** How late the event loop runs (Raft ticks share it with everything else). */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  private loopDelaySince = Date.now()
  /** Worker threads for the SQL executor's big scans. */
  private executorPool: ExecutorPool | undefined
  /** The SQL gateway's way into the cluster: a KV client of this node's own address. */
  private sqlKv: KvClient | undefined
  /** The peers this node cannot reach while a fault-injection test partitions it (only with --fault-injection). */
  private readonly faults: NetworkFaults | undefined
  /** The node's SQL engine (set once started). */
  private sqlEngine: SqlEngine | undefined
  /** The PostgreSQL wire protocol listener (with --sql-listen). */
  private pgServer: PgServer | undefined
  /** Garbage collection of the ranges this node leads. */
  private gcQueue: GcQueue | undefined
  /** The {@link routing} call under way, if any. */
  private routingCall: Promise<Array<{ descriptor: RangeDescriptor; leaderNodeId: number }>> | undefined
  /** The SQL gateway's transactions (their oldest start holds GC back). */
  private txnKv: TransactionalKv | undefined
  /** The SQL gateway's sender to other nodes (its counts are in the status). */
  private kvRemote: CountingSender | undefined
  /** The SQL gateway's timestamps from the oracle (their counts are in the status). */
  private timestamps: TimestampBatcher | undefined
  /** The HTTP port (with --http-listen). */
  private httpServer: HttpServer | undefined
  /** Credentials of this node's channels to its peers (TLS with its certificate, or plaintext). */
  private channelCredentials = credentials.createInsecure()
  /** The load of the ranges this node leads, as its last heartbeat measured it (for /metrics). */
  private rangeLoad: Array<{ rangeId: number; queriesPerSecond: number }> = []
  /** What this node's heartbeats last told the PD about the ranges it leads. */
  private readonly leadReports: LeadReports
  /** The heartbeat under way or queued last, if any. */
  private heartbeating: Promise<void> | undefined
  /** When a heartbeat last reached the placement driver (0: never since start). */
  private lastPdContactMs = 0

  private constructor(
    private readonly o: NodeServerOptions,
    private readonly engine: Engine,
    private readonly meta: NodeMeta,
    private readonly grpc: Server,
    readonly store: Store,
    /** The address peers and clients reach this node at. */
    readonly address: string,
    faults: NetworkFaults | undefined,
    private readonly nodeLog: NodeLog,
    /** The node's Prometheus series (GET /metrics). */
    readonly metrics: NodeMetrics,
    private readonly leadership: LeadershipWatch,
  ) {
    this.log = nodeLog.logger
    this.faults = faults
    this.leadReports = new LeadReports(store.watchChanges())
    this.pd = new PdEndpoint({
      nodeId: o.storeId,
      driver: () => this.driver,
      pdNodes: () => this.meta.pdNodes,
      nodes: () => [...this.meta.nodes.keys()],
      call: (nodeId, method, req) => this.callNode(nodeId, method, req),
      openStream: (nodeId, method) => this.openNodeStream(nodeId, method),
    })
    this.ranges = new RangeAdmin(
      store,
      { call: (nodeId, method, req) => this.callNode(nodeId, method, req) },
      {
        onLeader: (target, act) => {
          if (!this.sqlKv) throw new NodeError(NodeErrorCode.UNAVAILABLE, `node ${o.storeId} is still starting`)
          return this.sqlKv.onLeader(target, act)
        },
      },
      {
        allocateRangeId: async () => {
          const res = await this.pd.allocRangeId()
          if (res.error || res.rangeId === undefined) throw fromAdminError(res.error ?? { code: NodeErrorCode.UNAVAILABLE, message: 'no range id' })
          return res.rangeId
        },
        report: async (ranges) => {
          const res = await this.pd.reportRanges({ ranges: ranges.map(descriptorToJson), leaderNodeId: o.storeId })
          if (res.error) throw fromAdminError(res.error)
        },
      },
      this.log,
    )
  }

  /** Opens the data directory, starts serving, and begins exchanging addresses with peers. */
  static async start(o: NodeServerOptions): Promise<NodeServer> {
    if (!Number.isSafeInteger(o.storeId) || o.storeId <= 0) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `store id must be a positive integer, got ${o.storeId}`)
    if (o.keepaliveMs !== undefined && (!Number.isSafeInteger(o.keepaliveMs) || o.keepaliveMs <= 0)) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `keepaliveMs must be a positive integer, got ${o.keepaliveMs}`)
    const nodeLog = openNodeLog({ nodeId: o.storeId, dataDir: o.dataDir, stderrLevel: o.stderrLogLevel })
    const log = nodeLog.logger
    const metrics = new NodeMetrics()
    const slowFsync = throttled<number>(SLOW_LOG_INTERVAL_MS, (ms, dropped) => log.warn({ durationMs: Math.round(ms), dropped }, `slow fsync: a synced write took ${Math.round(ms)} ms`))
    let engine: Engine
    try {
      engine = await open(o.dataDir, {
        onSyncedWrite: (ms) => {
          metrics.observeFsync(ms)
          if (ms >= SLOW_FSYNC_MS) slowFsync(ms)
        },
      })
    } catch (err) {
      await nodeLog.close()
      throw err
    }
    let grpc: Server | undefined
    let store: Store | undefined
    let pool: ExecutorPool | undefined
    let leadership: LeadershipWatch | undefined
    let node: NodeServer | undefined
    try {
      const meta: NodeMeta = (await loadNodeMeta(engine)) ?? { storeId: o.storeId, clusterId: undefined, nodes: new Map(), pdNodes: [] }
      if (meta.storeId !== o.storeId) {
        throw new NodeError(NodeErrorCode.STORE_ID_MISMATCH, `${o.dataDir} belongs to store ${meta.storeId}, not ${o.storeId}`)
      }
      const keepalive = o.keepaliveMs ?? KEEPALIVE_MS
      const slowKv = throttled<KvRequestOutcome>(SLOW_LOG_INTERVAL_MS, (r, dropped) =>
        log.warn({ rangeId: r.rangeId, op: r.op, durationMs: Math.round(r.durationMs), code: r.code, dropped }, `slow KV request: ${r.op} took ${Math.round(r.durationMs)} ms`),
      )
      const tls = o.certsDir === undefined ? undefined : loadIdentity(o.certsDir, 'node')
      const server = (grpc = new Server({
        'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
        'grpc.keepalive_time_ms': keepalive,
        'grpc.keepalive_timeout_ms': keepalive,
        interceptors: tls ? [nodeOnlyInterceptor()] : [],
      }))
      // Without fault injection no channel carries the interceptor: Raft messages skip it.
      const faults = o.faultInjection ? new NetworkFaults() : undefined
      const channelCredentials = tls ? grpcChannelCredentials(tls) : credentials.createInsecure()
      // Raft's info lines (every vote of every range) are debug detail here: LeadershipWatch logs
      // elections with their range. The transport's (a peer reconnected) stay at info.
      const raftLog = textLogger(log, 'debug')
      const transport = new ObservedTransport(new GrpcTransport({ nodeId: o.storeId, server, resolve: (id) => meta.nodes.get(id), logger: textLogger(log), faults, credentials: channelCredentials }), log)
      // A replica that becomes leader fetches a timestamp from the gateway's batcher before it
      // takes one-phase commits; while the node is starting, it refuses them.
      const leaderTimestamps = { timestamp: () => node?.timestamps?.timestamp() ?? Promise.reject(new Error(`node ${o.storeId} is starting`)) }
      store = await Store.open({ nodeId: o.storeId, engine, transport, tickMs: o.tickMs, sync: o.sync, leaseReads: o.leaseReads, logger: raftLog, timestamps: leaderTimestamps, gcSafePoint: meta.gcSafePoint })
      leadership = new LeadershipWatch(store.raft, log)
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(o.listen, tls ? grpcServerCredentials(tls) : ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      )
      const address = advertisedAddress(o.listen, port, o.advertise)
      meta.nodes.set(o.storeId, address)
      await saveNodeMeta(engine, meta)
      node = new NodeServer(o, engine, meta, server, store, address, faults, nodeLog, metrics, leadership)
      node.channelCredentials = channelCredentials
      const started = node
      const pd = await PdReplica.load(node.pdReplicaOptions())
      const pdDamage = store.logDamage(PD_GROUP_ID)
      if (pd && pdDamage) {
        // Its store is live, so the scheduler does not replace it (it replaces replicas of dead
        // and leaving stores; quarantine reports cover ranges only).
        log.warn({ rangeId: PD_GROUP_ID }, `the placement driver's replica on node ${o.storeId} is damaged (${pdDamage.reason}); it stays out of the PD group, which goes on with its other members; it is not replaced automatically`)
      } else if (pd && !pd.isMember()) {
        log.info({ rangeId: PD_GROUP_ID }, `the placement driver's group removed node ${o.storeId}'s replica; it stays out unless the group adds this node again`)
      } else if (pd) node.hostPd(pd)
      const requests = new ObservedRequestHandler(store, { nodes: () => started.nodeList(), ranges: () => started.routing() }, (r) => {
        metrics.observeKv(r)
        if (r.durationMs >= SLOW_REQUEST_MS) slowKv(r)
      })
      addKvService(server, requests)
      // The gateway's requests to ranges this node leads go to the store in-process; the rest over gRPC.
      const remote = (node.kvRemote = new CountingSender(new GrpcSender({ interceptor: faults && ((to) => faults.interceptor(to)), credentials: channelCredentials })))
      node.sqlKv = new KvClient({ hosts: [address], sender: new RoutingSender({ nodeId: o.storeId, address }, new LocalSender(requests), remote) })
      const timestamps = (node.timestamps = new TimestampBatcher((req) => started.pd.tso(req)))
      node.executorPool = pool = new ExecutorPool()
      const txnKv = (node.txnKv = new TransactionalKv(node.sqlKv, timestamps))
      const sqlEngine = (node.sqlEngine = new SqlEngine(txnKv, {
        pool,
        nodeId: o.storeId,
        schemaLease: { durationMs: SCHEMA_LEASE_MS },
        statsRefresh: true,
        logger: textLogger(log),
        ...(o.sqlMemoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: o.sqlMemoryBudgetBytes }),
        spillDir: await sqlSpillDir(o.dataDir),
      }))
      const gcClient = node.sqlKv
      node.gcQueue = new GcQueue({ store, resolveLocks: (locks) => resolveLocks(gcClient, timestamps, locks), logger: textLogger(log) })
      node.gcQueue.start()
      if (o.sqlListen !== undefined) {
        node.pgServer = await PgServer.start({
          engine: sqlEngine,
          listen: o.sqlListen,
          insecure: o.insecure === true,
          maxConnections: o.sqlMaxConnections,
          startupTimeoutMs: o.sqlStartupTimeoutMs,
          statementTimeoutMs: o.statementTimeoutMs,
          logger: textLogger(log),
          onStatement: node.statementObserver(),
          tls,
        })
      }
      const pgServer = node.pgServer
      metrics.watch({
        store,
        traffic: transport,
        leadership,
        dataDir: o.dataDir,
        // Only the PD leader answers; elsewhere health() refuses with NOT_LEADER.
        clusterHealth: async () => started.driver?.health().catch(() => undefined),
        sql: () => pgServer && { sessions: pgServer.sessionCount, openTransactions: pgServer.openTransactions },
        rangeLoad: () => started.rangeLoad,
      })
      if (o.httpListen !== undefined) node.httpServer = await HttpServer.start(o.httpListen, node.router(), log, tls)
      server.addService(NODE_SERVICE, node.adminService())
      node.pd.serve(server)
      node.helloTimer = setInterval(() => void started.helloRound(), HELLO_INTERVAL_MS)
      // A heartbeat still under way (a slow PD) is not joined by another.
      node.heartbeatTimer = setInterval(() => void (started.heartbeating ?? started.heartbeat()), o.heartbeatMs ?? 1000)
      node.loopDelay.enable()
      void node.helloRound()
      log.info({ address, sqlAddress: node.sqlAddress, httpAddress: node.httpAddress, clusterId: meta.clusterId }, `node ${o.storeId} started`)
      return node
    } catch (err) {
      leadership?.stop()
      await node?.httpServer?.stop()
      grpc?.forceShutdown()
      await pool?.close()
      await store?.close()
      await engine.close()
      await nodeLog.close()
      throw err
    }
  }

  /** The address SQL clients (psql, node-postgres) reach this node at, if it serves SQL. */
  get sqlAddress(): string | undefined {
    if (!this.pgServer) return undefined
    const { port } = splitHostPort(this.pgServer.address)
    // The SQL port is advertised at the node's advertised host when it binds an unspecified one.
    return advertisedAddress(this.o.sqlListen ?? '', port ?? 0, this.o.advertise === undefined ? undefined : `${splitHostPort(this.o.advertise).host}:${port ?? 0}`)
  }

  /** The address of the HTTP port (/health, /metrics), if the node serves one. */
  get httpAddress(): string | undefined {
    return this.httpServer?.address
  }

  /** The HTTP port's routes: health, metrics and the web console. */
  private router(): Router {
    const router = new Router()
      .get('/health', healthHandler(this.o.storeId, () => this.readiness()))
      .get('/metrics', async () => {
        const { contentType, body } = await this.metrics.scrape()
        return { status: 200, contentType, body }
      })
    return addConsoleRoutes(router, { nodeId: this.o.storeId, pd: this.pd })
  }

  /**
   * Whether a load balancer may send this node work: it belongs to an initialized cluster,
   * is not stopping, and its store serves — its heartbeats reach the placement driver (the
   * first one after a start or an init included).
   */
  private readiness(): Readiness {
    if (this.stopped) return { ready: false, reason: 'the node is stopping' }
    if (!this.meta.clusterId) return { ready: false, reason: 'the node is not part of an initialized cluster (run mrdb init)' }
    if (this.lastPdContactMs === 0) return { ready: false, reason: 'the node has not reached the placement driver yet' }
    const silentMs = Date.now() - this.lastPdContactMs
    if (silentMs > PD_UNREACHABLE_MS) return { ready: false, reason: `the node has not reached the placement driver for ${Math.round(silentMs / 1000)} s` }
    return { ready: true }
  }

  /** What the SQL listener tells of each statement: metrics, and a line for a slow one. */
  private statementObserver(): (s: SqlStatementOutcome) => void {
    const slow = throttled<SqlStatementOutcome>(SLOW_LOG_INTERVAL_MS, (st, dropped) =>
      this.log.warn({ durationMs: Math.round(st.durationMs), code: st.code, sql: st.sql.slice(0, 200), dropped }, `slow SQL statement: ${Math.round(st.durationMs)} ms`),
    )
    return (st) => {
      this.metrics.observeSql(st)
      if (st.durationMs >= SLOW_REQUEST_MS) slow(st)
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
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.leadership.stop()
    this.driver?.stop()
    await this.gcQueue?.stop()
    this.loopDelay.disable()
    await this.pgServer?.stop()
    this.sqlKv?.close()
    await this.executorPool?.close()
    this.pd.close()
    for (const c of this.channels.values()) c.close()
    await this.store.close()
    // Calls in flight get a grace period to finish; then the server closes regardless.
    const grace = setTimeout(() => this.grpc.forceShutdown(), SHUTDOWN_GRACE_MS)
    await new Promise<void>((resolve) => this.grpc.tryShutdown(() => resolve()))
    clearTimeout(grace)
    // The HTTP port goes last: until then load balancers read "stopping" from /health?ready=1.
    await this.httpServer?.stop()
    await this.engine.close()
    this.log.info(`node ${this.o.storeId} stopped`)
    await this.nodeLog.close()
  }

  /**
   * Bootstraps the cluster once: the PD group on the first three stores known (five when
   * five are known), and `ranges` ranges (pre-split on the first two key bytes; default one
   * covering the whole keyspace) on the first three, waiting briefly for them to join.
   */
  async init(ranges = DEFAULT_RANGES, rootVerifier?: string): Promise<{ clusterId: string; ranges: number; replicaNodes: number[]; pdNodes: number[] }> {
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
    const ids = [...this.meta.nodes.keys()].sort((a, b) => a - b)
    const replicaNodes = ids.slice(0, REPLICATION)
    const pdNodes = ids.slice(0, ids.length >= 5 ? 5 : 3)
    const layout = staticLayout(ranges, replicaNodes)
    const clusterId = randomUUID()
    // Computed once here, so every replica of a range starts from the same state.
    const gcFloor = bootstrapGcFloor(Date.now(), this.o.gcTtlMs ?? DEFAULT_GC_TTL_MS).toString()
    const request: BootstrapRequest = { clusterId, ranges: layout.map(descriptorToJson), nodes: [...this.meta.nodes], pdNodes, gcFloor }
    await this.checkNodesReady([...new Set([...replicaNodes, ...pdNodes])])
    const targets = [...this.meta.nodes]
    const results = await Promise.allSettled(
      targets.map(async ([id, address]) => {
        if (id === this.o.storeId) return this.bootstrap(request)
        const res = await this.call(address, NODE_SERVICE.bootstrap, request, CALL_TIMEOUT_MS)
        if (res.error) throw fromAdminError(res.error)
      }),
    )
    results.forEach((r, i) => {
      const id = targets[i]![0]
      if (r.status === 'rejected' && (replicaNodes.includes(id) || pdNodes.includes(id))) {
        const reason = r.reason instanceof Error ? r.reason.message : String(r.reason)
        throw new NodeError(NodeErrorCode.UNAVAILABLE, `bootstrap of node ${id} failed: ${reason}`)
      }
    })
    await this.createRootUser(rootVerifier ?? null)
    return { clusterId, ranges, replicaNodes, pdNodes }
  }

  /**
   * Resolves once every node in `ids` answers a Hello; else throws NODE_NOT_READY naming the
   * first that does not, before `init` has changed anything (a node just started may not
   * listen yet: the caller waits and asks again).
   */
  private async checkNodesReady(ids: number[]): Promise<void> {
    const hello: HelloRequest = { nodeId: this.o.storeId, address: this.address, nodes: [...this.meta.nodes] }
    await Promise.all(
      ids.map(async (id) => {
        const address = this.meta.nodes.get(id)!
        if (id === this.o.storeId) return
        try {
          await this.call(address, NODE_SERVICE.hello, hello, READY_CHECK_MS)
        } catch (err) {
          const reason = (err as { details?: unknown }).details ?? (err instanceof Error ? err.message : String(err))
          throw new NodeError(NodeErrorCode.NODE_NOT_READY, `node ${id} at ${address} does not answer yet: ${String(reason)}`)
        }
      }),
    )
  }

  /**
   * Writes the `root` user (in the system keyspace, through the SQL layer's user records) once
   * the new cluster serves transactions: its ranges and the placement driver elect leaders in
   * the first seconds (with thousands of ranges on a busy machine, tens of seconds), so
   * failures are retried for up to 90 s.
   */
  private async createRootUser(verifier: string | null): Promise<void> {
    const deadline = Date.now() + 90_000
    for (let attempt = 1; ; attempt++) {
      try {
        const txn = await this.sqlEngine!.db.begin()
        putUser(txn, ROOT_USER, verifier)
        await txn.commit()
        return
      } catch (err) {
        if (Date.now() > deadline) throw new NodeError(NodeErrorCode.UNAVAILABLE, `the cluster is initialized, but the root user could not be written: ${err instanceof Error ? err.message : String(err)}`)
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)))
      }
    }
  }

  /** Takes this node's part of the cluster's bootstrap: its first replicas and, on PD members, the PD group. */
  private async bootstrap(req: BootstrapRequest): Promise<void> {
    // A repeated request (its first answer was lost) finds its work done.
    if (this.meta.clusterId === req.clusterId) return
    if (this.meta.clusterId && this.meta.clusterId !== req.clusterId) {
      throw new NodeError(NodeErrorCode.CLUSTER_MISMATCH, `this node belongs to cluster ${this.meta.clusterId}`)
    }
    const layout = req.ranges.map(descriptorFromJson)
    await this.store.bootstrapRanges(layout, BigInt(req.gcFloor ?? '0'))
    if (req.pdNodes.includes(this.o.storeId) && !this.driver) {
      const initial = {
        clusterId: req.clusterId,
        nextRangeId: Math.max(...layout.map((d) => d.rangeId)) + 1,
        nextReplicaId: 1,
        tsoLimit: 0n,
        stores: req.nodes.map(([storeId, address]) => ({ storeId, address, state: 'up' as const })),
        ranges: layout,
      }
      const confState = { voters: req.pdNodes, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
      await this.store.bootstrapSystemGroup(PD_GROUP_ID, PdReplica.bootstrapOps(initial, confState))
      const pd = await PdReplica.load(this.pdReplicaOptions())
      if (!pd) throw new NodeError(NodeErrorCode.UNAVAILABLE, 'the PD state vanished after its bootstrap')
      this.hostPd(pd)
    }
    this.meta.clusterId = req.clusterId
    this.meta.pdNodes = req.pdNodes
    await saveNodeMeta(this.engine, this.meta)
  }

  /** Hosts this node's PD replica and runs the placement driver beside it. */
  private hostPd(pd: PdReplica): void {
    this.store.hostSystemGroup(PD_GROUP_ID, pd)
    this.pdReplica = pd
    this.driver = new PlacementDriver({
      replica: pd,
      raft: this.store.raft,
      config: this.o.placement,
      intervalMs: this.o.heartbeatMs,
      gcTtlMs: this.o.gcTtlMs,
      runner: (op) => runOperator(this.ranges, op),
      pdMembers: {
        join: async (nodeId, members) => {
          if (nodeId === this.o.storeId) return this.joinPd(members)
          const res = await this.callNode(nodeId, NODE_SERVICE.joinPd, { members: [...members] })
          if (res.error) throw fromAdminError(res.error)
        },
        leave: async (nodeId) => {
          const address = this.meta.nodes.get(nodeId)
          if (nodeId === this.o.storeId) await this.leavePd()
          else if (address) await this.call(address, NODE_SERVICE.leavePd, {})
        },
      },
      onOperatorError: (op, err) => this.log.info({ rangeId: op.rangeId, operator: op.kind }, `placement: ${op.kind} on range ${op.rangeId} failed: ${err instanceof Error ? err.message : String(err)}`),
      onStoreLiveness: (storeId, live) =>
        live ? this.log.info({ storeId }, `placement: store ${storeId} is alive again`) : this.log.warn({ storeId }, `placement: store ${storeId} is dead: its replicas will be re-created elsewhere`),
    })
    this.driver.start()
  }

  /** How this node's PD replica runs: on its engine and multiraft host, leaving the group's Raft loop once removed. */
  private pdReplicaOptions(): PdReplicaOptions {
    return { nodeId: this.o.storeId, engine: this.engine, raft: this.store.raft, onRemoved: () => void this.leavePd() }
  }

  /** Runs joins and leaves of the PD group one at a time. */
  private pdOneAtATime(work: () => Promise<void>): Promise<void> {
    const run = this.pdMembership.then(work)
    this.pdMembership = run.catch(() => undefined)
    return run
  }

  /**
   * Hosts a replica of the PD group, which its leader just added here as a learner, and the
   * placement driver beside it (idempotent): the state this node kept from an earlier
   * membership if any, else an empty one that the leader's snapshot fills.
   */
  private joinPd(members: readonly number[]): Promise<void> {
    return this.pdOneAtATime(async () => {
      if (this.stopped || this.store.raft.hasGroup(PD_GROUP_ID)) return
      this.hostPd(await PdReplica.joining(this.pdReplicaOptions(), members))
      this.log.info({ rangeId: PD_GROUP_ID }, `placement: node ${this.o.storeId} joins the placement driver's group (members ${members.join(', ')})`)
    })
  }

  /** Stops this node's PD replica and placement driver: the group removed it (its data stays, for a later join). */
  private leavePd(): Promise<void> {
    return this.pdOneAtATime(async () => {
      if (!this.store.raft.hasGroup(PD_GROUP_ID)) return
      this.driver?.stop()
      this.driver = undefined
      this.pdReplica = undefined
      this.store.raft.removeGroup(PD_GROUP_ID)
      this.log.info({ rangeId: PD_GROUP_ID }, `placement: node ${this.o.storeId} left the placement driver's group`)
    })
  }

  /**
   * Remembers where the PD group is, as its leader said; stops this node's PD replica if the
   * group no longer holds it though its own applied membership still does (it was removed
   * while away, and no one tells a removed replica of its removal). A fresh replica joining
   * has applied no membership yet, so an answer older than its join cannot stop it; one that
   * rejoins with the state it kept might be, and the leader's next attempt brings it back.
   */
  private async learnPdMembers(members: readonly number[]): Promise<void> {
    if (members.length > 0 && !members.includes(this.o.storeId) && this.pdReplica?.isMember()) await this.leavePd()
    if (members.length === 0 || (members.length === this.meta.pdNodes.length && members.every((id, i) => this.meta.pdNodes[i] === id))) return
    this.meta.pdNodes = [...members]
    if (!this.stopped) await saveNodeMeta(this.engine, this.meta)
  }

  /**
   * Reports this node to the PD leader, once the heartbeat under way (if any) ended: two at
   * once could have the PD take their rounds in one order and this node acknowledge them in
   * the other, and a range acknowledged with an older report is listed again only when it
   * changes (or in the next complete list).
   */
  private heartbeat(): Promise<void> {
    const next = (this.heartbeating ?? Promise.resolve()).then(() => this.heartbeatOnce())
    this.heartbeating = next
    void next.finally(() => {
      if (this.heartbeating === next) this.heartbeating = undefined
    })
    return next
  }

  /**
   * One heartbeat (see {@link heartbeat}). While this node holds quarantined replicas, it also
   * looks them up in the PD's range table and deletes those their ranges no longer hold.
   */
  private async heartbeatOnce(): Promise<void> {
    if (!this.meta.clusterId || this.stopped) return
    let round: ReportRound | undefined = this.leadReports.begin()
    try {
      const now = Date.now()
      const txnKv = this.txnKv
      const gc = this.gcQueue && txnKv ? { queue: this.gcQueue, oldestTxnTs: () => txnKv.oldestRunningTs() } : undefined
      const built = await storeHeartbeat(this.store, this.address, this.o.dataDir, now - this.lastHeartbeatMs, gc, this.leadReports, round)
      this.lastHeartbeatMs = now
      this.rangeLoad = built.load
      const res = await this.pd.heartbeat(built.request)
      if (res.error) this.log.debug(`heartbeat: ${res.error.code}: ${res.error.message}`)
      else {
        this.lastPdContactMs = Date.now()
        this.leadReports.acknowledge(round, res.wantLeadingComplete === true)
        round = undefined
      }
      if (res.gcFence !== undefined && res.gcSafePoint !== undefined) this.gcQueue?.setTargets({ fence: BigInt(res.gcFence), safePoint: BigInt(res.gcSafePoint) })
      // Kept, so that a restarted node refuses the reads below it before its first PD answer too.
      if (this.store.gcSafePoint > (this.meta.gcSafePoint ?? 0n) && !this.stopped) {
        this.meta.gcSafePoint = this.store.gcSafePoint
        await saveNodeMeta(this.engine, this.meta)
      }
      if (res.pdMembers) await this.learnPdMembers(res.pdMembers)
      if (this.store.quarantined().length > 0) await this.store.destroyRemovedQuarantined((await this.routing()).map((r) => r.descriptor))
    } catch (err) {
      this.log.debug(`heartbeat: ${err instanceof Error ? err.message : String(err)}`)
    } finally {
      // Not taken by the PD: what it looked at is looked at (and listed) again next time.
      if (round) this.leadReports.failed(round)
    }
  }

  /**
   * The range table from the PD, for clients filling their caches. Calls made while one is
   * under way share its answer (clients take a map a moment old, and correct it as they go):
   * at 10,000 ranges each answer is megabytes of JSON for the PD leader to write.
   */
  private routing(): Promise<Array<{ descriptor: RangeDescriptor; leaderNodeId: number }>> {
    this.routingCall ??= this.fetchRouting().finally(() => (this.routingCall = undefined))
    return this.routingCall
  }

  private async fetchRouting(): Promise<Array<{ descriptor: RangeDescriptor; leaderNodeId: number }>> {
    const res = await this.pd.routing()
    if (res.error) throw fromAdminError(res.error)
    return (res.ranges ?? []).map((r) => ({ descriptor: descriptorFromJson(r.descriptor), leaderNodeId: r.leaderNodeId }))
  }

  private nodeList(): Array<{ nodeId: number; address: string }> {
    return [...this.meta.nodes].map(([nodeId, address]) => ({ nodeId, address }))
  }

  /** Exchanges address books (and the cluster's identity) with every join address and known peer. */
  private async helloRound(): Promise<void> {
    const targets = new Set([...this.o.join, ...[...this.meta.nodes].filter(([id]) => id !== this.o.storeId).map(([, a]) => a)])
    targets.delete(this.address)
    const req: HelloRequest = { nodeId: this.o.storeId, address: this.address, nodes: [...this.meta.nodes] }
    await Promise.all(
      [...targets].map(async (address) => {
        try {
          await this.learn(await this.call(address, NODE_SERVICE.hello, req))
        } catch {
          // unreachable peers are retried next round
        }
      }),
    )
  }

  private async learn(res: HelloResponse): Promise<void> {
    let changed = false
    for (const [id, address] of res.nodes ?? []) {
      if (id === this.o.storeId || this.meta.nodes.get(id) === address) continue
      this.meta.nodes.set(id, address)
      changed = true
    }
    if (res.clusterId && !this.meta.clusterId) {
      this.meta.clusterId = res.clusterId
      this.meta.pdNodes = res.pdNodes ?? []
      changed = true
    }
    if (changed && !this.stopped) await saveNodeMeta(this.engine, this.meta)
  }

  private adminService() {
    const check = NODE_REQUESTS
    return {
      hello: admin(check.hello, async (req) => {
        await this.learn({ nodes: [[req.nodeId, req.address], ...req.nodes] })
        return { nodes: [...this.meta.nodes], clusterId: this.meta.clusterId, pdNodes: this.meta.pdNodes }
      }),
      init: admin(check.init, async (req) => this.init(req.ranges ?? DEFAULT_RANGES, req.rootVerifier)),
      bootstrap: admin(check.bootstrap, async (req) => {
        await this.bootstrap(req)
        return {}
      }),
      status: admin(check.status, async (req): Promise<NodeStatusResponse> => this.status(req.resetLoopDelay === true)),
      split: admin(check.split, (req) => this.ranges.split(req)),
      member: admin(check.member, (req) => this.ranges.member(req)),
      createReplica: admin(check.createReplica, (req) => this.ranges.createReplica(req)),
      merge: admin(check.merge, (req) => this.ranges.merge(req)),
      freeze: admin(check.freeze, (req) => this.ranges.freeze(req)),
      networkFaults: admin(check.networkFaults, async (req): Promise<NetworkFaultsResponse> => {
        const faults = this.checkFaultInjection()
        if (req.blocked !== undefined) {
          faults.setBlocked(req.blocked)
          this.log.info(`fault injection: unreachable peers now ${faults.blockedAddresses().join(', ') || 'none'}`)
        }
        return { blocked: faults.blockedAddresses() }
      }),
      damageLogEntry: admin(check.damageLogEntry, async (req) => ({ index: await this.damageLogEntry(req) })),
      joinPd: admin(check.joinPd, async (req) => {
        await this.joinPd(req.members)
        return {}
      }),
      // A request to leave is only a prompt: the node asks the PD leader (a heartbeat, whose
      // answer carries the group's members) and leaves only if the group no longer holds it, so
      // a forged or stale LeavePd cannot take a member's replica away.
      leavePd: admin(check.leavePd, async () => {
        await this.heartbeat()
        return {}
      }),
    }
  }

  private checkFaultInjection(): NetworkFaults {
    if (!this.faults) throw new NodeError(NodeErrorCode.FAULT_INJECTION_DISABLED, 'this node was not started with --fault-injection')
    return this.faults
  }

  /** Flips a bit of a stored Raft log entry under the running node (see {@link DamageLogEntryRequest}); resolves with its index. */
  private async damageLogEntry(req: DamageLogEntryRequest): Promise<number> {
    this.checkFaultInjection()
    const { rangeId, index } = req
    let key = index === undefined ? undefined : raftLogEntryKey(rangeId, index)
    if (!key) {
      for await (const [k] of this.engine.scan({ gte: raftLogEntryKey(rangeId, 0), lt: raftLogEntryKey(rangeId + 1, 0), reverse: true, limit: 1 })) key = k
    }
    const stored = key && (await this.engine.get(key))
    if (!key || !stored) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `node ${this.o.storeId} stores no Raft log entry ${index === undefined ? '' : `${index} `}of range ${rangeId}`)
    const damaged = Uint8Array.from(stored)
    damaged[damaged.length - 1]! ^= 0x20
    await this.engine.put(key, damaged)
    // The entry's index is the key's last 8 bytes (big-endian).
    const at = Number(Buffer.from(key).readBigUInt64BE(key.length - 8))
    this.log.warn({ rangeId }, `fault injection: damaged Raft log entry ${at} of range ${rangeId}`)
    return at
  }

  private status(resetLoopDelay: boolean): NodeStatusResponse {
    const h = this.loopDelay
    // The histogram records whole timer periods: the delay is what exceeds the resolution.
    const late = (ns: number) => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS)
    const loopDelay = { p50Ms: late(h.percentile(50)), p99Ms: late(h.percentile(99)), maxMs: late(h.max), sinceMs: Date.now() - this.loopDelaySince }
    if (resetLoopDelay) {
      h.reset()
      this.loopDelaySince = Date.now()
    }
    return {
      loopDelay,
      nodeId: this.o.storeId,
      address: this.address,
      sqlAddress: this.sqlAddress,
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
          descriptor: descriptorToJson(d),
        }
      }),
      pd: this.store.raft.hasGroup(PD_GROUP_ID) ? this.pdStatus() : undefined,
      quarantined: this.store.quarantined().map(({ rangeId, replicaId, index, reason }) => ({ rangeId, replicaId, index, reason })),
      metrics: { ...this.store.raft.metrics, tsoRequests: this.timestamps?.counts.requests ?? 0, tsoFetches: this.timestamps?.counts.fetches ?? 0, kvGrpcBatches: this.kvRemote?.counts.batches ?? 0, kvGrpcRequests: this.kvRemote?.counts.requests ?? 0, sqlParses: this.sqlEngine?.statements.parses ?? 0, sqlTemplateHits: this.sqlEngine?.statements.templateHits ?? 0, cpuUserMicros: process.cpuUsage().user, cpuSystemMicros: process.cpuUsage().system },
    }
  }

  private pdStatus(): NonNullable<NodeStatusResponse['pd']> {
    const st = this.store.raft.status(PD_GROUP_ID)
    return { role: st.state, term: st.term, commit: st.commit, applied: st.applied, quiesced: this.store.raft.isQuiesced(PD_GROUP_ID) }
  }

  /** Calls a method on node `nodeId` (by its known address). */
  private callNode<Req, Res>(nodeId: number, method: MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    const address = this.meta.nodes.get(nodeId)
    if (!address) return Promise.reject(new NodeError(NodeErrorCode.UNAVAILABLE, `the address of node ${nodeId} is unknown here`))
    return this.call(address, method, req, CALL_TIMEOUT_MS)
  }

  /** Opens a call of the streaming method `method` on node `nodeId` (by its known address); throws if the address is unknown. */
  private openNodeStream<Req, Res>(nodeId: number, method: MethodDefinition<Req, Res>): ClientDuplexStream<Req, Res> {
    const address = this.meta.nodes.get(nodeId)
    if (!address) throw new NodeError(NodeErrorCode.UNAVAILABLE, `the address of node ${nodeId} is unknown here`)
    return this.channel(address).makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new Metadata())
  }

  private call<Req, Res>(address: string, method: MethodDefinition<Req, Res>, req: Req, timeoutMs = 5000): Promise<Res> {
    return unaryCall(this.channel(address), method, req, Date.now() + timeoutMs)
  }

  /** The channel to `address`, made on first use. */
  private channel(address: string): Client {
    let channel = this.channels.get(address)
    if (!channel) this.channels.set(address, (channel = new Client(address, this.channelCredentials, { interceptors: this.faults ? [this.faults.interceptor(address)] : [] })))
    return channel
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

/**
 * `<dataDir>/sql-spill`, where sorts over their statement's memory budget write their runs,
 * emptied of what a previous run of the node left (each sort removes its own files when it ends).
 */
async function sqlSpillDir(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'sql-spill')
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  return dir
}

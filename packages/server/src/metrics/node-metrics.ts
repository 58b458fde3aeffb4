// A node's Prometheus metrics (prom-client), served at GET /metrics. Most series are read
// when scraped, from what the node's parts already keep: the multiraft host's counters, each
// group's Raft status, the store's replicas and their sizes, the transport's traffic counts,
// the placement driver's health view, the SQL listener's sessions. Only what nothing kept is
// counted as it happens: KV requests and SQL statements (with their latency and error
// codes) and synced engine writes. Process and event-loop series are prom-client's defaults.

import { statfs } from 'node:fs/promises'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Store } from '@mrdb/kv'
import type { ClusterHealth } from '@mrdb/placement'
import type { MultiRaft } from '@mrdb/raft'
import type { KvRequestOutcome } from './kv-requests.js'
import type { LeadershipWatch } from './leadership-watch.js'
import type { ObservedTransport } from './raft-traffic.js'

/** What the node's metrics are read from. */
export interface MetricsSources {
  store: Store
  traffic: ObservedTransport
  leadership: LeadershipWatch
  dataDir: string
  /** The cluster's health, when this node leads the placement driver (undefined elsewhere). */
  clusterHealth(): Promise<ClusterHealth | undefined>
  /** The SQL listener's sessions, when the node serves SQL. */
  sql(): { sessions: number; openTransactions: number } | undefined
  /** Reads and writes per second of the ranges this node leads, as its last heartbeat to the PD measured them. */
  rangeLoad(): Array<{ rangeId: number; queriesPerSecond: number }>
}

/** How many of the busiest ranges `mrdb_range_qps` names. */
const TOP_RANGES = 10

/** One SQL statement that ran, as the wire protocol listener reports it. */
export interface SqlStatementOutcome {
  sql: string
  durationMs: number
  /** Its SQLSTATE when it failed. */
  code?: string
}

/** Latency buckets of requests and statements, in seconds. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Latency buckets of synced writes, in seconds (an fsync here takes ~0.2 ms). */
const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
/** KV error codes that mean two transactions met. */
const KV_CONFLICTS = new Set(['WRITE_CONFLICT', 'KEY_LOCKED'])
/** SQLSTATE serialization_failure: a transaction lost a conflict and must be retried. */
const SQL_CONFLICT = '40001'
/** Statement types kept as label values; others count as OTHER (labels stay few). */
const STATEMENT_TYPES = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'WITH', 'VALUES', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'BEGIN', 'START', 'COMMIT', 'END',
  'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'SET', 'SHOW', 'RESET', 'EXPLAIN', 'COPY', 'GRANT', 'REVOKE', 'ANALYZE', 'DISCARD',
])

/** The type label of a statement: its first keyword, or OTHER. */
export function statementType(sql: string): string {
  const word = /^[\s(]*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase()
  return word !== undefined && STATEMENT_TYPES.has(word) ? word : 'OTHER'
}

/** What one scrape reads; see {@link NodeMetrics.scrape}. */
interface ScrapeView {
  health: ClusterHealth | undefined
  leading: number
  leaderless: number
  rangeBytes: number
  liveBytes: number
  garbageBytes: number
  capacityBytes: number
  usedBytes: number
}

const EMPTY_VIEW: ScrapeView = { health: undefined, leading: 0, leaderless: 0, rangeBytes: 0, liveBytes: 0, garbageBytes: 0, capacityBytes: 0, usedBytes: 0 }

/** Per group, the commit and applied index last counted (counters grow by what groups did since). */
interface GroupMarks {
  commit: number
  applied: number
}

/** The node's registry and the instruments fed as things happen; see the file comment. */
export class NodeMetrics {
  /** Every series of the node. */
  readonly registry = new Registry()
  private readonly kvRequests = new Counter({ name: 'mrdb_kv_requests_total', help: 'KV requests served, by operation.', labelNames: ['op'], registers: [this.registry] })
  private readonly kvDuration = new Histogram({ name: 'mrdb_kv_request_duration_seconds', help: 'KV request latency at this node, by operation.', labelNames: ['op'], buckets: REQUEST_BUCKETS, registers: [this.registry] })
  private readonly kvErrors = new Counter({ name: 'mrdb_kv_errors_total', help: 'KV requests answered with an error, by operation and code.', labelNames: ['op', 'code'], registers: [this.registry] })
  private readonly kvConflicts = new Counter({ name: 'mrdb_kv_conflicts_total', help: 'KV requests that met another transaction (WRITE_CONFLICT, KEY_LOCKED).', labelNames: ['code'], registers: [this.registry] })
  private readonly sqlStatements = new Counter({ name: 'mrdb_sql_statements_total', help: 'SQL statements run by this node\'s sessions, by type.', labelNames: ['type'], registers: [this.registry] })
  private readonly sqlDuration = new Histogram({ name: 'mrdb_sql_statement_duration_seconds', help: 'SQL statement latency, by type.', labelNames: ['type'], buckets: REQUEST_BUCKETS, registers: [this.registry] })
  private readonly sqlErrors = new Counter({ name: 'mrdb_sql_errors_total', help: 'SQL statements that failed, by SQLSTATE.', labelNames: ['code'], registers: [this.registry] })
  private readonly sqlConflicts = new Counter({ name: 'mrdb_sql_conflicts_total', help: 'SQL statements that failed with a serialization failure (40001).', registers: [this.registry] })
  private readonly fsyncDuration = new Histogram({ name: 'mrdb_storage_fsync_duration_seconds', help: 'Engine writes that waited for fsync (each Raft loop iteration\'s log write is one), by duration.', buckets: FSYNC_BUCKETS, registers: [this.registry] })
  private readonly marks = new Map<number, GroupMarks>()
  private commits = 0
  private applied = 0
  /** What a scrape reads, gathered once before its series are collected (see {@link scrape}). */
  private view: ScrapeView = EMPTY_VIEW
  /** The node's parts, once {@link watch} was told them. */
  private s: MetricsSources | undefined

  constructor() {
    collectDefaultMetrics({ register: this.registry })
  }

  /** Adds the series read from the node's parts when scraped; called once, when they exist. */
  watch(s: MetricsSources): void {
    if (this.s) throw new Error('the node\'s metrics already watch its parts')
    this.s = s
    const registers = [this.registry]
    const raft = () => s.store.raft.metrics
    const counterOf = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset()
          this.inc(read())
        },
      })
    const gaugeOf = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read())
        },
      })
    const view = () => this.view

    // Raft
    counterOf('mrdb_raft_loop_iterations_total', 'Multiraft loop iterations that processed at least one Ready.', () => raft().iterations)
    counterOf('mrdb_raft_log_writes_total', 'Raft log writes (one batch for every group of a loop iteration).', () => raft().logWrites)
    counterOf('mrdb_raft_fsyncs_total', 'Raft log writes that were fsynced.', () => raft().fsyncs)
    counterOf('mrdb_raft_overlapped_writes_total', 'Raft log writes that started while an earlier write\'s entries were still being applied (the pipelined loop).', () => raft().overlappedWrites)
    counterOf('mrdb_raft_proposals_total', 'Proposals (commands and membership changes) handed to the groups this node hosts.', () => raft().proposals)
    counterOf('mrdb_raft_proposals_dropped_total', 'Proposals refused at once (no leader, a transfer under way, a stopped group).', () => raft().proposalsDropped)
    counterOf('mrdb_raft_ticks_late_total', 'Raft ticks that ran more than a whole tick interval late (a busy event loop).', () => raft().ticksLate)
    new Gauge({
      name: 'mrdb_range_qps',
      help: `Reads and writes per second of the ${TOP_RANGES} busiest ranges this node leads (as of its last heartbeat to the placement driver).`,
      labelNames: ['range'],
      registers,
      collect() {
        this.reset()
        const top = [...s.rangeLoad()].sort((a, b) => b.queriesPerSecond - a.queriesPerSecond).slice(0, TOP_RANGES)
        for (const r of top) this.labels(String(r.rangeId)).set(r.queriesPerSecond)
      },
    })
    gaugeOf('mrdb_raft_heard_nodes', 'Nodes holding replicas of this node\'s groups that were heard from (liveness records).', () => raft().heardNodes)
    counterOf('mrdb_raft_group_ticks_total', 'Raft group ticks run (quiesced groups are not ticked).', () => raft().groupTicks)
    counterOf('mrdb_raft_heartbeats_coalesced_total', 'Heartbeats and responses sent coalesced into node-to-node frames.', () => raft().heartbeatsCoalesced)
    counterOf('mrdb_raft_commits_total', 'Raft entries committed on the groups this node hosts (counted from each group\'s first sight).', () => this.commits)
    counterOf('mrdb_raft_applied_entries_total', 'Raft entries applied on the groups this node hosts (counted from each group\'s first sight).', () => this.applied)
    counterOf('mrdb_raft_elections_total', 'Elections of the groups this node hosts: the terms they went through between the leaders seen.', () => s.leadership.elections)
    counterOf('mrdb_raft_leader_changes_total', 'Changes of the known leader of a group this node hosts.', () => s.leadership.leaderChanges)
    new Counter({
      name: 'mrdb_raft_frames_total',
      help: 'Node-to-node Raft frames, by direction.',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset()
        this.labels('sent').inc(s.traffic.sent.frames)
        this.labels('received').inc(s.traffic.received.frames)
      },
    })
    new Counter({
      name: 'mrdb_raft_messages_total',
      help: 'Raft messages by direction and type (coalesced heartbeats count as MsgHeartbeat/MsgHeartbeatResp; Quiesce: quiesce notices).',
      labelNames: ['direction', 'type'],
      registers,
      collect() {
        this.reset()
        for (const [type, n] of s.traffic.sent.messages) this.labels('sent', type).inc(n)
        for (const [type, n] of s.traffic.received.messages) this.labels('received', type).inc(n)
      },
    })
    new Counter({
      name: 'mrdb_raft_snapshots_total',
      help: 'Raft snapshots: sent (handed to the transport), delivered or failed (how sends ended), received.',
      labelNames: ['event'],
      registers,
      collect() {
        this.reset()
        const c = s.traffic.snapshots
        this.labels('sent').inc(c.sent)
        this.labels('delivered').inc(c.sentFinished)
        this.labels('failed').inc(c.sentFailed)
        this.labels('received').inc(c.received)
      },
    })
    gaugeOf('mrdb_raft_log_entries', 'Raft log entries kept by the ranges this node hosts (compaction bounds them).', () => {
      let n = 0
      for (const d of s.store.descriptors()) {
        const log = s.store.replica(d.rangeId).logStorage
        n += Math.max(0, log.lastIndex() - log.firstIndex() + 1)
      }
      return n
    })
    gaugeOf('mrdb_raft_log_applied_bytes', 'Bytes of Raft log entries applied since each range\'s log was last compacted, summed over the ranges hosted.', () =>
      s.store.descriptors().reduce((sum, d) => sum + s.store.replica(d.rangeId).appliedLogBytes, 0),
    )

    // Ranges
    gaugeOf('mrdb_ranges', 'Range replicas hosted on this node.', () => s.store.descriptors().length)
    gaugeOf('mrdb_ranges_leading', 'Ranges whose leader replica is on this node.', () => view().leading)
    gaugeOf('mrdb_ranges_leaderless', 'Ranges hosted here whose leader this node does not know.', () => view().leaderless)
    gaugeOf('mrdb_ranges_quiesced', 'Raft groups quiesced on this node (no ticks, no heartbeats).', () => raft().quiesced)
    gaugeOf('mrdb_ranges_quarantined', 'Range replicas quarantined on this node (their stored Raft state is damaged).', () => s.store.quarantined().length)
    gaugeOf('mrdb_pd_leader', '1 on the node leading the placement driver: the mrdb_cluster_* series are its view (0 elsewhere).', () => (view().health ? 1 : 0))
    gaugeOf('mrdb_cluster_ranges_unavailable', 'Ranges without a quorum of live voters or a live leader (placement driver leader only).', () => view().health?.unavailable.length ?? 0)
    gaugeOf('mrdb_cluster_ranges_under_replicated', 'Ranges with fewer live voters than the replication factor (placement driver leader only).', () => view().health?.underReplicated.length ?? 0)
    new Gauge({
      name: 'mrdb_cluster_stores',
      help: 'Stores by liveness (placement driver leader only).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset()
        const health = view().health
        if (!health) return
        this.labels('live').set(health.stores.live)
        this.labels('dead').set(health.stores.dead)
        this.labels('decommissioning').set(health.stores.decommissioning)
      },
    })

    // KV

    // SQL
    gaugeOf('mrdb_sql_sessions', 'SQL sessions open on this node.', () => s.sql()?.sessions ?? 0)
    gaugeOf('mrdb_sql_open_transactions', 'SQL sessions inside a transaction block.', () => s.sql()?.openTransactions ?? 0)

    // Storage
    gaugeOf('mrdb_storage_range_bytes', 'Approximate bytes of the ranges hosted on this node.', () => view().rangeBytes)
    gaugeOf('mrdb_storage_live_bytes', 'Approximate bytes of the newest versions in the ranges hosted here.', () => view().liveBytes)
    gaugeOf('mrdb_storage_garbage_bytes', 'Approximate bytes of overwritten and deleted versions not yet collected, in the ranges hosted here.', () => view().garbageBytes)
    gaugeOf('mrdb_storage_capacity_bytes', 'Size of the file system holding the data directory.', () => view().capacityBytes)
    gaugeOf('mrdb_storage_used_bytes', 'Bytes in use on the file system holding the data directory.', () => view().usedBytes)
  }

  /** Counts a KV request that finished. */
  observeKv(o: KvRequestOutcome): void {
    this.kvRequests.labels(o.op).inc()
    this.kvDuration.labels(o.op).observe(o.durationMs / 1000)
    if (o.code === undefined) return
    this.kvErrors.labels(o.op, o.code).inc()
    if (KV_CONFLICTS.has(o.code)) this.kvConflicts.labels(o.code).inc()
  }

  /** Counts a SQL statement that ran. */
  observeSql(o: SqlStatementOutcome): void {
    const type = statementType(o.sql)
    this.sqlStatements.labels(type).inc()
    this.sqlDuration.labels(type).observe(o.durationMs / 1000)
    if (o.code === undefined) return
    this.sqlErrors.labels(o.code).inc()
    if (o.code === SQL_CONFLICT) this.sqlConflicts.inc()
  }

  /** Counts a write that waited for fsync. */
  observeFsync(durationMs: number): void {
    this.fsyncDuration.observe(durationMs / 1000)
  }

  /** The Prometheus text of every series, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    if (this.s) this.view = await this.gather(this.s)
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  /** Everything a scrape reads that takes a walk over the groups, or a wait: once per scrape. */
  private async gather(s: MetricsSources): Promise<ScrapeView> {
    const v: ScrapeView = { ...EMPTY_VIEW, health: await s.clusterHealth().catch(() => undefined) }
    this.countRaftProgress(s.store.raft)
    for (const d of s.store.descriptors()) {
      // The walk awaits each range's sizes: a replica may leave meanwhile.
      const replica = s.store.localReplica(d.rangeId)
      if (!replica || !s.store.raft.hasGroup(d.rangeId)) continue
      const lead = s.store.raft.leaderOf(d.rangeId)
      if (lead === 0) v.leaderless++
      else if (lead === replica.replicaId) v.leading++
      const st = await replica.approximateStats().catch(() => undefined)
      if (!st) continue
      v.rangeBytes += st.bytes
      v.liveBytes += st.liveBytes
      v.garbageBytes += st.garbageBytes
    }
    const fs = await statfs(s.dataDir)
    v.capacityBytes = fs.blocks * fs.bsize
    v.usedBytes = (fs.blocks - fs.bavail) * fs.bsize
    return v
  }

  /** Adds the entries every hosted group committed and applied since the last scrape (a group seen for the first time counts from there). */
  private countRaftProgress(raft: MultiRaft): void {
    const hosted = raft.groupIds()
    for (const groupId of hosted) {
      const st = raft.status(groupId)
      const last = this.marks.get(groupId)
      if (last) {
        this.commits += Math.max(0, st.commit - last.commit)
        this.applied += Math.max(0, st.applied - last.applied)
      }
      this.marks.set(groupId, { commit: Math.max(st.commit, last?.commit ?? 0), applied: Math.max(st.applied, last?.applied ?? 0) })
    }
    if (this.marks.size > hosted.length) {
      const live = new Set(hosted)
      for (const id of this.marks.keys()) if (!live.has(id)) this.marks.delete(id)
    }
  }
}

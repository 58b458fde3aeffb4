// What an operation cost the cluster, from the counters the nodes keep: each node's status
// call is read before and after a workload, and the differences, summed over the nodes and
// divided by the operations done, say per operation how many Raft loop iterations and log
// entries it took, how many timestamps it asked the oracle for and in how many round trips,
// and how many gRPC messages it caused between nodes (Raft frames and, where the node serves
// Prometheus metrics, KV requests that came in over gRPC). A regression then shows where it
// came from.

import { Client, credentials } from '@grpc/grpc-js'
import { unaryCall } from '@mrdb/kv'
import { NODE_SERVICE, type NodeStatusResponse } from '@mrdb/server'

/** Counters summed over a cluster's nodes at one moment. */
export interface ClusterCounters {
  /** Multiraft loop iterations that processed a Ready (a Raft round on a node). */
  readonly raftIterations: number
  /** Raft entries committed on the ranges, counted on their leaders (proposals). */
  readonly raftEntries: number
  /** Timestamps the SQL gateways asked their oracle batchers for. */
  readonly tsoRequests: number
  /** Round trips of those batchers to the placement driver. */
  readonly tsoFetches: number
  /** Raft frames sent between nodes (each a gRPC stream message). */
  readonly raftFrames: number
  /** KV requests the nodes answered over gRPC, when every node serves /metrics; else undefined. */
  readonly kvGrpcRequests: number | undefined
}

/** Reads and sums the counters of the nodes at `addresses`; `metricsUrls` are their /metrics URLs, when they serve them. */
export async function readCounters(addresses: readonly string[], metricsUrls: readonly string[] = []): Promise<ClusterCounters> {
  const [statuses, kv] = await Promise.all([Promise.all(addresses.map(status)), kvGrpcRequests(metricsUrls, addresses.length)])
  let raftIterations = 0
  let raftEntries = 0
  let tsoRequests = 0
  let tsoFetches = 0
  let raftFrames = 0
  for (const s of statuses) {
    const m = s.metrics ?? {}
    raftIterations += m['iterations'] ?? 0
    raftFrames += m['framesSent'] ?? 0
    tsoRequests += m['tsoRequests'] ?? 0
    tsoFetches += m['tsoFetches'] ?? 0
    for (const r of s.ranges ?? []) if (r.leader) raftEntries += r.commit
  }
  return { raftIterations, raftEntries, tsoRequests, tsoFetches, raftFrames, kvGrpcRequests: kv }
}

/** What one operation cost, on average, between two readings. */
export interface OperationCosts {
  readonly raftIterations: number
  readonly raftEntries: number
  readonly tsoRequests: number
  readonly tsoFetches: number
  /** Raft frames plus KV requests over gRPC (Raft frames alone when the KV count is unknown). */
  readonly grpcMessages: number
  /** Whether {@link grpcMessages} includes the KV requests. */
  readonly grpcIncludesKv: boolean
}

/** The costs per operation of `ops` operations done between `before` and `after`. */
export function perOperation(before: ClusterCounters, after: ClusterCounters, ops: number): OperationCosts {
  const per = (n: number) => (ops > 0 ? n / ops : Number.NaN)
  const kv = before.kvGrpcRequests !== undefined && after.kvGrpcRequests !== undefined ? after.kvGrpcRequests - before.kvGrpcRequests : undefined
  return {
    raftIterations: per(after.raftIterations - before.raftIterations),
    raftEntries: per(after.raftEntries - before.raftEntries),
    tsoRequests: per(after.tsoRequests - before.tsoRequests),
    tsoFetches: per(after.tsoFetches - before.tsoFetches),
    grpcMessages: per(after.raftFrames - before.raftFrames + (kv ?? 0)),
    grpcIncludesKv: kv !== undefined,
  }
}

/** One line: the costs of one operation of workload `name`. */
export function formatCosts(name: string, c: OperationCosts): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-').padStart(6)
  return `  ${name.padEnd(24)} raft loop iterations ${f(c.raftIterations)}   raft entries ${f(c.raftEntries)}   TSO timestamps ${f(c.tsoRequests)} in ${f(c.tsoFetches)} fetches   gRPC messages ${f(c.grpcMessages)}${c.grpcIncludesKv ? '' : ' (Raft frames only)'}`
}

async function status(address: string): Promise<NodeStatusResponse> {
  const channel = new Client(address, credentials.createInsecure())
  try {
    const res = await unaryCall(channel, NODE_SERVICE.status, {}, Date.now() + 10_000)
    if (res.error) throw new Error(`status of ${address}: ${res.error.code}: ${res.error.message}`)
    return res
  } finally {
    channel.close()
  }
}

/** The sum of `mrdb_kv_requests_total` over every node's /metrics, or undefined unless all `nodes` answer. */
async function kvGrpcRequests(urls: readonly string[], nodes: number): Promise<number | undefined> {
  if (urls.length !== nodes || nodes === 0) return undefined
  try {
    const texts = await Promise.all(urls.map(async (u) => (await fetch(u, { signal: AbortSignal.timeout(10_000) })).text()))
    let sum = 0
    for (const text of texts) for (const m of text.matchAll(/^mrdb_kv_requests_total(?:\{[^}]*\})? (\S+)$/gm)) sum += Number(m[1])
    return sum
  } catch {
    return undefined
  }
}

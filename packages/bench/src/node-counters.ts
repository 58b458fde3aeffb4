// What an operation cost the cluster, from the counters the nodes keep: each node's status
// call is read before and after a workload, and the differences, summed over the nodes and
// divided by the operations done, say per operation how many Raft loop iterations and log
// entries it took, how many timestamps it asked the oracle for and in how many round trips,
// and how many gRPC messages it caused between nodes (Raft frames, and the KV request batches
// SQL gateways sent to other nodes; a benchmark client's own calls to the nodes are not
// counted), how many times the gateways ran the SQL parser (the parse cache's misses), and
// how much CPU time the node processes spent (user and system, summed over the nodes). A
// regression then shows where it came from.

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
  /** KV request batches SQL gateways sent to other nodes over gRPC (one message each). */
  readonly kvGrpcBatches: number
  /** Texts the gateways' statement caches handed to the SQL parser (statements and templates). */
  readonly sqlParses: number
  /** CPU time the node processes spent, user and system, in microseconds. */
  readonly cpuMicros: number
}

/** Reads and sums the counters of the nodes at `addresses`. */
export async function readCounters(addresses: readonly string[]): Promise<ClusterCounters> {
  const statuses = await Promise.all(addresses.map(status))
  const sum = { raftIterations: 0, raftEntries: 0, tsoRequests: 0, tsoFetches: 0, raftFrames: 0, kvGrpcBatches: 0, sqlParses: 0, cpuMicros: 0 }
  for (const s of statuses) {
    const m = s.metrics ?? {}
    sum.raftIterations += m['iterations'] ?? 0
    sum.raftFrames += m['framesSent'] ?? 0
    sum.tsoRequests += m['tsoRequests'] ?? 0
    sum.tsoFetches += m['tsoFetches'] ?? 0
    sum.kvGrpcBatches += m['kvGrpcBatches'] ?? 0
    sum.sqlParses += m['sqlParses'] ?? 0
    sum.cpuMicros += (m['cpuUserMicros'] ?? 0) + (m['cpuSystemMicros'] ?? 0)
    for (const r of s.ranges ?? []) if (r.leader) sum.raftEntries += r.commit
  }
  return sum
}

/** What one operation cost, on average, between two readings. */
export interface OperationCosts {
  readonly raftIterations: number
  readonly raftEntries: number
  readonly tsoRequests: number
  readonly tsoFetches: number
  /** Raft frames plus gateways' KV batches sent between nodes over gRPC. */
  readonly grpcMessages: number
  /** SQL parser runs (a statement served by the parse cache costs none). */
  readonly sqlParses: number
  /** Milliseconds of CPU the node processes spent (summed over the nodes). */
  readonly cpuMs: number
}

/** The costs per operation of `ops` operations done between `before` and `after`. */
export function perOperation(before: ClusterCounters, after: ClusterCounters, ops: number): OperationCosts {
  const per = (n: number) => (ops > 0 ? n / ops : Number.NaN)
  return {
    raftIterations: per(after.raftIterations - before.raftIterations),
    raftEntries: per(after.raftEntries - before.raftEntries),
    tsoRequests: per(after.tsoRequests - before.tsoRequests),
    tsoFetches: per(after.tsoFetches - before.tsoFetches),
    grpcMessages: per(after.raftFrames - before.raftFrames + after.kvGrpcBatches - before.kvGrpcBatches),
    sqlParses: per(after.sqlParses - before.sqlParses),
    cpuMs: per((after.cpuMicros - before.cpuMicros) / 1000),
  }
}

/** One line: the costs of one operation of workload `name`. */
export function formatCosts(name: string, c: OperationCosts): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-').padStart(6)
  return `  ${name.padEnd(24)} raft loop iterations ${f(c.raftIterations)}   raft entries ${f(c.raftEntries)}   TSO timestamps ${f(c.tsoRequests)} in ${f(c.tsoFetches)} fetches   gRPC messages between nodes ${f(c.grpcMessages)}   SQL parses ${f(c.sqlParses)}   node CPU ${f(c.cpuMs)} ms`
}

/** A node's status; a failed call is tried twice more, a second apart (a node busy starting its ranges may reset a new connection). */
async function status(address: string): Promise<NodeStatusResponse> {
  for (let attempt = 1; ; attempt++) {
    const channel = new Client(address, credentials.createInsecure())
    try {
      const res = await unaryCall(channel, NODE_SERVICE.status, {}, Date.now() + 10_000)
      if (res.error) throw new Error(`status of ${address}: ${res.error.code}: ${res.error.message}`)
      return res
    } catch (err) {
      if (attempt === 3) throw err
    } finally {
      channel.close()
    }
    await new Promise((r) => setTimeout(r, 1000))
  }
}

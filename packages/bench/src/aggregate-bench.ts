// The executor pool's reason to exist, measured: a GROUP BY over a big table on a running
// cluster, with the pool and without it (the same streamed aggregation, run inline on the
// gateway's event loop). For each, the gateway node's event-loop delay while the query runs,
// and the Raft terms of every group before and after (an unchanged term means no election).

import { Client, credentials } from '@grpc/grpc-js'
import { unaryCall } from '@mrdb/kv'
import { NODE_SERVICE, SqlClient, type NodeStatusResponse } from '@mrdb/server'
import { loadRows, ROWS_PER_STATEMENT } from './table-load.js'

/** One run of the aggregate. */
export interface AggregateRun {
  pool: boolean
  seconds: number
  /** The gateway node's event-loop delay beyond its timer period while the query ran, ms. */
  loopDelayP99Ms: number
  loopDelayMaxMs: number
  /** Groups (ranges and the PD) whose Raft term changed on any node while the query ran. */
  elections: number
  /** The gateway's peak resident memory while the query ran (sampled every 50 ms from its /metrics), bytes; undefined without its HTTP address. */
  peakRssBytes?: number
}

/** Loads `rows` rows into table `agg` through SQL: multi-row INSERTs from `sessions` in parallel. */
export async function loadAggregateTable(sessions: readonly SqlClient[], rows: number, onProgress: (loaded: number) => void): Promise<void> {
  await sessions[0]!.query('CREATE TABLE agg (id INT PRIMARY KEY, grp INT NOT NULL, amount INT NOT NULL)')
  await loadRows(sessions, 'agg', 'id, grp, amount', rows, (i) => `(${i}, ${i % 16}, ${i % 1000})`, (loaded) => {
    if (loaded % 100_000 < ROWS_PER_STATEMENT) onProgress(loaded)
  })
}

/** Runs the aggregate through `gateway` (its node at `gatewayAddress`) with the pool on or off; `addresses` are every node's. */
export async function runAggregate(gateway: SqlClient, gatewayAddress: string, addresses: readonly string[], pool: boolean, expectRows: number, gatewayHttp?: string): Promise<AggregateRun> {
  await gateway.query(`SET executor_pool = ${pool ? 'on' : 'off'}`)
  const before = await Promise.all(addresses.map((a) => status(a, a === gatewayAddress)))
  const sampler = gatewayHttp === undefined ? undefined : rssSampler(gatewayHttp)
  const t0 = performance.now()
  let r: Awaited<ReturnType<SqlClient['query']>>
  try {
    r = await gateway.query('SELECT grp, COUNT(*), SUM(amount), MIN(amount), MAX(amount) FROM agg GROUP BY grp ORDER BY grp')
  } finally {
    await sampler?.stop()
  }
  const seconds = (performance.now() - t0) / 1000
  const after = await Promise.all(addresses.map((a) => status(a, false)))
  const counted = r.rows.reduce((n, row) => n + Number(row[1]), 0)
  if (counted !== expectRows) throw new Error(`the aggregate counted ${counted} rows, not ${expectRows}`)
  const delay = after[addresses.indexOf(gatewayAddress)]!.loopDelay!
  return { pool, seconds, loopDelayP99Ms: delay.p99Ms, loopDelayMaxMs: delay.maxMs, elections: termChanges(before, after), ...(sampler === undefined ? {} : { peakRssBytes: sampler.peak }) }
}

/** Samples a node's process_resident_memory_bytes from its /metrics every 50 ms until stopped; `peak` is the most seen. */
function rssSampler(httpAddress: string): { readonly peak: number; stop(): Promise<void> } {
  let peak = 0
  let running = true
  const loop = (async () => {
    while (running) {
      try {
        const body = await (await fetch(`http://${httpAddress}/metrics`)).text()
        const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(body)
        if (m) peak = Math.max(peak, Number(m[1]))
      } catch {
        // A missed sample: the next one counts.
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  return {
    get peak() {
      return peak
    },
    async stop() {
      running = false
      await loop
    },
  }
}

/** A node's status (its event-loop delay since the last reset, its groups' terms); `resetLoopDelay` starts a new measurement. */
export async function status(address: string, resetLoopDelay: boolean): Promise<NodeStatusResponse> {
  const channel = new Client(address, credentials.createInsecure())
  try {
    return await unaryCall(channel, NODE_SERVICE.status, { resetLoopDelay }, Date.now() + 10_000)
  } finally {
    channel.close()
  }
}

/** How many (node, group) terms differ between two status snapshots. */
export function termChanges(before: NodeStatusResponse[], after: NodeStatusResponse[]): number {
  let changed = 0
  before.forEach((b, i) => {
    const a = after[i]!
    if (b.pd && a.pd && b.pd.term !== a.pd.term) changed++
    for (const r of b.ranges ?? []) {
      const now = a.ranges?.find((x) => x.rangeId === r.rangeId)
      if (now && now.term !== r.term) changed++
    }
  })
  return changed
}

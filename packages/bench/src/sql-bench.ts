// `pnpm bench:sql`: SQL against raw KV on one 3-node cluster (node processes on loopback,
// fsync on, one range to begin with, load-based splits off), 32 closed-loop clients spread over
// the nodes, in one run — the workloads of `mrdb bench kv` and `mrdb bench sql`:
//   kv put / kv get           — raw operations (KvClient, linearizable)
//   sql insert                — single-row INSERT by primary key (an autocommit transaction)
//   sql point select          — SELECT by primary key
//   sql range select          — 100 rows by a primary-key range
//   sql txn                   — BEGIN; UPDATE; UPDATE; COMMIT on random rows
// and prints throughput, p50 and p99 of each, and the SQL/KV ratios (aim: ≤ 1.5×). Then a
// GROUP BY over --agg-rows rows (default 1,000,000; 0 skips it) with the executor pool and
// without, with the gateway's event-loop delay and any Raft elections (aggregate-bench.ts).
// Usage: node packages/bench/dist/sql-bench.js [--seconds 10] [--clients 32] [--agg-rows N]
import { parseArgs } from 'node:util'
import { kvWorkloads, sqlWorkloads, type WorkloadResult } from '@mrdb/cli/bench'
import { ProcessCluster } from '@mrdb/cli/testing'
import { SqlClient } from '@mrdb/server'
import { loadAggregateTable, runAggregate } from './aggregate-bench.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, clients: { type: 'string', default: '32' }, 'agg-rows': { type: 'string', default: '1000000' } } })
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const aggRows = Number(values['agg-rows'])
if (!(seconds > 0) || !Number.isSafeInteger(clients) || clients <= 0 || !Number.isSafeInteger(aggRows) || aggRows < 0) {
  console.error('--seconds and --clients must be positive numbers, --agg-rows a count')
  process.exit(2)
}

function report(r: WorkloadResult): void {
  const note = r.errors > 0 ? `, ${r.errors} errors (first: ${r.firstError})` : ''
  console.log(`  ${r.name.padEnd(18)} ${Math.round(r.opsPerSec).toString().padStart(7)} ops/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms${note}`)
}

console.log(`SQL benchmark: 3 node processes, fsync on, ${clients} clients, ${seconds} s per workload`)
const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: ['--split-qps', String(Number.MAX_SAFE_INTEGER)] })
try {
  const options = { hosts: cluster.addresses(), clients, seconds }
  const results = [...(await kvWorkloads(options)), ...(await sqlWorkloads(options))]
  results.forEach(report)
  const ratio = (sql: string, raw: string) => {
    const a = results.find((r) => r.name === sql)!
    const b = results.find((r) => r.name === raw)!
    return `${sql} vs ${raw}: throughput ÷ ${(b.opsPerSec / a.opsPerSec).toFixed(2)}, p99 × ${(a.p99Ms / b.p99Ms).toFixed(2)} (aim ≤ 1.5)`
  }
  console.log()
  console.log('SQL/KV overhead (kv ÷ sql throughput, sql ÷ kv p99):')
  console.log(`  ${ratio('sql insert', 'kv put')}`)
  console.log(`  ${ratio('sql point select', 'kv get')}`)

  if (aggRows > 0) {
    console.log()
    console.log(`Aggregate over ${aggRows} rows (GROUP BY over a full scan), with and without the executor pool:`)
    // Two loaders: more oversubscribe this 2-core machine until statements time out.
    const loaders = cluster.sqlAddresses().slice(0, 2).map((a) => new SqlClient(a))
    const t0 = performance.now()
    try {
      await loadAggregateTable(loaders, aggRows, (n) => console.log(`  (loaded ${n} rows, ${Math.round(n / ((performance.now() - t0) / 1000))} rows/s)`))
    } finally {
      for (const l of loaders) l.close()
    }
    // The gateway is the node leading the most ranges: the one the scan and the aggregate load most.
    const nodes = JSON.parse(await cluster.mrdb(['node', 'list', '--json', '--host', cluster.address(1)])) as Array<{ storeId: number; leaderCount: number }>
    const busiest = nodes.reduce((a, b) => (b.leaderCount > a.leaderCount ? b : a)).storeId
    const gatewayAddress = cluster.address(busiest)
    const gateway = new SqlClient(cluster.sqlAddress(busiest))
    try {
      for (const pool of [true, false, true, false]) {
        const r = await runAggregate(gateway, gatewayAddress, cluster.addresses(), pool, aggRows)
        console.log(`  pool ${pool ? 'on ' : 'off'}: ${r.seconds.toFixed(2)} s, gateway (node ${busiest}) event-loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} ms, max ${r.loopDelayMaxMs.toFixed(1)} ms, Raft elections ${r.elections}`)
      }
    } finally {
      gateway.close()
    }
  }
} finally {
  await cluster.stop()
}

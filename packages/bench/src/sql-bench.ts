// `pnpm bench:sql`: SQL against raw KV on one 3-node cluster (node processes on loopback,
// fsync on, one range to begin with, load-based splits off), 32 closed-loop clients spread over
// the nodes, in one run:
//   kv put / kv get           — the KV benchmark's raw operations (KvClient, linearizable)
//   sql insert                — single-row INSERT by primary key (an autocommit transaction)
//   sql point select          — SELECT by primary key
//   sql range select          — 100 rows by a primary-key range
//   sql txn                   — BEGIN; UPDATE; UPDATE; COMMIT on random rows
// and prints throughput, p50 and p99 of each, and the SQL/KV ratios (aim: ≤ 1.5×). Then a
// GROUP BY over --agg-rows rows (default 1,000,000; 0 skips it) with the executor pool and
// without, with the gateway's event-loop delay and any Raft elections (aggregate-bench.ts).
// Usage: node packages/bench/dist/sql-bench.js [--seconds 10] [--clients 32] [--agg-rows N]
import { parseArgs } from 'node:util'
import { ProcessCluster } from '@mrdb/cli/testing'
import { KvClient } from '@mrdb/kv'
import { SqlClient } from '@mrdb/server'
import { loadAggregateTable, runAggregate } from './aggregate-bench.js'
import { closedLoop, type LoopResult } from './closed-loop.js'
import { benchKey, seededRandom } from './workload.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, clients: { type: 'string', default: '32' }, 'agg-rows': { type: 'string', default: '1000000' } } })
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const aggRows = Number(values['agg-rows'])
if (!(seconds > 0) || !Number.isSafeInteger(clients) || clients <= 0 || !Number.isSafeInteger(aggRows) || aggRows < 0) {
  console.error('--seconds and --clients must be positive numbers, --agg-rows a count')
  process.exit(2)
}
/** Rows preloaded for the reads; the insert workload adds its own above them. */
const ROWS = 20_000
const VALUE = 'x'.repeat(200)
const results = new Map<string, LoopResult>()

function report(name: string, r: LoopResult): void {
  results.set(name, r)
  const note = r.errors > 0 ? `, ${r.errors} errors (first: ${String((r.firstError as Error)?.message ?? r.firstError)})` : ''
  console.log(`  ${name.padEnd(18)} ${Math.round(r.opsPerSec).toString().padStart(7)} ops/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms${note}`)
}

console.log(`SQL benchmark: 3 node processes, fsync on, ${clients} clients, ${seconds} s per workload`)
const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: ['--split-qps', String(Number.MAX_SAFE_INTEGER)] })
const kv = new KvClient({ hosts: cluster.addresses() })
const sessions = Array.from({ length: clients }, (_, i) => new SqlClient(cluster.addresses()[i % 3]!))
try {
  const random = seededRandom(7)
  const value = new TextEncoder().encode(VALUE)
  report('kv put', await closedLoop(clients, seconds, () => kv.put(benchKey(Math.floor(random() * 100_000)), value)))
  report('kv get', await closedLoop(clients, seconds, async () => void (await kv.get(benchKey(Math.floor(random() * 100_000))))))

  await sessions[0]!.query('CREATE TABLE bench (id INT PRIMARY KEY, v TEXT)')
  const batch = 100
  const loaders = sessions.slice(0, 8)
  for (let from = 0; from < ROWS; from += batch * loaders.length) {
    await Promise.all(
      loaders.map(async (s, c) => {
        const first = from + c * batch
        if (first >= ROWS) return
        const rows = Array.from({ length: Math.min(batch, ROWS - first) }, (_, i) => `(${first + i}, '${VALUE}')`)
        await s.query(`INSERT INTO bench (id, v) VALUES ${rows.join(', ')}`)
      }),
    )
  }
  console.log(`  (preloaded ${ROWS} rows)`)

  let nextId = ROWS
  report('sql insert', await closedLoop(clients, seconds, (c) => sessions[c]!.query(`INSERT INTO bench (id, v) VALUES (${nextId++}, '${VALUE}')`).then(() => undefined)))
  report('sql point select', await closedLoop(clients, seconds, async (c) => {
    const r = await sessions[c]!.query(`SELECT id, v FROM bench WHERE id = ${Math.floor(random() * ROWS)}`)
    if (r.rows.length !== 1) throw new Error('a preloaded row is missing')
  }))
  report('sql range select', await closedLoop(clients, seconds, async (c) => {
    const from = Math.floor(random() * (ROWS - 100))
    const r = await sessions[c]!.query(`SELECT id, v FROM bench WHERE id >= ${from} AND id < ${from + 100}`)
    if (r.rows.length !== 100) throw new Error(`a range read ${r.rows.length} rows, not 100`)
  }))
  report('sql txn (2 updates)', await closedLoop(clients, seconds, async (c) => {
    const s = sessions[c]!
    await s.query('BEGIN')
    try {
      await s.query(`UPDATE bench SET v = 'a${c}' WHERE id = ${Math.floor(random() * ROWS)}`)
      await s.query(`UPDATE bench SET v = 'b${c}' WHERE id = ${Math.floor(random() * ROWS)}`)
      await s.query('COMMIT')
    } catch (err) {
      await s.query('ROLLBACK').catch(() => undefined)
      throw err
    }
  }))

  const ratio = (sql: string, raw: string) => {
    const a = results.get(sql)!
    const b = results.get(raw)!
    return `${sql} vs ${raw}: throughput ${(b.opsPerSec / a.opsPerSec).toFixed(2)}× lower, p99 ${(a.p99Ms / b.p99Ms).toFixed(2)}× (aim ≤ 1.5×)`
  }
  console.log()
  console.log('SQL/KV overhead (kv ÷ sql throughput, sql ÷ kv p99):')
  console.log(`  ${ratio('sql insert', 'kv put')}`)
  console.log(`  ${ratio('sql point select', 'kv get')}`)

  if (aggRows > 0) {
    console.log()
    console.log(`Aggregate over ${aggRows} rows (GROUP BY over a full scan), with and without the executor pool:`)
    const t0 = performance.now()
    await loadAggregateTable(sessions.slice(0, 4), aggRows, (n) => console.log(`  (loaded ${n} rows, ${Math.round(n / ((performance.now() - t0) / 1000))} rows/s)`))
    // The gateway is the node leading the most ranges: the one the scan and the aggregate load most.
    const nodes = JSON.parse(await cluster.mrdb(['node', 'list', '--json', '--host', cluster.address(1)])) as Array<{ storeId: number; leaderCount: number }>
    const busiest = nodes.reduce((a, b) => (b.leaderCount > a.leaderCount ? b : a)).storeId
    const gatewayAddress = cluster.address(busiest)
    const gateway = new SqlClient(gatewayAddress)
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
  for (const s of sessions) s.close()
  kv.close()
  await cluster.stop()
}

// `pnpm bench:sql`: SQL against raw KV, and raw KV against etcd, in one run — 3 node
// processes on loopback, fsync on, default settings (load-based splits off, so the range
// count stays the benchmark's), 32 closed-loop clients spread over the nodes:
//   kv put, kv get             — raw operations (KvClient, linearizable), one range
//   sql insert                 — single-row autocommit INSERT by primary key
//   sql point select           — SELECT by primary key
//   sql range select           — 100 rows by a primary-key range
//   sql txn                    — BEGIN; UPDATE; UPDATE; COMMIT on random rows (one range)
//   sql txn 2 ranges           — the same with the table split in two, one row in each half
//   kv put 64 ranges           — raw puts on a fresh cluster of 64 ranges
//   etcd put                   — the same put workload on a 3-member etcd (fsync on), if there is one
// It prints each workload's throughput and latency, what one operation cost the cluster (Raft
// loop iterations and entries, TSO timestamps and fetches, gRPC messages: node-counters.ts),
// and the ratios issue #13 aims at. Every workload, KV and SQL, first runs 1 s untimed (warm-up).
// Then, with --agg-rows N, a GROUP BY over N rows with the executor pool and without
// (aggregate-bench.ts).
// With --rows N it runs instead issue #14's big-table benchmark (big-table-bench.ts): a load of N
// rows through multi-row INSERTs, an aggregate, a join, an indexed BETWEEN, and churn then GC.
// Usage: node packages/bench/dist/sql-bench.js [--seconds 5] [--clients 32] [--agg-rows 0] [--no-etcd] [--no-64]
//        node packages/bench/dist/sql-bench.js --rows N [--join-rows min(N/10, 100000)] [--churn-keys 10000]
//                                              [--churn-updates 100] [--gc-ttl-seconds 10] [--churn-only]
//                                              [--keep-data DIR]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { closedLoop, sqlWorkloads, SQL_BENCH_TABLE } from '@mrdb/cli/bench'
import { ProcessCluster } from '@mrdb/cli/testing'
import { KvClient } from '@mrdb/kv'
import { SqlClient } from '@mrdb/server'
import { descriptorKey, indexKey, PRIMARY_INDEX_ID } from '@mrdb/sql'
import { loadAggregateTable, runAggregate } from './aggregate-bench.js'
import { bigTableBench } from './big-table-bench.js'
import { settled } from './cluster-settle.js'
import { EtcdUnavailableError, startEtcdCluster } from './etcd-cluster.js'
import { etcdTarget } from './etcd-target.js'
import type { KvTarget } from './kv-target.js'
import { mrdbTarget } from './mrdb-target.js'
import { formatCosts, perOperation, readCounters, type ClusterCounters, type OperationCosts } from './node-counters.js'
import { runSuite, standardWorkloads, type WorkloadSpec } from './suite.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '32' },
    'agg-rows': { type: 'string', default: '0' },
    'no-etcd': { type: 'boolean', default: false },
    'no-64': { type: 'boolean', default: false },
    rows: { type: 'string', default: '0' },
    'join-rows': { type: 'string' },
    'churn-keys': { type: 'string', default: '10000' },
    'churn-updates': { type: 'string', default: '100' },
    'gc-ttl-seconds': { type: 'string', default: '10' },
    'churn-only': { type: 'boolean', default: false },
    'keep-data': { type: 'string' },
  },
})
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const aggRows = Number(values['agg-rows'])
if (!(seconds > 0) || !Number.isSafeInteger(clients) || clients <= 0 || !Number.isSafeInteger(aggRows) || aggRows < 0) {
  console.error('--seconds and --clients must be positive numbers, --agg-rows a count')
  process.exit(2)
}

const rows = Number(values.rows)
if (rows > 0) {
  const counts = {
    rows,
    joinRows: Number(values['join-rows'] ?? Math.min(100_000, Math.max(1, Math.floor(rows / 10)))),
    churnKeys: Number(values['churn-keys']),
    churnUpdates: Number(values['churn-updates']),
    gcTtlSeconds: Number(values['gc-ttl-seconds']),
  }
  if (!Object.values(counts).every((c) => Number.isSafeInteger(c) && c >= 0) || counts.joinRows <= 0 || counts.gcTtlSeconds <= 0) {
    console.error('--rows, --join-rows, --churn-keys, --churn-updates and --gc-ttl-seconds must be counts (--join-rows and --gc-ttl-seconds positive)')
    process.exit(2)
  }
  await bigTableBench({ ...counts, churnOnly: values['churn-only'], keepData: values['keep-data'] })
  process.exit(0)
}

/** One workload's figures, whatever ran it. */
interface Figures {
  name: string
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  errors: number
  firstError?: string
  costs?: OperationCosts
}

const figures: Figures[] = []
const [putSpec, getSpec] = standardWorkloads({ seconds, clients, valueBytes: 256, warmupSeconds: 1 }) as [WorkloadSpec, WorkloadSpec]

function show(f: Figures): void {
  figures.push(f)
  const note = f.errors > 0 ? `, ${f.errors} errors (first: ${f.firstError})` : ''
  console.log(`  ${f.name.padEnd(18)} ${Math.round(f.opsPerSec).toString().padStart(7)} ops/s   p50 ${f.p50Ms.toFixed(2).padStart(7)} ms   p99 ${f.p99Ms.toFixed(2).padStart(7)} ms${note}`)
  if (f.costs) console.log(formatCosts('  per operation:', f.costs))
}

/** The cluster's counters, or undefined (and a note) when a node does not answer: the figures still count. */
function countersOf(addresses: readonly string[]): () => Promise<ClusterCounters | undefined> {
  return () =>
    readCounters(addresses).catch((err: unknown) => {
      console.log(`  (no counters: ${err instanceof Error ? err.message : String(err)})`)
      return undefined
    })
}

/** The costs per operation between two readings, when both were read. */
function costsOf(before: ClusterCounters | undefined, after: ClusterCounters | undefined, ops: number): { costs: OperationCosts } | undefined {
  return before && after ? { costs: perOperation(before, after, ops) } : undefined
}

/** Runs the KV workloads `specs` against `target` (closed afterwards), naming each result `name(spec)`; `counters` reads the cluster's, if any. */
async function kv(target: KvTarget, specs: WorkloadSpec[], name: (kind: string) => string, counters?: () => Promise<ClusterCounters | undefined>): Promise<void> {
  let before: ClusterCounters | undefined
  try {
    await runSuite(
      target,
      specs,
      async ({ result }) => {
        const after = counters && (await counters())
        const firstError = result.firstError === undefined ? undefined : String(result.firstError)
        show({ name: name(result.kind), opsPerSec: result.opsPerSec, p50Ms: result.p50Ms, p99Ms: result.p99Ms, errors: result.errors, ...(firstError && { firstError }), ...costsOf(before, after, result.ops) })
      },
      async () => {
        before = counters && (await counters())
      },
    )
  } finally {
    await target.close()
  }
}

/**
 * The SQL workloads of `mrdb bench sql`, each with its costs: the counters are read when each
 * workload starts (its progress line) and once all are done.
 */
async function sql(cluster: ProcessCluster, counters: () => Promise<ClusterCounters | undefined>): Promise<void> {
  const marks: Array<{ line: string; counters: Promise<ClusterCounters | undefined> }> = []
  const results = await sqlWorkloads({ hosts: cluster.addresses(), clients, seconds, warmupSeconds: 1, progress: (line) => void marks.push({ line, counters: counters() }) })
  marks.push({ line: 'end', counters: counters() })
  for (const r of results) {
    const at = marks.findIndex((m) => m.line.startsWith(`${r.name}:`))
    show({ ...r, ...(at >= 0 && costsOf(await marks[at]!.counters, await marks[at + 1]!.counters, r.ops)) })
  }
}

/** Splits the SQL benchmark table at id `at` (its rows are 0…4999) and waits until both halves have leaders. */
async function splitTable(cluster: ProcessCluster, at: number): Promise<void> {
  const client = new KvClient({ hosts: cluster.addresses() })
  try {
    const descriptor = await client.get(descriptorKey(SQL_BENCH_TABLE))
    if (descriptor === undefined) throw new Error(`no descriptor of ${SQL_BENCH_TABLE}`)
    const { id } = JSON.parse(new TextDecoder().decode(descriptor)) as { id: number }
    const key = indexKey(id, PRIMARY_INDEX_ID, [BigInt(at)])
    await cluster.mrdb(['range', 'split', '--key', `0x${Buffer.from(key).toString('hex')}`, '--host', cluster.address(1)])
  } finally {
    client.close()
  }
  await settled(cluster, 2)
}

/** BEGIN; UPDATE a row of the first half; UPDATE a row of the second half; COMMIT — a two-phase commit over two ranges. */
async function txnTwoRanges(cluster: ProcessCluster, counters: () => Promise<ClusterCounters | undefined>): Promise<void> {
  const sqlHosts = cluster.sqlAddresses()
  const sessions = Array.from({ length: clients }, (_, i) => new SqlClient(sqlHosts[i % sqlHosts.length]!))
  const half = (from: number) => from + Math.floor(Math.random() * 2500)
  try {
    const op = async (c: number) => {
      const s = sessions[c]!
      await s.query('BEGIN')
      try {
        await s.query(`UPDATE ${SQL_BENCH_TABLE} SET v = 'a${c}' WHERE id = ${half(0)}`)
        await s.query(`UPDATE ${SQL_BENCH_TABLE} SET v = 'b${c}' WHERE id = ${half(2500)}`)
        await s.query('COMMIT')
      } catch (err) {
        await s.query('ROLLBACK').catch(() => undefined)
        throw err
      }
    }
    await closedLoop('sql txn 2 ranges warm-up', clients, 1, op)
    const before = await counters()
    const r = await closedLoop('sql txn 2 ranges', clients, seconds, op)
    show({ ...r, ...costsOf(before, await counters(), r.ops) })
  } finally {
    for (const s of sessions) s.close()
  }
}

async function etcd(): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'mrdb-bench-etcd-'))
  try {
    const cluster = await startEtcdCluster({ dir, members: 3 })
    console.log(`${cluster.version}: 3 members on loopback, fsync on`)
    try {
      await kv(etcdTarget(cluster.endpoints), [putSpec], (kind) => `etcd ${kind}`)
    } finally {
      await cluster.stop()
    }
    return undefined
  } catch (err) {
    if (!(err instanceof EtcdUnavailableError)) throw err
    return err.message
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log(`SQL and KV benchmark: 3 node processes, fsync on, ${clients} clients, ${seconds} s per workload`)
const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: ['--split-qps', String(Number.MAX_SAFE_INTEGER)] })
try {
  await settled(cluster, 1)
  const counters = countersOf(cluster.addresses())
  await kv(mrdbTarget(cluster.addresses()), [putSpec, getSpec], (kind) => `kv ${kind}`, counters)
  await sql(cluster, counters)
  await splitTable(cluster, 2500)
  await txnTwoRanges(cluster, counters)

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
        const r = await runAggregate(gateway, gatewayAddress, cluster.addresses(), pool, aggRows, cluster.httpAddress(busiest))
        const rss = r.peakRssBytes === undefined ? '' : `, peak RSS ${Math.round(r.peakRssBytes / 2 ** 20)} MiB`
        console.log(`  pool ${pool ? 'on ' : 'off'}: ${r.seconds.toFixed(2)} s, gateway (node ${busiest}) event-loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} ms, max ${r.loopDelayMaxMs.toFixed(1)} ms, Raft elections ${r.elections}${rss}`)
      }
    } finally {
      gateway.close()
    }
  }
} finally {
  await cluster.stop()
}

if (!values['no-64']) {
  console.log('3 node processes, 64 ranges')
  const wide = await ProcessCluster.start({ nodes: 3, ranges: 64, startArgs: ['--split-qps', String(Number.MAX_SAFE_INTEGER)] })
  try {
    await settled(wide, 64)
    await kv(mrdbTarget(wide.addresses()), [putSpec], (kind) => `kv ${kind} 64 ranges`, countersOf(wide.addresses()))
  } finally {
    await wide.stop()
  }
}
const etcdMissing = values['no-etcd'] ? 'skipped (--no-etcd)' : await etcd()

console.log()
console.log('Cost of one operation (summed over the nodes):')
for (const f of figures) if (f.costs) console.log(formatCosts(f.name, f.costs))

console.log()
console.log('Ratios (throughput a ÷ b, p99 a ÷ b) and the aims of issue #13:')
const find = (name: string) => figures.find((f) => f.name === name)
const ratio = (a: string, b: string, aim: number, p99Aim?: number) => {
  const x = find(a)
  const y = find(b)
  if (x === undefined || y === undefined) return `  ${a} vs ${b}: not measured${b.startsWith('etcd') && etcdMissing ? ` (etcd ${etcdMissing})` : ''}`
  const t = x.opsPerSec / y.opsPerSec
  const p = x.p99Ms / y.p99Ms
  const p99 = p99Aim === undefined ? `p99 ${p.toFixed(2)}×` : `p99 ${p.toFixed(2)}× (aim ≤ ${p99Aim}: ${p <= p99Aim ? 'met' : 'MISSED'})`
  return `  ${a} vs ${b}: ${t.toFixed(2)}× (aim ≥ ${aim}: ${t >= aim ? 'met' : 'MISSED'}), ${p99}`
}
console.log(ratio('sql insert', 'kv put', 0.67, 2))
console.log(ratio('sql point select', 'kv get', 0.67))
console.log(ratio('sql txn 2 ranges', 'kv put', 0.33))
console.log(ratio('kv put 64 ranges', 'etcd put', 1.0))
console.log(ratio('kv put', 'etcd put', 2.0))

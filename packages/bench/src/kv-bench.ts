// `pnpm bench:kv`: the same closed-loop workloads — put, then linearizable get; 64 clients,
// 256-byte values — against mrdb (3 node processes on loopback, fsync on, with 1 range and with
// 64 ranges) and against a 3-member etcd cluster on loopback, in one run; prints the figures
// and the mrdb/etcd ratios. Usage:
//   node packages/bench/dist/kv-bench.js [--seconds 10] [--clients 64] [--no-etcd]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ProcessCluster } from '@mrdb/cli/testing'
import { settled } from './cluster-settle.js'
import { EtcdUnavailableError, startEtcdCluster } from './etcd-cluster.js'
import { etcdTarget } from './etcd-target.js'
import type { KvTarget } from './kv-target.js'
import { mrdbTarget } from './mrdb-target.js'
import { formatReport, type ReportRow } from './report.js'
import { runSuite, standardWorkloads, type WorkloadSpec } from './suite.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '64' },
    'no-etcd': { type: 'boolean', default: false },
  },
})
const seconds = Number(values.seconds)
const clients = Number(values.clients)
if (!(seconds > 0) || !(clients > 0)) {
  console.error('--seconds and --clients must be positive numbers')
  process.exit(2)
}
const specs = standardWorkloads({ seconds, clients, valueBytes: 256 })
const rows: ReportRow[] = []

async function measure(target: KvTarget, workloads: WorkloadSpec[]): Promise<void> {
  try {
    await runSuite(target, workloads, ({ row, result }) => {
      rows.push(row)
      const note = result.firstError === undefined ? '' : ` (first error: ${String(result.firstError)})`
      console.log(`  ${row.system} ${row.workload}: ${Math.round(row.opsPerSec)} ops/s, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, ${row.errors} errors${note}`)
    })
  } finally {
    await target.close()
  }
}

async function mrdb(ranges: number, name: string): Promise<void> {
  console.log(`${name}: 3 node processes, ${ranges} range(s), fsync on, load-based splits off`)
  // The range count is the benchmark's subject: no splits by load while it runs.
  const cluster = await ProcessCluster.start({ nodes: 3, ranges, startArgs: ['--split-qps', String(Number.MAX_SAFE_INTEGER)] })
  try {
    await settled(cluster, ranges)
    await measure(mrdbTarget(cluster.addresses(), name), specs)
  } finally {
    await cluster.stop()
  }
}

async function etcd(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mrdb-bench-etcd-'))
  try {
    const cluster = await startEtcdCluster({ dir, members: 3 })
    console.log(`etcd: ${cluster.version}, 3 members, fsync on`)
    try {
      await measure(etcdTarget(cluster.endpoints), specs)
    } finally {
      await cluster.stop()
    }
  } catch (err) {
    if (!(err instanceof EtcdUnavailableError)) throw err
    console.log(`etcd skipped: ${err.message}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log(`KV benchmark: ${clients} clients, 256 B values, ${seconds} s per workload`)
await mrdb(1, 'mrdb')
await mrdb(64, 'mrdb-64r')
if (!values['no-etcd']) await etcd()
console.log()
console.log(formatReport(rows, 'mrdb', 'etcd'))
console.log()
console.log(formatReport(rows, 'mrdb-64r', 'etcd'))

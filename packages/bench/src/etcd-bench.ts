// Runs the KV benchmark's workloads against a 3-member etcd cluster on loopback and prints the
// report with etcd rows only. Usage:
//   node packages/bench/dist/etcd-bench.js [--seconds 10] [--clients 64] [--value-bytes 256]
//                                          [--keys 10000] [--warmup 1] [--dir PATH] [--keep]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { EtcdUnavailableError, startEtcdCluster } from './etcd-cluster.js'
import type { EtcdCluster } from './etcd-cluster.js'
import { findEtcdLeader } from './etcd-client.js'
import { etcdTarget } from './etcd-target.js'
import { formatReport } from './report.js'
import { runSuite, standardWorkloads } from './suite.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '64' },
    'value-bytes': { type: 'string', default: '256' },
    keys: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '1' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
})

function num(name: string, text: string | undefined): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${text}`)
    process.exit(2)
  }
  return n
}

const seconds = num('seconds', values.seconds)
const clients = num('clients', values.clients)
const valueBytes = num('value-bytes', values['value-bytes'])
const keySpace = num('keys', values.keys)
const warmupSeconds = Number(values.warmup)
if (!(warmupSeconds >= 0)) {
  console.error(`--warmup must be a non-negative number, got ${values.warmup}`)
  process.exit(2)
}
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'mrdb-bench-etcd-'))
const keep = values.keep === true

// The data dir goes however the run ends (etcd itself is killed by startEtcdCluster's handlers).
process.on('exit', () => {
  if (keep) return
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 })
  } catch (err) {
    console.error(`could not remove ${dir}: ${String(err)}`)
  }
})
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))

async function main(): Promise<number> {
  console.log(`etcd bench: ${clients} clients, ${valueBytes} B values, ${keySpace} keys, ${seconds} s a workload after ${warmupSeconds} s warm-up, dir ${dir}`)
  let cluster: EtcdCluster
  try {
    cluster = await startEtcdCluster({ dir, members: 3 })
  } catch (err) {
    console.error(err instanceof EtcdUnavailableError ? err.message : `etcd failed to start: ${String(err)}`)
    return 1
  }
  const target = etcdTarget(cluster.endpoints)
  try {
    const leader = await findEtcdLeader(cluster.endpoints)
    console.log(`${cluster.version} (${cluster.binary}), members ${cluster.endpoints.join(' ')}, leader ${leader}`)
    const specs = standardWorkloads({ seconds, clients, valueBytes, keySpace, warmupSeconds })
    const results = await runSuite(target, specs, ({ row, result }) => {
      const note = result.firstError === undefined ? '' : ` (first error: ${String(result.firstError)})`
      console.log(
        `  ${row.system} ${row.workload}: ${Math.round(row.opsPerSec)} ops/s, p50 ${row.p50Ms.toFixed(2)} ms, ` +
          `p99 ${row.p99Ms.toFixed(2)} ms, ${result.ops} ops, ${row.errors} errors, ${result.misses} misses, ` +
          `client CPU ${Math.round((result.cpuSeconds / Math.max(1, result.ops + result.errors)) * 1e6)} µs/op${note}`,
      )
    })
    console.log()
    console.log(formatReport(results.map((r) => r.row)))
    return results.some((r) => r.result.errors > 0) ? 1 : 0
  } finally {
    await target.close()
    await cluster.stop()
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)

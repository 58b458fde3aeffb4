// `mrdb bench kv|sql`: the benchmark workloads (bench-workloads.ts) against a running cluster,
// with progress on stderr and a table (or --json) of throughput and latency on stdout. The
// workloads load only when a benchmark runs.

import type { Command } from 'commander'
import type { BenchOptions, WorkloadResult } from './bench-workloads.js'
import { hostOption, reachableHost } from './host-option.js'
import { CliError, positiveInt } from './output.js'

/** The workloads' module, loaded when a benchmark runs. */
type Workloads = typeof import('./bench-workloads.js')

interface BenchCommandOptions {
  clients: string
  seconds: string
  json?: boolean
}

function print(results: WorkloadResult[], json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(results)}\n`)
    return
  }
  process.stdout.write(`${'workload'.padEnd(18)} ${'ops/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  errors\n`)
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(18)} ${Math.round(r.opsPerSec).toString().padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)}  ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ''}\n`)
  }
}

/** Adds `bench kv` and `bench sql` to the program. */
export function addBenchCommand(program: Command): void {
  const bench = program.command('bench').description('benchmark a running cluster')
  const add = (name: string, description: string, pick: (m: Workloads) => (o: BenchOptions) => Promise<WorkloadResult[]>) =>
    bench
      .command(name)
      .description(description)
      .addOption(hostOption('nodes of the cluster (comma-separated; clients are spread over them)', '--host <host:port,...>'))
      .option('--clients <n>', 'concurrent closed-loop clients', '16')
      .option('--seconds <n>', 'seconds per workload', '10')
      .option('--json', 'print JSON')
      .action(async (opts: BenchCommandOptions, cmd: Command) => {
        const clients = positiveInt(opts.clients, '--clients')
        const seconds = positiveInt(opts.seconds, '--seconds')
        const hosts = (await reachableHost(cmd)).address.split(',').filter((h) => h.length > 0)
        const workloads = pick(await import('./bench-workloads.js'))
        const results = await workloads({ hosts, clients, seconds, progress: (line) => void process.stderr.write(`${line}\n`) })
        print(results, opts.json)
        if (results.some((r) => r.ops === 0)) throw new CliError('BENCH_FAILED', `a workload completed no operation: ${results.find((r) => r.ops === 0)!.firstError ?? ''}`)
      })
  add('kv', 'random puts, then linearizable gets, of 256-byte values (keys under mrdb-bench/)', (m) => m.kvWorkloads)
  add('sql', `single-row inserts, point and range selects, two-update transactions on the table mrdb_bench (dropped and re-created)`, (m) => m.sqlWorkloads)
}

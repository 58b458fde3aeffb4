// `mrdb check`: a chaos run. Starts a cluster of node processes on loopback that accept
// injected faults, runs the workloads of @mrdb/chaos under its nemesis, prints the faults,
// the operations and each checker's verdict, and exits 1 on any anomaly (3 when there is
// none but the healed cluster did not serve the final reads).

import { writeFile } from 'node:fs/promises'
import type { ChaosReport, FaultKind } from '@mrdb/chaos'
import { FAULT_KINDS } from '@mrdb/chaos/nemesis'
import type { Command } from 'commander'
import { CliError, positiveInt } from './output.js'

/** Exit code of a run with no anomaly whose healed cluster did not serve the final reads (anomalies exit 1). */
export const EXIT_UNAVAILABLE = 3

interface CheckOptions {
  minutes: string
  nodes: string
  clients: string
  seed?: string
  faults?: string
  saveHistory?: string
}

/** Adds `check` to the program. */
export function addCheckCommand(program: Command): void {
  program
    .command('check')
    .description('chaos test: a local cluster under faults (kill -9, pauses, partitions, moves, splits, merges, damaged log entries) while clients check linearizability, the bank invariant and set completeness')
    .option('--minutes <n>', 'how long to inject faults (fractions allowed)', '2')
    .option('--nodes <n>', 'node processes', '5')
    .option('--clients <n>', 'concurrent clients, spread over the workloads', '12')
    .option('--seed <n>', 'seed of the fault schedule and the clients (default: random, printed)')
    .option('--faults <kinds>', `comma-separated faults to use (default all: ${FAULT_KINDS.join(',')})`)
    .option('--save-history <file>', 'write every operation and fault as JSON')
    .action(async (opts: CheckOptions) => {
      const minutes = Number(opts.minutes)
      if (!(minutes > 0)) throw new CliError('INVALID_ARGUMENT', `--minutes must be a positive number, got '${opts.minutes}'`)
      const nodes = positiveInt(opts.nodes, '--nodes')
      if (nodes < 3) throw new CliError('INVALID_ARGUMENT', '--nodes must be at least 3')
      const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positiveInt(opts.seed, '--seed')
      const faults = opts.faults?.split(',').map((f) => f.trim())
      const unknownFault = faults?.find((f) => !(FAULT_KINDS as readonly string[]).includes(f))
      if (unknownFault !== undefined) throw new CliError('INVALID_ARGUMENT', `unknown fault '${unknownFault}'; known: ${FAULT_KINDS.join(', ')}`)
      const clients = positiveInt(opts.clients, '--clients')
      const say = (line: string) => void process.stdout.write(`${line}\n`)
      say(`mrdb check: ${nodes} nodes, ${clients} clients, ${minutes} minute(s) of faults, seed ${seed}`)
      say(`replay: mrdb check --seed ${seed} --minutes ${opts.minutes} --nodes ${nodes} --clients ${clients}${opts.faults ? ` --faults ${opts.faults}` : ''}`)
      const [{ formatReport, runChaos }, { ProcessCluster }] = await Promise.all([import('@mrdb/chaos'), import('./testing/process-cluster.js')])
      const cluster = await ProcessCluster.start({ nodes, ranges: 8, startArgs: ['--fault-injection'] })
      let report: ChaosReport
      try {
        report = await runChaos(
          {
            nodeIds: () => Array.from({ length: nodes }, (_, i) => i + 1),
            address: (id) => cluster.address(id),
            sqlAddress: (id) => cluster.sqlAddress(id),
            kill: (id) => cluster.kill(id),
            restart: (id) => cluster.startNode(id),
            pause: (id) => cluster.pause(id),
            resume: (id) => cluster.resume(id),
          },
          { seconds: minutes * 60, clients, seed, faults: faults as FaultKind[] | undefined, log: say },
        )
        // The nemesis restarted every node it killed: one not running now died on its own.
        const died = Array.from({ length: nodes }, (_, i) => i + 1).filter((id) => !cluster.isRunning(id))
        if (died.length > 0) {
          for (const id of died) process.stderr.write(`--- node ${id} log (tail) ---\n${cluster.logs(id).slice(-6000)}\n`)
          throw new CliError('NODE_DIED', `node(s) ${died.join(', ')} exited without being killed; replay with --seed ${seed}`)
        }
      } catch (err) {
        if (!(err instanceof CliError)) for (let id = 1; id <= nodes; id++) process.stderr.write(`--- node ${id} log (tail) ---\n${cluster.logs(id).slice(-3000)}\n`)
        throw err
      } finally {
        await cluster.stop()
      }
      for (const line of formatReport(report)) say(line)
      if (opts.saveHistory) await writeFile(opts.saveHistory, JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Map ? Object.fromEntries(v) : v), 1))
      if (report.anomalies.length > 0) throw new CliError('ANOMALIES', `${report.anomalies.length} anomalies found; replay with --seed ${seed}`)
      if (report.unavailableAfterHeal) {
        // Not an anomaly, but a failure: its own exit code, so that callers can tell them apart.
        process.stderr.write(`error: UNAVAILABLE_AFTER_HEAL: the healed cluster did not serve the final reads; replay with --seed ${seed}\n`)
        process.exitCode = EXIT_UNAVAILABLE
      }
    })
}

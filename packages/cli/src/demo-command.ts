// `mrdb demo`: a local cluster of separate node processes on loopback (demo-cluster.ts), its
// addresses printed, then the SQL shell on node 1 — or, with --no-shell, nothing more until
// SIGINT or SIGTERM. Leaving the shell (Ctrl-D, \q, Ctrl-C), SIGINT or SIGTERM stops every node
// cleanly and waits for them. Without a terminal, statements on standard input run instead
// of the shell (so `echo 'SELECT 1;' | mrdb demo` works in scripts).

import type { Command } from 'commander'
import { positiveInt, reportError } from './output.js'
import { resultFormat } from './sql-command.js'
import type { SqlTarget } from './sql-target.js'
import { readStdin } from './stdin.js'

interface DemoOptions {
  nodes: string
  data?: string
  shell: boolean
  format: string
  storeDeadMs: string
}

/** Adds `demo` to the program. */
export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start a local cluster of node processes on loopback and open the SQL shell; Ctrl-D or Ctrl-C stops it')
    .option('--nodes <n>', 'number of nodes', '3')
    .option('--data <dir>', 'keep the data in this directory and reuse it next time (default: a temporary directory, removed on exit)')
    .option('--no-shell', 'do not open the SQL shell: print the addresses and run until SIGINT or SIGTERM')
    .option('--format <format>', 'the shell\'s output format: table, csv, json', 'table')
    .option('--store-dead-ms <ms>', 'a node not heard from this long is dead and its replicas are re-created elsewhere (shorter than `mrdb start`\'s default, to watch it happen)', '10000')
    .action(async (opts: DemoOptions) => {
      const nodes = positiveInt(opts.nodes, '--nodes')
      const format = resultFormat(opts.format)
      const storeDeadMs = positiveInt(opts.storeDeadMs, '--store-dead-ms')
      const say = (line: string) => void process.stdout.write(`${line}\n`)
      const [{ DemoCluster }, { MRDB_BIN }, { runScript }, { runShell }] = await Promise.all([import('./demo-cluster.js'), import('./node-process.js'), import('./sql-script.js'), import('./sql-shell.js')])

      // A signal before the cluster is up ends the process; the exit hook and the nodes'
      // closed stdin take the node processes down with it.
      const early = () => process.exit(130)
      process.once('SIGINT', early)
      process.once('SIGTERM', early)
      const cluster = await DemoCluster.start({ nodes, dataDir: opts.data, startArgs: ['--store-dead-ms', String(storeDeadMs)], progress: (l) => say(`mrdb demo: ${l}`) })
      process.off('SIGINT', early)
      process.off('SIGTERM', early)

      const sqlTarget: SqlTarget = { kind: 'sql', address: cluster.sqlAddress, options: {} }
      let stopping = false
      for (const n of cluster.nodes) {
        void n.exited.then(() => {
          if (!stopping) process.stderr.write(`mrdb demo: node ${n.storeId} exited (${n.log.at(-1) ?? ''})\n`)
        })
      }
      const stop = async () => {
        if (stopping) return
        stopping = true
        say('mrdb demo: stopping the nodes')
        await cluster.stop()
        say('mrdb demo: stopped')
      }
      const signalled = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve())
        process.once('SIGTERM', () => resolve())
      })

      say(`mrdb demo: ${cluster.nodes.length} nodes ready`)
      for (const n of cluster.nodes) say(`  node ${n.storeId}  ${n.address}  pid ${n.pid}  sql ${n.sqlAddress ?? "-"}  http ${n.httpAddress === undefined ? '-' : `http://${n.httpAddress}`}`)
      const http = cluster.nodes[0]!.httpAddress
      if (http !== undefined) {
        say(`Web console of the cluster at any node's http address, e.g.: http://${http}/`)
        say(`Metrics (Prometheus) and health of each node at its http address, e.g.: http://${http}/metrics  http://${http}/health?ready=1`)
      }
      say(`Any PostgreSQL client, e.g.: psql postgresql://root@${cluster.nodes[0]!.sqlAddress}/mrdb`)
      say('In another terminal:')
      say(`  alias mrdb='${process.execPath} ${MRDB_BIN}'`)
      say(`  export HOST=${cluster.address} ${cluster.nodes.map((n) => `NODE${n.storeId}_PID=${n.pid}`).join(' ')}`)
      say('  mrdb status --host $HOST     # or: mrdb sql --host $HOST, mrdb range list --host $HOST')
      try {
        if (!opts.shell) {
          say('Running until Ctrl-C (SIGINT) or SIGTERM.')
          await signalled
        } else if (process.stdin.isTTY) {
          say(`SQL shell on node 1 (${cluster.address}). Statements end with ';'. \\? for help; Ctrl-D or \\q stops the demo.`)
          await Promise.race([runShell({ target: sqlTarget, format }), signalled])
        } else {
          await Promise.race([readStdin().then((script) => runScript(sqlTarget, script, format, { cancelOnSigint: false })), signalled])
        }
      } catch (err) {
        reportError(err)
      } finally {
        await stop()
      }
      process.exit(process.exitCode ?? 0)
    })
}

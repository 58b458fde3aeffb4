// `mrdb start` and `mrdb init` (init-cluster.ts does init's work). The node's modules load
// only when `start` runs.

import { Option, type Command } from 'commander'
import { certsDir } from './certs-dir.js'
import { hostOption, nodeHost } from './host-option.js'
import { positiveInt } from './output.js'

interface StartOptions {
  storeId: string
  listen: string
  advertise?: string
  join: string
  data: string
  tickMs: string
  sync: boolean
  leaseReads?: boolean
  heartbeatMs: string
  gcTtlSeconds: string
  storeDeadMs: string
  splitKeys: string
  splitBytes: string
  splitQps: string
  balanceThreshold: string
  stopOnStdinClose?: boolean
  faultInjection?: boolean
  sqlListen?: string
  httpListen?: string
  insecure?: boolean
  sqlMaxConnections: string
  sqlStartupTimeoutMs: string
  statementTimeout: string
  sqlMemoryBudgetMb: string
}

/** Adds `start` and `init` to the program. */
export function addNodeCommands(program: Command): void {
  program
    .command('start')
    .description('run a node until SIGTERM or SIGINT')
    .requiredOption('--store-id <n>', 'this node\'s store id (a positive integer, unique in the cluster)')
    .requiredOption('--listen <host:port>', 'address to serve on (port 0 picks a free port)')
    .option('--advertise <host:port>', 'address peers and clients are told to reach this node at (default: --listen\'s, with the host name for 0.0.0.0); the port defaults to the bound one')
    .option('--join <addresses>', 'comma-separated addresses of nodes to join', '')
    .requiredOption('--data <dir>', 'data directory (created if missing)')
    .option('--sql-listen <host:port>', 'serve SQL clients (psql, node-postgres, mrdb sql) with the PostgreSQL wire protocol on this address (default: --listen\'s host with a free port; `mrdb sql --host` finds it)')
    .option('--http-listen <host:port>', 'serve /health and /metrics (Prometheus) over HTTP on this address (port 0 picks a free one); none without it')
    .option('--insecure', 'let SQL clients in without a password (no TLS, no authentication: for local clusters and tests); without it SQL logins are refused until passwords exist')
    .option('--sql-max-connections <n>', 'most concurrent SQL sessions on this node (53300 past it)', '100')
    .option('--statement-timeout <ms>', 'default statement_timeout of SQL sessions in milliseconds (0: none; sessions may SET their own)', '0')
    .option('--sql-memory-budget-mb <n>', 'memory one SQL statement\'s sorts, hash tables, groups and subqueries may hold, in MiB; past it the statement fails with 53200 (sorts spill to the data directory first; sessions may SET sql_memory_budget_mb)', '256')
    .addOption(new Option('--sql-startup-timeout-ms <ms>', 'drop a SQL connection that has not finished its startup in this time').default('10000').hideHelp())
    .option('--tick-ms <ms>', 'Raft tick in milliseconds', '50')
    .option('--no-sync', 'do not fsync the Raft log (unsafe: for tests only)')
    .option('--lease-reads', 'serve reads from leader leases instead of ReadIndex rounds (needs bounded clock drift)')
    .option('--heartbeat-ms <ms>', 'how often the node reports to the placement driver, and the driver schedules', '1000')
    .option('--gc-ttl-seconds <n>', 'keep overwritten and deleted versions this long before garbage collection (the placement driver leader\'s value counts; reads further back get GC_THRESHOLD)', String(25 * 3600))
    .option('--store-dead-ms <ms>', 'a store not heard from this long is dead: its replicas are re-created elsewhere', '30000')
    .option('--split-keys <n>', 'split a range above this many keys', '1000000')
    .option('--split-bytes <n>', 'split a range above this many bytes', String(64 * 1024 * 1024))
    .option('--split-qps <n>', 'split a range serving more reads and writes per second than this', '2500')
    .option('--balance-threshold <n>', 'move replicas or leaders between two stores once their counts differ by more than this', '2')
    .addOption(new Option('--fault-injection', 'accept injected faults — network partitions, damaged Raft log entries — from `mrdb check` and tests (testing only)').hideHelp())
    .addOption(new Option('--stop-on-stdin-close', 'stop when standard input closes (how a parent process ties a node\'s life to its own)').hideHelp())
    .action(async (opts: StartOptions) => {
      const { NodeServer } = await import('@mrdb/server')
      const node = await NodeServer.start({
        storeId: positiveInt(opts.storeId, '--store-id'),
        listen: opts.listen,
        advertise: opts.advertise,
        join: opts.join.split(',').filter((a) => a.length > 0),
        dataDir: opts.data,
        tickMs: positiveInt(opts.tickMs, '--tick-ms'),
        sync: opts.sync,
        leaseReads: opts.leaseReads === true,
        heartbeatMs: positiveInt(opts.heartbeatMs, '--heartbeat-ms'),
        gcTtlMs: positiveInt(opts.gcTtlSeconds, '--gc-ttl-seconds') * 1000,
        faultInjection: opts.faultInjection === true,
        httpListen: opts.httpListen,
        sqlListen: opts.sqlListen ?? `${opts.listen.slice(0, opts.listen.lastIndexOf(':'))}:0`,
        insecure: opts.insecure === true,
        certsDir: certsDir(),
        sqlMaxConnections: positiveInt(opts.sqlMaxConnections, '--sql-max-connections'),
        sqlStartupTimeoutMs: positiveInt(opts.sqlStartupTimeoutMs, '--sql-startup-timeout-ms'),
        statementTimeoutMs: opts.statementTimeout === '0' ? 0 : positiveInt(opts.statementTimeout, '--statement-timeout'),
        sqlMemoryBudgetBytes: positiveInt(opts.sqlMemoryBudgetMb, '--sql-memory-budget-mb') * 1024 * 1024,
        placement: {
          storeDeadMs: positiveInt(opts.storeDeadMs, '--store-dead-ms'),
          splitKeys: positiveInt(opts.splitKeys, '--split-keys'),
          splitBytes: positiveInt(opts.splitBytes, '--split-bytes'),
          splitQps: positiveInt(opts.splitQps, '--split-qps'),
          balanceThreshold: positiveInt(opts.balanceThreshold, '--balance-threshold'),
        },
      })
      process.stdout.write(`node ${opts.storeId} listening on ${node.address}${node.sqlAddress === undefined ? '' : ` (sql on ${node.sqlAddress})`}${node.httpAddress === undefined ? '' : ` (http on ${node.httpAddress})`}\n`)
      await new Promise<void>((resolve) => {
        const shutdown = () => resolve()
        process.once('SIGTERM', shutdown)
        process.once('SIGINT', shutdown)
        if (opts.stopOnStdinClose) {
          process.stdin.once('end', shutdown)
          process.stdin.once('error', shutdown)
          process.stdin.resume()
        }
      })
      process.stdin.pause()
      await node.stop()
      process.stdout.write(`node ${opts.storeId} stopped\n`)
    })

  program
    .command('init')
    .description('bootstrap a new cluster, once, through one of its nodes; waits for the nodes it bootstraps to answer, and on a cluster already initialized says so and exits 0')
    .addOption(hostOption('a node of the cluster'))
    .option('--ranges <n>', 'number of ranges to pre-split the keyspace into (the placement driver splits further as they grow)', '1')
    .option('--root-password <password>', 'the password of the root SQL user (default: a random one, printed once)')
    .option('--timeout <seconds>', 'how long to wait for the nodes to start answering (exit code 1 after it)', '60')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { ranges: string; rootPassword?: string; timeout: string; json?: boolean }, cmd: Command) => {
      const ranges = positiveInt(opts.ranges, '--ranges')
      const waitS = positiveInt(opts.timeout, '--timeout')
      const { initCommand } = await import('./init-cluster.js')
      await initCommand(nodeHost(cmd), { ranges, rootPassword: opts.rootPassword, waitMs: waitS * 1000, json: opts.json === true })
    })
}

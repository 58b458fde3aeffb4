// `pnpm bench:pgwire`: pgbench against mrdb (3 node processes on loopback, fsync on, --insecure)
// and against a local PostgreSQL 15 server (fsync on, initdb'd into a temporary directory as
// the `postgres` user), in the same run, with two custom scripts on the same tables:
//   point select  — SELECT abalance FROM pgbench_accounts WHERE aid = :aid
//   tpcb-like     — BEGIN; UPDATE accounts; SELECT; UPDATE tellers; UPDATE branches;
//                   INSERT INTO history; COMMIT (pgbench's built-in TPC-B-like script, with a
//                   serial key on history: mrdb tables need a primary key)
// 16 clients for 30 s each by default (serialization failures, 40001, retried by pgbench's
// --max-tries). It prints tps, latency p50/p99 (from pgbench's per-transaction log) and the
// mrdb/PostgreSQL ratios, then mrdb's protocol overhead: the same statements run by an
// in-process SQL engine talking KV to the same cluster, against what pgbench got through a
// node's SQL port. Needs Debian's postgresql-15 (`apt-get install postgresql-15`); installs
// nothing itself.
// Usage: node packages/bench/dist/pgwire-bench.js [--seconds 30] [--clients 16] [--accounts 100000]

import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { closedLoop, type WorkloadResult } from '@mrdb/cli/bench'
import { ProcessCluster } from '@mrdb/cli/testing'
import { KvClient, TransactionalKv } from '@mrdb/kv'
import { remoteTimestamps, SqlClient } from '@mrdb/server'
import { SqlEngine, type SqlSession } from '@mrdb/sql'

const PG_BIN = '/usr/lib/postgresql/15/bin'
const run = promisify(execFile)

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, clients: { type: 'string', default: '16' }, accounts: { type: 'string', default: '100000' } } })
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const accounts = Number(values.accounts)
if (!(seconds > 0) || !Number.isSafeInteger(clients) || clients <= 0 || !Number.isSafeInteger(accounts) || accounts < 1000) {
  console.error('--seconds and --clients must be positive numbers, --accounts at least 1000')
  process.exit(2)
}
for (const tool of ['pgbench', 'initdb', 'pg_ctl']) {
  if (!existsSync(join(PG_BIN, tool))) {
    console.error(`bench:pgwire needs PostgreSQL 15's ${tool} in ${PG_BIN}: apt-get install postgresql-15`)
    process.exit(1)
  }
}

const branches = Math.max(1, Math.floor(accounts / 10_000))
const tellers = branches * 10
const FILLER = ' '.repeat(84)

const SCHEMA = [
  'CREATE TABLE pgbench_branches (bid INT PRIMARY KEY, bbalance INT, filler TEXT)',
  'CREATE TABLE pgbench_tellers (tid INT PRIMARY KEY, bid INT, tbalance INT, filler TEXT)',
  'CREATE TABLE pgbench_accounts (aid INT PRIMARY KEY, bid INT, abalance INT, filler TEXT)',
  'CREATE TABLE pgbench_history (id BIGSERIAL PRIMARY KEY, tid INT, bid INT, aid INT, delta INT)',
]

const SCRIPTS = {
  'point select': `\\set aid random(1, ${accounts})\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n`,
  'tpcb-like': [
    `\\set aid random(1, ${accounts})`,
    `\\set bid random(1, ${branches})`,
    `\\set tid random(1, ${tellers})`,
    '\\set delta random(-5000, 5000)',
    'BEGIN;',
    'UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;',
    'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;',
    'UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;',
    'UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;',
    'INSERT INTO pgbench_history (tid, bid, aid, delta) VALUES (:tid, :bid, :aid, :delta);',
    'COMMIT;',
    '',
  ].join('\n'),
} as const
type ScriptName = keyof typeof SCRIPTS

/** One system's figures for one script. */
interface Figures {
  tps: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  failed: number
}

/** Creates the tables and loads the rows through one session. */
async function load(address: string, user: string, database: string): Promise<void> {
  const s = new SqlClient(address, { user, database })
  try {
    for (const ddl of SCHEMA) await s.query(ddl)
    const rows = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i + 1))
    await s.query(`INSERT INTO pgbench_branches VALUES ${rows(branches, (i) => `(${i}, 0, '${FILLER}')`).join(', ')}`)
    await s.query(`INSERT INTO pgbench_tellers VALUES ${rows(tellers, (i) => `(${i}, ${1 + ((i - 1) % branches)}, 0, '${FILLER}')`).join(', ')}`)
    for (let from = 0; from < accounts; from += 1000) {
      const n = Math.min(1000, accounts - from)
      await s.query(`INSERT INTO pgbench_accounts VALUES ${rows(n, (i) => `(${from + i}, ${1 + Math.floor((from + i - 1) / 10_000) % branches}, 0, '${FILLER}')`).join(', ')}`)
    }
  } finally {
    s.close()
  }
}

/** Runs pgbench with `script` against host:port and reads its summary and per-transaction log. */
async function pgbench(address: string, user: string, database: string, name: ScriptName, dir: string): Promise<Figures> {
  const at = address.lastIndexOf(':')
  const logDir = await mkdtemp(join(dir, 'log-'))
  const scriptFile = join(dir, `${name.replace(/\W/g, '-')}.sql`)
  await writeFile(scriptFile, SCRIPTS[name])
  const args = ['-h', address.slice(0, at), '-p', address.slice(at + 1), '-U', user, '-n', '-c', String(clients), '-j', String(Math.min(clients, 4)), '-T', String(seconds), '-M', 'simple', '--max-tries=20', '-f', scriptFile, '-l', `--log-prefix=${join(logDir, 'tx')}`, database]
  const { stdout } = await run(join(PG_BIN, 'pgbench'), args, { cwd: logDir, maxBuffer: 64 * 1024 * 1024 })
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1] ?? NaN)
  const meanMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1] ?? NaN)
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0)
  // Log lines: client_id transaction_no time_us script_no time_epoch time_us_part [retries]; a failed one has "failed" for its time.
  const latencies: number[] = []
  for (const f of await readdir(logDir)) {
    for (const line of (await readFile(join(logDir, f), 'utf8')).split('\n')) {
      const us = Number(line.split(' ')[2])
      if (Number.isFinite(us) && line.length > 0) latencies.push(us / 1000)
    }
  }
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? NaN
  return { tps, meanMs, p50Ms: pct(50), p99Ms: pct(99), failed }
}

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Runs a PostgreSQL tool as the `postgres` user (the server refuses to run as root). */
function asPostgres(tool: string, args: string[]): Promise<unknown> {
  const root = process.getuid?.() === 0
  return root ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args]) : run(join(PG_BIN, tool), args)
}

/** A PostgreSQL 15 server with fsync on in `dir`, on a free port; stop() removes nothing (the caller removes `dir`). */
async function startPostgres(dir: string): Promise<{ address: string; stop(): Promise<void> }> {
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    await chown(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  const data = join(dir, 'data')
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=${clients + 20}`
  await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start'])
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => void (await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined)),
  }
}

/** The same statements as the scripts, run by an in-process engine over the cluster's KV: what the wire protocol and a node gateway add is the difference. */
async function inProcess(hosts: string[]): Promise<Record<ScriptName, WorkloadResult>> {
  const kv = new KvClient({ hosts })
  const timestamps = remoteTimestamps(hosts)
  const engine = new SqlEngine(new TransactionalKv(kv, timestamps))
  const sessions: SqlSession[] = Array.from({ length: clients }, () => engine.session())
  const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1))
  try {
    const point = await closedLoop('point select', clients, seconds, async (c) => {
      await sessions[c]!.execute(`SELECT abalance FROM pgbench_accounts WHERE aid = ${random(1, accounts)}`)
    })
    const tpcb = await closedLoop('tpcb-like', clients, seconds, async (c) => {
      const s = sessions[c]!
      const [aid, bid, tid, delta] = [random(1, accounts), random(1, branches), random(1, tellers), random(-5000, 5000)]
      for (let attempt = 1; ; attempt++) {
        try {
          await s.execute('BEGIN')
          await s.execute(`UPDATE pgbench_accounts SET abalance = abalance + ${delta} WHERE aid = ${aid}`)
          await s.execute(`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid}`)
          await s.execute(`UPDATE pgbench_tellers SET tbalance = tbalance + ${delta} WHERE tid = ${tid}`)
          await s.execute(`UPDATE pgbench_branches SET bbalance = bbalance + ${delta} WHERE bid = ${bid}`)
          await s.execute(`INSERT INTO pgbench_history (tid, bid, aid, delta) VALUES (${tid}, ${bid}, ${aid}, ${delta})`)
          await s.execute('COMMIT')
          return
        } catch (err) {
          await s.execute('ROLLBACK').catch(() => undefined)
          if ((err as { code?: string }).code !== '40001' || attempt >= 20) throw err
        }
      }
    })
    return { 'point select': point, 'tpcb-like': tpcb }
  } finally {
    for (const s of sessions) await s.close().catch(() => undefined)
    kv.close()
    timestamps.close()
  }
}

const fmt = (f: Figures) => `${Math.round(f.tps).toString().padStart(7)} tps   p50 ${f.p50Ms.toFixed(2).padStart(7)} ms   p99 ${f.p99Ms.toFixed(2).padStart(7)} ms   mean ${f.meanMs.toFixed(2).padStart(7)} ms${f.failed > 0 ? `   ${f.failed} failed` : ''}`

console.log(`pgwire benchmark: pgbench, ${clients} clients, ${seconds} s per script, ${accounts} accounts, ${branches} branch(es), ${tellers} tellers`)
const dir = await mkdtemp(join(tmpdir(), 'mrdb-pgbench-'))
let cluster: ProcessCluster | undefined
let postgres: { address: string; stop(): Promise<void> } | undefined
try {
  cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: ['--split-qps', String(Number.MAX_SAFE_INTEGER)] })
  postgres = await startPostgres(dir)
  console.log(`mrdb: 3 nodes, fsync on, pgbench → node 1 (${cluster.sqlAddress(1)}); PostgreSQL 15 (fsync on) on ${postgres.address}`)
  console.log('loading…')
  await load(cluster.sqlAddress(1), 'root', 'mrdb')
  await load(postgres.address, 'postgres', 'postgres')
  const results: Array<{ name: ScriptName; mrdb: Figures; pg: Figures }> = []
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const mrdb = await pgbench(cluster.sqlAddress(1), 'root', 'mrdb', name, dir)
    const pg = await pgbench(postgres.address, 'postgres', 'postgres', name, dir)
    results.push({ name, mrdb, pg })
    console.log(`${name}`)
    console.log(`  mrdb        ${fmt(mrdb)}`)
    console.log(`  PostgreSQL  ${fmt(pg)}`)
  }
  console.log()
  console.log('mrdb ÷ PostgreSQL (aim: point select ≥ 0.5× tps, tpcb-like ≥ 0.25×):')
  for (const r of results) console.log(`  ${r.name.padEnd(13)} tps × ${(r.mrdb.tps / r.pg.tps).toFixed(2)}   p99 × ${(r.mrdb.p99Ms / r.pg.p99Ms).toFixed(2)}`)
  console.log()
  console.log(`mrdb's protocol overhead: the same statements by an in-process SQL engine on the same cluster (${clients} sessions, ${seconds} s each)`)
  const direct = await inProcess(cluster.addresses())
  for (const r of results) {
    const d = direct[r.name]
    console.log(`  ${r.name.padEnd(13)} in-process ${Math.round(d.opsPerSec).toString().padStart(7)} tps, p50 ${d.p50Ms.toFixed(2)} ms, p99 ${d.p99Ms.toFixed(2)} ms${d.errors > 0 ? `, ${d.errors} errors (${d.firstError})` : ''}; through pgwire ${Math.round(r.mrdb.tps)} tps (× ${(r.mrdb.tps / d.opsPerSec).toFixed(2)}), p50 + ${(r.mrdb.p50Ms - d.p50Ms).toFixed(2)} ms`)
  }
} finally {
  await postgres?.stop()
  await cluster?.stop()
  await rm(dir, { recursive: true, force: true })
}

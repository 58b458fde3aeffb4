// `pnpm bench:sql --rows N`: issue #14's "Benchmarks that count", on 3 node processes with
// fsync on and the cluster's default placement settings (size-based splits as configured):
//   load        N rows of about 100 bytes (a secondary index on x) through multi-row INSERTs of
//               1,000 rows from 4 clients: rows/s over the first and the last 10%, total time
//   aggregate   SELECT grp, COUNT(*), SUM(x), MIN(x), MAX(x) FROM t GROUP BY grp: time, the
//               gateway's event-loop delay p99 and max, Raft elections while it ran
//   join        COUNT(*) of an equality join of two J-row tables on a non-key column: time,
//               the gateway's peak RSS
//   between     an indexed BETWEEN on x returning 1% of the rows: time (median of 5)
//   churn + GC  on a second cluster with a short GC TTL: K keys updated U times each, then GC:
//               disk bytes and a point read's latency fresh, after the churn, after GC, and
//               where each node's bytes are after GC (disk-spans.ts)
// Every node's RSS is sampled throughout; the maximum is printed. Each figure with an aim
// says MET or MISSED.

import { cp, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ProcessCluster } from '@mrdb/cli/testing'
import { SqlClient } from '@mrdb/server'
import { status, termChanges } from './aggregate-bench.js'
import { formatSpans, spanBytes } from './disk-spans.js'
import { loadRows, ROWS_PER_STATEMENT } from './table-load.js'

/** What {@link bigTableBench} runs. */
export interface BigTableOptions {
  /** Rows of the big table. */
  rows: number
  /** Rows of each side of the join. */
  joinRows: number
  /** Keys of the churned table, and how often each is updated. */
  churnKeys: number
  churnUpdates: number
  /** The GC TTL of the churn cluster, seconds. */
  gcTtlSeconds: number
  /** Runs only the churn part. */
  churnOnly?: boolean
  /** Where the churn cluster's directory (data and node logs) is copied once its nodes stopped, even after a failure. */
  keepData?: string
}

/** Loading clients, and rows per INSERT statement. */
const LOADERS = 4
/** A statement that takes longer than this is cancelled (57014) and counted as failed. */
const STATEMENT_TIMEOUT_MS = 300_000
/** Issue #14's aims. */
const AIMS = { lastOverFirst: 0.8, loopDelayP99Ms: 20, elections: 0, joinSeconds: 5, betweenMs: 100, gcRatio: 1.5, rssBytes: 1024 ** 3 }

const met = (ok: boolean): string => (ok ? 'MET' : 'MISSED')
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 2 : 0)} MiB`

/** Samples the resident memory of processes every 250 ms: the peak per process, over the whole run and since a mark. */
class RssSampler {
  readonly peak = new Map<string, number>()
  private readonly sinceMark = new Map<string, number>()
  private readonly timer: NodeJS.Timeout
  private readonly pids = new Map<string, number>()

  constructor() {
    this.timer = setInterval(() => void this.sample(), 250)
    this.timer.unref()
  }

  /** Watches process `pid` under `name`. */
  watch(name: string, pid: number): void {
    this.pids.set(name, pid)
  }

  /** Starts a new "since mark" window. */
  mark(): void {
    this.sinceMark.clear()
  }

  /** The peak of `name` since the last mark (bytes). */
  peakSinceMark(name: string): number {
    return this.sinceMark.get(name) ?? 0
  }

  stop(): void {
    clearInterval(this.timer)
  }

  async sample(): Promise<void> {
    for (const [name, pid] of this.pids) {
      const rss = await rssOf(pid)
      if (rss === undefined) continue
      this.peak.set(name, Math.max(this.peak.get(name) ?? 0, rss))
      this.sinceMark.set(name, Math.max(this.sinceMark.get(name) ?? 0, rss))
    }
  }
}

/** A process's resident set size in bytes, from /proc (undefined once it is gone). */
async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** A data directory's bytes by what the files hold. */
interface DiskBytes {
  /** LevelDB's sorted tables (*.ldb, *.sst). */
  tables: number
  /** LevelDB's write-ahead log (NNNNNN.log): the writes since the last memtable flush. */
  wal: number
  /** The node's own log files (logs/). */
  nodeLogs: number
  /** Everything else: LevelDB's MANIFEST, LOG and CURRENT, sql-spill, … */
  other: number
}

const noBytes = (): DiskBytes => ({ tables: 0, wal: 0, nodeLogs: 0, other: 0 })
const totalOf = (d: DiskBytes): number => d.tables + d.wal + d.nodeLogs + d.other

/** Adds the bytes of every file under `dir` to `into`, by kind. */
async function diskBytes(dir: string, into: DiskBytes, top = true): Promise<DiskBytes> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (top && entry.name === 'logs') into.nodeLogs += totalOf(await diskBytes(path, noBytes(), false))
      else await diskBytes(path, into, false)
    } else if (entry.isFile()) {
      const size = (await stat(path).catch(() => ({ size: 0 }))).size
      if (top && /\.(ldb|sst)$/.test(entry.name)) into.tables += size
      else if (top && /^\d+\.log$/.test(entry.name)) into.wal += size
      else into.other += size
    }
  }
  return into
}

async function clusterDisk(cluster: ProcessCluster): Promise<DiskBytes> {
  const into = noBytes()
  for (const id of [1, 2, 3]) await diskBytes(cluster.dataDir(id), into)
  return into
}

const showDisk = (d: DiskBytes): string => `${mib(totalOf(d))} (tables ${mib(d.tables)}, WAL ${mib(d.wal)}, node logs ${mib(d.nodeLogs)}, other ${mib(d.other)})`

/** Live and garbage bytes summed over the ranges, as `mrdb range list --json` reports them. */
async function rangeBytes(cluster: ProcessCluster): Promise<{ live: number; garbage: number; ranges: number }> {
  const ranges = JSON.parse(await cluster.mrdb(['range', 'list', '--json', '--host', cluster.address(1)])) as Array<{ liveBytes?: number; garbageBytes?: number }>
  return { live: ranges.reduce((a, r) => a + (r.liveBytes ?? 0), 0), garbage: ranges.reduce((a, r) => a + (r.garbageBytes ?? 0), 0), ranges: ranges.length }
}

async function session(address: string): Promise<SqlClient> {
  const s = new SqlClient(address)
  await s.query(`SET statement_timeout = ${STATEMENT_TIMEOUT_MS}`)
  return s
}


/** The `q`th quantile of `xs` (sorted here). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
}

/** Runs `sql` on `s`, returning seconds taken and the result; a failure is returned as its message. */
async function timed(s: SqlClient, sql: string): Promise<{ seconds: number; rows?: unknown[][]; error?: string }> {
  const t0 = performance.now()
  try {
    const r = await s.query(sql)
    return { seconds: (performance.now() - t0) / 1000, rows: r.rows }
  } catch (err) {
    return { seconds: (performance.now() - t0) / 1000, error: err instanceof Error ? err.message : String(err) }
  }
}

/** The store id of the node leading the most ranges (the one a scan loads most). */
async function busiestNode(cluster: ProcessCluster): Promise<number> {
  const nodes = JSON.parse(await cluster.mrdb(['node', 'list', '--json', '--host', cluster.address(1)])) as Array<{ storeId: number; leaderCount: number }>
  return nodes.reduce((a, b) => (b.leaderCount > a.leaderCount ? b : a)).storeId
}

/** The big-table part: load, aggregate, join, BETWEEN. */
async function bigTable(o: BigTableOptions, rss: RssSampler): Promise<void> {
  const n = o.rows
  console.log(`Big table: ${n} rows of ~100 bytes (id INT PRIMARY KEY, grp INT, x INT indexed, pad TEXT), ${LOADERS} clients, ${ROWS_PER_STATEMENT} rows per INSERT`)
  const cluster = await ProcessCluster.start({ nodes: 3 })
  try {
    for (const id of [1, 2, 3]) rss.watch(`node ${id}`, cluster.pid(id))
    const sessions = await Promise.all(Array.from({ length: LOADERS }, (_, i) => session(cluster.sqlAddresses()[i % 3]!)))
    try {
      await sessions[0]!.query('CREATE TABLE t (id INT PRIMARY KEY, grp INT NOT NULL, x INT NOT NULL, pad TEXT NOT NULL)')
      await sessions[0]!.query('CREATE INDEX t_x ON t (x)')
      const tenth = Math.max(1, Math.floor(n / 10))
      const t0 = performance.now()
      let firstTenthAt: number | undefined
      let lastTenthFrom: { at: number; loaded: number } | undefined
      let reported = 0
      // x is a permutation of 0…n-1: i × step mod n, step a prime that does not divide n.
      const step = [7919, 7927, 7933].find((p) => gcd(p, n) === 1)!
      const outcome = await loadRows(sessions, 't', 'id, grp, x, pad', n, (i) => `(${i}, ${i % 100}, ${(i * step) % n}, '${pad(i)}')`, (loaded) => {
        const now = performance.now()
        if (firstTenthAt === undefined && loaded >= tenth) firstTenthAt = now
        if (lastTenthFrom === undefined && loaded >= n - tenth) lastTenthFrom = { at: now, loaded }
        if (loaded >= reported + tenth) {
          reported = loaded - (loaded % tenth)
          const maxRss = Math.max(...[1, 2, 3].map((id) => rss.peak.get(`node ${id}`) ?? 0))
          console.log(`  (loaded ${loaded} rows in ${((now - t0) / 1000).toFixed(1)} s, ${Math.round(loaded / ((now - t0) / 1000))} rows/s overall; node RSS max so far ${mib(maxRss)})`)
        }
      })
      const total = (performance.now() - t0) / 1000
      const firstRate = tenth / ((firstTenthAt! - t0) / 1000)
      const lastRate = (n - lastTenthFrom!.loaded) / ((performance.now() - lastTenthFrom!.at) / 1000)
      console.log(`  load: ${total.toFixed(1)} s in all (${Math.round(n / total)} rows/s); first 10% ${Math.round(firstRate)} rows/s, last 10% ${Math.round(lastRate)} rows/s: last ÷ first ${(lastRate / firstRate).toFixed(2)} (aim ≥ ${AIMS.lastOverFirst}: ${met(lastRate / firstRate >= AIMS.lastOverFirst)}); ${outcome.retries} statements retried${outcome.firstError ? ` (first error: ${outcome.firstError})` : ''}`)
      const { ranges } = await rangeBytes(cluster)
      console.log(`  the cluster now has ${ranges} ranges`)

      const gatewayId = await busiestNode(cluster)
      const gateway = await session(cluster.sqlAddress(gatewayId))
      const gatewayAddress = cluster.address(gatewayId)
      try {
        // The aggregate.
        const before = await Promise.all(cluster.addresses().map((a) => status(a, a === gatewayAddress)))
        const agg = await timed(gateway, 'SELECT grp, COUNT(*), SUM(x), MIN(x), MAX(x) FROM t GROUP BY grp')
        const after = await Promise.all(cluster.addresses().map((a) => status(a, false)))
        const delay = after[cluster.addresses().indexOf(gatewayAddress)]!.loopDelay
        const elections = termChanges(before, after)
        const counted = agg.rows?.reduce((a: number, r) => a + Number(r[1]), 0)
        const wrong = agg.error ?? (counted === n ? undefined : `counted ${counted} rows, not ${n}`)
        console.log(`  aggregate (GROUP BY grp, 100 groups): ${agg.seconds.toFixed(2)} s${wrong ? ` — FAILED: ${wrong}` : ''}`)
        if (delay) console.log(`    gateway (node ${gatewayId}) event-loop delay p99 ${delay.p99Ms.toFixed(1)} ms (aim ≤ ${AIMS.loopDelayP99Ms}: ${met(delay.p99Ms <= AIMS.loopDelayP99Ms)}), max ${delay.maxMs.toFixed(1)} ms`)
        console.log(`    Raft elections during it: ${elections} (aim ${AIMS.elections}: ${met(elections === AIMS.elections)})`)

        // The BETWEEN on the secondary index, 1% of the rows.
        const width = Math.max(1, Math.floor(n / 100))
        const plan = await gateway.query(`EXPLAIN SELECT id, x FROM t WHERE x BETWEEN 0 AND ${width - 1}`).catch(() => undefined)
        const times: number[] = []
        let betweenError: string | undefined
        for (let i = 0; i < 5; i++) {
          const from = Math.floor(((i * 0.19 + 0.05) % 0.98) * n)
          const r = await timed(gateway, `SELECT id, x FROM t WHERE x BETWEEN ${from} AND ${from + width - 1}`)
          if (r.error || r.rows?.length !== width) betweenError ??= r.error ?? `returned ${r.rows?.length} rows, not ${width}`
          times.push(r.seconds * 1000)
        }
        const betweenMs = quantile(times, 0.5)
        console.log(`  indexed BETWEEN returning ${width} rows (1%): median ${betweenMs.toFixed(1)} ms of 5 (${times.map((t) => t.toFixed(0)).join(', ')} ms) (aim ≤ ${AIMS.betweenMs}: ${met(betweenMs <= AIMS.betweenMs && !betweenError)})${betweenError ? ` — FAILED: ${betweenError}` : ''}`)
        if (plan) console.log(`    plan: ${plan.rows.map((r) => String(r[0])).join(' | ')}`)
      } finally {
        gateway.close()
      }

      // The join: two tables of joinRows rows, joined on a non-key column (every row matches one).
      const j = o.joinRows
      for (const name of ['j1', 'j2']) await sessions[0]!.query(`CREATE TABLE ${name} (k INT PRIMARY KEY, v INT NOT NULL)`)
      const jStep = [7919, 7927, 7933, 7937].filter((p) => gcd(p, j) === 1)
      const tj = performance.now()
      await loadRows(sessions, 'j1', 'k, v', j, (i) => `(${i}, ${(i * jStep[0]!) % j})`, () => undefined)
      await loadRows(sessions, 'j2', 'k, v', j, (i) => `(${i}, ${(i * jStep[1]!) % j})`, () => undefined)
      console.log(`  join tables: 2 × ${j} rows loaded in ${((performance.now() - tj) / 1000).toFixed(1)} s`)
      const joinGatewayId = await busiestNode(cluster)
      const joinGateway = await session(cluster.sqlAddress(joinGatewayId))
      try {
        const sql = 'SELECT COUNT(*) FROM j1 JOIN j2 ON j1.v = j2.v'
        const plan = await joinGateway.query(`EXPLAIN ${sql}`).catch(() => undefined)
        rss.mark()
        const r = await timed(joinGateway, sql)
        await rss.sample()
        const wrong = r.error ?? (Number(r.rows?.[0]?.[0]) === j ? undefined : `counted ${String(r.rows?.[0]?.[0])}, not ${j}`)
        console.log(`  join ${j} × ${j} (COUNT(*), equality on a non-key column): ${r.seconds.toFixed(2)} s (aim ≤ ${AIMS.joinSeconds}: ${met(r.seconds <= AIMS.joinSeconds && !wrong)})${wrong ? ` — FAILED: ${wrong}` : ''}; gateway (node ${joinGatewayId}) peak RSS ${mib(rss.peakSinceMark(`node ${joinGatewayId}`))}`)
        if (plan) console.log(`    plan: ${plan.rows.map((row) => String(row[0])).join(' | ')}`)
      } finally {
        joinGateway.close()
      }
    } finally {
      for (const s of sessions) s.close()
    }
  } finally {
    await rss.sample()
    await stopGracefully(cluster)
  }
}

/** The churn part, on its own cluster with a short GC TTL. */
async function churn(o: BigTableOptions, rss: RssSampler): Promise<void> {
  const k = o.churnKeys
  console.log(`Churn: ${k} keys updated ${o.churnUpdates} times each, then GC (a fresh 3-node cluster, --gc-ttl-seconds ${o.gcTtlSeconds})`)
  const cluster = await ProcessCluster.start({ nodes: 3, startArgs: ['--gc-ttl-seconds', String(o.gcTtlSeconds)] })
  try {
    for (const id of [1, 2, 3]) rss.watch(`churn node ${id}`, cluster.pid(id))
    const sessions = await Promise.all(Array.from({ length: LOADERS }, (_, i) => session(cluster.sqlAddresses()[i % 3]!)))
    try {
      await sessions[0]!.query('CREATE TABLE g (id INT PRIMARY KEY, v INT NOT NULL, pad TEXT NOT NULL)')
      await loadRows(sessions, 'g', 'id, v, pad', k, (i) => `(${i}, 0, '${pad(i)}')`, () => undefined)
      const reader = sessions[0]!
      const pointRead = async (): Promise<number> => {
        const times: number[] = []
        for (let i = 0; i < 200; i++) {
          const id = Math.floor(Math.random() * k)
          const t0 = performance.now()
          await reader.query(`SELECT v FROM g WHERE id = ${id}`)
          times.push(performance.now() - t0)
        }
        return quantile(times, 0.5)
      }
      const measure = async () => ({ disk: await clusterDisk(cluster), bytes: await rangeBytes(cluster), readMs: await pointRead() })
      const show = (label: string, m: Awaited<ReturnType<typeof measure>>) =>
        console.log(`  ${label.padEnd(12)} disk ${showDisk(m.disk)} (3 nodes), ranges' live ${mib(m.bytes.live)} garbage ${mib(m.bytes.garbage)}, point read p50 ${m.readMs.toFixed(2)} ms`)
      const fresh = await measure()
      show('fresh', fresh)
      const t0 = performance.now()
      const blocks = Math.ceil(k / ROWS_PER_STATEMENT)
      for (let round = 0; round < o.churnUpdates; round++) {
        let next = 0
        await Promise.all(
          sessions.map(async (s) => {
            while (next < blocks) {
              const b = next++
              for (let attempt = 0; ; attempt++) {
                try {
                  await s.query(`UPDATE g SET v = v + 1 WHERE id >= ${b * ROWS_PER_STATEMENT} AND id < ${(b + 1) * ROWS_PER_STATEMENT}`)
                  break
                } catch (err) {
                  if (attempt >= 5) throw err
                }
              }
            }
          }),
        )
      }
      console.log(`  ${k * o.churnUpdates} row updates in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      const churned = await measure()
      show('after churn', churned)
      // GC: wait until the ranges' garbage is gone (below a tenth of what the churn left, or of the live bytes), 300 s at most.
      const tg = performance.now()
      const deadline = Date.now() + 300_000
      let bytes = churned.bytes
      while (Date.now() < deadline && bytes.garbage > Math.max(churned.bytes.garbage / 10, fresh.bytes.live / 10, 64 * 1024)) {
        await new Promise((r) => setTimeout(r, 2000))
        bytes = await rangeBytes(cluster)
      }
      console.log(`  GC: garbage ${mib(churned.bytes.garbage)} → ${mib(bytes.garbage)} in ${((performance.now() - tg) / 1000).toFixed(1)} s`)
      // Space comes back after the collection (compactions, log cuts): wait until the disk stops shrinking, 60 s at most.
      const settleBy = Date.now() + 60_000
      for (let last = totalOf(await clusterDisk(cluster)); Date.now() < settleBy; ) {
        await new Promise((r) => setTimeout(r, 5000))
        const now = totalOf(await clusterDisk(cluster))
        if (now > last * 0.98) break
        last = now
      }
      const collected = await measure()
      show('after GC', collected)
      for (const id of [1, 2, 3]) {
        console.log(`  node ${id} after GC, by span:`)
        for (const line of formatSpans(await spanBytes(cluster.dataDir(id)))) console.log(`    ${line}`)
      }
      const diskRatio = totalOf(collected.disk) / totalOf(fresh.disk)
      const readRatio = collected.readMs / fresh.readMs
      console.log(`  after GC ÷ fresh: disk ${diskRatio.toFixed(2)}× (aim ≤ ${AIMS.gcRatio}: ${met(diskRatio <= AIMS.gcRatio)}), point read ${readRatio.toFixed(2)}× (aim ≤ ${AIMS.gcRatio}: ${met(readRatio <= AIMS.gcRatio)})`)
    } finally {
      for (const s of sessions) s.close()
    }
  } finally {
    await rss.sample()
    await stopGracefully(cluster, o.keepData)
  }
}

/** Runs the big-table benchmark and prints its figures (see the file comment). */
export async function bigTableBench(o: BigTableOptions): Promise<void> {
  const rss = new RssSampler()
  const t0 = performance.now()
  try {
    if (!o.churnOnly) await bigTable(o, rss)
    if (o.churnKeys > 0 && o.churnUpdates > 0) await churn(o, rss)
  } finally {
    rss.stop()
  }
  const peaks = [...rss.peak].map(([name, bytes]) => `${name} ${mib(bytes)}`).join(', ')
  const max = Math.max(0, ...rss.peak.values())
  console.log(`Node RSS, the most sampled: ${peaks} (aim < 1 GiB each: ${met(max < AIMS.rssBytes)})`)
  console.log(`The big-table benchmark took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}

/** Stops the nodes with SIGTERM first (a node run with --cpu-prof through $MRDB_NODE_EXEC_ARGV writes its profile), then removes the cluster. */
async function stopGracefully(cluster: ProcessCluster, keepData?: string): Promise<void> {
  await Promise.all([1, 2, 3].map((id) => cluster.terminate(id).catch(() => undefined)))
  if (keepData !== undefined) {
    await cp(cluster.dir, keepData, { recursive: true })
    console.log(`  the cluster's directory is kept in ${keepData}`)
  }
  await cluster.stop()
}

/** A 64-character filler for row `i` (rows of about 100 bytes). */
function pad(i: number): string {
  return `row-${i}-`.padEnd(64, 'abcdefghijklmnopqrstuvwxyz')
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

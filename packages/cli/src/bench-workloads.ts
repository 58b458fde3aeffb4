// The workloads of `mrdb bench kv|sql`, run against a cluster that is already running:
// closed-loop clients (each waits for its previous operation) for a fixed time, measuring
// throughput and latency. KV: random puts and linearizable gets of 256-byte values. SQL:
// single-row inserts, point and 100-row range selects by primary key, and two-update
// transactions, on a table of preloaded rows.
// They live here, not in @mrdb/bench, because that package depends on this one (for its
// process clusters) and on etcd's client: @mrdb/bench can import these from `@mrdb/cli/bench`.

import { KvClient } from '@mrdb/kv'
import { SqlClient } from '@mrdb/server'
import { sqlAddressOf } from './sql-target.js'

/** What one workload measured. */
export interface WorkloadResult {
  name: string
  ops: number
  seconds: number
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  errors: number
  /** The first error's message, if any. */
  firstError?: string
}

/** Options of {@link kvWorkloads} and {@link sqlWorkloads}. */
export interface BenchOptions {
  /** Nodes to spread the clients over. */
  hosts: string[]
  clients: number
  seconds: number
  /**
   * Untimed seconds of each SQL workload run before its timed phase (and before its progress
   * line), so that the timed phase starts with the gateways' JIT and caches warm, as the KV
   * workloads' warm-up does. Default 0.
   */
  warmupSeconds?: number
  /** Called as each workload starts. */
  progress?: (line: string) => void
}

/** Nearest-rank percentile `p` (0–100) of ascending `sorted`; 0 when empty. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
}

/** Runs `op(client)` in `clients` closed loops for `seconds`; latencies of the operations that succeeded. */
export async function closedLoop(name: string, clients: number, seconds: number, op: (client: number) => Promise<void>): Promise<WorkloadResult> {
  const latencies: number[] = []
  let errors = 0
  let firstError: string | undefined
  const start = performance.now()
  const end = start + seconds * 1000
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (performance.now() < end) {
        const t0 = performance.now()
        try {
          await op(client)
          latencies.push(performance.now() - t0)
        } catch (err) {
          errors++
          firstError ??= `${(err as { code?: string }).code ?? 'ERROR'}: ${err instanceof Error ? err.message : String(err)}`
        }
      }
    }),
  )
  const elapsed = (performance.now() - start) / 1000
  const sorted = Float64Array.from(latencies).sort()
  const result: WorkloadResult = { name, ops: latencies.length, seconds: elapsed, opsPerSec: latencies.length / elapsed, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), errors }
  if (firstError !== undefined) result.firstError = firstError
  return result
}

const KEY_SPACE = 10_000
const VALUE = 'x'.repeat(256)
const benchKey = (i: number) => `mrdb-bench/${String(i).padStart(8, '0')}`

/** `kv put` and `kv get` (keys written first, untimed). */
export async function kvWorkloads(o: BenchOptions): Promise<WorkloadResult[]> {
  const kv = new KvClient({ hosts: o.hosts })
  const random = () => Math.floor(Math.random() * KEY_SPACE)
  try {
    o.progress?.(`kv put: ${o.clients} clients, ${o.seconds} s`)
    const put = await closedLoop('kv put', o.clients, o.seconds, () => kv.put(benchKey(random()), VALUE))
    o.progress?.(`preloading ${KEY_SPACE} keys`)
    for (let from = 0; from < KEY_SPACE; from += 500) await kv.batch(Array.from({ length: 500 }, (_, i) => ({ key: benchKey(from + i), value: VALUE })))
    o.progress?.(`kv get: ${o.clients} clients, ${o.seconds} s`)
    const get = await closedLoop('kv get', o.clients, o.seconds, async () => {
      if ((await kv.get(benchKey(random()))) === undefined) throw new Error('a preloaded key is missing')
    })
    return [put, get]
  } finally {
    kv.close()
  }
}

/** The table the SQL workloads use; dropped and created again at the start. */
export const SQL_BENCH_TABLE = 'mrdb_bench'
const ROWS = 5000

/** `sql insert`, `sql point select`, `sql range select` and `sql txn` on {@link SQL_BENCH_TABLE}. */
export async function sqlWorkloads(o: BenchOptions): Promise<WorkloadResult[]> {
  const sqlHosts = await Promise.all(o.hosts.map(sqlAddressOf))
  const sessions = Array.from({ length: o.clients }, (_, i) => new SqlClient(sqlHosts[i % sqlHosts.length]!))
  const random = () => Math.floor(Math.random() * ROWS)
  const t = SQL_BENCH_TABLE
  try {
    const admin = sessions[0]!
    if ((await admin.query('SHOW TABLES')).rows.some(([name]) => name === t)) await admin.query(`DROP TABLE ${t}`)
    await admin.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, v TEXT)`)
    o.progress?.(`preloading ${ROWS} rows into ${t}`)
    for (let from = 0; from < ROWS; from += 250) await admin.query(`INSERT INTO ${t} (id, v) VALUES ${Array.from({ length: 250 }, (_, i) => `(${from + i}, '${VALUE}')`).join(', ')}`)
    const results: WorkloadResult[] = []
    const run = async (name: string, op: (s: SqlClient, client: number) => Promise<void>) => {
      if ((o.warmupSeconds ?? 0) > 0) await closedLoop(`${name} warm-up`, o.clients, o.warmupSeconds!, (c) => op(sessions[c]!, c))
      o.progress?.(`${name}: ${o.clients} clients, ${o.seconds} s`)
      results.push(await closedLoop(name, o.clients, o.seconds, (c) => op(sessions[c]!, c)))
    }
    let nextId = ROWS
    await run('sql insert', async (s) => void (await s.query(`INSERT INTO ${t} (id, v) VALUES (${nextId++}, '${VALUE}')`)))
    await run('sql point select', async (s) => {
      if ((await s.query(`SELECT id, v FROM ${t} WHERE id = ${random()}`)).rows.length !== 1) throw new Error('a preloaded row is missing')
    })
    await run('sql range select', async (s) => {
      const from = Math.floor(Math.random() * (ROWS - 100))
      const n = (await s.query(`SELECT id, v FROM ${t} WHERE id >= ${from} AND id < ${from + 100}`)).rows.length
      if (n !== 100) throw new Error(`a range read ${n} rows, not 100`)
    })
    await run('sql txn', async (s, c) => {
      await s.query('BEGIN')
      try {
        await s.query(`UPDATE ${t} SET v = 'a${c}' WHERE id = ${random()}`)
        await s.query(`UPDATE ${t} SET v = 'b${c}' WHERE id = ${random()}`)
        await s.query('COMMIT')
      } catch (err) {
        await s.query('ROLLBACK').catch(() => undefined)
        throw err
      }
    })
    return results
  } finally {
    for (const s of sessions) s.close()
  }
}

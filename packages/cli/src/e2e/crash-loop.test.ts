// The crash-recovery loop on real node processes: writers put unique keys, write batches,
// bump compare-and-swap counters and insert SQL rows while nodes are killed with SIGKILL round
// after round — one node, a majority, or the whole cluster at once (a power cut) — and restarted
// on their data. Every write the cluster acknowledged must read back with its exact value
// afterwards, no read may ever see a counter below its last acknowledged value, and every
// range's replicas must end with the same data.
//
// The kill schedule (victims, pauses) comes from a seeded PRNG; the seed is printed, and
// CRASH_LOOP_SEED=<seed> replays the schedule (the processes' own timing still varies).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { KvClient } from '@mrdb/kv'
import { SeededRng } from '@mrdb/raft'
import { CONNECTION_FAILURE, SqlClient } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'
import { nodeStatus, waitFor } from './helpers.js'

const NODES = 3
const RANGES = 6
/**
 * Rounds of kills. 20 (16 single, 2 majority, 2 whole-cluster rounds) keep the suite within
 * its time: 30 took 300 s of a loaded CI machine. CRASH_LOOP_KILLS runs more, e.g. 200 overnight.
 */
const KILLS = Number(process.env['CRASH_LOOP_KILLS'] ?? 20)
const PUT_WRITERS = 3
const BATCH_WRITERS = 2
const BATCH_SIZE = 8
const COUNTERS = 3
/** Every key this test writes starts (after its spreading byte) with this. */
const PREFIX = 'crash/'
/** How long a restarted node and the cluster get to serve again before the test gives up. */
const RECOVERY_TIMEOUT_MS = 60_000

/** A key for `name`: one byte from its hash first, so keys spread over the pre-split ranges. */
function keyOf(name: string): Buffer {
  return Buffer.concat([createHash('sha256').update(name).digest().subarray(0, 1), Buffer.from(PREFIX + name)])
}

/** The one value a key may ever hold: 64 to 1,084 bytes derived from the key. */
function valueOf(key: Uint8Array): Buffer {
  const digest = createHash('sha256').update(key).digest()
  return Buffer.from(digest.toString('hex').repeat(17).slice(0, 64 + digest[0]! * 4))
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const codeOf = (err: unknown) => String((err as { code?: unknown }).code ?? (err as Error).name ?? 'unknown')

/** {@link waitFor}, with `details()` (read once it gave up) added to its error. */
async function waitOrExplain(what: string, cond: () => Promise<boolean>, details: () => string): Promise<void> {
  try {
    await waitFor(what, cond, RECOVERY_TIMEOUT_MS)
  } catch (err) {
    throw new Error(`${(err as Error).message}; ${details()}`)
  }
}

/** What the writers did: the writes the cluster acknowledged, and those whose outcome is unknown. */
class Ledger {
  /** Acknowledged puts and batch writes: key (hex) → value. */
  readonly acked = new Map<string, Buffer>()
  /** Keys (hex) of writes that failed: each may or may not have happened. */
  readonly unknown = new Set<string>()
  /** Acknowledged SQL rows: id → v. */
  readonly rows = new Map<bigint, string>()
  /** Ids of SQL inserts that failed. */
  readonly unknownRows = new Set<bigint>()
  /** Failures by operation and code. */
  readonly failures = new Map<string, number>()
  /** Safety violations seen while the writers ran. */
  readonly violations: string[] = []

  fail(op: string, err: unknown): void {
    const what = `${op} ${codeOf(err)}`
    this.failures.set(what, (this.failures.get(what) ?? 0) + 1)
  }

  failed(): number {
    return [...this.failures.values()].reduce((a, b) => a + b, 0)
  }
}

/** A counter owned by one writer, bumped by compare-and-swap. */
interface Counter {
  key: Buffer
  /** The highest value a swap was acknowledged for. */
  acked: number
  /** The highest value a swap was sent for (acknowledged or not). */
  attempted: number
  swaps: number
}

test(`crash loop: ${KILLS} rounds of kill -9 (one node, a majority, the whole cluster) under heavy writes lose no acknowledged write`, { timeout: 600_000 }, async () => {
  const seed = process.env.CRASH_LOOP_SEED ? Number(process.env.CRASH_LOOP_SEED) : Math.floor(Math.random() * 2 ** 31)
  assert.ok(Number.isSafeInteger(seed), `CRASH_LOOP_SEED must be an integer, got ${process.env.CRASH_LOOP_SEED}`)
  console.log(`crash loop seed ${seed} (replay the schedule: CRASH_LOOP_SEED=${seed} node scripts/run-tests.mjs crash-loop)`)
  const rng = new SeededRng(seed)
  const random = () => rng.nextUint32() / 4294967296
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const started = Date.now()

  const cluster = await ProcessCluster.start({ nodes: NODES, ranges: RANGES })
  const ids = Array.from({ length: NODES }, (_, i) => i + 1)
  const kv = new KvClient({ hosts: cluster.addresses() })
  const sessions: SqlClient[] = []
  const ledger = new Ledger()
  const counters: Counter[] = Array.from({ length: COUNTERS }, (_, i) => ({ key: keyOf(`counter/${i}`), acked: 0, attempted: 0, swaps: 0 }))
  let stop = false
  let probes = 0
  try {
    const setup = new SqlClient(cluster.sqlAddress(1))
    sessions.push(setup)
    await setup.query('CREATE TABLE crash_rows (id INT PRIMARY KEY, v TEXT NOT NULL)')

    const putWriter = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = keyOf(`p${w}/${i}`)
        try {
          await kv.put(key, valueOf(key))
          ledger.acked.set(key.toString('hex'), valueOf(key))
        } catch (err) {
          ledger.unknown.add(key.toString('hex'))
          ledger.fail('put', err)
        }
      }
    }
    const batchWriter = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const keys = Array.from({ length: BATCH_SIZE }, (_, j) => keyOf(`b${w}/${i}/${j}`))
        try {
          await kv.batch(keys.map((key) => ({ key, value: valueOf(key) })))
          for (const key of keys) ledger.acked.set(key.toString('hex'), valueOf(key))
        } catch (err) {
          for (const key of keys) ledger.unknown.add(key.toString('hex'))
          ledger.fail('batch', err)
        }
      }
    }
    // Each counter has one writer, so every value it reads lies between the last value it
    // was told it wrote and the last value it tried to write.
    const counterWriter = async (c: Counter) => {
      let expected: number | undefined = 0
      while (!stop) {
        try {
          if (expected === undefined) {
            const raw = await kv.get(c.key)
            expected = raw === undefined ? 0 : Number(Buffer.from(raw).toString())
            if (expected < c.acked || expected > c.attempted) ledger.violations.push(`counter ${c.key.toString()} read ${expected}, acknowledged ${c.acked}, attempted up to ${c.attempted}`)
          }
          const next: number = expected + 1
          c.attempted = Math.max(c.attempted, next)
          const res = await kv.compareAndSwap(c.key, expected === 0 ? undefined : String(expected), String(next))
          if (res.succeeded) {
            c.acked = next
            c.swaps++
            expected = next
          } else {
            const current = res.current === undefined ? 0 : Number(Buffer.from(res.current).toString())
            // Only an earlier swap whose answer was lost can have moved the counter.
            if (current < c.acked || current > c.attempted) ledger.violations.push(`counter ${c.key.toString()} swap saw ${current}, acknowledged ${c.acked}, attempted up to ${c.attempted}`)
            expected = current
          }
        } catch (err) {
          expected = undefined
          ledger.fail('cas', err)
        }
      }
    }
    // SQL inserts through a session with a running node; a broken session moves to another.
    const sqlWriter = async () => {
      let session: SqlClient | undefined
      for (let i = 1n; !stop; i++) {
        const v = valueOf(Buffer.from(`row/${i}`)).toString().slice(0, 100)
        try {
          if (!session) {
            const running = ids.filter((id) => cluster.isRunning(id))
            session = new SqlClient(cluster.sqlAddress(running[Number(i) % running.length] ?? 1))
            sessions.push(session)
          }
          await session.query(`INSERT INTO crash_rows (id, v) VALUES (${i}, '${v}')`)
          ledger.rows.set(i, v)
        } catch (err) {
          ledger.unknownRows.add(i)
          ledger.fail('insert', err)
          if (codeOf(err) === CONNECTION_FAILURE) {
            session?.close()
            session = undefined
          }
          await sleep(100)
        }
      }
    }
    const writers = Promise.all([
      ...Array.from({ length: PUT_WRITERS }, (_, w) => putWriter(w)),
      ...Array.from({ length: BATCH_WRITERS }, (_, w) => batchWriter(w)),
      ...counters.map((c) => counterWriter(c)),
      sqlWriter(),
    ])

    // Until a node serves again: it lists its replicas, each knows its leader, and a write
    // reaches every range (a quorum everywhere).
    const probe = new KvClient({ hosts: cluster.addresses() })
    const serving = async (victims: number[], round: number) => {
      for (const id of victims) {
        await waitOrExplain(
          `node ${id} to rejoin its ranges after kill round ${round} (seed ${seed})`,
          async () => {
            const st = await nodeStatus(cluster.address(id))
            return (st.ranges ?? []).length >= RANGES && st.ranges!.every((r) => r.leaderReplica > 0)
          },
          () => `its log:\n${cluster.logs(id).slice(-4000)}`,
        )
      }
      let lastError: unknown
      await waitOrExplain(
        `a write to every range after kill round ${round} (seed ${seed})`,
        async () => {
          // One key in each pre-split range.
          const keys = Array.from({ length: RANGES }, (_, r) => Buffer.concat([Uint8Array.of(Math.floor((256 * r) / RANGES) + 1), Buffer.from(`${PREFIX}probe/${round}/${r}`)]))
          try {
            await probe.batch(keys.map((key) => ({ key, value: valueOf(key) })))
          } catch (err) {
            for (const key of keys) ledger.unknown.add(key.toString('hex'))
            lastError = err
            return false
          }
          for (const key of keys) ledger.acked.set(key.toString('hex'), valueOf(key))
          probes++
          return true
        },
        () => `last error: ${String(lastError)}`,
      )
    }

    let killed = 0
    const rounds = { one: 0, majority: 0, all: 0 }
    /** Per round, from the restart to the nodes listening, and to the cluster serving again, in ms. */
    const startups: number[] = []
    const recoveries: number[] = []
    const loopStarted = Date.now()
    try {
      for (let round = 1; round <= KILLS; round++) {
        await sleep(between(50, 400))
        // Every fifth round takes down more than one node: alternately a majority and all.
        const size = round % 5 !== 0 ? 1 : round % 10 === 0 ? NODES : Math.floor(NODES / 2) + 1
        const victims = [...ids].sort(() => random() - 0.5).slice(0, size)
        await Promise.all(victims.map((id) => cluster.kill(id)))
        killed += victims.length
        rounds[size === 1 ? 'one' : size === NODES ? 'all' : 'majority']++
        await sleep(between(0, 200))
        const restarted = Date.now()
        await Promise.all(victims.map((id) => cluster.startNode(id)))
        startups.push(Date.now() - restarted)
        await serving(victims, round)
        recoveries.push(Date.now() - restarted)
      }
    } finally {
      stop = true
      await writers
      probe.close()
    }
    const loopSeconds = ((Date.now() - loopStarted) / 1000).toFixed(0)

    // A fresh client reads everything back.
    const reader = new KvClient({ hosts: cluster.addresses(), timeoutMs: 30_000 })
    try {
      // One scan per leading byte, over this test's keys only: a raw KV read waits for a
      // transaction's lock to go, and only a SQL reader resolves the locks a killed gateway
      // left on the SQL rows.
      const stored = new Map<string, Buffer>()
      for (let b = 0; b < 256; b++) {
        const span = (suffix: string) => Buffer.concat([Uint8Array.of(b), Buffer.from(suffix)])
        for (const [k, v] of await reader.scan(span(PREFIX), span(PREFIX.slice(0, -1) + '0'), 10_000_000)) stored.set(Buffer.from(k).toString('hex'), Buffer.from(v))
      }
      const lost = [...ledger.acked].filter(([k, v]) => !stored.get(k)?.equals(v)).map(([k]) => Buffer.from(k, 'hex').toString())
      assert.deepEqual(lost.slice(0, 20), [], `${lost.length} of ${ledger.acked.size} acknowledged writes lost or changed (seed ${seed})`)
      const counterKeys = new Set(counters.map((c) => c.key.toString('hex')))
      const stray = [...stored].filter(([k, v]) => !counterKeys.has(k) && (!v.equals(valueOf(Buffer.from(k, 'hex'))) || (!ledger.acked.has(k) && !ledger.unknown.has(k))))
      assert.deepEqual(stray.map(([k]) => Buffer.from(k, 'hex').toString()).slice(0, 20), [], `keys nobody wrote, or with a value nobody wrote, after the crash loop (seed ${seed})`)

      for (const c of counters) {
        const raw = await reader.get(c.key)
        const value = raw === undefined ? 0 : Number(Buffer.from(raw).toString())
        assert.ok(value >= c.acked && value <= c.attempted, `counter ${c.key.toString()} is ${value}: acknowledged ${c.acked}, attempted up to ${c.attempted} (seed ${seed})`)
      }
      assert.deepEqual(ledger.violations, [], `reads during the crash loop (seed ${seed})`)

      const sql = new SqlClient(cluster.sqlAddress(1))
      sessions.push(sql)
      const rows = new Map((await sql.query('SELECT id, v FROM crash_rows')).rows.map(([id, v]) => [id as bigint, v as string]))
      const lostRows = [...ledger.rows].filter(([id, v]) => rows.get(id) !== v).map(([id]) => id)
      assert.deepEqual(lostRows.slice(0, 20), [], `${lostRows.length} of ${ledger.rows.size} acknowledged SQL rows lost or changed (seed ${seed})`)
      const strayRows = [...rows.keys()].filter((id) => !ledger.rows.has(id) && !ledger.unknownRows.has(id))
      assert.deepEqual(strayRows, [], `SQL rows nobody inserted (seed ${seed})`)

      // Once caught up, every replica of every range holds the same data.
      const ranges = (await reader.describe()).ranges ?? []
      for (const { descriptor } of ranges) {
        const replicas = descriptor.replicas.filter((r) => r.role === 'voter').map((r) => r.nodeId)
        let last = ''
        await waitOrExplain(
          `the replicas of range ${descriptor.rangeId} to agree (seed ${seed})`,
          async () => {
            const sums = await Promise.all(replicas.map((n) => reader.checksum(descriptor.rangeId, n)))
            last = sums.map((s, i) => `node ${replicas[i]}: ${s.appliedIndex}/${s.checksum}/${s.keys}`).join(', ')
            return new Set(sums.map((s) => `${s.appliedIndex}/${s.checksum}`)).size === 1
          },
          () => `last checksums: ${last}`,
        )
      }
      const failures = [...ledger.failures].map(([what, n]) => `${what} ×${n}`).join(', ') || 'none'
      const swaps = counters.reduce((n, c) => n + c.swaps, 0)
      console.log(
        `crash loop (seed ${seed}): ${KILLS} rounds in ${loopSeconds} s killed ${killed} processes (${rounds.one} single, ${rounds.majority} majority, ${rounds.all} whole-cluster); ` +
          `median restart: processes up in ${median(startups)} ms, cluster serving in ${median(recoveries)} ms (max ${Math.max(...recoveries)} ms); ` +
          `acknowledged ${ledger.acked.size} keys (${probes} probe batches), ${swaps} swaps, ${ledger.rows.size} SQL rows; ${ledger.failed()} failed or ambiguous (${failures}); ` +
          `${ranges.length} ranges agree; ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
      )
    } finally {
      reader.close()
    }
  } finally {
    stop = true
    for (const s of sessions) s.close()
    kv.close()
    await cluster.stop()
  }
})

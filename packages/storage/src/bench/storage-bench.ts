/**
 * `pnpm bench:storage`: @mrdb/storage next to raw classic-level, in one run, on the same
 * machine and workload. Prints ops/s for each and the ratio mrdb/raw (higher is better, except
 * for the MVCC read line, which compares an MVCC point read with a raw get).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { open, type Engine } from '../engine.js'
import { MvccStore } from '../mvcc.js'
import { SeededRandom } from '../testing/random.js'

const KEYS = 100_000
const PUTS = 50_000
const GETS = 50_000
const SYNC_BATCHES = 300
const SCANS = 200
const IN_FLIGHT = 32
const ROUNDS = 3

type Raw = ClassicLevel<Uint8Array, Uint8Array>

const rng = new SeededRandom(42)
const keyOf = (i: number) => Buffer.from(`user/${String(i).padStart(8, '0')}`)
const value100 = rng.bytes(100)
const randomKeys = Array.from({ length: Math.max(PUTS, GETS) }, () => keyOf(rng.int(KEYS)))

/** Runs calls `from`..`to`-1 of `op` with `inFlight` outstanding at a time; returns seconds taken. */
async function timed(from: number, to: number, op: (i: number) => Promise<unknown>, inFlight: number): Promise<number> {
  let next = from
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < to) await op(next++)
    }),
  )
  return Number(process.hrtime.bigint() - start) / 1e9
}

/**
 * Ops/s of two implementations of one workload of `n` calls, run in alternating slices so
 * that both meet the same background noise of this shared machine.
 */
async function compare(n: number, a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>, inFlight: number): Promise<[number, number]> {
  const slices = 20
  let ta = 0
  let tb = 0
  for (let s = 0; s < slices; s++) {
    const from = Math.floor((s * n) / slices)
    const to = Math.floor(((s + 1) * n) / slices)
    ta += await timed(from, to, a, inFlight)
    tb += await timed(from, to, b, inFlight)
  }
  return [n / ta, n / tb]
}

async function load(put: (ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < KEYS; i += 1000) {
    await put(Array.from({ length: 1000 }, (_, j) => ({ type: 'put' as const, key: keyOf(i + j), value: value100 })))
  }
}

interface Side {
  puts: (i: number) => Promise<unknown>
  syncBatch: (i: number) => Promise<unknown>
  get: (i: number) => Promise<unknown>
  scan1000: (i: number) => Promise<unknown>
}

function rawSide(db: Raw): Side {
  return {
    puts: (i) => db.put(randomKeys[i]!, value100),
    syncBatch: (i) => db.batch(batchOps(i), { sync: true }),
    get: (i) => db.get(randomKeys[i]!),
    scan1000: async (i) => {
      let n = 0
      for await (const _ of db.iterator({ gte: keyOf((i * 397) % (KEYS - 1000)), limit: 1000 })) n++
      return n
    },
  }
}

function mrdbSide(db: Engine): Side {
  return {
    puts: (i) => db.put(randomKeys[i]!, value100),
    syncBatch: (i) => db.batch(batchOps(i), { sync: true }),
    get: (i) => db.get(randomKeys[i]!),
    scan1000: async (i) => {
      let n = 0
      for await (const _ of db.scan({ gte: keyOf((i * 397) % (KEYS - 1000)), limit: 1000 })) n++
      return n
    },
  }
}

function batchOps(i: number) {
  return Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: keyOf((i * 100 + j) % KEYS), value: value100 }))
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-bench-storage-'))
  try {
    const raw: Raw = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'raw'), { keyEncoding: 'view', valueEncoding: 'view' })
    await raw.open()
    const engine = await open(join(dir, 'mrdb'))
    const mvcc = new MvccStore(engine)
    await load((ops) => raw.batch(ops))
    await load((ops) => engine.batch(ops))
    for (let i = 0; i < KEYS; i += 1000) {
      await mvcc.write(async (w) => {
        for (let j = 0; j < 1000; j++) await w.put(keyOf(i + j), value100, 10n)
      })
    }
    const sides = { raw: rawSide(raw), mrdb: mrdbSide(engine) }
    const rows: Array<[string, keyof Side, number]> = [
      ['random 100-byte puts, no sync', 'puts', PUTS],
      ['sync batches of 100 puts (batches/s)', 'syncBatch', SYNC_BATCHES],
      ['point gets', 'get', GETS],
      ['1,000-key scans (scans/s)', 'scan1000', SCANS],
    ]
    const best = new Map<string, number>()
    const keep = (name: string, v: number) => best.set(name, Math.max(best.get(name) ?? 0, v))
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, op, n] of rows) {
        // Sync batches are sequential, as a Raft loop issues them.
        const inFlight = op === 'syncBatch' ? 1 : op === 'scan1000' ? 4 : IN_FLIGHT
        const [r, m] = await compare(n, sides.raw[op], sides.mrdb[op], inFlight)
        keep(`raw ${label}`, r)
        keep(`mrdb ${label}`, m)
      }
      const [r, m] = await compare(GETS, sides.raw.get, (i) => mvcc.get(randomKeys[i]!, 20n), IN_FLIGHT)
      keep('raw get (for MVCC)', r)
      keep('mvcc get', m)
    }
    await raw.close()
    await engine.close()

    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12)
    console.log(`@mrdb/storage vs raw classic-level — ${KEYS.toLocaleString('en-US')} keys, best of ${ROUNDS} rounds, ${IN_FLIGHT} in flight`)
    console.log(`${'workload'.padEnd(40)}${'raw ops/s'.padStart(12)}${'mrdb ops/s'.padStart(12)}   mrdb/raw`)
    for (const [label] of rows) {
      const r = best.get(`raw ${label}`)!
      const m = best.get(`mrdb ${label}`)!
      console.log(`${label.padEnd(40)}${fmt(r)}${fmt(m)}   ${(m / r).toFixed(2)}`)
    }
    const rawGet = best.get('raw get (for MVCC)')!
    const mvccGet = best.get('mvcc get')!
    console.log(`${'MVCC point read vs raw get'.padEnd(40)}${fmt(rawGet)}${fmt(mvccGet)}   ${(mvccGet / rawGet).toFixed(2)}`)
    const syncRatio = best.get('mrdb sync batches of 100 puts (batches/s)')! / best.get('raw sync batches of 100 puts (batches/s)')!
    console.log('')
    console.log(`aim: MVCC point read costs ≤ 1.5× a raw get  → ${(rawGet / mvccGet).toFixed(2)}× ${rawGet / mvccGet <= 1.5 ? 'met' : 'NOT met'}`)
    console.log(`aim: batched sync writes ≥ 90% of raw        → ${(syncRatio * 100).toFixed(0)}% ${syncRatio >= 0.9 ? 'met' : 'NOT met'}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()

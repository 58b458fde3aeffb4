import type { KvTarget } from './kv-target.js'

/** What a workload does on each operation. */
export type WorkloadKind = 'put' | 'get'

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  /** Number of concurrent closed-loop clients (each has one request in flight). Default 64. */
  readonly clients?: number
  /**
   * How long the timed phase runs, in seconds. The run stops at whichever of `seconds` and
   * `ops` comes first; when neither is given it runs for 10 s.
   */
  readonly seconds?: number
  /** Total number of operations to issue in the timed phase (across all clients). */
  readonly ops?: number
  /** Size of every value written, in bytes. Default 256. */
  readonly valueBytes?: number
  /** Number of distinct keys; keys are drawn uniformly from it. Default 100,000. */
  readonly keySpace?: number
  /** 'put' writes random keys; 'get' preloads the key space (untimed), then reads random keys. */
  readonly kind: WorkloadKind
  /** Seed of the PRNG that picks keys and value bytes, so runs are repeatable. Default 1. */
  readonly seed?: number
  /**
   * Seconds of untimed warm-up with the same clients and operation before the timed phase (JIT,
   * connections, caches); its results are discarded, except that its failures are ignored too.
   * Default 0.
   */
  readonly warmupSeconds?: number
  /** Clients used to preload the key space for 'get' (untimed). Defaults to `clients`. */
  readonly preloadClients?: number
  /**
   * Upper bound of latency samples kept (reservoir sampling beyond it), so memory stays bounded
   * however long the run. Default 1,000,000.
   */
  readonly maxSamples?: number
  /** Awaited once preload and warm-up are done, right before the timed phase (to read counters around it). */
  readonly beforeTimed?: () => Promise<void>
}

/** Outcome of {@link runWorkload}. */
export interface WorkloadResult {
  /** System name, copied from the target. */
  readonly system: string
  /** The workload kind that ran. */
  readonly kind: WorkloadKind
  /** Operations that completed successfully in the timed phase. */
  readonly ops: number
  /** Wall-clock length of the timed phase, in seconds. */
  readonly seconds: number
  /** `ops / seconds`. */
  readonly opsPerSec: number
  /** Median latency of successful operations, in milliseconds (0 when there were none). */
  readonly p50Ms: number
  /** 99th-percentile latency of successful operations, in milliseconds (0 when none). */
  readonly p99Ms: number
  /** Operations that rejected (timed phase only; preload errors throw instead). */
  readonly errors: number
  /** For 'get': reads that found no value although the key had been preloaded. */
  readonly misses: number
  /**
   * CPU time this process spent during the timed phase (user + system, all threads), in
   * seconds: the client's own cost, which competes with the system under test on a small machine.
   */
  readonly cpuSeconds: number
  /** The first error seen in the timed phase, if any, to help explain `errors`. */
  readonly firstError?: unknown
}

/** Thrown when the workload cannot run (bad options, or the untimed preload failed). */
export class WorkloadError extends Error {
  /** Creates the error; `cause` is the underlying failure, if any. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WorkloadError'
  }
}

/** Bytes in a benchmark key: one spread byte followed by an 8-byte big-endian index. */
export const KEY_BYTES = 9

/**
 * The key of index `i` (0 ≤ i < key space). The first byte is a hash of the index, so keys
 * spread uniformly over 0x00–0xff (mrdb pre-splits ranges on the first byte); the index in
 * big-endian follows, so keys are distinct.
 */
export function benchKey(i: number): Uint8Array {
  if (!Number.isSafeInteger(i) || i < 0) throw new WorkloadError(`key index must be a non-negative safe integer, got ${i}`)
  const key = new Uint8Array(KEY_BYTES)
  key[0] = mix32(i) & 0xff
  const high = Math.floor(i / 0x1_0000_0000)
  const low = i >>> 0
  for (let b = 0; b < 4; b++) {
    key[4 - b] = (high >>> (8 * b)) & 0xff
    key[8 - b] = (low >>> (8 * b)) & 0xff
  }
  return key
}

/** A small fast seeded PRNG (mulberry32): returns a function yielding floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Value of percentile `p` (0–100) of ascending `sorted`, nearest-rank; 0 when empty. */
export function percentile(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1))
  return sorted[index] ?? 0
}

function mix32(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  return (h ^ (h >>> 16)) >>> 0
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256)
  return bytes
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new WorkloadError(`${name} must be a positive integer, got ${value}`)
  }
  return value
}

/**
 * Runs one workload against `target` and measures it. `clients` async loops each issue one
 * request at a time (closed loop) until the time or operation budget is spent; the result
 * counts only the timed phase. For 'get', every key of the key space is written first, untimed.
 * Does not close the target. Never rejects because of individual operation failures (they are
 * counted in `errors`); rejects with {@link WorkloadError} for bad options or a failed preload.
 */
export async function runWorkload(target: KvTarget, options: WorkloadOptions): Promise<WorkloadResult> {
  const clients = positiveInt('clients', options.clients ?? 64)
  const valueBytes = options.valueBytes ?? 256
  if (!Number.isInteger(valueBytes) || valueBytes < 0) {
    throw new WorkloadError(`valueBytes must be a non-negative integer, got ${valueBytes}`)
  }
  const keySpace = positiveInt('keySpace', options.keySpace ?? 100_000)
  const maxOps = options.ops === undefined ? Number.POSITIVE_INFINITY : positiveInt('ops', options.ops)
  const seconds = options.seconds ?? (options.ops === undefined ? 10 : Number.POSITIVE_INFINITY)
  if (!(seconds > 0)) throw new WorkloadError(`seconds must be positive, got ${seconds}`)
  const maxSamples = positiveInt('maxSamples', options.maxSamples ?? 1_000_000)
  const random = seededRandom(options.seed ?? 1)
  const kind = options.kind

  // A pool of values, so each put does not pay for generating fresh random bytes.
  const values = Array.from({ length: 64 }, () => randomBytes(random, valueBytes))
  const valueAt = (i: number): Uint8Array => values[i % values.length] as Uint8Array

  if (kind === 'get') await preload(target, keySpace, options.preloadClients ?? clients, valueAt)

  const warmupSeconds = options.warmupSeconds ?? 0
  if (!(warmupSeconds >= 0)) throw new WorkloadError(`warmupSeconds must be non-negative, got ${warmupSeconds}`)
  if (warmupSeconds > 0) {
    const warmRandom = seededRandom((options.seed ?? 1) ^ 0x5bd1e995)
    const warmEnd = process.hrtime.bigint() + BigInt(Math.round(warmupSeconds * 1e9))
    let n = 0
    const warm = async (): Promise<void> => {
      while (process.hrtime.bigint() < warmEnd) {
        const key = benchKey(Math.floor(warmRandom() * keySpace))
        try {
          if (kind === 'put') await target.put(key, valueAt(n++))
          else await target.get(key)
        } catch {
          // warm-up failures do not count; the timed phase will show them
        }
      }
    }
    await Promise.all(Array.from({ length: clients }, warm))
  }

  await options.beforeTimed?.()
  const samples = new Float64Array(Math.min(maxSamples, Number.isFinite(maxOps) ? maxOps : maxSamples))
  let sampleCount = 0
  let ops = 0
  let issued = 0
  let errors = 0
  let misses = 0
  let firstError: unknown
  const record = (ms: number): void => {
    if (sampleCount < samples.length) samples[sampleCount++] = ms
    else {
      const slot = Math.floor(random() * (ops + 1))
      if (slot < samples.length) samples[slot] = ms
    }
  }

  const cpuStart = process.cpuUsage()
  const start = process.hrtime.bigint()
  const deadline = Number.isFinite(seconds) ? start + BigInt(Math.round(seconds * 1e9)) : undefined
  const loop = async (): Promise<void> => {
    while (issued < maxOps && (deadline === undefined || process.hrtime.bigint() < deadline)) {
      const index = Math.floor(random() * keySpace)
      const key = benchKey(index)
      issued++
      const t0 = process.hrtime.bigint()
      try {
        if (kind === 'put') await target.put(key, valueAt(issued))
        else if ((await target.get(key)) === undefined) misses++
        const ms = Number(process.hrtime.bigint() - t0) / 1e6
        record(ms)
        ops++
      } catch (err) {
        errors++
        firstError ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, loop))
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9
  const cpu = process.cpuUsage(cpuStart)

  const sorted = samples.subarray(0, sampleCount).sort()
  const result: WorkloadResult = {
    system: target.name,
    kind,
    ops,
    seconds: elapsed,
    opsPerSec: elapsed > 0 ? ops / elapsed : 0,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors,
    misses,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  }
  return firstError === undefined ? result : { ...result, firstError }
}

async function preload(
  target: KvTarget,
  keySpace: number,
  clients: number,
  valueAt: (i: number) => Uint8Array,
): Promise<void> {
  let next = 0
  const loop = async (): Promise<void> => {
    while (next < keySpace) {
      const i = next++
      try {
        await target.put(benchKey(i), valueAt(i))
      } catch (err) {
        next = keySpace
        throw new WorkloadError(`preloading key ${i} of ${target.name} failed`, { cause: err })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, clients) }, loop))
}

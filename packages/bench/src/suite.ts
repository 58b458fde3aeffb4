import type { KvTarget } from './kv-target.js'
import { toRow } from './report.js'
import type { ReportRow } from './report.js'
import { runWorkload } from './workload.js'
import type { WorkloadKind, WorkloadResult } from './workload.js'

/** One workload of a suite, run the same way against every target. */
export interface WorkloadSpec {
  /** Label in the report; rows with the same label are compared across systems. */
  readonly label: string
  /** What each operation does. */
  readonly kind: WorkloadKind
  /** Concurrent closed-loop clients. */
  readonly clients: number
  /** Length of the timed phase, seconds. */
  readonly seconds: number
  /** Value size, bytes. */
  readonly valueBytes: number
  /** Number of distinct keys. */
  readonly keySpace: number
  /** PRNG seed. */
  readonly seed: number
  /** Untimed warm-up before the timed phase, seconds. */
  readonly warmupSeconds: number
}

/** Parameters of {@link standardWorkloads}. */
export interface StandardOptions {
  /** Seconds per workload. Default 10. */
  readonly seconds?: number
  /** Clients. Default 64. */
  readonly clients?: number
  /** Value size, bytes. Default 256. */
  readonly valueBytes?: number
  /** Distinct keys (the get workload preloads them all). Default 10,000. */
  readonly keySpace?: number
  /** PRNG seed. Default 1. */
  readonly seed?: number
  /** Untimed warm-up per workload, seconds. Default 1. */
  readonly warmupSeconds?: number
}

/** The KV benchmark's workloads: put, then linearizable get, with the same clients and value size. */
export function standardWorkloads(options: StandardOptions = {}): WorkloadSpec[] {
  const clients = options.clients ?? 64
  const valueBytes = options.valueBytes ?? 256
  const common = {
    clients,
    seconds: options.seconds ?? 10,
    valueBytes,
    keySpace: options.keySpace ?? 10_000,
    seed: options.seed ?? 1,
    warmupSeconds: options.warmupSeconds ?? 1,
  }
  return [
    { label: `put ${clients}c ${valueBytes}B`, kind: 'put', ...common },
    { label: `get ${clients}c ${valueBytes}B`, kind: 'get', ...common },
  ]
}

/** A finished workload: its report row and the full result. */
export interface SuiteResult {
  /** The row for the report. */
  readonly row: ReportRow
  /** Everything runWorkload measured. */
  readonly result: WorkloadResult
}

/**
 * Runs `specs` in order against `target` (which it does not close) and returns one result per
 * spec. `onResult` is called (and awaited) after each workload, for progress output;
 * `beforeTimed` before each one's timed phase.
 */
export async function runSuite(
  target: KvTarget,
  specs: readonly WorkloadSpec[],
  onResult?: (done: SuiteResult) => void | Promise<void>,
  /** Awaited right before each workload's timed phase. */
  beforeTimed?: (spec: WorkloadSpec) => Promise<void>,
): Promise<SuiteResult[]> {
  const out: SuiteResult[] = []
  for (const spec of specs) {
    const result = await runWorkload(target, {
      kind: spec.kind,
      clients: spec.clients,
      seconds: spec.seconds,
      valueBytes: spec.valueBytes,
      keySpace: spec.keySpace,
      seed: spec.seed,
      warmupSeconds: spec.warmupSeconds,
      beforeTimed: beforeTimed && (() => beforeTimed(spec)),
    })
    const done = { row: toRow(result, spec.label), result }
    await onResult?.(done)
    out.push(done)
  }
  return out
}

import type { WorkloadResult } from './workload.js'

/** One row of the benchmark report: a system's result on one workload. */
export interface ReportRow {
  /** System under test, for example "mrdb" or "etcd". */
  readonly system: string
  /** Workload label, for example "put 64c 256B". */
  readonly workload: string
  /** Throughput, operations per second. */
  readonly opsPerSec: number
  /** Median latency, ms. */
  readonly p50Ms: number
  /** 99th-percentile latency, ms. */
  readonly p99Ms: number
  /** Failed operations. */
  readonly errors: number
}

/** The system the ratios are computed for, and the one they are relative to. */
export const SUBJECT = 'mrdb'
/** The peer the subject is compared against. */
export const PEER = 'etcd'

/** Aim: the subject's put throughput is at least the peer's (ratio ≥ 1). */
export const AIM_PUT_THROUGHPUT_RATIO = 1
/** Aim: the subject's p99 latency is at most twice the peer's (ratio ≤ 2). */
export const AIM_P99_RATIO = 2

/** A row of the ratio table: subject/peer on one workload. */
export interface RatioRow {
  /** Workload label shared by both rows. */
  readonly workload: string
  /** subject ops/s ÷ peer ops/s. */
  readonly throughputRatio: number
  /** subject p99 ÷ peer p99. */
  readonly p99Ratio: number
  /** Whether the throughput aim applies (put workloads) and is met; undefined when it does not apply. */
  readonly throughputAimMet: boolean | undefined
  /** Whether the p99 aim is met. */
  readonly p99AimMet: boolean
}

/** Turns a workload result into a report row labelled `workload`. */
export function toRow(result: WorkloadResult, workload: string): ReportRow {
  return {
    system: result.system,
    workload,
    opsPerSec: result.opsPerSec,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    errors: result.errors,
  }
}

/** Ratios subject/peer for each workload that has rows from both, in first-seen workload order. */
export function ratios(rows: readonly ReportRow[], subject = SUBJECT, peer = PEER): RatioRow[] {
  const workloads = [...new Set(rows.map((r) => r.workload))]
  const out: RatioRow[] = []
  for (const workload of workloads) {
    const mine = rows.find((r) => r.system === subject && r.workload === workload)
    const theirs = rows.find((r) => r.system === peer && r.workload === workload)
    if (mine === undefined || theirs === undefined) continue
    const throughputRatio = theirs.opsPerSec > 0 ? mine.opsPerSec / theirs.opsPerSec : Number.NaN
    const p99Ratio = theirs.p99Ms > 0 ? mine.p99Ms / theirs.p99Ms : Number.NaN
    const isPut = /^put\b/.test(workload)
    out.push({
      workload,
      throughputRatio,
      p99Ratio,
      throughputAimMet: isPut ? throughputRatio >= AIM_PUT_THROUGHPUT_RATIO : undefined,
      p99AimMet: p99Ratio <= AIM_P99_RATIO,
    })
  }
  return out
}

function table(header: string[], body: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => (row[c] ?? '').length)))
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (rightAligned[c] === true ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-')
const fmtMs = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-')
const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '-')
const fmtAim = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'met' : 'MISSED')

/**
 * Formats the report: a fixed-width table of every row (system, workload, ops/s, p50, p99,
 * errors), then, for workloads with both a subject and a peer row, the ratio table
 * subject/peer (throughput and p99) with the aims: put throughput ≥ 1× the peer's, p99 ≤ 2×.
 */
export function formatReport(rows: readonly ReportRow[], subject = SUBJECT, peer = PEER): string {
  const parts = [
    table(
      ['system', 'workload', 'ops/s', 'p50 ms', 'p99 ms', 'errors'],
      rows.map((r) => [r.system, r.workload, fmtInt(r.opsPerSec), fmtMs(r.p50Ms), fmtMs(r.p99Ms), String(r.errors)]),
      [false, false, true, true, true, true],
    ),
  ]
  const rr = ratios(rows, subject, peer)
  if (rr.length > 0) {
    parts.push(
      '',
      table(
        ['workload', `ops/s ${subject}/${peer}`, 'aim ≥1x', `p99 ${subject}/${peer}`, 'aim ≤2x'],
        rr.map((r) => [r.workload, fmtRatio(r.throughputRatio), fmtAim(r.throughputAimMet), fmtRatio(r.p99Ratio), fmtAim(r.p99AimMet)]),
        [false, true, false, true, false],
      ),
    )
  } else {
    parts.push('', `(no ${subject}/${peer} ratios: both systems must run the same workload)`)
  }
  parts.push(`aims: ${subject} put throughput >= ${peer}'s; ${subject} p99 <= ${AIM_P99_RATIO}x ${peer}'s (same run)`)
  return parts.join('\n')
}

// A statement's memory budget. The operators that hold rows beyond the one chunk they work on —
// a sort's buffer, a hash join's build side, an aggregate's groups, DISTINCT's seen set, a
// materialised subquery or common table expression, window functions' input — charge what they
// hold to the statement's MemoryAccount; once the charges pass the budget the statement fails
// with 53200 and the node goes on serving (see docs/decisions.md, "Streaming execution").
// Sizes are estimates of V8's heap use, not exact counts: close enough to bound a statement.

import { fail, SqlState } from './errors.js'
import { isArrayValue } from './types/array.js'
import type { SqlValue } from './values.js'

/** The default budget of one statement: 256 MiB. */
export const DEFAULT_MEMORY_BUDGET_BYTES = 256 * 1024 * 1024

/** The memory one statement's operators hold, checked against its budget. */
export class MemoryAccount {
  private used = 0
  private peakBytes = 0

  /** An account that lets its holders use at most `budgetBytes`. */
  constructor(readonly budgetBytes: number) {}

  /** Bytes charged now. */
  get usedBytes(): number {
    return this.used
  }

  /** The most bytes charged at once. */
  get peak(): number {
    return this.peakBytes
  }

  /** Whether `bytes` more would pass the budget (a sort spills instead of charging them). */
  wouldExceed(bytes: number): boolean {
    return this.used + bytes > this.budgetBytes
  }

  /** Charges `bytes` held by `what` (e.g. "a sort"); raises 53200 if the statement's total passes the budget. */
  charge(bytes: number, what: string): void {
    this.used += bytes
    if (this.used > this.peakBytes) this.peakBytes = this.used
    if (this.used > this.budgetBytes) {
      const used = this.used
      this.used -= bytes
      fail(SqlState.OUT_OF_MEMORY, `out of memory: ${what} needs more than the statement's memory budget of ${formatMiB(this.budgetBytes)} (sql_memory_budget_mb; ${formatMiB(used)} requested)`)
    }
  }

  /** Gives back `bytes` charged earlier (a sort that spilled its buffer, an operator that finished). */
  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes)
  }
}

function formatMiB(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`
  const mib = bytes / (1024 * 1024)
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`
}

/** Estimated heap bytes of one value (V8: 8-byte slots, small headers). */
export function valueBytes(v: SqlValue): number {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return 8
  if (typeof v === 'bigint') return 24
  if (typeof v === 'string') return 24 + v.length
  if (v instanceof Uint8Array) return 96 + v.byteLength
  if (isArrayValue(v)) return 48 + v.elements.reduce((n: number, x) => n + valueBytes(x), 0)
  // A typed value (NUMERIC, DATE, JSONB…): a small tagged object; JSONB's text dominates.
  let n = 64
  for (const x of Object.values(v)) n += typeof x === 'string' ? 24 + x.length : 16
  return n
}

/** Estimated heap bytes of one row (the array and its values). */
export function rowBytes(row: readonly SqlValue[]): number {
  let n = 32 + 8 * row.length
  for (const v of row) n += valueBytes(v)
  return n
}

/** Estimated heap bytes of `rows`. */
export function rowsBytes(rows: readonly (readonly SqlValue[])[]): number {
  let n = 0
  for (const r of rows) n += rowBytes(r)
  return n
}

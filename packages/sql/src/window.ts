// Window functions: each row gets a value computed over its partition (the rows with the same
// PARTITION BY values), in the window's ORDER BY order, with PostgreSQL's default frame — the
// whole partition without ORDER BY, else from its start through the current row's peers.

import type { AggregateFn } from './ast.js'
import { fail, SqlState } from './errors.js'
import { evaluate } from './eval.js'
import { finish, newState, sortRows, stepAggregate, type AggregateSpec, type SortKey } from './row-ops.js'
import { compareValues, rowKey, type SqlValue } from './values.js'
import type { Expr } from './ast.js'

/** The window functions that are not aggregates. */
export const RANKING_FUNCTIONS: ReadonlySet<string> = new Set(['ROW_NUMBER', 'RANK', 'DENSE_RANK', 'LAG', 'LEAD', 'FIRST_VALUE', 'LAST_VALUE'])

/** One window function call, bound to the rows it runs over. */
export interface WindowSpec {
  /** A ranking function ({@link RANKING_FUNCTIONS}) or an aggregate. */
  readonly fn: string
  readonly args: readonly Expr[]
  readonly distinct: boolean
  readonly partitionBy: readonly Expr[]
  readonly orderBy: ReadonlyArray<{ readonly expr: Expr; readonly desc: boolean; readonly nullsFirst: boolean }>
}

/** How many arguments each ranking function takes: [least, most]. */
const ARITY: Readonly<Record<string, readonly [number, number]>> = {
  ROW_NUMBER: [0, 0],
  RANK: [0, 0],
  DENSE_RANK: [0, 0],
  LAG: [1, 3],
  LEAD: [1, 3],
  FIRST_VALUE: [1, 1],
  LAST_VALUE: [1, 1],
}

/** Raises 42883 unless `fn` (upper case) is a window function taking `argCount` arguments. */
export function checkWindowCall(fn: string, argCount: number, isAggregate: boolean): void {
  if (isAggregate) return
  const arity = ARITY[fn]
  if (arity === undefined) fail(SqlState.UNDEFINED_FUNCTION, `window function ${fn.toLowerCase()} does not exist`)
  if (argCount < arity[0] || argCount > arity[1]) fail(SqlState.UNDEFINED_FUNCTION, `function ${fn.toLowerCase()} does not take ${argCount} arguments`)
}

/** Each row with the value of every window function appended, rows in their original order. */
export function computeWindows(rows: readonly SqlValue[][], windows: readonly WindowSpec[]): SqlValue[][] {
  const out = rows.map((r) => [...r])
  for (const w of windows) {
    const values = windowValues(rows, w)
    out.forEach((r, i) => r.push(values[i]!))
  }
  return out
}

/** The value of window `w` for each row of `rows`, by row position. */
function windowValues(rows: readonly SqlValue[][], w: WindowSpec): SqlValue[] {
  // Each row's partition key and sort values, then the partitions in window order.
  const partitions = new Map<string, number[]>()
  rows.forEach((row, i) => {
    const k = rowKey(w.partitionBy.map((p) => evaluate(p, row)))
    const members = partitions.get(k)
    if (members === undefined) partitions.set(k, [i])
    else members.push(i)
  })
  const values = new Array<SqlValue>(rows.length).fill(null)
  const keys: SortKey[] = w.orderBy.map((o, i) => ({ index: i + 1, desc: o.desc, nullsFirst: o.nullsFirst }))
  for (const members of partitions.values()) {
    // [row position, ...order values], sorted stably by the order values.
    const sorted = sortRows(
      members.map((i) => [BigInt(i), ...w.orderBy.map((o) => evaluate(o.expr, rows[i]!))]),
      keys,
    ).map((r) => ({ at: Number(r[0]), order: r.slice(1) }))
    const peers = (a: number, b: number) => sorted[a]!.order.every((v, j) => sameValue(v, sorted[b]!.order[j] ?? null))
    const arg = (k: number, n = 0) => (w.args[n] === undefined ? null : evaluate(w.args[n]!, rows[sorted[k]!.at]!))
    if (!RANKING_FUNCTIONS.has(w.fn)) {
      fillAggregate(rows, w, sorted, peers, values)
      continue
    }
    let rank = 1
    let dense = 1
    for (let k = 0; k < sorted.length; k++) {
      if (k > 0 && !peers(k - 1, k)) {
        rank = k + 1
        dense++
      }
      const at = sorted[k]!.at
      switch (w.fn) {
        case 'ROW_NUMBER':
          values[at] = BigInt(k + 1)
          break
        case 'RANK':
          values[at] = BigInt(rank)
          break
        case 'DENSE_RANK':
          values[at] = BigInt(dense)
          break
        case 'LAG':
        case 'LEAD': {
          const offset = w.args[1] === undefined ? 1 : offsetOf(arg(k, 1))
          const j = w.fn === 'LAG' ? k - offset : k + offset
          values[at] = j >= 0 && j < sorted.length ? arg(j) : arg(k, 2)
          break
        }
        case 'FIRST_VALUE':
          values[at] = arg(0)
          break
        case 'LAST_VALUE': {
          // The default frame ends at the current row's last peer.
          let last = k
          while (last + 1 < sorted.length && (w.orderBy.length === 0 || peers(k, last + 1))) last++
          values[at] = arg(last)
          break
        }
      }
    }
  }
  return values
}

/** An aggregate over the frame: the whole partition without ORDER BY, else up to the current row's peers. */
function fillAggregate(
  rows: readonly SqlValue[][],
  w: WindowSpec,
  sorted: ReadonlyArray<{ at: number }>,
  peers: (a: number, b: number) => boolean,
  values: SqlValue[],
): void {
  const spec: AggregateSpec = { fn: w.fn as AggregateFn, arg: w.args[0] ?? null, distinct: w.distinct }
  const state = newState(spec)
  let k = 0
  while (k < sorted.length) {
    // The peer group of row k (everything, without ORDER BY) joins the frame at once.
    let end = k + 1
    while (end < sorted.length && (w.orderBy.length === 0 || peers(k, end))) end++
    for (let j = k; j < end; j++) stepAggregate(spec, state, rows[sorted[j]!.at]!)
    const value = finish(spec, state)
    for (let j = k; j < end; j++) values[sorted[j]!.at] = value
    k = end
  }
}

function sameValue(a: SqlValue, b: SqlValue): boolean {
  return a === null || b === null ? a === b : compareValues(a, b) === 0
}

function offsetOf(v: SqlValue): number {
  if (typeof v !== 'bigint' || v < 0n) fail(SqlState.INVALID_PARAMETER_VALUE, 'the offset of lag/lead must be a non-negative integer')
  return Number(v)
}

// The CPU-heavy steps of query execution as pure functions over plain, structured-cloneable
// data (rows are arrays of SqlValue, expressions are AST objects), so they can move to a
// worker pool without change: decoding and filtering a chunk of pairs, partial aggregation,
// sorting, and duplicate elimination.

import type { AggregateFn, Expr } from './ast.js'
import { evaluate, isTrue } from './eval.js'
import { decodeRow, type RowLayout } from './table-codec.js'
import { fail, SqlState } from './errors.js'
import { rowBytes } from './memory.js'
import { numericArithmetic, numericFromInt, numericToFloat, type NumericValue } from './types/numeric.js'
import { isTypedValue } from './types/typed.js'
import { checkInt64, compareValues, rowKey, valueKey, valueTypeName, type SqlValue } from './values.js'

/** Decodes a chunk of row pairs and keeps those passing `filter` (all if null), at most `limit`. */
export function decodeAndFilter(layout: RowLayout, pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, filter: Expr | null, limit = Infinity): SqlValue[][] {
  const rows: SqlValue[][] = []
  for (const [key, value] of pairs) {
    if (rows.length >= limit) break
    const row = decodeRow(layout, key, value)
    if (filter === null || isTrue(filter, row)) rows.push(row)
  }
  return rows
}

/** Keeps the rows passing `filter`. */
export function filterRows(rows: readonly SqlValue[][], filter: Expr | null): SqlValue[][] {
  return filter === null ? [...rows] : rows.filter((r) => isTrue(filter, r))
}

/** One aggregate call, bound to the input rows. */
export interface AggregateSpec {
  readonly fn: AggregateFn
  readonly arg: Expr | null
  readonly distinct: boolean
  /** STRING_AGG's delimiter. */
  readonly separator?: string
}

/** The running state of one aggregate in one group. */
export interface AggregateState {
  count: number
  /** SUM/AVG so far: exact (bigint for INT, NUMERIC) or a float. */
  sum: bigint | number | NumericValue | null
  /** MIN/MAX so far; STRING_AGG's text so far. */
  best: SqlValue
  seen: Set<string> | null
}

/** Groups being aggregated: group key → the group's key values and aggregate states. */
export type GroupTable = Map<string, { readonly keys: SqlValue[]; readonly states: AggregateState[] }>

/** Estimated heap bytes of one group (its key values, the map entry and key text, its aggregate states). */
export function groupBytes(group: { readonly keys: readonly SqlValue[]; readonly states: readonly AggregateState[] }): number {
  return 2 * rowBytes(group.keys) + 64 + 72 * group.states.length
}

/**
 * Folds `rows` into `groups` (partial aggregation; call once per chunk); `charge` is told the
 * bytes of each group created and each value a DISTINCT aggregate remembers (the statement's
 * memory account).
 */
export function accumulate(groups: GroupTable, rows: readonly SqlValue[][], groupBy: readonly Expr[], aggregates: readonly AggregateSpec[], charge?: (bytes: number) => void): void {
  for (const row of rows) {
    const keys = groupBy.map((g) => evaluate(g, row))
    const k = rowKey(keys)
    let group = groups.get(k)
    if (group === undefined) {
      group = { keys, states: aggregates.map(newState) }
      charge?.(groupBytes(group))
      groups.set(k, group)
    }
    for (let i = 0; i < aggregates.length; i++) stepAggregate(aggregates[i]!, group.states[i]!, row, charge)
  }
}

/** A fresh state for `spec`. */
export function newState(spec: AggregateSpec): AggregateState {
  return { count: 0, sum: null, best: null, seen: spec.distinct ? new Set() : null }
}

/** Folds one row into an aggregate's state; `charge` is told the bytes of each value a DISTINCT aggregate remembers. */
export function stepAggregate(spec: AggregateSpec, state: AggregateState, row: readonly SqlValue[], charge?: (bytes: number) => void): void {
  if (spec.arg === null) {
    state.count++
    return
  }
  const v = evaluate(spec.arg, row)
  if (v === null) return
  if (state.seen !== null) {
    const k = valueKey(v)
    if (state.seen.has(k)) return
    charge?.(48 + 2 * k.length)
    state.seen.add(k)
  }
  state.count++
  switch (spec.fn) {
    case 'COUNT':
      return
    case 'SUM':
    case 'AVG':
      if (typeof v !== 'bigint' && typeof v !== 'number' && !(isTypedValue(v) && !(v instanceof Uint8Array) && v.type === 'numeric')) numericOnly(spec.fn, v)
      state.sum = addSums(state.sum, v as bigint | number | NumericValue)
      return
    case 'MIN':
      if (state.best === null || compareValues(v, state.best) < 0) state.best = v
      return
    case 'MAX':
      if (state.best === null || compareValues(v, state.best) > 0) state.best = v
      return
    case 'STRING_AGG':
      if (typeof v !== 'string') fail(SqlState.DATATYPE_MISMATCH, `string_agg needs text, not ${valueTypeName(v)}`)
      state.best = joinText(state.best, v, spec)
      return
  }
}

/** STRING_AGG's text so far followed by `next` (NULL so far: `next` alone). */
export function joinText(sofar: SqlValue, next: SqlValue, spec: AggregateSpec): SqlValue {
  return sofar === null ? next : next === null ? sofar : `${sofar as string}${spec.separator ?? ''}${next as string}`
}

/**
 * a + b for running sums: integers add exactly (unbounded: the 64-bit check is at the end,
 * so only a final SUM out of range is 22003), NUMERICs exactly, anything with a float as floats.
 */
export function addSums(a: bigint | number | NumericValue | null, b: bigint | number | NumericValue): bigint | number | NumericValue {
  if (a === null) return b
  if (typeof a === 'bigint' && typeof b === 'bigint') return a + b
  if (typeof a === 'number' || typeof b === 'number') return Number(typeof a === 'object' ? numericToFloat(a) : a) + Number(typeof b === 'object' ? numericToFloat(b) : b)
  return numericArithmetic('+', typeof a === 'bigint' ? numericFromInt(a) : a, typeof b === 'bigint' ? numericFromInt(b) : b)
}

function numericOnly(fn: string, v: SqlValue): never {
  return fail(SqlState.DATATYPE_MISMATCH, `${fn.toLowerCase()} needs numbers, not ${valueTypeName(v)}`)
}

/** The value of a finished aggregate. */
export function finish(spec: AggregateSpec, state: AggregateState): SqlValue {
  switch (spec.fn) {
    case 'COUNT':
      return BigInt(state.count)
    case 'SUM':
      return typeof state.sum === 'bigint' ? checkInt64(state.sum) : state.sum
    case 'AVG':
      // AVG of integers and NUMERICs is an exact NUMERIC (PostgreSQL's division scale); of floats a float.
      if (state.sum === null) return null
      if (typeof state.sum === 'number') return state.sum / state.count
      return numericArithmetic('/', typeof state.sum === 'bigint' ? numericFromInt(state.sum) : state.sum, numericFromInt(BigInt(state.count)))
    case 'MIN':
    case 'MAX':
    case 'STRING_AGG':
      return state.best
  }
}

/** A sort key: a position in the row, its direction, and whether NULLs come first. */
export interface SortKey {
  readonly index: number
  readonly desc: boolean
  readonly nullsFirst: boolean
}

/** Sorts rows by `keys` (stable); each key says where its NULLs go. */
export function sortRows(rows: SqlValue[][], keys: readonly SortKey[]): SqlValue[][] {
  return rows.sort(rowComparator(keys))
}

/** The order `keys` give rows: negative when `a` sorts first (each key says where its NULLs go). */
export function rowComparator(keys: readonly SortKey[]): (a: readonly SqlValue[], b: readonly SqlValue[]) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = a[k.index] ?? null
      const y = b[k.index] ?? null
      if (x === null || y === null) {
        if (x !== y) return (x === null) === k.nullsFirst ? -1 : 1
        continue
      }
      const c = compareValues(x, y)
      if (c !== 0) return k.desc ? -c : c
    }
    return 0
  }
}

/** The rows with duplicates (by the first `width` values) removed, first occurrence kept. */
export function distinctRows(rows: readonly SqlValue[][], width: number): SqlValue[][] {
  const seen = new Set<string>()
  const out: SqlValue[][] = []
  for (const r of rows) {
    const k = rowKey(r.slice(0, width))
    if (seen.has(k)) continue
    seen.add(k)
    out.push(r)
  }
  return out
}

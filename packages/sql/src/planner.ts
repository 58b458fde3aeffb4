// Access path selection for one table: a point get, a primary-key range scan, a secondary
// index scan plus row lookups, or a full scan. The chosen path only narrows what is read: the
// statement's whole condition is always applied to the rows it returns.

import { castTyped, isTypedValue, typedBaseOf } from './types/typed.js'
import { numericAsExactInt, numericFromInt, numericToFloat } from './types/numeric.js'
import { prefixEnd } from '@mrdb/storage'
import { conjuncts, isConstant, literalToSql, type Expr } from './ast.js'
import { PRIMARY_INDEX_ID, type IndexDesc, type TableDesc } from './catalog.js'
import { evaluate } from './eval.js'
import { indexKey, primaryKeyOf } from './table-codec.js'
import { compareValues, valueKey, type ColumnType, type SqlValue } from './values.js'
import { keyHex, type TableStats } from './stats.js'

/** A key span [start, end) with a readable form for EXPLAIN. */
export interface KeySpan {
  readonly start: Uint8Array
  readonly end: Uint8Array
  readonly text: string
}

/**
 * How one table's rows are fetched. `estimate` is the rows the path is expected to read
 * (before the rest of the condition filters them), from the table's statistics or defaults.
 */
export type AccessPath = (
  | { readonly kind: 'point-get'; readonly keys: readonly Uint8Array[]; readonly texts: readonly string[] }
  | { readonly kind: 'primary-range'; readonly spans: readonly KeySpan[] }
  /** `covering`: the entries hold every column the query reads, so no row is looked up (their other columns read as NULL). */
  | { readonly kind: 'index-scan'; readonly index: IndexDesc; readonly spans: readonly KeySpan[]; readonly covering?: boolean }
  | { readonly kind: 'full-scan'; readonly spans: readonly KeySpan[] }
  /** An OR of conditions each of which has its own path: the rows of every path, each row once. */
  | { readonly kind: 'union'; readonly paths: readonly AccessPath[] }
) & { readonly estimate?: number }

/** The rows a table without statistics is taken to have (CockroachDB's default too). */
export const DEFAULT_ROW_COUNT = 1000

/** The selectivity of a condition the statistics say nothing about. */
const UNKNOWN_SELECTIVITY = 1 / 3

/** The cost of reading a row through a secondary index (entry, then row lookup) against one read by a scan. */
const INDEX_LOOKUP_COST = 4

/** The most combinations of IN-list values a plan expands into separate keys or spans. */
const MAX_KEY_COMBINATIONS = 256

/** The most branches of an OR read as a union of paths. */
const MAX_UNION_BRANCHES = 16

interface Bound {
  readonly value: SqlValue
  readonly inclusive: boolean
}

interface ColumnConstraint {
  eq: SqlValue[] | null
  lower: Bound | null
  upper: Bound | null
}

/**
 * Chooses how to read `table` given the conjuncts of its condition (bound to the table's row
 * layout). Without statistics: the key or index with the most leading equality columns (and a
 * range after them). With them: the path expected to read the fewest rows, an index's rows
 * counted {@link INDEX_LOOKUP_COST} times over, so a condition that matches much of the table
 * reads it whole.
 */
export function chooseAccessPath(table: TableDesc, conditions: readonly Expr[], stats: TableStats | null = null): AccessPath {
  const constraints = collectConstraints(table, conditions)
  const rowCount = stats?.rowCount ?? DEFAULT_ROW_COUNT
  let best: { score: number; path: AccessPath } | null = null
  const candidates: Array<{ index: IndexDesc | null; columns: readonly number[] }> = [
    { index: null, columns: table.primaryKey },
    ...table.indexes.map((index) => ({ index, columns: index.columns })),
  ]
  for (const c of candidates) {
    const shape = keyShape(c.columns, constraints)
    if (shape === null) continue
    const indexId = c.index?.id ?? PRIMARY_INDEX_ID
    const name = `/Table/${table.name}/${c.index?.name ?? 'primary'}`
    if (c.index === null && shape.combos.length > 0 && shape.eqColumns === c.columns.length) {
      const keys = shape.combos.map((combo) => primaryKeyOf(table, combo))
      const texts = shape.combos.map((combo) => `${name}/${combo.map(partText).join('/')}`)
      return { kind: 'point-get', keys, texts, estimate: keys.length }
    }
    const estimate = shapeEstimate(table, c.columns, shape, constraints, stats, c.index?.unique === true)
    // Higher is better: by key shape without statistics, by expected rows read with them.
    const score = stats === null ? shape.eqColumns * 10 + (shape.range === null ? 0 : 5) + (c.index === null ? 1 : 0) : -estimate * (c.index === null ? 1 : INDEX_LOOKUP_COST)
    if (best !== null && best.score >= score) continue
    const spans = shape.combos.map((combo) => spanFor(table.id, indexId, name, combo, shape.range, nullable(table, c.columns[combo.length])))
    best = { score, path: c.index === null ? { kind: 'primary-range', spans, estimate } : { kind: 'index-scan', index: c.index, spans, estimate } }
  }
  const full: AccessPath = { kind: 'full-scan', spans: [fullSpan(table)], estimate: rowCount }
  if (best !== null) return stats !== null && best.score < -rowCount ? full : best.path
  const union = orPath(table, conditions, stats)
  return union === null || (stats !== null && union.estimate! * INDEX_LOOKUP_COST > rowCount) ? full : union
}

/** The rows a key shape on `columns` is expected to match: the table's rows times each constrained column's selectivity. */
function shapeEstimate(table: TableDesc, columns: readonly number[], shape: KeyShape, constraints: ReadonlyMap<number, ColumnConstraint>, stats: TableStats | null, unique: boolean): number {
  if (unique && shape.range === null && shape.eqColumns === columns.length) return shape.combos.length
  let rows = stats?.rowCount ?? DEFAULT_ROW_COUNT
  for (const col of columns.slice(0, shape.eqColumns + (shape.range === null ? 0 : 1))) rows *= columnSelectivity(table, col, constraints.get(col)!, stats)
  return rows
}

/** The fraction of rows a constraint on one column keeps. */
function columnSelectivity(table: TableDesc, col: number, c: ColumnConstraint, stats: TableStats | null): number {
  const cs = stats?.columns[table.columns[col]!.name]
  if (c.eq !== null) return cs === undefined ? Math.min(1, c.eq.length / 10) : Math.min(1, (c.eq.length * (1 - cs.nullFraction)) / cs.distinct)
  if (cs === undefined || cs.bounds.length < 2) return c.lower !== null && c.upper !== null ? UNKNOWN_SELECTIVITY / 3 : UNKNOWN_SELECTIVITY
  const position = (v: SqlValue): number => {
    const hex = keyHex(v)
    if (hex === null) return 0
    let i = 0
    while (i < cs.bounds.length && cs.bounds[i]! < hex) i++
    return i
  }
  const buckets = cs.bounds.length - 1
  const lo = c.lower === null ? 0 : position(c.lower.value)
  const hi = c.upper === null ? cs.bounds.length : position(c.upper.value) + 1
  // Half a bucket at least: a bound between two boundaries covers part of a bucket.
  return (1 - cs.nullFraction) * Math.min(1, Math.max(0.5, hi - lo - 1) / buckets)
}

/**
 * The rows of `table` expected to satisfy every one of `conditions`: the table's rows times
 * each column constraint's selectivity, and {@link UNKNOWN_SELECTIVITY} for any other conjunct.
 */
export function conditionEstimate(table: TableDesc, conditions: readonly Expr[], stats: TableStats | null): number {
  const constraints = collectConstraints(table, conditions)
  let rows = stats?.rowCount ?? DEFAULT_ROW_COUNT
  for (const [col, c] of constraints) rows *= columnSelectivity(table, col, c, stats)
  for (const cond of conditions) {
    const simple = (cond.kind === 'compare' && (cond.left.kind === 'slot' || cond.right.kind === 'slot') && ['=', '<', '<=', '>', '>='].includes(cond.op)) || ((cond.kind === 'between' || cond.kind === 'in-list') && !cond.negated && cond.operand.kind === 'slot')
    if (!simple) rows *= UNKNOWN_SELECTIVITY
  }
  return rows
}

/** The estimated distinct values of a column (the table's rows when unknown). */
export function distinctEstimate(table: TableDesc, col: number, stats: TableStats | null): number {
  const cs = stats?.columns[table.columns[col]!.name]
  if (table.primaryKey.length === 1 && table.primaryKey[0] === col) return stats?.rowCount ?? DEFAULT_ROW_COUNT
  return cs?.distinct ?? (stats?.rowCount ?? DEFAULT_ROW_COUNT) / 10
}

/**
 * For a condition with no path of its own: an OR among its conjuncts whose every branch has
 * a path (a key, a key range, an index) is read as the union of those paths, or null.
 */
function orPath(table: TableDesc, conditions: readonly Expr[], stats: TableStats | null): AccessPath | null {
  for (const cond of conditions) {
    if (cond.kind !== 'or') continue
    const branches = disjuncts(cond)
    if (branches.length > MAX_UNION_BRANCHES) continue
    const paths = branches.map((b) => chooseAccessPath(table, conjuncts(b), stats))
    if (paths.every((p) => p.kind !== 'full-scan')) return { kind: 'union', paths, estimate: paths.reduce((n, p) => n + (p.estimate ?? 0), 0) }
  }
  return null
}

function disjuncts(e: Expr): Expr[] {
  return e.kind === 'or' ? [...disjuncts(e.left), ...disjuncts(e.right)] : [e]
}

/**
 * The spans of every entry of `index` in the order ORDER BY's ascending default wants: the
 * entries whose first column is not NULL, then those where it is (NULLs sort last).
 */
export function nullsLastSpans(table: TableDesc, index: IndexDesc): KeySpan[] {
  const name = `/Table/${table.name}/${index.name}`
  const all = indexKey(table.id, index.id, [])
  const nulls = indexKey(table.id, index.id, [null])
  const afterNulls = prefixEnd(nulls)!
  return [
    { start: afterNulls, end: prefixEnd(all)!, text: `(${name}/NULL - ${name}/max]` },
    { start: nulls, end: afterNulls, text: `[${name}/NULL - ${name}/NULL]` },
  ]
}

/** The span of every row of a table. */
export function fullSpan(table: TableDesc): KeySpan {
  const start = indexKey(table.id, PRIMARY_INDEX_ID, [])
  const name = `/Table/${table.name}/primary`
  return { start, end: prefixEnd(start)!, text: `[${name}/min - ${name}/max]` }
}

function nullable(table: TableDesc, column: number | undefined): boolean {
  return column === undefined ? false : table.columns[column]!.nullable
}

function partText(v: SqlValue): string {
  return typeof v === 'string' || isTypedValue(v) ? literalToSql(v) : String(v)
}

function spanFor(tableId: number, indexId: number, name: string, combo: readonly SqlValue[], range: ColumnConstraint | null, skipNulls: boolean): KeySpan {
  const prefix = indexKey(tableId, indexId, combo)
  const prefixText = combo.length === 0 ? name : `${name}/${combo.map(partText).join('/')}`
  if (range === null) return { start: prefix, end: prefixEnd(prefix)!, text: `[${prefixText} - ${prefixText}]` }
  const at = (v: SqlValue): Uint8Array => indexKey(tableId, indexId, [...combo, v])
  let start: Uint8Array
  let startText: string
  if (range.lower !== null) {
    start = range.lower.inclusive ? at(range.lower.value) : prefixEnd(at(range.lower.value))!
    startText = `${range.lower.inclusive ? '[' : '('}${prefixText}/${partText(range.lower.value)}`
  } else {
    // NULLs sort first; a bound comparison never matches NULL.
    start = skipNulls ? prefixEnd(at(null))! : prefix
    startText = `(${prefixText}/NULL`
    if (!skipNulls) startText = `[${prefixText}/min`
  }
  let end: Uint8Array
  let endText: string
  if (range.upper !== null) {
    end = range.upper.inclusive ? prefixEnd(at(range.upper.value))! : at(range.upper.value)
    endText = `${prefixText}/${partText(range.upper.value)}${range.upper.inclusive ? ']' : ')'}`
  } else {
    end = prefixEnd(prefix)!
    endText = `${prefixText}/max]`
  }
  return { start, end, text: `${startText} - ${endText}` }
}

interface KeyShape {
  readonly eqColumns: number
  readonly combos: readonly (readonly SqlValue[])[]
  readonly range: ColumnConstraint | null
}

function keyShape(columns: readonly number[], constraints: ReadonlyMap<number, ColumnConstraint>): KeyShape | null {
  let combos: SqlValue[][] = [[]]
  let eqColumns = 0
  for (const col of columns) {
    const c = constraints.get(col)
    if (c?.eq != null && combos.length * c.eq.length <= MAX_KEY_COMBINATIONS) {
      combos = combos.flatMap((combo) => c.eq!.map((v) => [...combo, v]))
      eqColumns++
      continue
    }
    if (c !== undefined && (c.lower !== null || c.upper !== null)) return { eqColumns, combos, range: c }
    break
  }
  return eqColumns === 0 ? null : { eqColumns, combos, range: null }
}

function collectConstraints(table: TableDesc, conditions: readonly Expr[]): Map<number, ColumnConstraint> {
  const out = new Map<number, ColumnConstraint>()
  const get = (slot: number): ColumnConstraint => {
    let c = out.get(slot)
    if (c === undefined) out.set(slot, (c = { eq: null, lower: null, upper: null }))
    return c
  }
  const keyValue = (slot: number, e: Expr): SqlValue | undefined => {
    if (!isConstant(e)) return undefined
    let v: SqlValue
    try {
      v = evaluate(e, [])
    } catch {
      return undefined
    }
    return asKeyPart(v, table.columns[slot]!.type)
  }
  const tighten = (slot: number, side: 'lower' | 'upper', e: Expr, inclusive: boolean): void => {
    const v = keyValue(slot, e)
    if (v === undefined) return
    const c = get(slot)
    const prior = c[side]
    if (prior !== null) {
      const cmp = compareValues(v as Exclude<SqlValue, null>, prior.value as Exclude<SqlValue, null>)
      const tighter = side === 'lower' ? cmp > 0 || (cmp === 0 && !inclusive) : cmp < 0 || (cmp === 0 && !inclusive)
      if (!tighter) return
    }
    c[side] = { value: v, inclusive }
  }
  for (const cond of conditions) {
    if (cond.kind === 'compare') {
      let { left, right } = cond
      let op = cond.op
      if (left.kind !== 'slot' && right.kind === 'slot') {
        ;[left, right] = [right, left]
        op = op === '<' ? '>' : op === '<=' ? '>=' : op === '>' ? '<' : op === '>=' ? '<=' : op
      }
      if (left.kind !== 'slot') continue
      const slot = left.index
      if (op === '=') {
        const v = keyValue(slot, right)
        if (v !== undefined && get(slot).eq === null) get(slot).eq = [v]
      } else if (op === '>' || op === '>=') tighten(slot, 'lower', right, op === '>=')
      else if (op === '<' || op === '<=') tighten(slot, 'upper', right, op === '<=')
    } else if (cond.kind === 'between' && !cond.negated && cond.operand.kind === 'slot') {
      tighten(cond.operand.index, 'lower', cond.low, true)
      tighten(cond.operand.index, 'upper', cond.high, true)
    } else if (cond.kind === 'in-list' && !cond.negated && cond.operand.kind === 'slot') {
      const slot = cond.operand.index
      const values: SqlValue[] = []
      const seen = new Set<string>()
      let usable = true
      for (const item of cond.list) {
        const v = keyValue(slot, item)
        if (v === undefined) {
          usable = false
          break
        }
        const k = valueKey(v)
        if (!seen.has(k)) values.push(v)
        seen.add(k)
      }
      if (usable && values.length > 0 && get(slot).eq === null) {
        values.sort((a, b) => compareValues(a as Exclude<SqlValue, null>, b as Exclude<SqlValue, null>))
        get(slot).eq = values
      }
    }
  }
  return out
}

/** `v` as the key part a column of `type` stores, or undefined when it cannot be one exactly (or is NULL). */
export function keyPartFor(v: SqlValue, type: ColumnType): SqlValue | undefined {
  return asKeyPart(v, type)
}

function asKeyPart(v: SqlValue, type: ColumnType): SqlValue | undefined {
  if (v === null) return undefined
  switch (type.base) {
    case 'int':
      if (typeof v === 'bigint') return v
      if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) return BigInt(v)
      if (isTypedValue(v) && !(v instanceof Uint8Array) && v.type === 'numeric') return numericAsExactInt(v) ?? undefined
      return undefined
    case 'float':
      if (typeof v === 'number') return v
      if (typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v)
      // FLOAT compares with NUMERIC as floats.
      if (isTypedValue(v) && !(v instanceof Uint8Array) && v.type === 'numeric') return numericToFloat(v)
      return undefined
    case 'text':
      return typeof v === 'string' ? v : undefined
    case 'bool':
      return typeof v === 'boolean' ? v : undefined
    default:
      return typedKeyValue(v, type)
  }
}

/**
 * `v` as a value of a typed column type, when that is exact: the same type, text read as the
 * type (a literal such as '2024-01-01'), an integer for NUMERIC, a DATE for a TIMESTAMP,
 * TIMESTAMP and TIMESTAMPTZ for each other (the session zone is UTC). Otherwise undefined.
 */
function typedKeyValue(v: SqlValue, type: ColumnType): SqlValue | undefined {
  if (v === null) return undefined
  try {
    if (typeof v === 'string') return castTyped(v, { base: type.base })
    if (type.base === 'numeric' && typeof v === 'bigint') return numericFromInt(v)
    if (!isTypedValue(v)) return undefined
    const base = typedBaseOf(v)
    if (base === type.base) return v
    if ((type.base === 'timestamp' || type.base === 'timestamptz') && (base === 'date' || base === 'timestamp' || base === 'timestamptz')) return castTyped(v, type)
  } catch {
    // Not a value of the type: the filter raises the error when it runs.
  }
  return undefined
}

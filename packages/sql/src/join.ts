// Joins: choosing how each table of FROM is joined to the rows before it (nested loop, hash
// join with the smaller side built, merge join over inputs already ordered on the key, index
// lookup join), estimating the rows each join yields, and running the chosen operator.

import { prefixEnd, pushAll } from '@mrdb/storage'
import type { IndexDesc, TableDesc } from './catalog.js'
import { PRIMARY_INDEX_ID } from './catalog.js'
import { isTrue } from './eval.js'
import { readRows, scanSpan } from './access.js'
import { decodeAndFilter } from './row-ops.js'
import { distinctEstimate, keyPartFor, type AccessPath, type KeySpan } from './planner.js'
import type { TablePlan } from './select.js'
import type { StatementContext } from './statement-context.js'
import type { TableStats } from './stats.js'
import { indexKey, primaryKeyOf, rowKeyOfEntry, rowLayout } from './table-codec.js'
import { compareValues, rowKey, valueKey, type SqlValue } from './values.js'

/** How a table is joined to the rows before it. */
export type JoinMethod =
  /** Every pair tested (no equality between the two sides). */
  | { readonly kind: 'nested-loop' }
  /** A hash table of one side's rows by the equality keys, probed with the other's. */
  | { readonly kind: 'hash'; readonly build: 'left' | 'right' }
  /** Both sides arrive ascending on `key` [joined-row slot, table-local slot] (both integer primary-key leads): one pass over each. */
  | { readonly kind: 'merge'; readonly key: readonly [number, number] }
  /**
   * The table is not read whole: for each batch of rows before it, their key values are looked
   * up in `index` (null: the primary key), whose leading columns `keys` fix ([joined-row slot,
   * table column], in index column order).
   */
  | { readonly kind: 'lookup'; readonly index: IndexDesc | null; readonly keys: ReadonlyArray<readonly [number, number]> }

/** Distinct key combinations looked up per batch of a lookup join. */
const LOOKUP_BATCH = 1024

/** Spans of one lookup batch scanned at once. */
const LOOKUP_PARALLEL = 64

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** How many pairs a join looks at between yields to the event loop. */
const JOIN_PAIRS_PER_YIELD = 5_000

/** Joined rows handed on at a time by {@link joinChunks}. */
const JOIN_OUTPUT_CHUNK = 512

/** Takes a join's rows a chunk at a time; answers false when no more are wanted (the join stops there). */
export type JoinSink = (rows: SqlValue[][]) => Promise<boolean>

/** A join's output on its way to a {@link JoinSink}: rows gather in `rows` and go on a chunk at a time. */
class JoinOutput {
  /** The rows gathered since the last chunk went. */
  readonly rows: SqlValue[][] = []
  private stopped = false

  constructor(private readonly sink: JoinSink) {}

  /** Hands the gathered rows on once a chunk's worth is there (whatever there is when `all`); false once the sink wants no more. */
  async flush(all = false): Promise<boolean> {
    if (this.stopped) return false
    if (this.rows.length === 0 || (!all && this.rows.length < JOIN_OUTPUT_CHUNK)) return true
    if (!(await this.sink(this.rows.splice(0)))) this.stopped = true
    return !this.stopped
  }
}

/** The cost of one row looked up through an index (a point read of a random key) against one read by a scan. */
const LOOKUP_COST = 3

/** What {@link chooseJoinMethod} knows of the two sides. */
export interface JoinInputs {
  /** The tables before this one (their plans: where each one's columns are in the joined row). */
  readonly before: readonly TablePlan[]
  /** Estimated rows before this table is joined, and of this table's scan. */
  readonly leftRows: number
  readonly rightRows: number
  /** The statistics of a table known to this gateway. */
  readonly statsOf: (table: TableDesc) => TableStats | null
  /** The table has no rows read by a lookup yet: its scan is planned and could be skipped. */
  readonly naive: boolean
}

/**
 * How to join `t` (never the first table) to the rows before it, and the rows the join is
 * expected to yield. Equality keys make a hash join unless a cheaper way applies: a lookup
 * join when the rows before are few against the table and an index of it (or its primary
 * key) starts with key columns; a merge join when both sides are read in the order of an
 * integer key. The naive plan (a test switch) is always the nested loop.
 */
export function chooseJoinMethod(t: TablePlan, inputs: JoinInputs): { method: JoinMethod; estimate: number } {
  const { leftRows, rightRows } = inputs
  const estimate = joinEstimate(t, inputs)
  if (inputs.naive || t.hashKeys.length === 0) return { method: { kind: 'nested-loop' }, estimate }
  const outerOnly = t.join === 'inner' || t.join === 'cross' || t.join === 'left'
  const table = t.table
  if (outerOnly && table !== null) {
    const lookup = lookupIndex(table, t.hashKeys)
    if (lookup !== null) {
      const perKey = Math.max(1, rightRows / distinctEstimate(table, lookup.keys[0]![1], inputs.statsOf(table)))
      const cost = leftRows * (lookup.index === null ? 1 : LOOKUP_COST) * perKey
      if (cost < rightRows) return { method: { kind: 'lookup', ...lookup }, estimate }
    }
    const merge = mergeKey(t, inputs.before)
    if (merge !== null) return { method: { kind: 'merge', key: merge }, estimate }
  }
  const buildLeft = (t.join === 'inner' || t.join === 'cross') && leftRows < rightRows
  return { method: { kind: 'hash', build: buildLeft ? 'left' : 'right' }, estimate }
}

/** The rows joining `t` is expected to yield: the product of both sides over the larger side's distinct count of each key. */
function joinEstimate(t: TablePlan, inputs: JoinInputs): number {
  const { leftRows, rightRows } = inputs
  let rows = leftRows * rightRows
  for (const [ls, rs] of t.hashKeys) {
    const source = inputs.before.find((b) => ls >= b.offset && ls < b.offset + b.width)
    const left = source?.table != null ? Math.min(leftRows, distinctEstimate(source.table, ls - source.offset, inputs.statsOf(source.table))) : leftRows
    const right = t.table !== null ? Math.min(rightRows, distinctEstimate(t.table, rs, inputs.statsOf(t.table))) : rightRows
    rows /= Math.max(1, left, right)
  }
  if (t.onFilter !== null) rows /= 3
  if (t.join === 'left' || t.join === 'full') rows = Math.max(rows, leftRows)
  if (t.join === 'right' || t.join === 'full') rows = Math.max(rows, rightRows)
  return Math.max(1, Math.round(rows))
}

/** The primary key or index of `table` whose leading columns the equality keys fix (the most of them), or null. */
function lookupIndex(table: TableDesc, hashKeys: ReadonlyArray<readonly [number, number]>): { index: IndexDesc | null; keys: Array<[number, number]> } | null {
  let best: { index: IndexDesc | null; keys: Array<[number, number]> } | null = null
  const candidates: Array<{ index: IndexDesc | null; columns: readonly number[] }> = [{ index: null, columns: table.primaryKey }, ...table.indexes.map((index) => ({ index, columns: index.columns }))]
  for (const c of candidates) {
    const keys: Array<[number, number]> = []
    for (const col of c.columns) {
      const pair = hashKeys.find(([, rs]) => rs === col)
      if (pair === undefined) break
      keys.push([pair[0], col])
    }
    if (keys.length > 0 && (best === null || keys.length > best.keys.length)) best = { index: c.index, keys }
  }
  return best
}

/**
 * The key a merge join can use: the first table and `t` both read by primary-key paths (rows
 * in key order) whose first key column, an integer on both sides, is an equality key.
 */
function mergeKey(t: TablePlan, before: readonly TablePlan[]): [number, number] | null {
  const first = before[0]
  if (before.length !== 1 || first === undefined || first.table === null || t.table === null) return null
  const inKeyOrder = (p: AccessPath | null) => p !== null && (p.kind === 'full-scan' || p.kind === 'primary-range' || p.kind === 'point-get')
  if (!inKeyOrder(first.path) || !inKeyOrder(t.path)) return null
  const lead = first.offset + first.table.primaryKey[0]!
  const rightLead = t.table.primaryKey[0]!
  const isInt = (table: TableDesc, col: number) => table.columns[col]!.type.base === 'int'
  if (!isInt(first.table, first.table.primaryKey[0]!) || !isInt(t.table, rightLead)) return null
  return t.hashKeys.some(([l, r]) => l === lead && r === rightLead) ? [lead, rightLead] : null
}

/**
 * Counts pairs looked at: true every {@link JOIN_PAIRS_PER_YIELD}, when the caller yields to
 * the event loop (and a cancel) — awaited only then, not per row.
 */
function pairCounter(): (n: number) => boolean {
  let pairs = 0
  return (n) => {
    pairs += n
    if (pairs < JOIN_PAIRS_PER_YIELD) return false
    pairs = 0
    return true
  }
}

/**
 * Joins the rows so far (`left`) with table `t` by its planned method. `right` is the table's
 * rows (filtered by its scan condition), or null for a lookup join, which reads them itself.
 */
export async function joinRows(ctx: StatementContext, left: readonly SqlValue[][], right: readonly SqlValue[][] | null, t: TablePlan, method: JoinMethod): Promise<SqlValue[][]> {
  const all: SqlValue[][] = []
  await joinChunks(ctx, left, right, t, method, async (rows) => {
    for (const r of rows) all.push(r)
    return true
  })
  return all
}

/**
 * {@link joinRows}, the joined rows handed to `sink` a chunk at a time as they are found
 * (never held whole) until it wants no more.
 */
export async function joinChunks(ctx: StatementContext, left: readonly SqlValue[][], right: readonly SqlValue[][] | null, t: TablePlan, method: JoinMethod, sink: JoinSink): Promise<void> {
  const out = new JoinOutput(sink)
  switch (method.kind) {
    case 'lookup':
      return lookupJoin(ctx, left, t, method, out)
    case 'merge':
      return mergeJoin(ctx, left, right!, t, method.key, out)
    case 'hash':
      return method.build === 'left' && left.length < right!.length ? hashJoinBuildLeft(ctx, left, right!, t, out) : hashJoin(ctx, left, right!, t, out)
    case 'nested-loop':
      return nestedLoop(ctx, left, right!, t, out)
  }
}

/**
 * Whether joining `t` can take the rows before it a chunk at a time ({@link ChunkJoin}): each
 * of them meets the table on its own — a lookup, a nested loop or a hash join building the
 * table's side, and no unmatched rows of the table to add at the end (not RIGHT or FULL).
 */
export function joinsByChunk(t: TablePlan): boolean {
  const m = t.method
  return t.join !== 'right' && t.join !== 'full' && (m.kind === 'lookup' || m.kind === 'nested-loop' || (m.kind === 'hash' && m.build === 'right'))
}

/**
 * The join of table `t` (one that {@link joinsByChunk}) fed the rows before it a chunk at a
 * time, its output going to `sink` in chunks: the rows before it are never held whole. The
 * table's side (`right`, null for a lookup join) is built once.
 */
export class ChunkJoin {
  private readonly output: JoinOutput
  private readonly table: Map<string | number, number[]> | null

  constructor(
    private readonly ctx: StatementContext,
    private readonly right: readonly SqlValue[][] | null,
    private readonly t: TablePlan,
    sink: JoinSink,
  ) {
    this.output = new JoinOutput(sink)
    this.table = t.method.kind === 'hash' ? hashTable(right!, t.hashKeys.map(([, r]) => r)) : null
  }

  /** Joins the next chunk of the rows before the table; false once the sink wants no more. */
  async add(left: readonly SqlValue[][]): Promise<boolean> {
    const method = this.t.method
    if (method.kind === 'lookup') await lookupJoin(this.ctx, left, this.t, method, this.output, false)
    else if (method.kind === 'hash') await hashJoin(this.ctx, left, this.right!, this.t, this.output, false, this.table!)
    else await nestedLoop(this.ctx, left, this.right!, this.t, this.output, false)
    // The chunk's rows go on now: a consumer at its LIMIT stops the scan before the next chunk.
    return this.output.flush(true)
  }
}

/** Builds the joined rows of `t`'s join: a scratch row tests each pair (no allocation per pair); matches are copied out. */
function pairEmitter(t: TablePlan, out: SqlValue[][], checkKeys: boolean) {
  const scratch = new Array<SqlValue>(t.offset + t.width).fill(null)
  return (l: readonly SqlValue[], r: readonly SqlValue[]): boolean => {
    if (checkKeys) {
      for (const [ls, rs] of t.hashKeys) {
        const a = l[ls] ?? null
        const b = r[rs] ?? null
        if (a === null || b === null || valueKey(a) !== valueKey(b)) return false
      }
    }
    for (let i = 0; i < t.offset; i++) scratch[i] = l[i] ?? null
    for (let i = 0; i < t.width; i++) scratch[t.offset + i] = r[i] ?? null
    if (t.onFilter !== null && !isTrue(t.onFilter, scratch)) return false
    out.push(scratch.slice())
    return true
  }
}

/** Every pair tested: the join with no usable equality, and the naive plan. */
async function nestedLoop(ctx: StatementContext, left: readonly SqlValue[][], right: readonly SqlValue[][], t: TablePlan, output: JoinOutput, last = true): Promise<void> {
  const tick = pairCounter()
  const out = output.rows
  const emit = pairEmitter(t, out, true)
  const keepLeft = t.join === 'left' || t.join === 'full'
  const rightMatched = t.join === 'right' || t.join === 'full' ? new Uint8Array(right.length) : null
  const rightNulls = new Array<SqlValue>(t.width).fill(null)
  for (const l of left) {
    let matched = false
    for (let ri = 0; ri < right.length; ri++) {
      if (emit(l, right[ri]!)) {
        matched = true
        if (rightMatched !== null) rightMatched[ri] = 1
      }
    }
    if (!matched && keepLeft) out.push([...l, ...rightNulls])
    if (tick(right.length)) await ctx.yieldToEventLoop()
    if (!(await output.flush())) return
  }
  appendUnmatchedRight(out, right, rightMatched, t)
  await output.flush(last)
}

function appendUnmatchedRight(out: SqlValue[][], right: readonly SqlValue[][], matched: Uint8Array | null, t: TablePlan): void {
  if (matched === null) return
  const leftNulls = new Array<SqlValue>(t.offset).fill(null)
  right.forEach((r, ri) => matched[ri] === 0 && out.push([...leftNulls, ...r]))
}

/**
 * The hash key of a row's values at `slots`, or null when one is NULL (NULL matches nothing):
 * equal for values SQL finds equal, as {@link valueKey} is — a single integer (of either
 * type) within 2^53 as that number, which costs no string.
 */
function keyOf(row: readonly SqlValue[], slots: readonly number[]): string | number | null {
  if (slots.length === 1) {
    const v = row[slots[0]!] ?? null
    if (v === null) return null
    if (typeof v === 'bigint' && v >= -MAX_SAFE && v <= MAX_SAFE) return Number(v)
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v === 0 ? 0 : v
    return valueKey(v)
  }
  const values = slots.map((s) => row[s] ?? null)
  return values.includes(null) ? null : rowKey(values)
}

/** Hash join building the table's side (`right`) and probing with the rows before it; `last` false when more batches of `left` follow (a lookup join's). */
async function hashJoin(
  ctx: StatementContext,
  left: readonly SqlValue[][],
  right: readonly SqlValue[][],
  t: TablePlan,
  output: JoinOutput,
  last = true,
  table = hashTable(right, t.hashKeys.map(([, r]) => r)),
): Promise<void> {
  const tick = pairCounter()
  const out = output.rows
  const emit = pairEmitter(t, out, false)
  const keepLeft = t.join === 'left' || t.join === 'full'
  const rightMatched = t.join === 'right' || t.join === 'full' ? new Uint8Array(right.length) : null
  const rightNulls = new Array<SqlValue>(t.width).fill(null)
  const leftSlots = t.hashKeys.map(([l]) => l)
  for (const l of left) {
    const k = keyOf(l, leftSlots)
    let matched = false
    const bucket = k === null ? undefined : table.get(k)
    if (bucket !== undefined) {
      for (const ri of bucket) {
        if (emit(l, right[ri]!)) {
          matched = true
          if (rightMatched !== null) rightMatched[ri] = 1
        }
      }
    }
    if (!matched && keepLeft) out.push([...l, ...rightNulls])
    if (tick((bucket?.length ?? 0) + 1)) await ctx.yieldToEventLoop()
    if (!(await output.flush())) return
  }
  appendUnmatchedRight(out, right, rightMatched, t)
  await output.flush(last)
}

/** The positions of `rows` by their key at `slots` (rows with a NULL key left out): a hash join's table. */
function hashTable(rows: readonly SqlValue[][], slots: readonly number[]): Map<string | number, number[]> {
  const table = new Map<string | number, number[]>()
  rows.forEach((r, i) => {
    const k = keyOf(r, slots)
    if (k === null) return
    const bucket = table.get(k)
    if (bucket === undefined) table.set(k, [i])
    else bucket.push(i)
  })
  return table
}

/** Inner hash join building the rows before the table (the smaller side) and probing with the table's rows. */
async function hashJoinBuildLeft(ctx: StatementContext, left: readonly SqlValue[][], right: readonly SqlValue[][], t: TablePlan, output: JoinOutput): Promise<void> {
  const tick = pairCounter()
  const emit = pairEmitter(t, output.rows, false)
  const rightSlots = t.hashKeys.map(([, r]) => r)
  const table = hashTable(left, t.hashKeys.map(([l]) => l))
  for (const r of right) {
    const k = keyOf(r, rightSlots)
    const bucket = k === null ? undefined : table.get(k)
    if (bucket !== undefined) for (const li of bucket) emit(left[li]!, r)
    if (tick((bucket?.length ?? 0) + 1)) await ctx.yieldToEventLoop()
    if (!(await output.flush())) return
  }
  await output.flush(true)
}

/**
 * Merge join: `left` ascending on joined-row slot `key[0]`, `right` on table slot `key[1]`
 * (integers, never NULL: primary-key columns). Each run of equal keys on one side meets the
 * run on the other; the other equality keys and the rest of ON are tested per pair.
 */
async function mergeJoin(ctx: StatementContext, left: readonly SqlValue[][], right: readonly SqlValue[][], t: TablePlan, key: readonly [number, number], output: JoinOutput): Promise<void> {
  const tick = pairCounter()
  const out = output.rows
  const emit = pairEmitter(t, out, true)
  const keepLeft = t.join === 'left'
  const rightNulls = new Array<SqlValue>(t.width).fill(null)
  const [ls, rs] = key
  let i = 0
  let j = 0
  while (i < left.length) {
    const lv = left[i]![ls] as Exclude<SqlValue, null>
    while (j < right.length && compareValues(right[j]![rs] as Exclude<SqlValue, null>, lv) < 0) j++
    let jEnd = j
    while (jEnd < right.length && compareValues(right[jEnd]![rs] as Exclude<SqlValue, null>, lv) === 0) jEnd++
    // Every left row with this key meets the run right[j, jEnd).
    let iEnd = i
    while (iEnd < left.length && compareValues(left[iEnd]![ls] as Exclude<SqlValue, null>, lv) === 0) {
      const l = left[iEnd]!
      let matched = false
      for (let k = j; k < jEnd; k++) if (emit(l, right[k]!)) matched = true
      if (!matched && keepLeft) out.push([...l, ...rightNulls])
      iEnd++
    }
    if (tick(iEnd - i + (jEnd - j) * (iEnd - i))) await ctx.yieldToEventLoop()
    if (!(await output.flush())) return
    i = iEnd
    j = jEnd
  }
  await output.flush(true)
}

/**
 * Lookup join: for each batch of the rows before the table, the distinct values of their keys
 * are read from the table's index (or primary key) — point reads for a whole primary key,
 * spans scanned in parallel otherwise, then one batched read of the rows an index points at — and the batch is hash-joined with what was found.
 */
async function lookupJoin(ctx: StatementContext, left: readonly SqlValue[][], t: TablePlan, method: Extract<JoinMethod, { kind: 'lookup' }>, output: JoinOutput, last = true): Promise<void> {
  const table = t.table!
  for (let start = 0; start < left.length; ) {
    // A batch: rows until LOOKUP_BATCH distinct key combinations are collected.
    const combos = new Map<string, SqlValue[]>()
    let end = start
    for (; end < left.length && combos.size < LOOKUP_BATCH; end++) {
      const l = left[end]!
      const combo: SqlValue[] = []
      for (const [ls, col] of method.keys) {
        const v = l[ls] ?? null
        const part = v === null ? undefined : keyPartFor(v, table.columns[col]!.type)
        if (part === undefined) break
        combo.push(part)
      }
      if (combo.length === method.keys.length) combos.set(rowKey(combo), combo)
    }
    const batch = left.slice(start, end)
    start = end
    const found = combos.size === 0 ? [] : await lookupBatch(ctx, table, method, [...combos.values()], t)
    await hashJoin(ctx, batch, found, t, output, false)
    if (!(await output.flush())) return
  }
  await output.flush(last)
}

/** The table's rows (passing its scan condition) whose lookup columns hold one of `combos`. */
async function lookupBatch(ctx: StatementContext, table: TableDesc, method: Extract<JoinMethod, { kind: 'lookup' }>, combos: readonly SqlValue[][], t: TablePlan): Promise<SqlValue[][]> {
  combos = [...combos].sort((a, b) => compareCombos(a, b))
  if (method.index === null && method.keys.length === table.primaryKey.length) {
    const path: AccessPath = { kind: 'point-get', keys: combos.map((c) => primaryKeyOf(table, c)), texts: [] }
    return readRows(ctx, table, path, t.filter)
  }
  const indexId = method.index?.id ?? PRIMARY_INDEX_ID
  const spans: KeySpan[] = combos.map((c) => {
    const start = indexKey(table.id, indexId, c)
    return { start, end: prefixEnd(start)!, text: '' }
  })
  // Every span scanned at once (LOOKUP_PARALLEL at a time); an index's row keys then read in
  // one batched point-get.
  const index = method.index
  const layout = rowLayout(table)
  const found: SqlValue[][] = []
  const rowKeys: Uint8Array[] = []
  for (let i = 0; i < spans.length; i += LOOKUP_PARALLEL) {
    await Promise.all(
      spans.slice(i, i + LOOKUP_PARALLEL).map(async (span) => {
        if (index === null) pushAll(found, await scanSpan(ctx, span, (pairs) => decodeAndFilter(layout, pairs, t.filter), Infinity))
        else pushAll(rowKeys, await scanSpan(ctx, span, (pairs) => pairs.map(([k, v]) => rowKeyOfEntry(table, index, k, v)), Infinity))
      }),
    )
  }
  if (rowKeys.length > 0) pushAll(found, await readRows(ctx, table, { kind: 'point-get', keys: rowKeys, texts: [] }, t.filter))
  return found
}

function compareCombos(a: readonly SqlValue[], b: readonly SqlValue[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i] as Exclude<SqlValue, null>, b[i] as Exclude<SqlValue, null>)
    if (c !== 0) return c
  }
  return 0
}

/** A one-line description of a join method for EXPLAIN. */
export function describeJoin(t: TablePlan, method: JoinMethod): string {
  const keys = t.hashKeys.map(([l, r]) => `#${l} = ${t.alias}.#${r}`).join(' AND ')
  switch (method.kind) {
    case 'nested-loop':
      return keys === '' ? 'nested loop' : `nested loop on ${keys}`
    case 'hash':
      return `hash join on ${keys} (build side: ${method.build === 'left' ? 'the joined rows before it, fewer' : `${t.alias}`})`
    case 'merge':
      return `merge join on #${method.key[0]} = ${t.alias}.#${method.key[1]} (both sides in key order)`
    case 'lookup': {
      const name = method.index?.name ?? 'primary'
      return `lookup join into ${t.alias}@${name} on ${method.keys.map(([l, c]) => `#${l} = ${t.alias}.#${c}`).join(' AND ')} (batches of ${LOOKUP_BATCH} keys)`
    }
  }
}

// Runs an access path: fetches a table's rows (decoded, filtered, at most `limit`).
// Scans page through the KV store in chunks and fan out over the ranges a span touches.

import { keySuccessor, pushAll } from '@mrdb/storage'
import type { Expr } from './ast.js'
import type { TableDesc } from './catalog.js'
import type { KvPair, RangeSpan } from './kv-port.js'
import type { AccessPath, KeySpan } from './planner.js'
import { aggregateChunk, mergeGroups, type AggregateChunk } from './chunk-aggregate.js'
import { decodeAndFilter, filterRows, groupBytes, type AggregateSpec, type GroupTable } from './row-ops.js'
import type { StatementContext } from './statement-context.js'
import { rowKeyOfEntry, rowLayout, rowOfEntry, type RowLayout } from './table-codec.js'
import { rowKey, type SqlValue } from './values.js'

/**
 * The rows of `table` the path reaches that pass `filter`, at most `limit`: in key order,
 * except for a union, whose paths' rows follow one another (each row once).
 */
export async function readRows(ctx: StatementContext, table: TableDesc, path: AccessPath, filter: Expr | null, limit = Infinity): Promise<SqlValue[][]> {
  const layout = rowLayout(table)
  switch (path.kind) {
    case 'union': {
      const seen = new Set<string>()
      const out: SqlValue[][] = []
      for (const sub of path.paths) {
        if (out.length >= limit) break
        for (const row of await readRows(ctx, table, sub, filter)) {
          const k = rowKey(table.primaryKey.map((i) => row[i] ?? null))
          if (seen.has(k) || out.length >= limit) continue
          seen.add(k)
          out.push(row)
        }
      }
      return out
    }
    case 'point-get':
      return lookupRows(ctx, layout, path.keys, filter, limit)
    case 'primary-range':
    case 'full-scan': {
      const out: SqlValue[][] = []
      for (const span of path.spans) {
        if (out.length >= limit) break
        pushAll(out, await scanSpan(ctx, span, (pairs, room) => decodeAndFilter(layout, pairs, filter, room), limit - out.length))
      }
      return out
    }
    case 'index-scan': {
      const out: SqlValue[][] = []
      if (path.covering === true) {
        const index = path.index
        const entries = (pairs: KvPair[], room: number) => filterRows(pairs.map(([k, v]) => rowOfEntry(table, index, k, v)), filter).slice(0, room)
        for (const span of path.spans) {
          if (out.length >= limit) break
          pushAll(out, await scanSpan(ctx, span, entries, limit - out.length, indexPageSize(ctx, limit === Infinity)))
        }
        return out
      }
      if (limit !== Infinity) {
        // Index entries a chunk at a time, so a LIMIT stops the index scan too.
        for await (const rows of rowChunks(ctx, table, path, filter)) {
          pushAll(out, rows.slice(0, limit - out.length))
          if (out.length >= limit) break
        }
        return out
      }
      for (const span of path.spans) {
        if (out.length >= limit) break
        const keys = await scanSpan(ctx, span, (pairs) => pairs.map(([k, v]) => rowKeyOfEntry(table, path.index, k, v)), Infinity, indexPageSize(ctx, true))
        pushAll(out, await lookupRows(ctx, layout, keys, filter, limit - out.length))
      }
      return out
    }
  }
}

/** An access path that scans spans of the primary index. */
export type ScanPath = AccessPath & { kind: 'primary-range' | 'full-scan' }

/**
 * Aggregates the rows a scan path reaches without materializing them: each scanned chunk is
 * decoded, filtered and folded into partial groups — on the executor pool when the statement
 * has one, the next chunk's fetch overlapping the work — and the partial groups are merged.
 * For aggregates without DISTINCT (their partial states merge).
 */
export async function aggregateRows(
  ctx: StatementContext,
  table: TableDesc,
  path: ScanPath,
  filters: readonly Expr[],
  groupBy: readonly Expr[],
  aggregates: readonly AggregateSpec[],
  /** Charges each new group's bytes (to the statement's memory account). */
  charge: (bytes: number) => void,
): Promise<GroupTable> {
  const layout = rowLayout(table)
  const pool = ctx.options.pool
  const fold = (pairs: KvPair[]): Promise<GroupTable> | GroupTable => {
    const chunk: AggregateChunk = { layout, pairs, filters, groupBy, aggregates }
    return pool ? pool.aggregate(chunk) : aggregateChunk(chunk)
  }
  const groups: GroupTable = new Map()
  const merge = (part: GroupTable) => mergeGroups(groups, part, aggregates, (g) => charge(groupBytes(g)))
  let failed = false
  /** Folds one range's chunks; up to two are folded while the next one is fetched. */
  const foldRange = async (r: RangeSpan): Promise<void> => {
    // All of a range's tasks settle before an error propagates, so no task outlives the statement.
    const folding: Array<Promise<void>> = []
    try {
      let from = r.start
      const size = ctx.options.scanChunkSize
      while (!failed) {
        if (folding.length >= 2) await folding.shift()
        const pairs = await ctx.scan(from, r.end, size)
        const task = Promise.resolve(fold(pairs)).then(merge)
        task.catch(() => (failed = true))
        folding.push(task)
        if (pairs.length < size) break
        from = keySuccessor(pairs[pairs.length - 1]![0])
      }
    } finally {
      const settled = await Promise.allSettled(folding)
      const error = settled.find((o) => o.status === 'rejected')
      if (error) throw error.reason
    }
  }
  for (const span of path.spans) {
    const ranges = await ctx.db.rangesOf(span.start, span.end)
    // A few ranges at a time, not all: every page that arrives is decoded and handed to the pool
    // on the event loop, and pages of many ranges arriving together made long stretches of it.
    let next = 0
    const lanes = Array.from({ length: Math.min(WHOLE_SPAN_READ_AHEAD.ranges, ranges.length) }, async () => {
      while (!failed && next < ranges.length) {
        try {
          await foldRange(ranges[next++]!)
        } catch (e) {
          failed = true
          throw e
        }
      }
    })
    const outcomes = await Promise.allSettled(lanes)
    const error = outcomes.find((o) => o.status === 'rejected')
    if (error) throw error.reason
  }
  return groups
}

async function lookupRows(ctx: StatementContext, layout: RowLayout, keys: readonly Uint8Array[], filter: Expr | null, limit: number): Promise<SqlValue[][]> {
  const out: SqlValue[][] = []
  const chunk = ctx.options.scanChunkSize
  // Without a limit, a few batches are read at once (rows in key-list order all the same).
  const inFlight = limit === Infinity ? LOOKUP_BATCHES_IN_FLIGHT : 1
  for (let i = 0; i < keys.length && out.length < limit; i += chunk * inFlight) {
    const batches: Array<readonly Uint8Array[]> = []
    for (let b = 0; b < inFlight && i + b * chunk < keys.length; b++) batches.push(keys.slice(i + b * chunk, i + (b + 1) * chunk))
    const answers = await Promise.all(batches.map((batch) => ctx.getMany(batch)))
    answers.forEach((values, n) => {
      const batch = batches[n]!
      const pairs: KvPair[] = []
      values.forEach((v, j) => {
        if (v !== undefined) pairs.push([batch[j]!, v])
      })
      if (out.length < limit) pushAll(out, decodeAndFilter(layout, pairs, filter, limit - out.length))
    })
  }
  return out
}

/** Row-lookup batches (of the scan chunk size) a lookup without a limit keeps in flight. */
const LOOKUP_BATCHES_IN_FLIGHT = 4

/**
 * Scans a span converting each chunk with `convert` (given the room left under `limit`);
 * results in key order. Without a limit, one scan per range it touches, in parallel, each
 * paging in chunks; with one (LIMIT pushed down), the ranges are read one after another in
 * key order and reading stops once `limit` results are in — a LIMIT 10 over a big table
 * costs one chunk, not one per range.
 */
export async function scanSpan<T>(ctx: StatementContext, span: KeySpan, convert: (pairs: KvPair[], room: number) => T[], limit: number, size = ctx.options.scanChunkSize): Promise<T[]> {
  if (limit !== Infinity) {
    const out: T[] = []
    for await (const pairs of spanChunks(ctx, span, undefined, size)) {
      pushAll(out, convert(pairs, limit - out.length))
      if (out.length >= limit) break
    }
    return out.length > limit ? out.slice(0, limit) : out
  }
  const ranges = await ctx.db.rangesOf(span.start, span.end)
  const parts = await Promise.all(
    ranges.map(async (r) => {
      const out: T[] = []
      let from = r.start
      for (;;) {
        const pairs = await ctx.scan(from, r.end, size)
        pushAll(out, convert(pairs, limit - out.length))
        if (pairs.length < size || out.length >= limit) return out
        from = keySuccessor(pairs[pairs.length - 1]![0])
      }
    }),
  )
  return parts.flat()
}

/**
 * Entries per page of an index scan: the scan chunk size, or four times it when the span is
 * read `whole` (no LIMIT may stop it early). An entry is a key alone, a few times smaller than
 * a row, and each page is a round trip to the range's leader (a ReadIndex, then the scan).
 */
function indexPageSize(ctx: StatementContext, whole: boolean): number {
  return ctx.options.scanChunkSize * (whole ? 4 : 1)
}

/** Ranges read at once, and chunks each may hold ahead, when a streaming caller reads a whole span (see {@link spanChunks}). */
export const WHOLE_SPAN_READ_AHEAD = { ranges: 4, chunks: 2 } as const

/**
 * The pairs of a span in key order, a chunk (at most `scanChunkSize` pairs) at a time, range
 * after range. `readAhead.ranges` ranges are read at once, each holding at most
 * `readAhead.chunks` chunks the caller has not taken yet (so memory stays bounded); the
 * default — one range, one chunk ahead — suits a caller that may stop early (LIMIT): no
 * scan is sent past the chunk after the one it stopped at.
 */
export async function* spanChunks(ctx: StatementContext, span: KeySpan, readAhead: { ranges: number; chunks: number } = { ranges: 1, chunks: 1 }, size = ctx.options.scanChunkSize): AsyncGenerator<KvPair[]> {
  const ranges = await ctx.db.rangesOf(span.start, span.end)
  let stopped = false
  /** One range's reader: scans chunk after chunk while it holds fewer than `readAhead.chunks`. */
  const reader = (r: (typeof ranges)[number]) => {
    const queue: KvPair[][] = []
    let done = false
    let failure: { error: unknown } | null = null
    let wake: (() => void) | null = null
    let room: (() => void) | null = null
    const notify = () => {
      wake?.()
      wake = null
    }
    const running = (async () => {
      let from = r.start
      try {
        while (!stopped) {
          if (queue.length >= readAhead.chunks) await new Promise<void>((resolve) => (room = resolve))
          if (stopped) break
          const pairs = await ctx.scan(from, r.end, size)
          queue.push(pairs)
          notify()
          if (pairs.length < size) break
          from = keySuccessor(pairs[pairs.length - 1]![0])
        }
      } catch (error) {
        failure = { error }
      } finally {
        done = true
        notify()
      }
    })()
    void running
    return {
      /** The next chunk, or null when the range is done. */
      async next(): Promise<KvPair[] | null> {
        for (;;) {
          if (queue.length > 0) {
            const pairs = queue.shift()!
            room?.()
            room = null
            return pairs
          }
          if (failure !== null) throw (failure as { error: unknown }).error
          if (done) return null
          await new Promise<void>((resolve) => (wake = resolve))
        }
      },
      stop() {
        room?.()
        room = null
      },
    }
  }
  const active: Array<ReturnType<typeof reader>> = []
  let nextRange = 0
  const fill = () => {
    while (active.length < readAhead.ranges && nextRange < ranges.length) active.push(reader(ranges[nextRange++]!))
  }
  try {
    fill()
    while (active.length > 0) {
      const pairs = await active[0]!.next()
      if (pairs === null) {
        active.shift()
        fill()
        continue
      }
      if (pairs.length > 0) yield pairs
    }
  } finally {
    // The caller stopped (or failed): readers send no further scans; a scan in flight finishes
    // unheeded (a reader never rejects: it keeps its error for next()).
    stopped = true
    for (const a of active) a.stop()
  }
}

/**
 * The rows of `table` the path reaches that pass `filter`, a chunk at a time and in the order
 * {@link readRows} gives them, reading no further than the caller iterates (and `readAhead`
 * lets it: see {@link spanChunks}): what a streaming query (ORDER BY into a spilling sort,
 * LIMIT with a filter the scan cannot apply) reads from.
 */
export async function* rowChunks(ctx: StatementContext, table: TableDesc, path: AccessPath, filter: Expr | null, readAhead?: { ranges: number; chunks: number }): AsyncGenerator<SqlValue[][]> {
  const layout = rowLayout(table)
  switch (path.kind) {
    case 'primary-range':
    case 'full-scan':
      for (const span of path.spans) {
        for await (const pairs of spanChunks(ctx, span, readAhead)) {
          const rows = decodeAndFilter(layout, pairs, filter)
          if (rows.length > 0) yield rows
        }
      }
      return
    case 'index-scan': {
      const size = indexPageSize(ctx, readAhead !== undefined)
      for (const span of path.spans) {
        for await (const pairs of spanChunks(ctx, span, readAhead, size)) {
          if (path.covering === true) {
            const index = path.index
            const rows = filterRows(pairs.map(([k, v]) => rowOfEntry(table, index, k, v)), filter)
            if (rows.length > 0) yield rows
            continue
          }
          const keys = pairs.map(([k, v]) => rowKeyOfEntry(table, path.index, k, v))
          const rows = await lookupRows(ctx, layout, keys, filter, Infinity)
          if (rows.length > 0) yield rows
        }
      }
      return
    }
    case 'point-get':
    case 'union':
      // Bounded by their key lists (a union's paths are read whole to drop duplicates).
      yield await readRows(ctx, table, path, filter)
  }
}

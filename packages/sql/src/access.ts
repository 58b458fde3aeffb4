// Runs an access path: fetches a table's rows (decoded, filtered, at most `limit`).
// Scans page through the KV store in chunks and fan out over the ranges a span touches.

import type { Expr } from './ast.js'
import type { TableDesc } from './catalog.js'
import type { KvPair } from './kv-port.js'
import type { AccessPath, KeySpan } from './planner.js'
import { decodeAndFilter } from './row-ops.js'
import type { StatementContext } from './statement-context.js'
import { rowKeyOfEntry, rowLayout, type RowLayout } from './table-codec.js'
import type { SqlValue } from './values.js'

/** The rows of `table` the path reaches that pass `filter`, in key order, at most `limit`. */
export async function readRows(ctx: StatementContext, table: TableDesc, path: AccessPath, filter: Expr | null, limit = Infinity): Promise<SqlValue[][]> {
  const layout = rowLayout(table)
  switch (path.kind) {
    case 'point-get':
      return lookupRows(ctx, layout, path.keys, filter, limit)
    case 'primary-range':
    case 'full-scan': {
      const out: SqlValue[][] = []
      for (const span of path.spans) {
        if (out.length >= limit) break
        out.push(...(await scanSpan(ctx, span, (pairs, room) => decodeAndFilter(layout, pairs, filter, room), limit - out.length)))
      }
      return out
    }
    case 'index-scan': {
      const out: SqlValue[][] = []
      for (const span of path.spans) {
        if (out.length >= limit) break
        const keys = await scanSpan(ctx, span, (pairs) => pairs.map(([k, v]) => rowKeyOfEntry(table, path.index, k, v)), Infinity)
        out.push(...(await lookupRows(ctx, layout, keys, filter, limit - out.length)))
      }
      return out
    }
  }
}

async function lookupRows(ctx: StatementContext, layout: RowLayout, keys: readonly Uint8Array[], filter: Expr | null, limit: number): Promise<SqlValue[][]> {
  const out: SqlValue[][] = []
  const chunk = ctx.options.scanChunkSize
  for (let i = 0; i < keys.length && out.length < limit; i += chunk) {
    const batch = keys.slice(i, i + chunk)
    const values = await ctx.getMany(batch)
    const pairs: KvPair[] = []
    values.forEach((v, j) => {
      if (v !== undefined) pairs.push([batch[j]!, v])
    })
    out.push(...decodeAndFilter(layout, pairs, filter, limit - out.length))
  }
  return out
}

/**
 * Scans a span: one scan per range it touches, in parallel, each paging in chunks and
 * converting each chunk with `convert` (given the room left under `limit`); results in key order.
 */
export async function scanSpan<T>(ctx: StatementContext, span: KeySpan, convert: (pairs: KvPair[], room: number) => T[], limit: number): Promise<T[]> {
  const ranges = await ctx.db.rangesOf(span.start, span.end)
  const parts = await Promise.all(
    ranges.map(async (r) => {
      const out: T[] = []
      let from = r.start
      const chunk = ctx.options.scanChunkSize
      for (;;) {
        const pairs = await ctx.scan(from, r.end, chunk)
        out.push(...convert(pairs, limit - out.length))
        if (pairs.length < chunk || out.length >= limit) return out
        from = successor(pairs[pairs.length - 1]![0])
      }
    }),
  )
  const all = parts.flat()
  return all.length > limit ? all.slice(0, limit) : all
}

function successor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1)
  next.set(key)
  return next
}

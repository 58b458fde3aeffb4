// EXPLAIN: the plan of a statement as rows of text, one operator per line, children indented.

import { keySuccessor } from '@mrdb/storage'
import { exprToSql, type Expr, type Statement } from './ast.js'
import type { TableDesc } from './catalog.js'
import { planRowSelection } from './dml.js'
import { fail, SqlState } from './errors.js'
import type { AccessPath } from './planner.js'
import { planSelect, streamsAggregate, TOP_LEVEL, withCommonTables, type TablePlan } from './select.js'
import type { StatementContext } from './statement-context.js'

/** How every read of a statement is served. */
export const READ_MODE = "snapshot read at the transaction's start timestamp, linearizable"

/** The plan of `stmt`, one line per row. */
export async function explain(ctx: StatementContext, stmt: Statement): Promise<string[]> {
  const lines: string[] = []
  const add = (depth: number, text: string): void => {
    lines.push('  '.repeat(depth) + text)
  }
  switch (stmt.kind) {
    case 'select': {
      const plan = await planSelect(ctx, stmt, await withCommonTables(ctx, TOP_LEVEL, stmt.with))
      let d = 0
      if (plan.limit !== null || plan.offset > 0) add(d++, `limit ${plan.limit ?? 'all'} offset ${plan.offset}`)
      if (plan.sortKeys.length > 0) add(d++, `sort ${plan.sortKeys.map((k) => `${labelOf(plan.projections[k.index]!, plan.columns[k.index]?.name)} ${k.desc ? 'DESC' : 'ASC'}`).join(', ')}`)
      if (plan.distinct) add(d++, 'distinct')
      add(d++, `project ${plan.columns.map((c) => c.name).join(', ')}`)
      if (plan.having !== null) add(d++, `filter (having) ${exprToSql(plan.having)}`)
      if (plan.aggregate !== null) {
        const groups = plan.aggregate.groupBy.map(exprToSql).join(', ')
        const aggs = plan.aggregate.aggregates.map((a) => `${a.fn.toLowerCase()}(${a.distinct ? 'DISTINCT ' : ''}${a.arg === null ? '*' : exprToSql(a.arg)})`).join(', ')
        const how = !streamsAggregate(plan) ? '' : ctx.options.pool ? ' (streamed: per scanned chunk, on the executor pool)' : ' (streamed: per scanned chunk, inline)'
        add(d++, `aggregate ${aggs}${groups === '' ? '' : ` group by ${groups}`}${how}`)
      }
      if (plan.where !== null) add(d++, `filter ${exprToSql(plan.where)}`)
      if (plan.applies.length > 0) add(d++, `apply ${plan.applies.length} correlated subquer${plan.applies.length === 1 ? 'y' : 'ies'} per row`)
      if (plan.tables.length === 0) add(d, 'values (one row, no table)')
      for (let i = plan.tables.length - 1; i >= 1; i--) {
        const t = plan.tables[i]!
        const keys = t.hashKeys.map(([l, r]) => `#${l} = ${t.alias}.#${r}`).join(' AND ')
        add(d++, `${t.join} join ${keys === '' ? '(nested loop)' : `(hash on ${keys})`}${t.onFilter === null ? '' : ` filter ${exprToSql(t.onFilter)}`}`)
        await describeTable(ctx, add, d + 0, t, Infinity)
      }
      if (plan.tables.length > 0) await describeTable(ctx, add, d, plan.tables[0]!, plan.scanLimit)
      break
    }
    case 'update':
    case 'delete': {
      const table = ctx.catalog.table(stmt.table)
      const { path, filter, applies, residual } = await planRowSelection(ctx, table, stmt.where)
      add(0, `${stmt.kind} ${table.name}${table.indexes.length > 0 ? ` (and indexes ${table.indexes.map((i) => i.name).join(', ')})` : ''}`)
      let d = 1
      if (residual !== null) add(d++, `filter ${exprToSql(residual)}`)
      if (applies.length > 0) add(d++, `apply ${applies.length} correlated subquer${applies.length === 1 ? 'y' : 'ies'} per row`)
      await describePath(ctx, add, d, table, table.name, path, filter, Infinity)
      break
    }
    case 'insert': {
      const table = ctx.catalog.table(stmt.table)
      const how = stmt.onConflict !== null ? 'upsert' : 'insert'
      add(0, `${how} into ${table.name} (${stmt.query !== null ? 'rows of a query' : `${stmt.rows.length} row${stmt.rows.length === 1 ? '' : 's'}`})`)
      add(1, stmt.onConflict !== null ? 'reads the colliding rows by primary key and unique indexes' : 'blind write: uniqueness checked at commit (KV insert)')
      break
    }
    default:
      return fail(SqlState.FEATURE_NOT_SUPPORTED, `EXPLAIN of ${stmt.kind} is not supported`)
  }
  return lines
}

function labelOf(e: Expr, name: string | undefined): string {
  return name ?? exprToSql(e)
}

async function describeTable(ctx: StatementContext, add: (d: number, t: string) => void, depth: number, t: TablePlan, limit: number): Promise<void> {
  if (t.table === null) {
    add(depth, `derived table ${t.derived!.name}${t.alias === t.derived!.name ? '' : ` AS ${t.alias}`} (computed whole)${t.filter === null ? '' : ` filter ${exprToSql(t.filter)}`}`)
    return
  }
  await describePath(ctx, add, depth, t.table, t.alias, t.path!, t.filter, limit)
}

async function describePath(ctx: StatementContext, add: (d: number, t: string) => void, depth: number, table: TableDesc, alias: string, path: AccessPath, filter: Expr | null, limit: number): Promise<void> {
  const name = alias === table.name ? table.name : `${table.name} AS ${alias}`
  let spans: Array<{ start: Uint8Array; end: Uint8Array; text: string }>
  switch (path.kind) {
    case 'union':
      add(depth, `union of ${path.paths.length} paths, each row once (an OR of indexable conditions)`)
      for (const sub of path.paths) await describePath(ctx, add, depth + 1, table, alias, sub, null, Infinity)
      if (filter !== null) add(depth + 1, `filter ${exprToSql(filter)}`)
      if (limit !== Infinity) add(depth + 1, `limit ${limit} (pushed down)`)
      return
    case 'point-get':
      add(depth, `point get ${name}@primary (${path.keys.length} key${path.keys.length === 1 ? '' : 's'})`)
      spans = path.keys.map((k, i) => ({ start: k, end: keySuccessor(k), text: path.texts[i]! }))
      break
    case 'primary-range':
      add(depth, `range scan ${name}@primary`)
      spans = [...path.spans]
      break
    case 'index-scan':
      add(depth, `index scan ${name}@${path.index.name}, then row lookup by primary key`)
      spans = [...path.spans]
      break
    case 'full-scan':
      add(depth, `full scan ${name}@primary (ranges in parallel)`)
      spans = [...path.spans]
      break
  }
  for (const s of spans) add(depth + 1, `span ${s.text}`)
  const ranges = new Set<number>()
  for (const s of spans) for (const r of await ctx.db.rangesOf(s.start, s.end)) ranges.add(r.rangeId)
  add(depth + 1, `ranges ${[...ranges].sort((a, b) => a - b).join(', ')}`)
  if (filter !== null) add(depth + 1, `filter ${exprToSql(filter)}`)
  if (limit !== Infinity) add(depth + 1, `limit ${limit} (pushed down)`)
  add(depth + 1, `read ${READ_MODE}`)
}


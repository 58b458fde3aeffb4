// EXPLAIN: the plan of a statement as rows of text, one operator per line, children indented.

import { keySuccessor } from '@mrdb/storage'
import { exprToSql, type Expr, type Statement } from './ast.js'
import type { TableDesc } from './catalog.js'
import { planRowSelection } from './dml.js'
import { fail, SqlState } from './errors.js'
import { planSelect, streamsAggregate, TOP_LEVEL, withCommonTables, type SelectPlan, type TablePlan } from './select.js'
import { describeJoin } from './join.js'
import { distinctEstimate, type AccessPath } from './planner.js'
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
      // Estimated rows, from the scans up.
      const joined = plan.tables.length === 0 ? 1 : plan.tables.at(-1)!.estimate
      const filtered = plan.where === null ? joined : plan.tables.length === 1 ? Math.max(1, Math.round(joined / 3)) : joined
      const grouped = plan.aggregate === null ? filtered : plan.aggregate.groupBy.length === 0 ? 1 : Math.max(1, Math.min(filtered, groupEstimate(plan, filtered)))
      const having = plan.having === null ? grouped : Math.max(1, Math.round(grouped / 3))
      const limited = plan.limit === null ? having : Math.min(having, plan.limit)
      let d = 0
      if (plan.limit !== null || plan.offset > 0) add(d++, `limit ${plan.limit ?? 'all'} offset ${plan.offset}${est(limited)}`)
      if (plan.sortKeys.length > 0) add(d++, `sort ${plan.sortKeys.map((k) => `${labelOf(plan.projections[k.index]!, plan.columns[k.index]?.name)} ${k.desc ? 'DESC' : 'ASC'}`).join(', ')}${est(having)}`)
      if (plan.distinct) add(d++, `distinct${est(having)}`)
      add(d++, `project ${plan.columns.map((c) => c.name).join(', ')}${est(having)}`)
      if (plan.having !== null) add(d++, `filter (having) ${exprToSql(plan.having)}${est(having)}`)
      if (plan.aggregate !== null) {
        const groups = plan.aggregate.groupBy.map(exprToSql).join(', ')
        const aggs = plan.aggregate.aggregates.map((a) => `${a.fn.toLowerCase()}(${a.distinct ? 'DISTINCT ' : ''}${a.arg === null ? '*' : exprToSql(a.arg)})`).join(', ')
        const how = !streamsAggregate(plan) ? '' : ctx.options.pool ? ' (streamed: per scanned chunk, on the executor pool)' : ' (streamed: per scanned chunk, inline)'
        add(d++, `aggregate ${aggs}${groups === '' ? '' : ` group by ${groups}`}${how}${est(grouped)}`)
      }
      if (plan.where !== null) add(d++, `filter ${exprToSql(plan.where)}${est(filtered)}`)
      if (plan.applies.length > 0) add(d++, `apply ${plan.applies.length} correlated subquer${plan.applies.length === 1 ? 'y' : 'ies'} per row${est(joined)}`)
      if (plan.tables.length === 0) add(d, `values (one row, no table)${est(1)}`)
      for (let i = plan.tables.length - 1; i >= 1; i--) {
        const t = plan.tables[i]!
        add(d++, `${t.join} ${describeJoin(t, t.method)}${t.onFilter === null ? '' : ` filter ${exprToSql(t.onFilter)}`}${est(t.estimate)}`)
        if (t.method.kind === 'lookup') {
          const name = t.alias === t.table!.name ? t.table!.name : `${t.table!.name} AS ${t.alias}`
          const how = t.method.index === null ? 'point reads or spans of the primary key' : `spans of ${t.method.index.name}, then row lookup by primary key`
          add(d, `lookup ${name} (${how}, per batch of keys)${est(t.estimate)}`)
          if (t.filter !== null) add(d + 1, `filter ${exprToSql(t.filter)}`)
          add(d + 1, `read ${READ_MODE}`)
        } else await describeTable(ctx, add, d + 0, t, Infinity)
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
      await describePath(ctx, add, d, table, table.name, path, filter, Infinity, path.estimate ?? null)
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

/** The estimate shown after a plan node. */
function est(rows: number): string {
  return ` (est. ${Math.max(0, Math.round(rows))} row${Math.round(rows) === 1 ? '' : 's'})`
}

/** The groups a GROUP BY is expected to form: the product of its columns' distinct counts. */
function groupEstimate(plan: SelectPlan, input: number): number {
  let groups = 1
  for (const g of plan.aggregate!.groupBy) {
    const t = g.kind === 'slot' ? plan.tables.find((x) => g.index >= x.offset && g.index < x.offset + x.width) : undefined
    groups *= t?.table != null && g.kind === 'slot' ? distinctEstimate(t.table, g.index - t.offset, null) : input / 10
  }
  return Math.round(groups)
}

function labelOf(e: Expr, name: string | undefined): string {
  return name ?? exprToSql(e)
}

async function describeTable(ctx: StatementContext, add: (d: number, t: string) => void, depth: number, t: TablePlan, limit: number): Promise<void> {
  if (t.table === null) {
    add(depth, `derived table ${t.derived!.name}${t.alias === t.derived!.name ? '' : ` AS ${t.alias}`} (computed whole)${t.filter === null ? '' : ` filter ${exprToSql(t.filter)}`}`)
    return
  }
  await describePath(ctx, add, depth, t.table, t.alias, t.path!, t.filter, limit, Math.min(t.scanEstimate, limit))
}

async function describePath(ctx: StatementContext, add: (d: number, t: string) => void, depth: number, table: TableDesc, alias: string, path: AccessPath, filter: Expr | null, limit: number, rows: number | null): Promise<void> {
  const name = alias === table.name ? table.name : `${table.name} AS ${alias}`
  let spans: Array<{ start: Uint8Array; end: Uint8Array; text: string }>
  const e = est(rows ?? path.estimate ?? 0)
  switch (path.kind) {
    case 'union':
      add(depth, `union of ${path.paths.length} paths, each row once (an OR of indexable conditions)${e}`)
      for (const sub of path.paths) await describePath(ctx, add, depth + 1, table, alias, sub, null, Infinity, null)
      if (filter !== null) add(depth + 1, `filter ${exprToSql(filter)}`)
      if (limit !== Infinity) add(depth + 1, `limit ${limit} (pushed down)`)
      return
    case 'point-get':
      add(depth, `point get ${name}@primary (${path.keys.length} key${path.keys.length === 1 ? '' : 's'})${e}`)
      spans = path.keys.map((k, i) => ({ start: k, end: keySuccessor(k), text: path.texts[i]! }))
      break
    case 'primary-range':
      add(depth, `range scan ${name}@primary${e}`)
      spans = [...path.spans]
      break
    case 'index-scan':
      add(depth, `index scan ${name}@${path.index.name}${path.covering === true ? ' (covering: no row lookup)' : ', then row lookup by primary key'}${e}`)
      spans = [...path.spans]
      break
    case 'full-scan':
      add(depth, `full scan ${name}@primary (ranges in parallel)${e}`)
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


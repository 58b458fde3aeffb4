// SELECT: planning (names, types, access paths, joins, aggregation, ordering) and execution.

import { childExprs, conjuncts, exprKey, exprToSql, hasAggregate, isConstant, mapChildren, type Expr, type SelectStmt } from './ast.js'
import { bind, remapSlots, Scope, slotsOf, typeCheck, type ScopeColumn, type StaticType } from './binder.js'
import type { TableDesc } from './catalog.js'
import { fail, SqlState } from './errors.js'
import { evaluate, isTrue } from './eval.js'
import { chooseAccessPath, type AccessPath } from './planner.js'
import { aggregateRows, readRows, type ScanPath } from './access.js'
import { accumulate, distinctRows, filterRows, finish, newState, sortRows, type AggregateSpec, type GroupTable, type SortKey } from './row-ops.js'
import type { StatementContext } from './statement-context.js'
import { rowKey, typeName, valueKey, type BaseType, type SqlValue } from './values.js'

/** A result column: its name and SQL type name. */
export interface ResultColumn {
  readonly name: string
  readonly type: string
}

/** How one table of FROM is read and joined. */
export interface TablePlan {
  readonly table: TableDesc
  readonly alias: string
  readonly join: 'first' | 'inner' | 'left' | 'cross'
  /** Where the table's columns start in the joined row. */
  readonly offset: number
  readonly path: AccessPath
  /** Conditions applied while scanning (table-local slots). */
  readonly filter: Expr | null
  /** Equality pairs [joined-row slot, table-local slot] the hash join matches on. */
  readonly hashKeys: ReadonlyArray<readonly [number, number]>
  /** The rest of ON, over the joined row including this table. */
  readonly onFilter: Expr | null
}

/** A planned SELECT. */
export interface SelectPlan {
  readonly tables: readonly TablePlan[]
  /** WHERE over the joined row (null when it was applied entirely while scanning). */
  readonly where: Expr | null
  readonly aggregate: { readonly groupBy: readonly Expr[]; readonly aggregates: readonly AggregateSpec[] } | null
  readonly having: Expr | null
  /** Output expressions followed by extra sort-only expressions. */
  readonly projections: readonly Expr[]
  readonly columns: readonly ResultColumn[]
  readonly sortKeys: readonly SortKey[]
  readonly distinct: boolean
  readonly limit: number | null
  readonly offset: number
  /** Rows the first table's scan may stop after (LIMIT pushed down), or Infinity. */
  readonly scanLimit: number
}

/** Plans a SELECT (running its uncorrelated IN subqueries). */
export async function planSelect(ctx: StatementContext, stmt: SelectStmt): Promise<SelectPlan> {
  // FROM: the joined row is every table's columns side by side.
  const scopeColumns: ScopeColumn[] = []
  const tableInfo: Array<{ table: TableDesc; alias: string; join: TablePlan['join']; offset: number; on: Expr | null }> = []
  const aliases = new Set<string>()
  for (const ref of stmt.from) {
    const table = (ctx.newCatalog ?? ctx.catalog).table(ref.table)
    const alias = ref.alias ?? ref.table
    if (aliases.has(alias)) fail(SqlState.DUPLICATE_ALIAS, `table name "${alias}" specified more than once`)
    aliases.add(alias)
    tableInfo.push({ table, alias, join: ref.join, offset: scopeColumns.length, on: ref.on })
    for (const c of table.columns) scopeColumns.push({ table: alias, name: c.name, type: c.type, hidden: c.hidden })
  }
  const scope = new Scope(scopeColumns)
  const slotTypes: Array<BaseType | null> = scopeColumns.map((c) => c.type?.base ?? null)

  const where = stmt.where === null ? null : bind(await resolveSubqueries(ctx, stmt.where), scope, 'WHERE')
  if (where !== null) checkCondition(where, slotTypes, 'WHERE')
  const whereParts = conjuncts(where)

  const tables: TablePlan[] = []
  for (let i = 0; i < tableInfo.length; i++) {
    const t = tableInfo[i]!
    const width = t.table.columns.length
    const local = (e: Expr): boolean => [...slotsOf(e)].every((s) => s >= t.offset && s < t.offset + width)
    const pushable = t.join === 'left' ? [] : whereParts.filter(local).map((e) => remapSlots(e, (s) => s - t.offset))
    let hashKeys: Array<[number, number]> = []
    let onFilter: Expr | null = null
    if (t.on !== null) {
      const visible = new Scope(scopeColumns.slice(0, t.offset + width))
      const on = bind(await resolveSubqueries(ctx, t.on), visible, 'ON')
      checkCondition(on, slotTypes, 'ON')
      const rest: Expr[] = []
      for (const c of conjuncts(on)) {
        const pair = c.kind === 'compare' && c.op === '=' && c.left.kind === 'slot' && c.right.kind === 'slot' ? [c.left.index, c.right.index] : null
        if (pair !== null && pair[0]! < t.offset && pair[1]! >= t.offset) hashKeys.push([pair[0]!, pair[1]! - t.offset])
        else if (pair !== null && pair[1]! < t.offset && pair[0]! >= t.offset) hashKeys.push([pair[1]!, pair[0]! - t.offset])
        else rest.push(c)
      }
      onFilter = andAll(rest)
    }
    if (i === 0) hashKeys = []
    tables.push({ table: t.table, alias: t.alias, join: t.join, offset: t.offset, path: chooseAccessPath(t.table, pushable), filter: andAll(pushable), hashKeys, onFilter })
  }
  const singleTable = tables.length === 1

  // SELECT list, with * expanded.
  const items: Array<{ expr: Expr; name: string }> = []
  for (const item of stmt.items) {
    if (item.kind === 'star') {
      if (item.table !== null && !aliases.has(item.table)) fail(SqlState.UNDEFINED_TABLE, `missing FROM-clause entry for table "${item.table}"`)
      if (stmt.from.length === 0) fail(SqlState.SYNTAX_ERROR, 'SELECT * with no tables specified is not valid')
      scopeColumns.forEach((c) => {
        if (!c.hidden && (item.table === null || c.table === item.table)) items.push({ expr: { kind: 'column', table: c.table, name: c.name }, name: c.name })
      })
    } else {
      const name = item.alias ?? (item.expr.kind === 'column' ? item.expr.name : exprToSql(item.expr))
      items.push({ expr: await resolveSubqueries(ctx, item.expr), name })
    }
  }

  // GROUP BY ordinals and output names refer to SELECT items.
  const groupByRaw = stmt.groupBy.map((g) => {
    if (g.kind === 'literal' && typeof g.value === 'bigint') return selectItemAt(items, g.value, 'GROUP BY').expr
    if (g.kind === 'column' && g.table === null && !scopeColumns.some((c) => c.name === g.name)) {
      const item = items.find((it) => it.name === g.name)
      if (item !== undefined) return item.expr
    }
    return g
  })
  const aggregating = groupByRaw.length > 0 || items.some((it) => hasAggregate(it.expr)) || (stmt.having !== null)
  let outputScopeBind: (e: Expr, context: string) => Expr
  let outTypes: () => Array<BaseType | null>
  let aggregate: SelectPlan['aggregate'] = null
  if (aggregating) {
    const groupBy = groupByRaw.map((g) => bind(g, scope, 'GROUP BY'))
    groupBy.forEach((g) => typeCheck(g, slotTypes))
    const groupKeys = groupBy.map(exprKey)
    const aggregates: AggregateSpec[] = []
    const aggKeys: string[] = []
    const aggTypes: Array<BaseType | null> = []
    const post = (e: Expr, context: string): Expr => {
      if (e.kind === 'aggregate') {
        if (e.arg !== null && hasAggregate(e.arg)) fail(SqlState.GROUPING_ERROR, 'aggregate function calls cannot be nested')
        const arg = e.arg === null ? null : bind(e.arg, scope, 'an aggregate argument')
        const argType = arg === null ? null : typeCheck(arg, slotTypes)
        if ((e.fn === 'SUM' || e.fn === 'AVG') && argType !== null && argType !== 'null' && argType !== 'int' && argType !== 'float' && argType !== 'numeric') {
          fail(SqlState.DATATYPE_MISMATCH, `function ${e.fn.toLowerCase()} does not accept ${typeName({ base: argType })}`)
        }
        const spec: AggregateSpec = { fn: e.fn, arg, distinct: e.distinct }
        const key = exprKey(spec as unknown as Expr)
        let idx = aggKeys.indexOf(key)
        if (idx < 0) {
          idx = aggregates.push(spec) - 1
          aggKeys.push(key)
          // AVG of INT or NUMERIC is NUMERIC, as in PostgreSQL (SUM of INT stays BIGINT: see docs/decisions.md).
          aggTypes.push(e.fn === 'COUNT' ? 'int' : e.fn === 'AVG' ? (argType === 'float' ? 'float' : argType === null || argType === 'null' ? null : 'numeric') : argType === 'null' ? null : argType)
        }
        return { kind: 'slot', index: groupBy.length + idx, label: exprToSql(e) }
      }
      if (!hasAggregate(e) && !isConstant(e)) {
        const g = groupKeys.indexOf(exprKey(bind(e, scope, context)))
        if (g >= 0) return { kind: 'slot', index: g, label: exprToSql(e) }
        if (e.kind === 'column') fail(SqlState.GROUPING_ERROR, `column "${exprToSql(e)}" must appear in the GROUP BY clause or be used in an aggregate function`)
      }
      return mapChildren(e, (c) => post(c, context))
    }
    outputScopeBind = post
    aggregate = { groupBy, aggregates }
    // The post-aggregation row: group values, then aggregates (collected while binding).
    outTypes = () => [...groupBy.map((g) => nonNull(typeCheck(g, slotTypes))), ...aggTypes]
  } else {
    outputScopeBind = (e, context) => bind(e, scope, context)
    outTypes = () => slotTypes
  }

  const having = stmt.having === null ? null : outputScopeBind(await resolveSubqueries(ctx, stmt.having), 'HAVING')
  const projections = items.map((it) => outputScopeBind(it.expr, 'SELECT'))
  const columns = projections.map((p, i) => ({ name: items[i]!.name, type: staticTypeName(typeCheck(p, outTypes())) }))
  if (having !== null) checkCondition(having, outTypes(), 'HAVING')

  // ORDER BY: an ordinal or output name picks an output column; anything else is computed.
  const sortKeys: SortKey[] = []
  const extra: Expr[] = []
  for (const o of stmt.orderBy) {
    let index = -1
    if (o.expr.kind === 'literal' && typeof o.expr.value === 'bigint') index = Number(selectItemIndex(items, o.expr.value, 'ORDER BY'))
    else if (o.expr.kind === 'column' && o.expr.table === null) {
      const name = o.expr.name
      index = items.findIndex((it) => it.name === name)
    }
    if (index < 0) {
      const bound = outputScopeBind(await resolveSubqueries(ctx, o.expr), 'ORDER BY')
      typeCheck(bound, outTypes())
      const same = projections.findIndex((p) => exprKey(p) === exprKey(bound))
      if (same >= 0) index = same
      else {
        if (stmt.distinct) fail(SqlState.INVALID_COLUMN_REFERENCE, 'for SELECT DISTINCT, ORDER BY expressions must appear in select list')
        index = projections.length + extra.push(bound) - 1
      }
    }
    sortKeys.push({ index, desc: o.desc })
  }

  const limit = stmt.limit === null ? null : countValue(stmt.limit, 'LIMIT')
  const offset = stmt.offset === null ? 0 : countValue(stmt.offset, 'OFFSET')
  const pushLimit = singleTable && !aggregating && sortKeys.length === 0 && !stmt.distinct && limit !== null
  return {
    tables,
    where: singleTable ? null : where,
    aggregate,
    having,
    projections: [...projections, ...extra],
    columns,
    sortKeys,
    distinct: stmt.distinct,
    limit,
    offset,
    scanLimit: pushLimit ? offset + limit : Infinity,
  }
}

function nonNull(t: StaticType): BaseType | null {
  return t === 'null' ? null : t
}

function staticTypeName(t: StaticType): string {
  return t === null || t === 'null' ? 'NULL' : typeName({ base: t })
}

function checkCondition(e: Expr, slotTypes: readonly (BaseType | null)[], context: string): void {
  const t = typeCheck(e, slotTypes)
  if (t !== null && t !== 'null' && t !== 'bool') fail(SqlState.DATATYPE_MISMATCH, `argument of ${context} must be BOOLEAN, not ${typeName({ base: t })}`)
}

function selectItemIndex(items: readonly unknown[], n: bigint, context: string): bigint {
  if (n < 1n || n > BigInt(items.length)) fail(SqlState.INVALID_COLUMN_REFERENCE, `${context} position ${n} is not in select list`)
  return n - 1n
}

function selectItemAt<T>(items: readonly T[], n: bigint, context: string): T {
  return items[Number(selectItemIndex(items, n, context))]!
}

function countValue(e: Expr, context: string): number {
  if (!isConstant(e)) fail(SqlState.SYNTAX_ERROR, `argument of ${context} must not contain variables`)
  const v = evaluate(e, [])
  if (typeof v !== 'bigint' || v < 0n) fail(SqlState.INVALID_PARAMETER_VALUE, `${context} must be a non-negative integer`)
  return Number(v)
}

/** AND of all parts, or null for none. */
export function andAll(parts: readonly Expr[]): Expr | null {
  if (parts.length === 0) return null
  return parts.reduce((a, b) => ({ kind: 'and', left: a, right: b }))
}

/** Replaces each uncorrelated `x IN (SELECT …)` with the set of values the subquery returns. */
export async function resolveSubqueries(ctx: StatementContext, e: Expr): Promise<Expr> {
  if (e.kind === 'in-subquery') {
    const plan = await planSelect(ctx, e.query)
    if (plan.columns.length !== 1) fail(SqlState.SYNTAX_ERROR, 'subquery has too many columns')
    const rows = await executeSelect(ctx, plan)
    const keys = new Set<string>()
    let hasNull = false
    for (const r of rows) {
      const v = r[0] ?? null
      if (v === null) hasNull = true
      else keys.add(valueKey(v))
    }
    return { kind: 'value-set', operand: await resolveSubqueries(ctx, e.operand), keys: [...keys], hasNull, negated: e.negated }
  }
  if (!childExprs(e).some(containsSubquery)) return e
  const children = await Promise.all(childExprs(e).map((c) => resolveSubqueries(ctx, c)))
  let i = 0
  return mapChildren(e, () => children[i++]!)
}

function containsSubquery(e: Expr): boolean {
  return e.kind === 'in-subquery' || childExprs(e).some(containsSubquery)
}

/**
 * Whether the plan aggregates while it scans (one table read by a scan, no DISTINCT
 * aggregate), chunk by chunk — on the executor pool if the statement has one — rather than
 * after reading every row.
 */
export function streamsAggregate(plan: SelectPlan): boolean {
  const t = plan.tables[0]
  return (
    plan.aggregate !== null &&
    plan.tables.length === 1 &&
    (t!.path.kind === 'primary-range' || t!.path.kind === 'full-scan') &&
    plan.aggregate.aggregates.every((a) => !a.distinct)
  )
}

/** Runs a planned SELECT; returns the output rows. */
export async function executeSelect(ctx: StatementContext, plan: SelectPlan): Promise<SqlValue[][]> {
  let rows: SqlValue[][]
  let streamed: GroupTable | null = null
  if (plan.aggregate !== null && streamsAggregate(plan)) {
    const t = plan.tables[0]!
    const filters = [t.filter, plan.where].filter((f): f is Expr => f !== null)
    streamed = await aggregateRows(ctx, t.table, t.path as ScanPath, filters, plan.aggregate.groupBy, plan.aggregate.aggregates)
    rows = []
  } else if (plan.tables.length === 0) rows = [[]]
  else {
    const fetched = await Promise.all(plan.tables.map((t, i) => readRows(ctx, t.table, t.path, t.filter, i === 0 ? plan.scanLimit : Infinity)))
    rows = fetched[0]!
    for (let i = 1; i < plan.tables.length; i++) rows = hashJoin(rows, fetched[i]!, plan.tables[i]!)
  }
  if (streamed === null) rows = filterRows(rows, plan.where)

  if (plan.aggregate !== null) {
    const groups: GroupTable = streamed ?? new Map()
    if (streamed === null) accumulate(groups, rows, plan.aggregate.groupBy, plan.aggregate.aggregates)
    if (groups.size === 0 && plan.aggregate.groupBy.length === 0) {
      groups.set('', { keys: [], states: plan.aggregate.aggregates.map(newState) })
    }
    const aggs = plan.aggregate.aggregates
    rows = [...groups.values()].map((g) => [...g.keys, ...g.states.map((s, i) => finish(aggs[i]!, s))])
    rows = filterRows(rows, plan.having)
  }

  let out = rows.map((r) => plan.projections.map((p) => evaluate(p, r)))
  if (plan.distinct) out = distinctRows(out, plan.columns.length)
  if (plan.sortKeys.length > 0) out = sortRows(out, plan.sortKeys)
  const end = plan.limit === null ? out.length : plan.offset + plan.limit
  if (plan.offset > 0 || end < out.length) out = out.slice(plan.offset, end)
  if (plan.projections.length > plan.columns.length) out = out.map((r) => r.slice(0, plan.columns.length))
  return out
}

function hashJoin(left: readonly SqlValue[][], right: readonly SqlValue[][], t: TablePlan): SqlValue[][] {
  const width = t.table.columns.length
  const out: SqlValue[][] = []
  const nulls = new Array<SqlValue>(width).fill(null)
  const emit = (l: readonly SqlValue[], r: readonly SqlValue[]): boolean => {
    const joined = [...l, ...r]
    if (t.onFilter !== null && !isTrue(t.onFilter, joined)) return false
    out.push(joined)
    return true
  }
  if (t.hashKeys.length === 0) {
    for (const l of left) {
      let matched = false
      for (const r of right) if (emit(l, r)) matched = true
      if (!matched && t.join === 'left') out.push([...l, ...nulls])
    }
    return out
  }
  const table = new Map<string, SqlValue[][]>()
  for (const r of right) {
    const keys = t.hashKeys.map(([, rs]) => r[rs] ?? null)
    if (keys.includes(null)) continue
    const k = rowKey(keys)
    const bucket = table.get(k)
    if (bucket === undefined) table.set(k, [r])
    else bucket.push(r)
  }
  for (const l of left) {
    const keys = t.hashKeys.map(([ls]) => l[ls] ?? null)
    let matched = false
    if (!keys.includes(null)) for (const r of table.get(rowKey(keys)) ?? []) if (emit(l, r)) matched = true
    if (!matched && t.join === 'left') out.push([...l, ...nulls])
  }
  return out
}

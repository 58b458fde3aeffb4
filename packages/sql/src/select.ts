// Queries: planning (names, types, access paths, joins, subqueries, aggregation, ordering,
// set operations) and execution.

import { childExprs, conjuncts, exprKey, exprToSql, hasAggregate, isConstant, mapChildren, type SetFunctionCall, type CommonTable, type Expr, type QueryStmt, type SelectStmt, type SetOpStmt, type TableRef } from './ast.js'
import { bind, commonType, remapSlots, Scope, slotsOf, typeCheck, type OuterScope, type ScopeColumn, type StaticType } from './binder.js'
import type { TableDesc } from './catalog.js'
import { fail, SqlState } from './errors.js'
import { evaluate } from './eval.js'
import { chooseAccessPath, conditionEstimate, DEFAULT_ROW_COUNT, fullSpan, nullsLastSpans, type AccessPath } from './planner.js'
import { ChunkJoin, chooseJoinMethod, joinChunks, joinRows, joinsByChunk, type JoinMethod, type JoinSink } from './join.js'
import { aggregateRows, readRows, rowChunks, WHOLE_SPAN_READ_AHEAD, type ScanPath } from './access.js'
import { ExternalSorter } from './external-sort.js'
import { rowsBytes } from './memory.js'
import { accumulate, distinctRows, filterRows, finish, newState, sortRows, type AggregateSpec, type GroupTable, type SortKey } from './row-ops.js'
import type { StatementContext } from './statement-context.js'
import { systemTable } from './system-tables.js'
import { setFunctionRows, setFunctionType } from './set-functions.js'
import { computeWindows, RANKING_FUNCTIONS, type WindowSpec } from './window.js'
import { compareValues, rowKey, typeName, valueKey, type BaseType, type SqlValue } from './values.js'
import { arrayOf, isArrayValue, type ArrayValue } from './types/array.js'
import { pushAll } from '@mrdb/storage'

/** A result column: its name and SQL type name. */
export interface ResultColumn {
  readonly name: string
  readonly type: string
}

/** Rows computed by a query that FROM reads like a table (a subquery, a common table expression). */
export interface DerivedSource {
  readonly name: string
  readonly columns: readonly string[]
  readonly types: readonly StaticType[]
  /** The rows (a common table expression's are computed once per statement and shared). */
  readonly rows: () => Promise<SqlValue[][]>
}

/** How one table of FROM is read and joined. */
export interface TablePlan {
  /** The stored table, or null for a derived one. */
  readonly table: TableDesc | null
  readonly derived: DerivedSource | null
  readonly alias: string
  readonly join: TableRef['join']
  /** Where the table's columns start in the joined row, and how many it has. */
  readonly offset: number
  readonly width: number
  /** How a stored table is read (a derived table is computed whole). */
  readonly path: AccessPath | null
  /** Conditions applied while scanning (table-local slots). */
  readonly filter: Expr | null
  /** Equality pairs [joined-row slot, table-local slot] the hash join matches on. */
  readonly hashKeys: ReadonlyArray<readonly [number, number]>
  /** The rest of ON, over the joined row including this table. */
  readonly onFilter: Expr | null
  /** How the table is joined to the tables before it (the first table: a nested loop over one row, unused). */
  readonly method: JoinMethod
  /** Estimated rows of the table's scan, after its own conditions. */
  readonly scanEstimate: number
  /** Estimated rows once this table is joined (the first table: its scan's). */
  readonly estimate: number
}

/**
 * A correlated subquery, computed for each joined row and appended to it (the expressions
 * that use it read that slot): a scalar value, EXISTS, `operand IN (query)`, or ARRAY(query).
 */
export interface Apply {
  readonly kind: 'scalar' | 'exists' | 'in' | 'array'
  readonly query: QueryStmt
  /** For IN: the operand, over the joined row. */
  readonly operand: Expr | null
  /** The joined row's slots the subquery reads: its answers are cached by their values. */
  readonly uses: readonly number[]
}

/** A planned SELECT. */
export interface SelectPlan {
  readonly kind: 'select'
  readonly env: QueryEnv
  readonly scope: Scope
  readonly tables: readonly TablePlan[]
  /** Correlated subqueries, appended to each joined row before WHERE. */
  readonly applies: readonly Apply[]
  /** WHERE over the joined row (null when it was applied entirely while scanning). */
  readonly where: Expr | null
  readonly aggregate: { readonly groupBy: readonly Expr[]; readonly aggregates: readonly AggregateSpec[] } | null
  readonly having: Expr | null
  /** Window functions, appended to each row that reaches the select list. */
  readonly windows: readonly WindowSpec[]
  /** Output expressions followed by extra sort-only expressions. */
  readonly projections: readonly Expr[]
  readonly columns: readonly ResultColumn[]
  readonly types: readonly StaticType[]
  readonly sortKeys: readonly SortKey[]
  readonly distinct: boolean
  readonly limit: number | null
  readonly offset: number
  /** Rows the first table's scan may stop after (LIMIT pushed down), or Infinity. */
  readonly scanLimit: number
}

/** A planned UNION / INTERSECT / EXCEPT. */
export interface SetOpPlan {
  readonly kind: 'set-op'
  readonly op: SetOpStmt['op']
  readonly all: boolean
  readonly left: QueryPlan
  readonly right: QueryPlan
  readonly columns: readonly ResultColumn[]
  readonly types: readonly StaticType[]
  readonly sortKeys: readonly SortKey[]
  readonly limit: number | null
  readonly offset: number
}

/** A planned query. */
export type QueryPlan = SelectPlan | SetOpPlan

/**
 * What a query is planned within: the common table expressions in scope (each computed at
 * most once per statement), and for a correlated subquery, the enclosing query's row.
 */
export interface QueryEnv {
  readonly ctes: ReadonlyMap<string, DerivedSource>
  readonly outer: OuterScope | null
}

/** The environment of a statement's top-level query. */
export const TOP_LEVEL: QueryEnv = { ctes: new Map(), outer: null }

/** Plans a query (running its uncorrelated subqueries). */
export async function planQuery(ctx: StatementContext, q: QueryStmt, env: QueryEnv = TOP_LEVEL): Promise<QueryPlan> {
  const inner = await withCommonTables(ctx, env, q.with)
  return q.kind === 'select' ? planSelect(ctx, q, inner) : planSetOp(ctx, q, inner)
}

/** Runs a planned query; returns the output rows. */
export async function executeQuery(ctx: StatementContext, plan: QueryPlan): Promise<SqlValue[][]> {
  return plan.kind === 'select' ? executeSelect(ctx, plan) : executeSetOp(ctx, plan)
}

/** `env` with `ctes` added; each is planned now and computed on first use. */
export async function withCommonTables(ctx: StatementContext, env: QueryEnv, ctes: readonly CommonTable[]): Promise<QueryEnv> {
  if (ctes.length === 0) return env
  const all = new Map(env.ctes)
  for (const cte of ctes) {
    if (ctes.filter((c) => c.name === cte.name).length > 1) fail(SqlState.DUPLICATE_ALIAS, `WITH query name "${cte.name}" specified more than once`)
    // Each sees the ones before it (not itself: WITH RECURSIVE is not supported).
    const plan = await planQuery(ctx, cte.query, { ctes: all, outer: env.outer })
    all.set(cte.name, derivedSource(ctx, cte.name, plan, cte.columns))
  }
  return { ctes: all, outer: env.outer }
}

/** A derived table over `plan`'s rows, computed once when first read. */
function derivedSource(ctx: StatementContext, name: string, plan: QueryPlan, columnNames: readonly string[] | null): DerivedSource {
  if (columnNames !== null && columnNames.length > plan.columns.length) {
    fail(SqlState.INVALID_COLUMN_REFERENCE, `table "${name}" has ${plan.columns.length} columns available but ${columnNames.length} columns specified`)
  }
  let rows: Promise<SqlValue[][]> | null = null
  return {
    name,
    columns: plan.columns.map((c, i) => columnNames?.[i] ?? c.name),
    types: plan.types,
    rows: () =>
      (rows ??= executeQuery(ctx, plan).then((all) => {
        ctx.memory.charge(rowsBytes(all), `subquery or WITH query "${name}"`)
        return all
      })),
  }
}

/**
 * A set-returning function read as a table. Its arguments may name the enclosing query's
 * columns (in a correlated subquery), not other tables of the same FROM (no LATERAL).
 */
async function setFunctionSource(ctx: StatementContext, call: SetFunctionCall, env: QueryEnv): Promise<DerivedSource> {
  const scope = new Scope([], env.outer)
  const args = await Promise.all(call.args.map(async (a) => bind(await resolveSubqueries(ctx, a, env, scope, null), scope, 'function arguments in FROM')))
  const type = setFunctionType(call.name, args.map((a) => typeCheck(a, [])))
  return { name: call.name.toLowerCase(), columns: [call.column], types: [type], rows: async () => setFunctionRows(call.name, args.map((a) => evaluate(a, []))) }
}

/** Plans a SELECT (running its uncorrelated subqueries). */
export async function planSelect(ctx: StatementContext, stmt: SelectStmt, env: QueryEnv = TOP_LEVEL): Promise<SelectPlan> {
  // FROM: the joined row is every table's columns side by side.
  const scopeColumns: ScopeColumn[] = []
  const sources: Array<{ table: TableDesc | null; derived: DerivedSource | null; ref: TableRef; alias: string; offset: number; width: number }> = []
  const aliases = new Set<string>()
  for (const ref of stmt.from) {
    let table: TableDesc | null = null
    let derived: DerivedSource | null = null
    if (ref.query !== null) derived = derivedSource(ctx, ref.alias ?? 'subquery', await planQuery(ctx, ref.query, { ctes: env.ctes, outer: null }), null)
    else if (ref.setFunction !== undefined) derived = await setFunctionSource(ctx, ref.setFunction, env)
    else derived = env.ctes.get(ref.table) ?? null
    const catalog = ctx.newCatalog ?? ctx.catalog
    const system = derived === null && ref.query === null && ref.setFunction === undefined ? systemTable(ref.table, catalog) : undefined
    if (system !== undefined) derived = { ...system, name: system.name, rows: async () => system.rows(catalog) }
    if (derived === null) table = catalog.table(ref.table)
    const alias = ref.alias ?? ref.table.split('.').at(-1)!
    if (aliases.has(alias)) fail(SqlState.DUPLICATE_ALIAS, `table name "${alias}" specified more than once`)
    aliases.add(alias)
    const offset = scopeColumns.length
    if (table !== null) for (const c of table.columns) scopeColumns.push({ table: alias, name: c.name, type: c.type, hidden: c.hidden })
    else derived!.columns.forEach((name, i) => scopeColumns.push({ table: alias, name, type: baseOf(derived!.types[i] ?? null), hidden: false }))
    sources.push({ table, derived, ref, alias, offset, width: scopeColumns.length - offset })
    if (ref.using !== null) hideUsingColumns(scopeColumns, sources, ref)
  }
  const scope = new Scope(scopeColumns, env.outer)
  const slotTypes: Array<BaseType | null> = scopeColumns.map((c) => c.type?.base ?? null)

  // Correlated subqueries become slots after the joined row's columns.
  const applies: Apply[] = []
  const subqueries = (e: Expr, allowCorrelated: boolean) => resolveSubqueries(ctx, e, env, scope, allowCorrelated ? { applies, slotTypes } : null)

  const where = stmt.where === null ? null : bind(await subqueries(stmt.where, true), scope, 'WHERE')
  if (where !== null) checkCondition(where, slotTypes, 'WHERE')
  const whereParts = conjuncts(where)

  // A table whose rows a later RIGHT or FULL join, or its own LEFT or FULL join, may extend
  // with NULLs must see all of them: WHERE is not pushed into its scan.
  const nullable = sources.map((s, i) => s.ref.join === 'left' || s.ref.join === 'full' || sources.slice(i + 1).some((later) => later.ref.join === 'right' || later.ref.join === 'full'))
  const tables: TablePlan[] = []
  const pushed = new Set<Expr>()
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i]!
    const local = (e: Expr): boolean => [...slotsOf(e)].every((slot) => slot >= s.offset && slot < s.offset + s.width)
    const pushable = nullable[i] ? [] : whereParts.filter(local)
    pushable.forEach((p) => pushed.add(p))
    const localParts = pushable.map((e) => remapSlots(e, (slot) => slot - s.offset))
    let hashKeys: Array<[number, number]> = []
    let onFilter: Expr | null = null
    const onRaw = s.ref.using !== null ? usingCondition(sources, i) : s.ref.on
    let onParts: Expr[] = []
    if (onRaw !== null) {
      const visible = new Scope(scopeColumns.slice(0, s.offset + s.width), env.outer)
      const on = bind(await resolveSubqueries(ctx, onRaw, env, visible, null), visible, 'ON')
      checkCondition(on, slotTypes, 'ON')
      onParts = conjuncts(on)
    }
    // WHERE's conditions that first become computable at an inner or cross join are applied
    // there (equalities as hash keys), not after every pair is formed — unless a later RIGHT
    // or FULL join could extend the pairs they remove with NULLs. WHERE still runs whole
    // after the joins.
    const laterNullExtends = sources.slice(i + 1).some((later) => later.ref.join === 'right' || later.ref.join === 'full')
    if (i > 0 && (s.ref.join === 'inner' || s.ref.join === 'cross') && !laterNullExtends) {
      for (const p of whereParts) {
        const slots = [...slotsOf(p)]
        if (slots.some((x) => x >= s.offset) && slots.every((x) => x < s.offset + s.width) && !pushable.includes(p)) onParts.push(p)
      }
    }
    if (onParts.length > 0) {
      const rest: Expr[] = []
      for (const c of onParts) {
        const pair = c.kind === 'compare' && c.op === '=' && c.left.kind === 'slot' && c.right.kind === 'slot' ? [c.left.index, c.right.index] : null
        if (pair !== null && pair[0]! < s.offset && pair[1]! >= s.offset) hashKeys.push([pair[0]!, pair[1]! - s.offset])
        else if (pair !== null && pair[1]! < s.offset && pair[0]! >= s.offset) hashKeys.push([pair[1]!, pair[0]! - s.offset])
        else rest.push(c)
      }
      onFilter = andAll(rest)
    }
    if (i === 0) hashKeys = []
    const stats = s.table === null ? null : (ctx.options.stats?.get(s.table.id) ?? null)
    const naive = ctx.options.naivePlans === true
    const path: AccessPath | null = s.table === null ? null : naive ? { kind: 'full-scan', spans: [fullSpan(s.table)], estimate: stats?.rowCount ?? DEFAULT_ROW_COUNT } : chooseAccessPath(s.table, localParts, stats)
    tables.push({
      table: s.table,
      derived: s.derived,
      alias: s.alias,
      join: s.ref.join,
      offset: s.offset,
      width: s.width,
      path,
      filter: andAll(localParts),
      hashKeys,
      onFilter,
      method: { kind: 'nested-loop' },
      scanEstimate: s.table === null ? DEFAULT_ROW_COUNT : Math.max(1, Math.round(Math.min(path!.estimate ?? Infinity, conditionEstimate(s.table, localParts, stats)))),
      estimate: 0,
    })
  }
  // What the scans did not apply runs over the joined row (all of WHERE when tables are joined).
  const residual = tables.length === 1 ? andAll(whereParts.filter((p) => !pushed.has(p))) : where

  // SELECT list, with * expanded.
  const items: Array<{ expr: Expr; name: string }> = []
  for (const item of stmt.items) {
    if (item.kind === 'star') {
      if (item.table !== null && !aliases.has(item.table)) fail(SqlState.UNDEFINED_TABLE, `missing FROM-clause entry for table "${item.table}"`)
      if (stmt.from.length === 0) fail(SqlState.SYNTAX_ERROR, 'SELECT * with no tables specified is not valid')
      scopeColumns.forEach((c) => {
        if (!c.hidden && !c.mergedByUsing && (item.table === null || c.table === item.table)) items.push({ expr: { kind: 'column', table: c.table, name: c.name }, name: c.name })
      })
    } else {
      const name = item.alias ?? outputName(item.expr)
      items.push({ expr: item.expr, name })
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
  const aggregating = groupByRaw.length > 0 || items.some((it) => hasAggregate(it.expr)) || stmt.having !== null
  // Correlated subqueries are computed per joined row: only where no grouping intervenes.
  // Window functions run over the rows that reach the select list: each becomes a slot after
  // that row's columns (numbered -1, -2, … until the row's width is known).
  const windowCalls: Array<Extract<Expr, { kind: 'window' }>> = []
  const extractWindows = (e: Expr): Expr => {
    if (e.kind !== 'window') return mapChildren(e, extractWindows)
    if (e.args.some(hasWindow) || e.partitionBy.some(hasWindow) || e.orderBy.some((o) => hasWindow(o.expr))) fail(SqlState.WINDOWING_ERROR, 'window function calls cannot be nested')
    windowCalls.push(e)
    return { kind: 'slot', index: -windowCalls.length, label: exprToSql(e) }
  }
  const selectItems = (await Promise.all(items.map((it) => subqueries(it.expr, !aggregating)))).map(extractWindows)
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
        if (e.fn === 'STRING_AGG' && argType !== null && argType !== 'null' && argType !== 'text') fail(SqlState.UNDEFINED_FUNCTION, `function string_agg(${typeName({ base: argType })}, text) does not exist`)
        const spec: AggregateSpec = { fn: e.fn, arg, distinct: e.distinct, ...(e.separator === undefined ? {} : { separator: e.separator }) }
        const key = exprKey(spec as unknown as Expr)
        let idx = aggKeys.indexOf(key)
        if (idx < 0) {
          idx = aggregates.push(spec) - 1
          aggKeys.push(key)
          // AVG of INT or NUMERIC is NUMERIC, as in PostgreSQL (SUM of INT stays BIGINT: see docs/decisions.md).
          aggTypes.push(aggregateType(e.fn, argType))
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

  const having = stmt.having === null ? null : outputScopeBind(await subqueries(stmt.having, false), 'HAVING')
  if (having !== null) checkCondition(having, outTypes(), 'HAVING')
  let projections = selectItems.map((e) => outputScopeBind(e, 'SELECT'))

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
      const bound = outputScopeBind(extractWindows(await subqueries(o.expr, !aggregating)), 'ORDER BY')
      typeCheck(bound, outTypes())
      const same = projections.findIndex((p) => exprKey(p) === exprKey(bound))
      if (same >= 0) index = same
      else {
        if (stmt.distinct) fail(SqlState.INVALID_COLUMN_REFERENCE, 'for SELECT DISTINCT, ORDER BY expressions must appear in select list')
        index = projections.length + extra.push(bound) - 1
      }
    }
    sortKeys.push(sortKey(index, o.desc, o.nulls))
  }

  // The window functions' own expressions, over the same row; then their slots get their places.
  const windows: WindowSpec[] = windowCalls.map((w) => ({
    fn: w.fn,
    args: w.args.map((a) => outputScopeBind(a, 'a window function')),
    distinct: w.distinct,
    partitionBy: w.partitionBy.map((p) => outputScopeBind(p, 'PARTITION BY')),
    orderBy: w.orderBy.map((o) => ({ expr: outputScopeBind(o.expr, 'a window ORDER BY'), desc: o.desc, nullsFirst: o.nulls === null ? o.desc : o.nulls === 'first' })),
  }))
  const rowTypes = outTypes()
  const width = rowTypes.length
  const windowTypes = windows.map((w) => (RANKING_FUNCTIONS.has(w.fn) ? (w.fn.endsWith('_VALUE') || w.fn === 'LAG' || w.fn === 'LEAD' ? nonNull(typeCheck(w.args[0]!, rowTypes)) : 'int') : aggregateType(w.fn, w.args[0] === undefined ? null : typeCheck(w.args[0], rowTypes))))
  const placeWindows = (e: Expr) => (windows.length === 0 ? e : remapSlots(e, (i) => (i < 0 ? width - i - 1 : i)))
  projections = projections.map(placeWindows)
  extra.splice(0, extra.length, ...extra.map(placeWindows))
  const types = projections.map((p) => typeCheck(p, [...rowTypes, ...windowTypes]))
  const columns = projections.map((p, i) => ({ name: items[i]!.name, type: staticTypeName(types[i]!) }))

  // A scan that reads the rows in ORDER BY's order needs no sort (and can take the LIMIT).
  if (tables.length === 1 && !aggregating && windows.length === 0 && !stmt.distinct && sortKeys.length > 0 && ctx.options.naivePlans !== true) {
    const ordered = orderedScan(tables[0]!, sortKeys, [...projections, ...extra])
    if (ordered !== null) {
      tables[0] = { ...tables[0]!, path: ordered }
      sortKeys.length = 0
    }
  }
  planJoins(ctx, tables)
  if (ctx.options.naivePlans !== true) {
    const used = usedSlots([...projections, ...extra, residual, ...(aggregate?.groupBy ?? []), ...(aggregate?.aggregates.map((a) => a.arg) ?? []), ...windows.flatMap((w) => [...w.args, ...w.partitionBy, ...w.orderBy.map((o) => o.expr)]), ...applies.map((a) => a.operand)], tables, applies)
    tables.forEach((t, i) => (tables[i] = withCovering(t, used)))
  }
  const limit = stmt.limit === null ? null : countValue(stmt.limit, 'LIMIT')
  const offset = stmt.offset === null ? 0 : countValue(stmt.offset, 'OFFSET')
  const pushLimit = tables.length === 1 && residual === null && !aggregating && windows.length === 0 && sortKeys.length === 0 && !stmt.distinct && limit !== null
  return {
    kind: 'select',
    env,
    scope,
    tables,
    applies,
    where: residual,
    aggregate,
    having,
    windows,
    projections: [...projections, ...extra],
    columns,
    types,
    sortKeys,
    distinct: stmt.distinct,
    limit,
    offset,
    scanLimit: pushLimit ? offset + limit : Infinity,
  }
}

/** Chooses each table's join method and the rows every join is expected to yield. */
function planJoins(ctx: StatementContext, tables: TablePlan[]): void {
  if (tables.length === 0) return
  tables[0] = { ...tables[0]!, estimate: tables[0]!.scanEstimate }
  for (let i = 1; i < tables.length; i++) {
    const t = tables[i]!
    const statsOf = (table: TableDesc) => ctx.options.stats?.get(table.id) ?? null
    const { method, estimate } = chooseJoinMethod(t, { before: tables.slice(0, i), leftRows: tables[i - 1]!.estimate, rightRows: t.scanEstimate, statsOf, naive: ctx.options.naivePlans === true })
    tables[i] = { ...t, method, estimate }
  }
}

/**
 * The joined row's slots a plan reads after its scans: in `exprs` (null entries skipped), the
 * scans' own and the joins' conditions and keys, and what correlated subqueries read.
 */
function usedSlots(exprs: ReadonlyArray<Expr | null>, tables: readonly TablePlan[], applies: readonly Apply[]): Set<number> {
  const used = new Set<number>()
  const add = (e: Expr | null) => {
    if (e !== null) for (const slot of slotsOf(e)) used.add(slot)
  }
  exprs.forEach(add)
  for (const t of tables) {
    add(t.onFilter)
    for (const [l, r] of t.hashKeys) used.add(l).add(t.offset + r)
    if (t.filter !== null) for (const slot of slotsOf(t.filter)) used.add(t.offset + slot)
  }
  for (const a of applies) a.uses.forEach((u) => used.add(u))
  return used
}

/**
 * `t` reading only its index's entries when its path is an index scan whose entries — the
 * index's columns and the primary key — hold every column of the table the query reads.
 */
function withCovering(t: TablePlan, used: ReadonlySet<number>): TablePlan {
  const path = t.path
  if (t.table === null || path === null || path.kind !== 'index-scan') return t
  const held = new Set([...path.index.columns, ...t.table.primaryKey])
  for (let col = 0; col < t.width; col++) {
    if (!used.has(t.offset + col)) continue
    if (!held.has(col) || !EXACT_KEY_TYPES.has(t.table.columns[col]!.type.base)) return t
  }
  return { ...t, path: { ...path, covering: true } }
}

/**
 * Column types whose key encoding gives back the stored value exactly. Not NUMERIC (a key keeps
 * no display scale: 1.50 reads back 1.5), INTERVAL (a key keeps only the length), FLOAT (-0) or
 * JSONB (canonical text): a covering scan of those would show values the row does not hold.
 */
const EXACT_KEY_TYPES: ReadonlySet<string> = new Set(['int', 'text', 'bool', 'date', 'timestamp', 'timestamptz', 'uuid', 'bytea'])

/**
 * A path that reads table `t`'s rows in the order `sortKeys` ask, or null. Ascending keys
 * with NULLs last on a prefix of the primary key are the order of every primary-key path;
 * on a prefix of an index's columns, the order of an index scan — for a full scan of the
 * index, its non-NULL entries first and then the NULL ones (NULLs sort last ascending). An
 * index's key order puts NULLs first within each prefix, so every sort column but the first
 * must be NOT NULL, for an index scan by conditions too (they keep only the first column's
 * NULLs out: `WHERE c = 1 ORDER BY c, s` would read s's NULLs first).
 */
function orderedScan(t: TablePlan, sortKeys: readonly SortKey[], projections: readonly Expr[]): AccessPath | null {
  const table = t.table
  if (table === null || t.path === null) return null
  const cols = sortKeys.map((k) => {
    const p = projections[k.index]
    return !k.desc && !k.nullsFirst && p?.kind === 'slot' ? p.index - t.offset : -1
  })
  if (cols.some((c) => c < 0 || c >= t.width)) return null
  const isPrefix = (key: readonly number[]) => cols.length <= key.length && cols.every((c, i) => key[i] === c)
  const path = t.path
  if (path.kind === 'point-get' || path.kind === 'primary-range' || path.kind === 'full-scan') {
    if (isPrefix(table.primaryKey)) return path
    if (path.kind !== 'full-scan') return null
  } else if (path.kind !== 'index-scan' || !isPrefix(path.index.columns)) return null
  if (cols.slice(1).some((c) => table.columns[c]!.nullable)) return null
  // Its spans come from conditions on the index's first column, which never match NULL.
  if (path.kind === 'index-scan') return path
  const index = table.indexes.find((i) => isPrefix(i.columns))
  return index === undefined ? null : { kind: 'index-scan', index, spans: nullsLastSpans(table, index), estimate: t.scanEstimate }
}

/** The name PostgreSQL gives an unaliased output column: the column's or function's name, else "?column?". */
function outputName(e: Expr): string {
  switch (e.kind) {
    case 'column':
      return e.name
    case 'function':
      return e.name.toLowerCase()
    case 'aggregate':
      return e.fn.toLowerCase()
    case 'cast':
      return e.operand.kind === 'column' ? e.operand.name : exprToSql(e)
    case 'case':
      return 'case'
    case 'exists':
      return 'exists'
    case 'array':
    case 'array-subquery':
      return 'array'
    case 'subscript':
      return e.operand.kind === 'column' ? e.operand.name : outputName(e.operand)
    default:
      return exprToSql(e)
  }
}

/** A sort key with PostgreSQL's default for NULLs: they sort as larger than any value. */
function sortKey(index: number, desc: boolean, nulls: 'first' | 'last' | null): SortKey {
  return { index, desc, nullsFirst: nulls === null ? desc : nulls === 'first' }
}

/**
 * JOIN … USING (cols): the joined table's copies of the columns are shown once by `*` (the
 * earlier table's) and do not make an unqualified name ambiguous.
 */
function hideUsingColumns(scopeColumns: ScopeColumn[], sources: ReadonlyArray<{ offset: number; width: number; ref: TableRef }>, ref: TableRef): void {
  if (ref.join === 'right' || ref.join === 'full') fail(SqlState.FEATURE_NOT_SUPPORTED, `${ref.join.toUpperCase()} JOIN … USING is not supported (use ON)`)
  const s = sources.at(-1)!
  for (const name of ref.using!) {
    const i = scopeColumns.findIndex((c, j) => j >= s.offset && c.name === name && !c.hidden)
    if (i < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" specified in USING clause does not exist in right table`)
    scopeColumns[i] = { ...scopeColumns[i]!, mergedByUsing: true }
  }
}

/** The ON condition a USING list stands for: each column of the earlier tables equal to the joined table's. */
function usingCondition(sources: ReadonlyArray<{ alias: string; offset: number; ref: TableRef }>, i: number): Expr {
  const s = sources[i]!
  const parts = s.ref.using!.map((name): Expr => ({ kind: 'compare', op: '=', left: { kind: 'column', table: null, name }, right: { kind: 'column', table: s.alias, name } }))
  return andAll(parts)!
}

function baseOf(t: StaticType): { base: BaseType } | null {
  return t === null || t === 'null' ? null : { base: t }
}

function hasWindow(e: Expr): boolean {
  return e.kind === 'window' || childExprs(e).some(hasWindow)
}

/** The type of an aggregate's result, given its argument's: COUNT is BIGINT, STRING_AGG TEXT, AVG of integers or NUMERIC is NUMERIC. */
function aggregateType(fn: string, argType: StaticType): BaseType | null {
  if (fn === 'COUNT') return 'int'
  if (fn === 'STRING_AGG') return 'text'
  if (argType === null || argType === 'null') return null
  if (fn === 'AVG') return argType === 'float' ? 'float' : 'numeric'
  return argType
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

/** Where a query's correlated subqueries go: the list they join, and the joined row's slot types it extends. */
export interface ApplyTarget {
  readonly applies: Apply[]
  readonly slotTypes: Array<BaseType | null>
}

/**
 * `e` with its subqueries resolved. An uncorrelated one runs once, now: IN becomes the set of
 * values it returned, a scalar subquery its value, EXISTS its answer. A correlated one (it
 * names columns of `scope`) becomes a slot of the joined row that {@link executeSelect}
 * fills per row, when `target` allows it; elsewhere it is 0A000.
 */
export async function resolveSubqueries(ctx: StatementContext, e: Expr, env: QueryEnv, scope: Scope, target: ApplyTarget | null): Promise<Expr> {
  if (e.kind === 'in-subquery' || e.kind === 'subquery' || e.kind === 'exists' || e.kind === 'array-subquery') {
    const probe: OuterScope = { scope, row: null, used: new Set() }
    const plan = await planQuery(ctx, e.query, { ctes: env.ctes, outer: probe })
    if (e.kind !== 'exists' && plan.columns.length !== 1) fail(SqlState.SYNTAX_ERROR, `subquery has too many columns`)
    const operand = e.kind === 'in-subquery' ? await resolveSubqueries(ctx, e.operand, env, scope, target) : null
    if (probe.used.size === 0) {
      const rows = await executeQuery(ctx, plan)
      if (e.kind === 'exists') return { kind: 'literal', value: rows.length > 0 }
      if (e.kind === 'subquery') return { kind: 'literal', value: scalarOf(rows) }
      if (e.kind === 'array-subquery') return { kind: 'literal', value: arrayFromRows(rows) }
      const keys = new Set<string>()
      let hasNull = false
      for (const r of rows) {
        const v = r[0] ?? null
        if (v === null) hasNull = true
        else keys.add(valueKey(v))
      }
      return { kind: 'value-set', operand: operand!, keys: [...keys], hasNull, negated: e.negated }
    }
    if (target === null) fail(SqlState.FEATURE_NOT_SUPPORTED, 'a correlated subquery is not supported here (only in WHERE and the select list of a query without GROUP BY)')
    const kind = e.kind === 'subquery' ? 'scalar' : e.kind === 'exists' ? 'exists' : e.kind === 'array-subquery' ? 'array' : 'in'
    const index = scope.columns.length + target.applies.length
    target.applies.push({ kind, query: e.query, operand: operand === null ? null : bind(operand, scope, 'IN'), uses: [...probe.used].sort((a, b) => a - b) })
    target.slotTypes.push(kind === 'scalar' ? nonNull(plan.types[0] ?? null) : kind === 'array' ? 'array' : 'bool')
    const slot: Expr = { kind: 'slot', index, label: exprToSql(e) }
    return e.kind === 'in-subquery' && e.negated ? { kind: 'not', operand: slot } : slot
  }
  if (!childExprs(e).some(containsSubquery)) return e
  const children = await Promise.all(childExprs(e).map((c) => resolveSubqueries(ctx, c, env, scope, target)))
  let i = 0
  return mapChildren(e, () => children[i++]!)
}

function containsSubquery(e: Expr): boolean {
  return e.kind === 'in-subquery' || e.kind === 'subquery' || e.kind === 'exists' || e.kind === 'array-subquery' || childExprs(e).some(containsSubquery)
}

/** ARRAY(subquery)'s value: its rows' one value each, in order (0A000 for values that are arrays themselves). */
function arrayFromRows(rows: readonly SqlValue[][]): ArrayValue {
  return arrayOf(rows.map((r) => {
    const v = r[0] ?? null
    return isArrayValue(v) ? fail(SqlState.FEATURE_NOT_SUPPORTED, 'multidimensional arrays are not supported') : v
  }))
}

/** A scalar subquery's value: its one row's one value, NULL without rows, 21000 for more. */
function scalarOf(rows: readonly SqlValue[][]): SqlValue {
  if (rows.length > 1) fail(SqlState.CARDINALITY_VIOLATION, 'more than one row returned by a subquery used as an expression')
  return rows[0]?.[0] ?? null
}

/**
 * Whether the plan aggregates while it scans (one stored table read by a scan, no DISTINCT
 * aggregate, no correlated subquery), chunk by chunk — on the executor pool if the statement
 * has one — rather than after reading every row.
 */
export function streamsAggregate(plan: SelectPlan): boolean {
  const t = plan.tables[0]
  return (
    plan.aggregate !== null &&
    plan.tables.length === 1 &&
    plan.applies.length === 0 &&
    t!.path !== null &&
    (t!.path.kind === 'primary-range' || t!.path.kind === 'full-scan') &&
    plan.aggregate.aggregates.every((a) => !a.distinct)
  )
}

/** The rows of one table of FROM that pass its scan filter. */
async function tableRows(ctx: StatementContext, t: TablePlan, limit: number): Promise<SqlValue[][]> {
  if (t.table !== null) return readRows(ctx, t.table, t.path!, t.filter, limit)
  return filterRows(await t.derived!.rows(), t.filter)
}

/**
 * Whether the plan runs as a pipeline over the chunks of its one stored table or of its last
 * join — filter, project, then DISTINCT, an external sort or LIMIT — never holding those rows
 * whole (no aggregate, window function or correlated subquery, and something that gains from
 * it: ORDER BY, DISTINCT or LIMIT).
 */
export function streamsRows(plan: SelectPlan): boolean {
  return pipelines(plan) && (plan.sortKeys.length > 0 || plan.distinct || plan.limit !== null)
}

/** Whether the plan can run as {@link streamSelect}'s pipeline: one stored table or a join, no aggregate, window function or correlated subquery. */
function pipelines(plan: SelectPlan): boolean {
  const t = plan.tables[0]
  return (plan.tables.length > 1 || (plan.tables.length === 1 && t!.table !== null)) && plan.aggregate === null && plan.applies.length === 0 && plan.windows.length === 0
}

/**
 * Joins the tables of FROM, handing the last join's rows to `sink` a chunk at a time as they
 * are found. When the first table is a stored one and every join after it {@link joinsByChunk},
 * the first table is read a chunk at a time and each chunk goes through the joins as it comes
 * (reading stops when the sink wants no more rows); otherwise the tables' rows and the joins'
 * rows before the last one are held meanwhile. What is held is charged to the statement's
 * budget as a join's input (a lookup join's table is not read whole).
 */
async function joinTables(ctx: StatementContext, plan: SelectPlan, sink: JoinSink): Promise<void> {
  const [first, ...joined] = plan.tables
  if (first!.table !== null && joined.every(joinsByChunk)) {
    const sides = await Promise.all(joined.map((t) => (t.method.kind === 'lookup' ? null : tableRows(ctx, t, Infinity))))
    const held = sides.reduce((n, rows) => n + (rows === null ? 0 : rowsBytes(rows)), 0)
    ctx.memory.charge(held, 'a join')
    // Each join hands its rows to the next one, the last one to the sink.
    let into = sink
    for (let i = joined.length - 1; i >= 0; i--) {
      const join = new ChunkJoin(ctx, sides[i] ?? null, joined[i]!, into)
      into = (rows) => join.add(rows)
    }
    // Without a LIMIT every row is read: several ranges at once, as a materialising scan would.
    const readAhead = plan.limit === null ? WHOLE_SPAN_READ_AHEAD : undefined
    for await (const chunk of rowChunks(ctx, first!.table, first!.path!, first!.filter, readAhead)) if (!(await into(chunk))) return
    ctx.memory.release(held)
    return
  }
  const fetched = await Promise.all(plan.tables.map((t, i) => (i > 0 && t.method.kind === 'lookup' ? null : tableRows(ctx, t, i === 0 ? plan.scanLimit : Infinity))))
  const inputs = fetched.reduce((n, rows) => n + (rows === null ? 0 : rowsBytes(rows)), 0)
  ctx.memory.charge(inputs, 'a join')
  let rows = fetched[0]!
  let held = 0
  const last = plan.tables.length - 1
  for (let i = 1; i < last; i++) {
    rows = await joinRows(ctx, rows, fetched[i] ?? null, plan.tables[i]!, plan.tables[i]!.method)
    ctx.memory.release(held)
    held = rowsBytes(rows)
    ctx.memory.charge(held, 'a join')
  }
  await joinChunks(ctx, rows, fetched[last] ?? null, plan.tables[last]!, plan.tables[last]!.method, sink)
  ctx.memory.release(inputs + held)
}

/**
 * Runs a statement's top-level query. With a sink in the statement's options and a plan that
 * {@link pipelines}, the rows go to the sink chunk by chunk as they are produced and the
 * answer is their count; otherwise the rows, whole.
 */
export async function executeTopLevel(ctx: StatementContext, plan: QueryPlan): Promise<{ rows: SqlValue[][]; streamed: number | null }> {
  const sink = ctx.options.sink
  if (sink === undefined || plan.kind !== 'select' || !pipelines(plan)) return { rows: await executeQuery(ctx, plan), streamed: null }
  let streamed = 0
  await streamSelect(ctx, plan, (rows) => {
    streamed += rows.length
    return sink(plan.columns, rows)
  })
  return { rows: [], streamed }
}

/** Runs a planned SELECT; returns the output rows. */
export async function executeSelect(ctx: StatementContext, plan: SelectPlan): Promise<SqlValue[][]> {
  // A join's rows go through the pipeline too: only the answer is held, not the joined rows.
  if (streamsRows(plan) || (pipelines(plan) && plan.tables.length > 1)) {
    const out: SqlValue[][] = []
    await streamSelect(ctx, plan, (rows) => void pushAll(out, rows))
    return out
  }
  let rows: SqlValue[][]
  let streamed: GroupTable | null = null
  // The groups' bytes, held until they become output rows.
  let groupsHeld = 0
  const chargeGroup = (bytes: number) => {
    ctx.memory.charge(bytes, 'GROUP BY')
    groupsHeld += bytes
  }
  if (plan.aggregate !== null && streamsAggregate(plan)) {
    const t = plan.tables[0]!
    const filters = [t.filter, plan.where].filter((f): f is Expr => f !== null)
    streamed = await aggregateRows(ctx, t.table!, t.path as ScanPath, filters, plan.aggregate.groupBy, plan.aggregate.aggregates, chargeGroup)
    rows = []
  } else if (plan.aggregate !== null && plan.applies.length === 0 && plan.tables.length > 1) {
    // An aggregate over a join folds the joined rows a chunk at a time, never holding them.
    const { groupBy, aggregates } = plan.aggregate
    const groups: GroupTable = new Map()
    await joinTables(ctx, plan, async (chunk) => {
      accumulate(groups, filterRows(chunk, plan.where), groupBy, aggregates, chargeGroup)
      await ctx.yieldToEventLoop()
      return true
    })
    streamed = groups
    rows = []
  } else if (plan.tables.length === 0) rows = [[]]
  else if (plan.tables.length === 1) rows = await tableRows(ctx, plan.tables[0]!, plan.scanLimit)
  else {
    // The joined rows, held whole for the operators above (window functions, a correlated
    // subquery): charged as they come.
    const joined: SqlValue[][] = []
    await joinTables(ctx, plan, async (chunk) => {
      ctx.memory.charge(rowsBytes(chunk), "a join's result")
      for (const r of chunk) joined.push(r)
      return true
    })
    rows = joined
  }
  if (plan.applies.length > 0) {
    const answers = await subqueryAnswers(ctx, plan.applies, plan.scope, plan.env, rows)
    rows = rows.map((r, i) => [...r, ...answers[i]!])
  }
  if (streamed === null) rows = filterRows(rows, plan.where)

  if (plan.aggregate !== null) {
    const groups: GroupTable = streamed ?? new Map()
    if (streamed === null) {
      for (let i = 0; i < rows.length; i += AGGREGATE_ROWS_PER_YIELD) {
        accumulate(groups, rows.slice(i, i + AGGREGATE_ROWS_PER_YIELD), plan.aggregate.groupBy, plan.aggregate.aggregates, chargeGroup)
        if (i + AGGREGATE_ROWS_PER_YIELD < rows.length) await ctx.yieldToEventLoop()
      }
    }
    if (groups.size === 0 && plan.aggregate.groupBy.length === 0) {
      groups.set('', { keys: [], states: plan.aggregate.aggregates.map(newState) })
    }
    const aggs = plan.aggregate.aggregates
    rows = [...groups.values()].map((g) => [...g.keys, ...g.states.map((s, i) => finish(aggs[i]!, s))])
    ctx.memory.release(groupsHeld)
    rows = filterRows(rows, plan.having)
  }

  if (plan.windows.length > 0) {
    ctx.memory.charge(rowsBytes(rows), 'window functions')
    rows = computeWindows(rows, plan.windows)
  }
  let out = rows.map((r) => plan.projections.map((p) => evaluate(p, r)))
  if (plan.distinct) {
    out = distinctRows(out, plan.columns.length)
    ctx.memory.charge(rowsBytes(out), 'SELECT DISTINCT')
  }
  return finishRows(ctx, out, plan)
}

/** Rows aggregated between yields to the event loop (when the rows were not aggregated while scanned). */
const AGGREGATE_ROWS_PER_YIELD = 2_000

/**
 * Runs a plan that {@link streamsRows}: each chunk the scan yields is filtered and projected,
 * then deduplicated (DISTINCT), fed to an external sort (ORDER BY) or handed to `sink` —
 * past OFFSET, until LIMIT (or until `sink` answers false), when reading stops. Only
 * DISTINCT's seen keys and the sort's buffer stay in memory, charged to the statement's
 * budget (the sort spills past it).
 */
async function streamSelect(ctx: StatementContext, plan: SelectPlan, sink: (rows: SqlValue[][]) => boolean | void | Promise<boolean | void>): Promise<void> {
  const t = plan.tables[0]!
  const width = plan.columns.length
  const sorter = plan.sortKeys.length > 0 ? new ExternalSorter(ctx, plan.sortKeys, plan.limit === null ? Infinity : plan.offset + plan.limit) : null
  const seen = plan.distinct ? new Set<string>() : null
  let skip = plan.offset
  let left = plan.limit ?? Infinity
  const emit = async (rows: SqlValue[][]): Promise<void> => {
    if (skip > 0) {
      const n = Math.min(skip, rows.length)
      skip -= n
      rows = rows.slice(n)
    }
    if (rows.length > left) rows = rows.slice(0, left)
    left -= rows.length
    // A sink that wants no more rows ends the query as its LIMIT would.
    if (rows.length > 0 && (await sink(rows[0]!.length > width ? rows.map((r) => r.slice(0, width)) : rows)) === false) left = 0
  }
  /** One chunk of the input through filter, projection, DISTINCT and the sort or the sink; false once no more rows are wanted. */
  const consume = async (chunk: SqlValue[][]): Promise<boolean> => {
    const rows = plan.where === null ? chunk : filterRows(chunk, plan.where)
    let out = rows.map((r) => plan.projections.map((p) => evaluate(p, r)))
    if (seen !== null) {
      out = out.filter((r) => {
        const k = rowKey(r.slice(0, width))
        if (seen.has(k)) return false
        ctx.memory.charge(48 + 2 * k.length, 'SELECT DISTINCT')
        seen.add(k)
        return true
      })
    }
    if (sorter !== null) await sorter.add(out)
    else await emit(out)
    await ctx.yieldToEventLoop()
    return left > 0
  }
  try {
    if (plan.tables.length > 1) await joinTables(ctx, plan, consume)
    else {
      // Without a LIMIT every row is read: several ranges at once, as a materialising scan would.
      const readAhead = plan.limit === null ? WHOLE_SPAN_READ_AHEAD : undefined
      for await (const chunk of rowChunks(ctx, t.table!, t.path!, t.filter, readAhead)) if (!(await consume(chunk))) return
    }
    if (left <= 0) return
    if (sorter !== null) {
      for await (const rows of sorter.drain()) {
        await emit(rows)
        if (left <= 0) return
      }
    }
  } finally {
    await sorter?.close()
  }
}

/** Sorts, cuts to OFFSET/LIMIT and drops sort-only columns. */
function finishRows(ctx: StatementContext, out: SqlValue[][], plan: QueryPlan): SqlValue[][] {
  if (plan.sortKeys.length > 0) {
    // Rows already held whole (joined, aggregated, a set operation's): sorted in memory, within the budget.
    ctx.memory.charge(rowsBytes(out), 'a sort')
    out = sortRows(out, plan.sortKeys)
  }
  const end = plan.limit === null ? out.length : plan.offset + plan.limit
  if (plan.offset > 0 || end < out.length) out = out.slice(plan.offset, end)
  if (out.length > 0 && out[0]!.length > plan.columns.length) out = out.map((r) => r.slice(0, plan.columns.length))
  return out
}

/**
 * The answers of correlated subqueries `applies` for each row of `rows` (rows of `scope`;
 * columns past the scope's are ignored), one array per row in `applies` order. A subquery's
 * answer is cached by the values it reads.
 */
export async function subqueryAnswers(ctx: StatementContext, applies: readonly Apply[], scope: Scope, env: QueryEnv, rows: readonly SqlValue[][]): Promise<SqlValue[][]> {
  const caches = applies.map(() => new Map<string, Promise<SqlValue[][]>>())
  const out: SqlValue[][] = []
  for (const row of rows) {
    // The row as the subqueries' slots number it: the scope's columns, then earlier answers.
    const extended = row.slice(0, scope.columns.length)
    for (let i = 0; i < applies.length; i++) {
      const a = applies[i]!
      const key = rowKey(a.uses.map((slot) => extended[slot] ?? null))
      let answer = caches[i]!.get(key)
      if (answer === undefined) {
        const outer: OuterScope = { scope, row: extended, used: new Set() }
        answer = planQuery(ctx, a.query, { ctes: env.ctes, outer }).then((sub) => executeQuery(ctx, sub))
        caches[i]!.set(key, answer)
      }
      extended.push(applyValue(a, await answer, extended))
    }
    out.push(extended.slice(scope.columns.length))
  }
  return out
}

function applyValue(a: Apply, rows: readonly SqlValue[][], row: readonly SqlValue[]): SqlValue {
  switch (a.kind) {
    case 'scalar':
      return scalarOf(rows)
    case 'exists':
      return rows.length > 0
    case 'array':
      return arrayFromRows(rows)
    case 'in': {
      const v = evaluate(a.operand!, row)
      if (v === null) return rows.length === 0 ? false : null
      let sawNull = false
      for (const r of rows) {
        const x = r[0] ?? null
        if (x === null) sawNull = true
        else if (compareValues(v, x) === 0) return true
      }
      return sawNull ? null : false
    }
  }
}

/** Plans UNION / INTERSECT / EXCEPT: both sides, their column counts and types matched. */
async function planSetOp(ctx: StatementContext, q: SetOpStmt, env: QueryEnv): Promise<SetOpPlan> {
  const left = await planQuery(ctx, q.left, env)
  const right = await planQuery(ctx, q.right, env)
  const name = q.op.toUpperCase()
  if (left.columns.length !== right.columns.length) fail(SqlState.SYNTAX_ERROR, `each ${name} query must have the same number of columns`)
  const types = left.types.map((t, i) => commonType([t, right.types[i]!], name))
  const columns = left.columns.map((c, i) => ({ name: c.name, type: staticTypeName(types[i]!) }))
  // ORDER BY of a set operation names output columns (by name or position).
  const sortKeys = q.orderBy.map((o) => {
    let index = -1
    if (o.expr.kind === 'literal' && typeof o.expr.value === 'bigint') index = Number(selectItemIndex(columns, o.expr.value, 'ORDER BY'))
    else if (o.expr.kind === 'column' && o.expr.table === null) index = columns.findIndex((c) => c.name === (o.expr as { name: string }).name)
    if (index < 0) fail(SqlState.FEATURE_NOT_SUPPORTED, `ORDER BY of a ${name} must name an output column (by name or position), not ${exprToSql(o.expr)}`)
    return sortKey(index, o.desc, o.nulls)
  })
  return {
    kind: 'set-op',
    op: q.op,
    all: q.all,
    left,
    right,
    columns,
    types,
    sortKeys,
    limit: q.limit === null ? null : countValue(q.limit, 'LIMIT'),
    offset: q.offset === null ? 0 : countValue(q.offset, 'OFFSET'),
  }
}

/** Runs UNION / INTERSECT / EXCEPT with SQL's duplicate rules (ALL keeps multiplicities). */
async function executeSetOp(ctx: StatementContext, plan: SetOpPlan): Promise<SqlValue[][]> {
  const [left, right] = await Promise.all([executeQuery(ctx, plan.left), executeQuery(ctx, plan.right)])
  const width = plan.columns.length
  let out: SqlValue[][]
  if (!(plan.op === 'union' && plan.all)) ctx.memory.charge(rowsBytes(left) + rowsBytes(right), `${plan.op.toUpperCase()}`)
  if (plan.op === 'union') out = plan.all ? [...left, ...right] : distinctRows([...left, ...right], width)
  else {
    // How many times each row occurs on the right.
    const counts = new Map<string, number>()
    for (const r of right) counts.set(rowKey(r), (counts.get(rowKey(r)) ?? 0) + 1)
    const rows = plan.all ? left : distinctRows(left, width)
    out = rows.filter((r) => {
      const k = rowKey(r)
      const n = counts.get(k) ?? 0
      if (plan.all && n > 0) counts.set(k, n - 1)
      return plan.op === 'intersect' ? n > 0 : n === 0
    })
  }
  return finishRows(ctx, out, plan)
}

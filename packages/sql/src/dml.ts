// INSERT (with ON CONFLICT), UPDATE and DELETE. Writes go to the
// statement's buffer. Unique checks happen at three points: at once against the statement's
// own writes (WriteBuffer.insert); before the statement returns against the transaction
// (StatementContext.checkInserts, inside BEGIN … COMMIT); and at commit, where
// KvTransaction.insert asserts the key absent (KEY_EXISTS) against concurrent inserts.

import { randomBytes } from 'node:crypto'
import { decodeKey, pushAll } from '@mrdb/storage'
import { conjuncts, mapChildren, type DeleteStmt, type Expr, type InsertStmt, type OnConflict, type UpdateAssignment, type UpdateStmt } from './ast.js'
import { bind, EMPTY_SCOPE, Scope, slotsOf, typeCheck } from './binder.js'
import type { IndexDesc, TableDesc } from './catalog.js'
import { fail, SqlState } from './errors.js'
import { evaluate, isTrue } from './eval.js'
import { chooseAccessPath, type AccessPath } from './planner.js'
import { readRows } from './access.js'
import { andAll, executeQuery, planQuery, resolveSubqueries, subqueryAnswers, TOP_LEVEL, type Apply } from './select.js'
import { defaultFor } from './defaults.js'
import { planReturning } from './returning.js'
import type { StatementContext } from './statement-context.js'
import { decodeRow, encodeRow, indexEntryOf, indexKey, rowLayout } from './table-codec.js'
import { extendRow } from './schema-state.js'
import { coerceToColumn, rowKey, type BaseType, type SqlValue } from './values.js'


/** A random positive 63-bit row id for a table without a primary key. */
function newRowId(): bigint {
  return randomBytes(8).readBigUInt64BE() >> 1n
}

/** Raises 23502 if a NOT NULL (or primary key) column of `row` is NULL. */
function checkNotNull(table: TableDesc, row: readonly SqlValue[]): void {
  table.columns.forEach((c, i) => {
    if (row[i] === null && (!c.nullable || table.primaryKey.includes(i))) {
      fail(SqlState.NOT_NULL_VIOLATION, `null value in column "${c.name}" of relation "${table.name}" violates not-null constraint`)
    }
  })
}

function tableScope(table: TableDesc, alias = table.name): Scope {
  return new Scope(table.columns.map((c) => ({ table: alias, name: c.name, type: c.type, hidden: c.hidden })))
}

/**
 * Buffers the writes of a new row (row key and index entries, with uniqueness checks),
 * including the entries and column values a schema change in progress needs (schema-state.ts).
 */
function writeNewRow(ctx: StatementContext, table: TableDesc, row: readonly SqlValue[]): void {
  const view = ctx.writeView(table)
  const t = view.table
  const full = extendRow(view, row)
  const { key, value } = encodeRow(t, rowLayout(t), full)
  const dup = (k: Uint8Array): never => ctx.duplicateKey(k)
  ctx.buffer.insert(key, value, dup)
  for (const index of t.indexes) {
    const e = indexEntryOf(t, index, full)
    if (e.unique) ctx.buffer.insert(e.key, e.value, dup)
    else ctx.buffer.put(e.key, e.value)
  }
}

/** Buffers the deletion of a row and of its entries in every index, delete-only ones included. */
function deleteRow(ctx: StatementContext, table: TableDesc, row: readonly SqlValue[]): void {
  const view = ctx.writeView(table)
  const t = view.table
  const full = extendRow(view, row)
  ctx.buffer.delete(encodeRow(t, rowLayout(t), full).key)
  for (const index of [...t.indexes, ...view.deleteOnly]) ctx.buffer.delete(indexEntryOf(t, index, full).key)
}

/** What INSERT, UPDATE and DELETE return: how many rows they wrote, and RETURNING's result. */
export interface DmlResult {
  readonly affected: number
  /** RETURNING's columns and one row per written row; null without RETURNING. */
  readonly returning: { readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>; readonly rows: SqlValue[][] } | null
}

/** The target column positions of an INSERT: its column list, or every visible column. */
function insertTargets(table: TableDesc, columns: readonly string[] | null): number[] {
  if (columns === null) return table.columns.flatMap((c, i) => (c.hidden ? [] : [i]))
  const targets = columns.map((name) => {
    const i = table.columns.findIndex((c) => c.name === name && !c.hidden)
    if (i < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" of relation "${table.name}" does not exist`)
    return i
  })
  if (new Set(targets).size !== targets.length) fail(SqlState.DUPLICATE_COLUMN, 'column specified more than once')
  return targets
}

/**
 * A new row of `table` with `values` (already computed, or DEFAULT) in the `targets` columns
 * and every other column's default (evaluated per row), coerced and checked for NOT NULL.
 */
function newRow(table: TableDesc, targets: readonly number[], values: ReadonlyArray<SqlValue | typeof DEFAULT>, literal: (j: number) => boolean): SqlValue[] {
  const given = new Map<number, number>(targets.map((column, j) => [column, j]))
  const row = table.columns.map((c, i) => {
    const j = given.get(i)
    if (c.hidden) return newRowId()
    if (j === undefined || values[j] === DEFAULT) return defaultFor(c)
    return coerceToColumn(values[j] as SqlValue, c.type, c.name, literal(j))
  })
  checkNotNull(table, row)
  return row
}

/** The DEFAULT keyword among an INSERT row's computed values. */
const DEFAULT: unique symbol = Symbol('DEFAULT')

/** The rows an INSERT proposes: from VALUES (evaluated) or from its query (run now, at the statement's snapshot). */
async function proposedRows(ctx: StatementContext, table: TableDesc, stmt: InsertStmt): Promise<SqlValue[][]> {
  const targets = insertTargets(table, stmt.columns)
  const arity = (n: number): void => {
    if (n > targets.length) fail(SqlState.SYNTAX_ERROR, 'INSERT has more expressions than target columns')
    if (n < targets.length) fail(SqlState.SYNTAX_ERROR, 'INSERT has more target columns than expressions')
  }
  if (stmt.query !== null) {
    const plan = await planQuery(ctx, stmt.query)
    arity(plan.columns.length)
    const items = stmt.query.kind === 'select' ? stmt.query.items : []
    // A literal in the query's list converts to the column's type as it would in VALUES ('5' into an INT).
    const literal = (j: number): boolean => items.length === plan.columns.length && items[j]?.kind === 'expr' && items[j].expr.kind === 'literal'
    const rows = await executeQuery(ctx, plan)
    return rows.map((values) => newRow(table, targets, values, literal))
  }
  return stmt.rows.map((items) => {
    arity(items.length)
    const values = items.map((item) => (item.kind === 'default' ? DEFAULT : evaluate(bind(item, EMPTY_SCOPE, 'VALUES'), [])))
    return newRow(table, targets, values, (j) => items[j]!.kind === 'literal')
  })
}

/** Executes INSERT (VALUES or a query, with ON CONFLICT and RETURNING). */
export async function executeInsert(ctx: StatementContext, stmt: InsertStmt): Promise<DmlResult> {
  const table = ctx.catalog.table(stmt.table)
  const returning = stmt.returning === null ? null : await planReturning(ctx, table, stmt.returning)
  const written: SqlValue[][] = []
  const result = (): DmlResult => ({ affected: written.length, returning: returning === null ? null : { columns: returning.columns, rows: written.map((r) => returning.project(r)) } })
  const onConflict = stmt.onConflict
  // Checked before the query runs: a bad ON CONFLICT clause fails without reading anything.
  const upsert = onConflict === null ? null : planUpsert(table, onConflict)
  const rows = await proposedRows(ctx, table, stmt)
  if (onConflict === null || upsert === null) {
    for (const row of rows) writeNewRow(ctx, table, row)
    pushAll(written, rows)
    await ctx.finishWrites()
    return result()
  }
  const { arbiter, assignments, condition } = upsert
  // PostgreSQL's rule: one statement proposes or updates each row at most once.
  const touched = new Set<string>()
  for (const row of rows) {
    const existing = await conflictingRows(ctx, table, row, arbiter)
    if (existing.length === 0) {
      writeNewRow(ctx, table, row)
      touched.add(rowKey(row))
      written.push(row)
      continue
    }
    if (onConflict.action === 'nothing') continue
    const old = existing[0]!
    if (touched.has(rowKey(old))) {
      fail(SqlState.CARDINALITY_VIOLATION, 'ON CONFLICT DO UPDATE command cannot affect row a second time (rows proposed by one INSERT share constrained values)')
    }
    if (condition !== null && evaluate(condition, [...old, ...row]) !== true) continue
    const updated = applyAssignments(table, assignments, [...old, ...row])
    if (rowKey(updated) !== rowKey(old)) {
      deleteRow(ctx, table, old)
      writeNewRow(ctx, table, updated)
    }
    touched.add(rowKey(updated))
    written.push(updated)
  }
  await ctx.finishWrites()
  return result()
}

/** An upsert's arbiter, bound DO UPDATE SET list and WHERE. */
function planUpsert(table: TableDesc, onConflict: OnConflict): { arbiter: 'primary' | IndexDesc | 'any'; assignments: BoundAssignment[]; condition: Expr | null } {
  const arbiter = conflictArbiter(table, onConflict)
  const scope = tableScope(table)
  const assignments = bindAssignments(table, onConflict.set, scope, true)
  const condition = onConflict.where === null ? null : bind(excludedSlots(table, scope, onConflict.where), scope, 'WHERE')
  return { arbiter, assignments, condition }
}

/**
 * The unique indexes an upsert's conflicts are looked for on: the one its target names
 * (`'primary'` for the primary key), or every one for a DO NOTHING without a target.
 * A target no unique constraint matches is 42P10, as in PostgreSQL.
 */
function conflictArbiter(table: TableDesc, onConflict: OnConflict): 'primary' | IndexDesc | 'any' {
  if (onConflict.columns === null && onConflict.constraint === null) return 'any'
  const pkeyName = `${table.name}_pkey`
  if (onConflict.constraint !== null) {
    if (onConflict.constraint === pkeyName && !table.columns[table.primaryKey[0]!]!.hidden) return 'primary'
    const index = table.indexes.find((i) => i.unique && i.name === onConflict.constraint)
    if (index === undefined) fail(SqlState.UNDEFINED_OBJECT, `constraint "${onConflict.constraint}" for table "${table.name}" does not exist`)
    return index
  }
  const positions = onConflict.columns!.map((name) => {
    const i = table.columns.findIndex((c) => c.name === name && !c.hidden)
    if (i < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" does not exist`)
    return i
  })
  const same = (cols: readonly number[]) => cols.length === positions.length && cols.every((c) => positions.includes(c))
  if (same(table.primaryKey) && !table.columns[table.primaryKey[0]!]!.hidden) return 'primary'
  const index = table.indexes.find((i) => i.unique && same(i.columns))
  if (index === undefined) fail(SqlState.INVALID_COLUMN_REFERENCE, 'there is no unique or exclusion constraint matching the ON CONFLICT specification')
  return index
}

/** Existing rows (seen through this statement's own writes) that `row` collides with on `arbiter`. */
async function conflictingRows(ctx: StatementContext, table: TableDesc, row: readonly SqlValue[], arbiter: 'primary' | IndexDesc | 'any'): Promise<SqlValue[][]> {
  const layout = rowLayout(table)
  const candidates: Uint8Array[] = arbiter === 'primary' || arbiter === 'any' ? [encodeRow(table, layout, row).key] : []
  const arbiters = arbiter === 'any' ? table.indexes.filter((i) => i.unique) : arbiter === 'primary' ? [] : [arbiter]
  const uniqueEntries = arbiters.map((i) => indexEntryOf(table, i, row)).filter((e) => e.unique)
  const entryValues = await readThrough(ctx, uniqueEntries.map((e) => e.key))
  for (const v of entryValues) if (v !== undefined) candidates.push(indexKey(table.id, 1, decodePk(v)))
  const values = await readThrough(ctx, candidates)
  const out: SqlValue[][] = []
  const seen = new Set<string>()
  values.forEach((v, i) => {
    if (v === undefined) return
    const r = decodeRow(layout, candidates[i]!, v)
    const k = rowKey(r)
    if (!seen.has(k)) out.push(r)
    seen.add(k)
  })
  return out
}

function decodePk(bytes: Uint8Array): SqlValue[] {
  return decodeKey(bytes) as SqlValue[]
}

async function readThrough(ctx: StatementContext, keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
  if (keys.length === 0) return []
  const own = keys.map((k) => ctx.buffer.lookup(k))
  const missing = keys.filter((_, i) => own[i] === undefined)
  const fetched = missing.length > 0 ? await ctx.getMany(missing) : []
  missing.forEach((k, i) => {
    if (fetched[i] === undefined) ctx.buffer.noteAbsent(k)
  })
  let j = 0
  return own.map((o) => (o === undefined ? fetched[j++] : o === null ? undefined : o))
}

interface BoundAssignment {
  readonly column: number
  /** The bound value, or null for DEFAULT (the column's default). */
  readonly value: Expr | null
  readonly literal: boolean
}

/**
 * `e` with every `excluded.col` (in an upsert's SET and WHERE: the row the INSERT proposed)
 * turned into a slot after the existing row's columns, where the upsert evaluates it.
 */
function excludedSlots(table: TableDesc, scope: Scope, e: Expr): Expr {
  if (e.kind === 'column' && e.table === 'excluded') {
    return { kind: 'slot', index: table.columns.length + scope.resolve(null, e.name), label: `excluded.${e.name}` }
  }
  if (e.kind === 'column' || e.kind === 'literal' || e.kind === 'slot') return e
  return mapChildren(e, (child) => excludedSlots(table, scope, child))
}

/**
 * Binds SET assignments over `scope`'s rows; `slotTypes` are the types of the slots they may
 * read (by default the table's columns twice: the existing row, then an upsert's `excluded`).
 */
function bindAssignments(
  table: TableDesc,
  assignments: readonly UpdateAssignment[],
  scope: Scope,
  withExcluded: boolean,
  slotTypes: readonly (BaseType | null)[] = [...table.columns, ...table.columns].map((c) => c.type.base),
): BoundAssignment[] {
  return assignments.map((a) => {
    const column = table.columns.findIndex((c) => c.name === a.column && !c.hidden)
    if (column < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${a.column}" of relation "${table.name}" does not exist`)
    if (a.value.kind === 'default') return { column, value: null, literal: false }
    const value = bind(withExcluded ? excludedSlots(table, scope, a.value) : a.value, scope, 'UPDATE')
    const t = typeCheck(value, slotTypes)
    const colType = table.columns[column]!.type.base
    if (t !== null && t !== 'null' && t !== colType && !(colType === 'float' && t === 'int') && !(colType === 'int' && t === 'float') && !(a.value.kind === 'literal')) {
      fail(SqlState.DATATYPE_MISMATCH, `column ${a.column} is of type ${colType.toUpperCase()} but expression is of type ${t.toUpperCase()}`)
    }
    return { column, value, literal: a.value.kind === 'literal' }
  })
}


function applyAssignments(table: TableDesc, assignments: readonly BoundAssignment[], input: readonly SqlValue[]): SqlValue[] {
  const row = input.slice(0, table.columns.length)
  const computed = assignments.map((a) => (a.value === null ? defaultFor(table.columns[a.column]!) : evaluate(a.value, input)))
  assignments.forEach((a, i) => {
    const col = table.columns[a.column]!
    row[a.column] = coerceToColumn(computed[i]!, col.type, col.name, a.literal)
  })
  checkNotNull(table, row)
  return row
}

/**
 * How an UPDATE or DELETE finds its rows: the access path and the filter applied while
 * scanning, and for a WHERE with correlated subqueries, those subqueries and the rest of the
 * WHERE, applied to each row read with their answers.
 */
export interface RowSelection {
  readonly path: AccessPath
  readonly filter: Expr | null
  readonly applies: readonly Apply[]
  readonly residual: Expr | null
  readonly scope: Scope
  /** The types of the slots WHERE and SET read: the table's columns, then the subqueries' answers. */
  readonly slotTypes: readonly (BaseType | null)[]
  /** The `values` planRowSelection was given, their subqueries resolved (correlated ones read the rows' answers). */
  readonly values: readonly Expr[]
}

/**
 * Plans how the rows a WHERE selects in `table` are found; `values` (an UPDATE's SET
 * expressions) may hold subqueries too, computed with the WHERE's for each row.
 */
export async function planRowSelection(ctx: StatementContext, table: TableDesc, where: Expr | null, values: readonly Expr[] = []): Promise<RowSelection> {
  const scope = tableScope(table)
  const slotTypes = table.columns.map((c): BaseType | null => c.type.base)
  const applies: Apply[] = []
  const condition = where === null ? null : bind(await resolveSubqueries(ctx, where, TOP_LEVEL, scope, { applies, slotTypes }), scope, 'WHERE')
  const resolved: Expr[] = []
  for (const v of values) resolved.push(await resolveSubqueries(ctx, v, TOP_LEVEL, scope, { applies, slotTypes }))
  if (condition !== null) {
    const t = typeCheck(condition, slotTypes)
    if (t !== null && t !== 'null' && t !== 'bool') fail(SqlState.DATATYPE_MISMATCH, `argument of WHERE must be BOOLEAN`)
  }
  // Conjuncts over the table's own columns are applied while scanning; the rest after the subqueries.
  const width = table.columns.length
  const parts = conjuncts(condition)
  const local = parts.filter((p) => [...slotsOf(p)].every((s) => s < width))
  const filter = andAll(local)
  return { path: chooseAccessPath(table, local), filter, applies, residual: andAll(parts.filter((p) => !local.includes(p))), scope, slotTypes, values: resolved }
}

/**
 * The rows of `readTable` (the table as writers see it) that `selection` selects, each with
 * the table's own columns followed by its correlated subqueries' answers (what the WHERE and
 * SET expressions read).
 */
async function selectRows(ctx: StatementContext, readTable: TableDesc, selection: RowSelection): Promise<Array<{ row: SqlValue[]; input: SqlValue[] }>> {
  const rows = await readRows(ctx, readTable, selection.path, selection.filter)
  const width = selection.scope.columns.length
  if (selection.applies.length === 0) return rows.map((row) => ({ row, input: row }))
  const answers = await subqueryAnswers(ctx, selection.applies, selection.scope, TOP_LEVEL, rows)
  return rows
    .map((row, i) => ({ row, input: [...row.slice(0, width), ...answers[i]!] }))
    .filter(({ input }) => selection.residual === null || isTrue(selection.residual, input))
}

/** Executes UPDATE (RETURNING projects the new values). */
export async function executeUpdate(ctx: StatementContext, stmt: UpdateStmt): Promise<DmlResult> {
  const table = ctx.catalog.table(stmt.table)
  const returning = stmt.returning === null ? null : await planReturning(ctx, table, stmt.returning)
  const values = stmt.assignments.flatMap((a) => (a.value.kind === 'default' ? [] : [a.value]))
  const selection = await planRowSelection(ctx, table, stmt.where, values)
  let next = 0
  const resolved = stmt.assignments.map((a) => (a.value.kind === 'default' ? a : { ...a, value: selection.values[next++]! }))
  const assignments = bindAssignments(table, resolved, selection.scope, false, selection.slotTypes)
  // Rows as writers see them: with the columns a schema change is adding or dropping.
  const view = ctx.writeView(table)
  const t = view.table
  const rows = await selectRows(ctx, t, selection)
  const layout = rowLayout(t)
  const changes = rows.map(({ row: old, input }) => ({ old, next: [...applyAssignments(table, assignments, input), ...old.slice(table.columns.length)] }))
  // Deletions first, then writes: a row may move to a key another row of this statement leaves.
  const writes: Array<() => void> = []
  for (const { old, next } of changes) {
    const oldKey = encodeRow(t, layout, old).key
    const nextRow = encodeRow(t, layout, next)
    const pkChanged = Buffer.compare(oldKey, nextRow.key) !== 0
    if (pkChanged) {
      ctx.buffer.delete(oldKey)
      writes.push(() => ctx.buffer.insert(nextRow.key, nextRow.value, (k) => ctx.duplicateKey(k)))
    } else writes.push(() => ctx.buffer.put(nextRow.key, nextRow.value))
    for (const index of view.deleteOnly) {
      const before = indexEntryOf(t, index, old)
      if (Buffer.compare(before.key, indexEntryOf(t, index, next).key) !== 0) ctx.buffer.delete(before.key)
    }
    for (const index of t.indexes) {
      const before = indexEntryOf(t, index, old)
      const after = indexEntryOf(t, index, next)
      if (Buffer.compare(before.key, after.key) === 0 && Buffer.compare(before.value, after.value) === 0) continue
      ctx.buffer.delete(before.key)
      writes.push(() => (after.unique ? ctx.buffer.insert(after.key, after.value, (k) => ctx.duplicateKey(k)) : ctx.buffer.put(after.key, after.value)))
    }
  }
  for (const w of writes) w()
  await ctx.finishWrites()
  return { affected: changes.length, returning: returning === null ? null : { columns: returning.columns, rows: changes.map(({ next }) => returning.project(next)) } }
}

/** Executes DELETE (RETURNING projects the old values). */
export async function executeDelete(ctx: StatementContext, stmt: DeleteStmt): Promise<DmlResult> {
  const table = ctx.catalog.table(stmt.table)
  const returning = stmt.returning === null ? null : await planReturning(ctx, table, stmt.returning)
  const rows = (await selectRows(ctx, ctx.writeView(table).table, await planRowSelection(ctx, table, stmt.where))).map(({ row }) => row)
  for (const row of rows) deleteRow(ctx, table, row)
  await ctx.ensureValidated()
  return { affected: rows.length, returning: returning === null ? null : { columns: returning.columns, rows: rows.map((r) => returning.project(r)) } }
}

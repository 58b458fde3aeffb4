// INSERT (with ON CONFLICT), UPDATE and DELETE. Writes go to the
// statement's buffer. Unique checks happen at three points: at once against the statement's
// own writes (WriteBuffer.insert); before the statement returns against the transaction
// (StatementContext.checkInserts, inside BEGIN … COMMIT); and at commit, where
// KvTransaction.insert asserts the key absent (KEY_EXISTS) against concurrent inserts.

import { randomBytes } from 'node:crypto'
import { decodeKey } from '@mrdb/storage'
import { conjuncts, mapChildren, type Assignment, type Expr, type OnConflict, type Statement } from './ast.js'
import { bind, EMPTY_SCOPE, Scope, typeCheck } from './binder.js'
import type { IndexDesc, TableDesc } from './catalog.js'
import { fail, SqlState } from './errors.js'
import { evaluate } from './eval.js'
import { chooseAccessPath, type AccessPath } from './planner.js'
import { readRows } from './access.js'
import { resolveSubqueries, TOP_LEVEL } from './select.js'
import type { StatementContext } from './statement-context.js'
import { decodeRow, encodeRow, indexEntryOf, indexKey, rowLayout } from './table-codec.js'
import { extendRow } from './schema-state.js'
import { coerceToColumn, rowKey, type SqlValue } from './values.js'

type InsertStmt = Extract<Statement, { kind: 'insert' }>
type UpdateStmt = Extract<Statement, { kind: 'update' }>
type DeleteStmt = Extract<Statement, { kind: 'delete' }>

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

/** Executes INSERT; returns the number of rows inserted or updated. */
export async function executeInsert(ctx: StatementContext, stmt: InsertStmt): Promise<number> {
  const table = ctx.catalog.table(stmt.table)
  const visible = table.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.hidden)
  let targets: number[]
  if (stmt.columns === null) targets = visible.map(({ i }) => i)
  else {
    targets = stmt.columns.map((name) => {
      const i = table.columns.findIndex((c) => c.name === name && !c.hidden)
      if (i < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" of relation "${table.name}" does not exist`)
      return i
    })
    if (new Set(targets).size !== targets.length) fail(SqlState.DUPLICATE_COLUMN, 'column specified more than once')
  }
  const rows: SqlValue[][] = []
  for (const values of stmt.rows) {
    if (values.length !== targets.length) fail(SqlState.SYNTAX_ERROR, `INSERT has ${values.length} expressions but ${targets.length} target columns`)
    const row = table.columns.map((c) => (c.hidden ? newRowId() : c.defaultValue))
    values.forEach((expr, j) => {
      const col = table.columns[targets[j]!]!
      const bound = bind(expr, EMPTY_SCOPE, 'VALUES')
      const v = evaluate(bound, [])
      row[targets[j]!] = coerceToColumn(v, col.type, col.name, expr.kind === 'literal')
    })
    checkNotNull(table, row)
    rows.push(row)
  }
  const onConflict = stmt.onConflict
  if (onConflict === null) {
    for (const row of rows) writeNewRow(ctx, table, row)
    await ctx.finishWrites()
    return rows.length
  }
  // Upsert: look for the rows each new row collides with on the conflict target (any unique
  // constraint for a DO NOTHING without one); a collision on another constraint is 23505.
  const arbiter = conflictArbiter(table, onConflict)
  const scope = tableScope(table)
  const assignments = bindAssignments(table, onConflict.set, scope, true)
  const condition = onConflict.where === null ? null : bind(excludedSlots(table, scope, onConflict.where), scope, 'WHERE')
  // PostgreSQL's rule: one statement proposes or updates each row at most once.
  const touched = new Set<string>()
  let affected = 0
  for (const row of rows) {
    const existing = await conflictingRows(ctx, table, row, arbiter)
    if (existing.length === 0) {
      writeNewRow(ctx, table, row)
      touched.add(rowKey(row))
      affected++
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
    affected++
  }
  await ctx.finishWrites()
  return affected
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
  readonly value: Expr
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

function bindAssignments(table: TableDesc, assignments: readonly Assignment[], scope: Scope, withExcluded: boolean): BoundAssignment[] {
  return assignments.map((a) => {
    const column = table.columns.findIndex((c) => c.name === a.column && !c.hidden)
    if (column < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${a.column}" of relation "${table.name}" does not exist`)
    const value = bind(withExcluded ? excludedSlots(table, scope, a.value) : a.value, scope, 'UPDATE')
    const t = typeCheck(value, [...table.columns, ...table.columns].map((c) => c.type.base))
    const colType = table.columns[column]!.type.base
    if (t !== null && t !== 'null' && t !== colType && !(colType === 'float' && t === 'int') && !(colType === 'int' && t === 'float') && !(a.value.kind === 'literal')) {
      fail(SqlState.DATATYPE_MISMATCH, `column ${a.column} is of type ${colType.toUpperCase()} but expression is of type ${t.toUpperCase()}`)
    }
    return { column, value, literal: a.value.kind === 'literal' }
  })
}


function applyAssignments(table: TableDesc, assignments: readonly BoundAssignment[], input: readonly SqlValue[]): SqlValue[] {
  const row = input.slice(0, table.columns.length)
  const computed = assignments.map((a) => evaluate(a.value, input))
  assignments.forEach((a, i) => {
    const col = table.columns[a.column]!
    row[a.column] = coerceToColumn(computed[i]!, col.type, col.name, a.literal)
  })
  checkNotNull(table, row)
  return row
}

/** The rows a WHERE selects in `table`, and the path used to find them. */
export async function planRowSelection(ctx: StatementContext, table: TableDesc, where: Expr | null): Promise<{ path: AccessPath; filter: Expr | null }> {
  const scope = tableScope(table)
  const filter = where === null ? null : bind(await resolveSubqueries(ctx, where, TOP_LEVEL, scope, null), scope, 'WHERE')
  if (filter !== null) {
    const t = typeCheck(filter, table.columns.map((c) => c.type.base))
    if (t !== null && t !== 'null' && t !== 'bool') fail(SqlState.DATATYPE_MISMATCH, `argument of WHERE must be BOOLEAN`)
  }
  return { path: chooseAccessPath(table, conjuncts(filter)), filter }
}

/** Executes UPDATE; returns the number of rows updated. */
export async function executeUpdate(ctx: StatementContext, stmt: UpdateStmt): Promise<number> {
  const table = ctx.catalog.table(stmt.table)
  const assignments = bindAssignments(table, stmt.assignments, tableScope(table), false)
  const { path, filter } = await planRowSelection(ctx, table, stmt.where)
  // Rows as writers see them: with the columns a schema change is adding or dropping.
  const view = ctx.writeView(table)
  const t = view.table
  const rows = await readRows(ctx, t, path, filter)
  const layout = rowLayout(t)
  const changes = rows.map((old) => ({ old, next: [...applyAssignments(table, assignments, old), ...old.slice(table.columns.length)] }))
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
  return changes.length
}

/** Executes DELETE; returns the number of rows deleted. */
export async function executeDelete(ctx: StatementContext, stmt: DeleteStmt): Promise<number> {
  const table = ctx.catalog.table(stmt.table)
  const { path, filter } = await planRowSelection(ctx, table, stmt.where)
  const rows = await readRows(ctx, ctx.writeView(table).table, path, filter)
  for (const row of rows) deleteRow(ctx, table, row)
  await ctx.ensureValidated()
  return rows.length
}

// CREATE/DROP TABLE, CREATE/DROP INDEX and SHOW: catalog changes written in the statement's
// transaction. Every DDL bumps the schema version (so concurrent DDLs conflict and cached
// catalogs notice) and takes ids from a counter that never hands one out twice.

import { prefixEnd } from '@mrdb/storage'
import type { Statement } from './ast.js'
import { Catalog, decodeCounter, descriptorKey, encodeCounter, encodeDescriptor, FIRST_ID, indexPrefix, NEXT_ID_KEY, tablePrefix, VERSION_KEY, type ColumnDesc, type IndexDesc, type TableDesc } from './catalog.js'
import { defaultText, storedDefault } from './defaults.js'
import { fail, SqlState } from './errors.js'
import { scanSpan } from './access.js'
import { fullSpan } from './planner.js'
import { decodeAndFilter } from './row-ops.js'
import type { KvTransaction } from './kv-port.js'
import type { StatementContext } from './statement-context.js'
import { indexEntryOf, rowLayout } from './table-codec.js'
import { typeName, type SqlValue } from './values.js'

type Ddl<K extends Statement['kind']> = Extract<Statement, { kind: K }>

/** The name of the hidden row-id column of a table declared without a primary key. */
export const ROW_ID_COLUMN = 'rowid'

async function allocateIds(ctx: StatementContext, n: number): Promise<number[]> {
  const [raw] = await ctx.getMany([NEXT_ID_KEY])
  const next = decodeCounter(raw) === 0n ? BigInt(FIRST_ID) : decodeCounter(raw)
  ctx.buffer.put(NEXT_ID_KEY, encodeCounter(next + BigInt(n)))
  return Array.from({ length: n }, (_, i) => Number(next) + i)
}

function publish(ctx: StatementContext, catalog: Catalog): void {
  ctx.buffer.put(VERSION_KEY, encodeCounter(catalog.version))
  ctx.newCatalog = catalog
}

function checkIndexName(catalog: Catalog, name: string): void {
  if (catalog.indexTable(name) !== undefined || name.endsWith('_pkey')) fail(SqlState.DUPLICATE_OBJECT, `relation "${name}" already exists`)
}

/** CREATE TABLE; returns false when IF NOT EXISTS found the table. */
export async function createTable(ctx: StatementContext, stmt: Ddl<'create-table'>): Promise<boolean> {
  await ctx.ensureCurrent()
  const catalog = ctx.catalog
  if (catalog.tables.has(stmt.name)) {
    if (stmt.ifNotExists) return false
    fail(SqlState.DUPLICATE_TABLE, `relation "${stmt.name}" already exists`)
  }
  const names = new Set<string>()
  for (const c of stmt.columns) {
    if (names.has(c.name)) fail(SqlState.DUPLICATE_COLUMN, `column "${c.name}" specified more than once`)
    names.add(c.name)
  }
  if (stmt.columns.length === 0) fail(SqlState.INVALID_TABLE_DEFINITION, 'a table needs at least one column')
  const inlinePk = stmt.columns.filter((c) => c.primaryKey).map((c) => c.name)
  if (inlinePk.length > 1 || (inlinePk.length === 1 && stmt.primaryKey !== null)) fail(SqlState.INVALID_TABLE_DEFINITION, `multiple primary keys for table "${stmt.name}" are not allowed`)
  const pkNames = stmt.primaryKey ?? (inlinePk.length === 1 ? inlinePk : null)
  const position = (name: string): number => {
    const i = stmt.columns.findIndex((c) => c.name === name)
    if (i < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" named in key does not exist`)
    return i
  }
  const pkSet = new Set((pkNames ?? []).map(position))
  const columns: ColumnDesc[] = stmt.columns.map((c, i) => ({ name: c.name, type: c.type, nullable: !c.notNull && !pkSet.has(i), ...storedDefault(c, false), hidden: false }))
  let primaryKey: number[]
  if (pkNames === null) {
    columns.push({ name: ROW_ID_COLUMN, type: { base: 'int' }, nullable: false, defaultValue: null, hidden: true })
    primaryKey = [columns.length - 1]
  } else primaryKey = pkNames.map(position)
  const uniqueSets = [...stmt.columns.filter((c) => c.unique).map((c) => [c.name]), ...stmt.uniques]
  const ids = await allocateIds(ctx, 1 + uniqueSets.length)
  const indexes: IndexDesc[] = uniqueSets.map((cols, i) => {
    const name = `${stmt.name}_${cols.join('_')}_key`
    checkIndexName(catalog, name)
    return { id: ids[i + 1]!, name, columns: cols.map(position), unique: true }
  })
  const table: TableDesc = { id: ids[0]!, name: stmt.name, columns, primaryKey, indexes }
  if (ctx.checksInserts) (ctx.txn as unknown as Record<symbol, Set<number>>)[CREATED_TABLES] = new Set([...(createdInTransaction(ctx.txn) ?? []), table.id])
  ctx.buffer.put(descriptorKey(table.name), encodeDescriptor(table))
  publish(ctx, catalog.with(table, catalog.version + 1n))
  return true
}

/** DROP TABLE: removes descriptors and every row and index entry; returns how many tables were dropped. */
export async function dropTable(ctx: StatementContext, stmt: Ddl<'drop-table'>): Promise<number> {
  await ctx.ensureCurrent()
  let catalog = ctx.catalog
  let dropped = 0
  for (const name of stmt.names) {
    const table = catalog.tables.get(name)
    if (table === undefined) {
      if (stmt.ifExists) continue
      fail(SqlState.UNDEFINED_TABLE, `table "${name}" does not exist`)
    }
    const start = tablePrefix(table.id)
    const keys = await scanSpan(ctx, { start, end: prefixEnd(start)!, text: '' }, (pairs) => pairs.map(([k]) => k), Infinity)
    for (const k of keys) ctx.buffer.delete(k)
    ctx.buffer.delete(descriptorKey(name))
    catalog = catalog.without(name, catalog.version)
    dropped++
  }
  if (dropped > 0) publish(ctx, new Catalog(ctx.catalog.version + 1n, catalog.tables))
  return dropped
}

/**
 * Ids of the tables each open transaction created: no other transaction can see them yet.
 * Kept on the transaction object itself under a symbol, not in a WeakMap keyed by it: a
 * statement may see its transaction through a wrapper (the cancellable view each statement
 * from the wire protocol gets, a new Proxy every statement), and a property set through a
 * Proxy lands on its target, where every later view finds it.
 */
const CREATED_TABLES = Symbol('mrdb.tablesCreatedInTransaction')

/** Ids of the tables the open transaction `txn` created (see {@link CREATED_TABLES}). */
export function createdInTransaction(txn: KvTransaction): Set<number> | undefined {
  return (txn as unknown as Record<symbol, Set<number> | undefined>)[CREATED_TABLES]
}

/**
 * CREATE [UNIQUE] INDEX inside a transaction block, on a table created in the same
 * transaction (no other transaction can write it): records the index and backfills entries
 * for its rows in the transaction. On any other table it is 25001: outside a transaction
 * block, CREATE INDEX is an online schema change (schema-change.ts).
 */
export async function createIndex(ctx: StatementContext, stmt: Ddl<'create-index'>): Promise<void> {
  await ctx.ensureCurrent()
  const catalog = ctx.catalog
  const table = catalog.table(stmt.table)
  if (!createdInTransaction(ctx.txn)?.has(table.id)) {
    fail(SqlState.ACTIVE_SQL_TRANSACTION, `CREATE INDEX on "${table.name}" cannot run inside a transaction block unless the table was created in it (it is an online schema change: run it outside BEGIN … COMMIT)`)
  }
  checkIndexName(catalog, stmt.name)
  const columns = stmt.columns.map((name) => {
    const i = table.columns.findIndex((c) => c.name === name && !c.hidden)
    if (i < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" does not exist`)
    return i
  })
  const [id] = await allocateIds(ctx, 1)
  const index: IndexDesc = { id: id!, name: stmt.name, columns, unique: stmt.unique }
  const next: TableDesc = { ...table, indexes: [...table.indexes, index] }
  const layout = rowLayout(table)
  const rows = await scanSpan(ctx, fullSpan(table), (pairs) => decodeAndFilter(layout, pairs, null), Infinity)
  const newCatalog = catalog.with(next, catalog.version + 1n)
  ctx.newCatalog = newCatalog
  for (const row of rows) {
    const e = indexEntryOf(next, index, row)
    // The index is new: its entries cannot exist yet, only collide with each other.
    if (e.unique) ctx.buffer.insert(e.key, e.value, (k) => ctx.duplicateKey(k), true)
    else ctx.buffer.put(e.key, e.value)
  }
  ctx.buffer.put(descriptorKey(table.name), encodeDescriptor(next))
  publish(ctx, newCatalog)
}

/** DROP INDEX: removes the index and its entries. */
export async function dropIndex(ctx: StatementContext, stmt: Ddl<'drop-index'>): Promise<void> {
  await ctx.ensureCurrent()
  const catalog = ctx.catalog
  const table = catalog.indexTable(stmt.name)
  if (table === undefined || (stmt.table !== null && table.name !== stmt.table)) fail(SqlState.UNDEFINED_OBJECT, `index "${stmt.name}" does not exist`)
  const index = table.indexes.find((i) => i.name === stmt.name)!
  const start = indexPrefix(table.id, index.id)
  const span = { start, end: prefixEnd(start)!, text: '' }
  const keys = await scanSpan(ctx, span, (pairs) => pairs.map(([k]) => k), Infinity)
  for (const k of keys) ctx.buffer.delete(k)
  // Two versions on: a writer that planned with the index public cannot commit after this.
  const next: TableDesc = { ...table, indexes: table.indexes.filter((i) => i !== index), version: (table.version ?? 0) + 2 }
  ctx.buffer.put(descriptorKey(table.name), encodeDescriptor(next))
  publish(ctx, catalog.with(next, catalog.version + 1n))
}

/** SHOW TABLES: one row per table, by name. */
export async function showTables(ctx: StatementContext): Promise<SqlValue[][]> {
  await ctx.ensureValidated()
  return [...ctx.catalog.tables.keys()].sort().map((n) => [n])
}

/** SHOW COLUMNS / DESCRIBE: Field, Type, Null, Key, Default per visible column. */
export async function showColumns(ctx: StatementContext, name: string): Promise<SqlValue[][]> {
  await ctx.ensureValidated()
  const table = ctx.catalog.table(name)
  return table.columns
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => !c.hidden)
    .map(({ c, i }) => {
      const key = table.primaryKey.includes(i) ? 'PRI' : table.indexes.some((x) => x.unique && x.columns[0] === i) ? 'UNI' : table.indexes.some((x) => x.columns[0] === i) ? 'MUL' : ''
      return [c.name, typeName(c.type), c.nullable ? 'YES' : 'NO', key, defaultText(c)]
    })
}

// Table and index descriptors, and where they live in the KV store. The catalog is ordinary
// data read and written inside the statement's transaction, so DDL is transactional.
//
// Keys (all made by the order-preserving tuple codec):
//   /sys/catalog/version          → schema version (bumped by every DDL)
//   /sys/catalog/next-id          → the next table or index id (never reused)
//   /sys/catalog/table/<name>     → a table's descriptor (JSON)
//   /table/<tableId>/<indexId>/…  → rows (index 1 = primary) and index entries

import { decodeKey, encodeKey, prefixEnd } from '@mrdb/storage'
import { fail, SqlState } from './errors.js'
import type { Expr } from './ast.js'
import type { KvTransaction } from './kv-port.js'
import type { ColumnType, SqlValue } from './values.js'

/** A column of a table. */
export interface ColumnDesc {
  readonly name: string
  readonly type: ColumnType
  readonly nullable: boolean
  /** The value new rows get when the INSERT gives none (unless {@link defaultExpr} is set); NULL for none. */
  readonly defaultValue: SqlValue
  /**
   * A non-literal DEFAULT (`now()`, `unique_rowid()`, `1 + 1`): evaluated for each new row,
   * in preference to {@link defaultValue}. Absent in older descriptors (defaults.ts).
   */
  readonly defaultExpr?: Expr
  /** The hidden row id of a table declared without a primary key: not in `*` nor SHOW COLUMNS. */
  readonly hidden: boolean
  /**
   * The column's id within its table, never reused: row values are laid out by it
   * ({@link TableDesc.storage}). Absent in a table never altered: its position plus one.
   */
  readonly id?: number
}

/** A secondary index; `columns` are positions in the table's column list. */
export interface IndexDesc {
  readonly id: number
  readonly name: string
  readonly columns: readonly number[]
  readonly unique: boolean
}

/**
 * The state of a column or index on its way in or out of a table (F1's online schema change,
 * see schema-state.ts). Only public columns and indexes are in {@link TableDesc.columns} and
 * {@link TableDesc.indexes}; the others are {@link TableDesc.mutations}.
 */
export type MutationState = 'delete-only' | 'write-only' | 'backfill'

/**
 * A column or index being added or dropped by a schema change job. An index's column
 * positions refer to the table's *extended* row: its public columns, then its mutation
 * columns in mutation order.
 */
export type Mutation =
  | { readonly kind: 'column'; readonly direction: 'add' | 'drop'; readonly state: MutationState; readonly jobId: number; readonly column: ColumnDesc }
  | { readonly kind: 'index'; readonly direction: 'add' | 'drop'; readonly state: MutationState; readonly jobId: number; readonly index: IndexDesc }

/**
 * A table: its public columns, primary key (column positions) and public secondary indexes,
 * and the columns and indexes a schema change is adding or dropping.
 */
export interface TableDesc {
  readonly id: number
  readonly name: string
  readonly columns: readonly ColumnDesc[]
  readonly primaryKey: readonly number[]
  readonly indexes: readonly IndexDesc[]
  /**
   * Bumped by every change of this descriptor. A writing transaction commits only if the
   * table's version at its commit timestamp is at most one above the version it planned with
   * (StatementContext.noteWrite). Absent: 0.
   */
  readonly version?: number
  /** Columns and indexes on their way in or out (absent: none). */
  readonly mutations?: readonly Mutation[]
  /** The next column id to hand out (absent: one past the columns, in a table never altered). */
  readonly nextColumnId?: number
  /**
   * Column ids in row-value order, 0 for a dropped column's hole (absent: the non-key
   * columns' ids in column order). Only ever appended to, so stored rows keep decoding.
   */
  readonly storage?: readonly number[]
}

/** The index id of every table's primary index. Secondary index ids come from the id counter. */
export const PRIMARY_INDEX_ID = 1
/** The first id the counter hands out (lower ids are reserved). */
export const FIRST_ID = 100

/** Key of the schema version. */
export const VERSION_KEY = encodeKey(['/sys', 'catalog', 'version'])
/** Key of the table/index id counter. */
export const NEXT_ID_KEY = encodeKey(['/sys', 'catalog', 'next-id'])
/** Prefix of all table descriptor keys. */
export const DESCRIPTOR_PREFIX = encodeKey(['/sys', 'catalog', 'table'])

/** Key of one table's descriptor. */
export function descriptorKey(name: string): Uint8Array {
  return encodeKey(['/sys', 'catalog', 'table', name])
}

/** Key prefix of an index's entries (the primary index holds the rows). */
export function indexPrefix(tableId: number, indexId: number): Uint8Array {
  return encodeKey(['/table', BigInt(tableId), BigInt(indexId)])
}

/** Key prefix of everything a table stores. */
export function tablePrefix(tableId: number): Uint8Array {
  return encodeKey(['/table', BigInt(tableId)])
}

/** The tuple-codec parts that precede the key columns in every table key. */
export const TABLE_KEY_HEADER_PARTS = 3

/** Decodes a counter value (absent: 0). */
export function decodeCounter(bytes: Uint8Array | undefined): bigint {
  if (bytes === undefined) return 0n
  const [v] = decodeKey(bytes)
  if (typeof v !== 'bigint') fail(SqlState.INTERNAL_ERROR, 'corrupt catalog counter')
  return v
}

/** Encodes a counter value. */
export function encodeCounter(v: bigint): Uint8Array {
  return encodeKey([v])
}

/** An immutable view of every table at one schema version. */
export class Catalog {
  private readonly indexOwner = new Map<string, TableDesc>()

  constructor(
    readonly version: bigint,
    readonly tables: ReadonlyMap<string, TableDesc>,
  ) {
    for (const t of tables.values()) for (const i of t.indexes) this.indexOwner.set(i.name, t)
  }

  /** The table named `name`; raises 42P01 if there is none. */
  table(name: string): TableDesc {
    const t = this.tables.get(name)
    if (t === undefined) fail(SqlState.UNDEFINED_TABLE, `relation "${name}" does not exist`)
    return t
  }

  /** The table owning the index named `name`, or undefined. */
  indexTable(name: string): TableDesc | undefined {
    return this.indexOwner.get(name)
  }

  /** A copy with `table` added or replaced (and `version`). */
  with(table: TableDesc, version: bigint): Catalog {
    const tables = new Map(this.tables)
    tables.set(table.name, table)
    return new Catalog(version, tables)
  }

  /** A copy without the table named `name` (and `version`). */
  without(name: string, version: bigint): Catalog {
    const tables = new Map(this.tables)
    tables.delete(name)
    return new Catalog(version, tables)
  }
}

/** The empty catalog of a fresh database. */
export const EMPTY_CATALOG = new Catalog(0n, new Map())

/** Reads the whole catalog at the transaction's snapshot. */
export async function loadCatalog(txn: KvTransaction): Promise<Catalog> {
  const end = prefixEnd(DESCRIPTOR_PREFIX)!
  const [version, pairs] = await Promise.all([txn.get(VERSION_KEY), scanAll(txn, DESCRIPTOR_PREFIX, end)])
  const tables = new Map<string, TableDesc>()
  for (const [, value] of pairs) {
    const t = decodeDescriptor(value)
    tables.set(t.name, t)
  }
  return new Catalog(decodeCounter(version), tables)
}

async function scanAll(txn: KvTransaction, start: Uint8Array, end: Uint8Array): Promise<Array<[Uint8Array, Uint8Array]>> {
  const out: Array<[Uint8Array, Uint8Array]> = []
  let from = start
  for (;;) {
    const page = await txn.scan(from, end, 1000)
    out.push(...page)
    if (page.length < 1000) return out
    from = new Uint8Array([...page[page.length - 1]![0], 0])
  }
}

/** Serializes a descriptor (JSON; INT defaults as tagged strings). */
export function encodeDescriptor(t: TableDesc): Uint8Array {
  const json = JSON.stringify(t, (_k, v: unknown) => (typeof v === 'bigint' ? { $int: v.toString() } : v))
  return new TextEncoder().encode(json)
}

/** Parses a descriptor written by {@link encodeDescriptor}. */
export function decodeDescriptor(bytes: Uint8Array): TableDesc {
  return JSON.parse(new TextDecoder().decode(bytes), (_k, v: unknown) =>
    v !== null && typeof v === 'object' && '$int' in v ? BigInt((v as { $int: string }).$int) : v,
  ) as TableDesc
}

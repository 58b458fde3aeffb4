// Keys and values of rows and index entries.
//   row:            /table/<tableId>/1/<pk columns…>                    → row value (row-codec.ts)
//   index entry:    /table/<tableId>/<indexId>/<index columns…>/<pk…>   → empty
//   unique entry:   /table/<tableId>/<indexId>/<index columns…>         → encoded pk tuple
// A unique index keeps the pk in the key when an indexed value is NULL (NULLs are not equal).

import { decodeKey, encodeKey, type KeyPart } from '@mrdb/storage'
import { PRIMARY_INDEX_ID, TABLE_KEY_HEADER_PARTS, type IndexDesc, type TableDesc } from './catalog.js'
import { decodeRowValue, encodeRowValue } from './row-codec.js'
import { columnId, storageIds } from './schema-state.js'
import { isTypedBase, isTypedValue, typedFromKeyPart, typedKeyPart } from './types/typed.js'
import type { ColumnType, SqlValue } from './values.js'

/** How a table's rows decode: plain data, so decoding can run in a worker. */
export interface RowLayout {
  readonly columnCount: number
  /** Row positions of the primary-key columns, in key order. */
  readonly keySlots: readonly number[]
  /** The types of the primary-key columns, in key order (key parts decode by them). */
  readonly keyTypes: readonly ColumnType[]
  /**
   * Row positions of the values stored in a row value, in value order; -1 for a value this
   * layout skips (a dropped column's hole, or a column being added that readers do not see).
   */
  readonly valueSlots: readonly number[]
}

const layouts = new WeakMap<TableDesc, RowLayout>()

/**
 * The {@link RowLayout} of a table: values are stored in the order of the table's storage
 * column ids (schema-state.ts), so adding and dropping columns never moves a stored value.
 */
export function rowLayout(table: TableDesc): RowLayout {
  let layout = layouts.get(table)
  if (layout !== undefined) return layout
  const position = new Map(table.columns.map((c, i) => [columnId(c, i), i]))
  layout = {
    columnCount: table.columns.length,
    keySlots: table.primaryKey,
    keyTypes: table.primaryKey.map((i) => table.columns[i]!.type),
    valueSlots: storageIds(table).map((id) => (id === 0 ? -1 : (position.get(id) ?? -1))),
  }
  layouts.set(table, layout)
  return layout
}

/** The key parts of the primary index prefix of a table. */
function header(tableId: number, indexId: number): KeyPart[] {
  return ['/table', BigInt(tableId), BigInt(indexId)]
}

/** A column value as the key part the order-preserving key codec stores (typed values by types/typed.ts). */
export function keyPartOf(v: SqlValue): KeyPart {
  // Key parts decoded from a key (a primary key kept in a unique index entry) pass through.
  return isTypedValue(v) && !(v instanceof Uint8Array) && 'type' in v ? typedKeyPart(v) : (v as KeyPart)
}

/** Column values as key parts. */
export function keyPartsOf(values: readonly SqlValue[]): KeyPart[] {
  return values.map(keyPartOf)
}

/** The value of a key part stored for a column of `type`. */
export function valueOfKeyPart(part: KeyPart, type: ColumnType | undefined): SqlValue {
  if (part === null) return null
  if (type !== undefined && isTypedBase(type.base)) return typedFromKeyPart(part, type)
  return part as SqlValue
}

/** The primary key of a row given its key column values. */
export function primaryKeyOf(table: TableDesc, pkValues: readonly SqlValue[]): Uint8Array {
  return encodeKey([...header(table.id, PRIMARY_INDEX_ID), ...keyPartsOf(pkValues)])
}

/** The primary key values of a full row. */
export function pkValuesOf(table: TableDesc, row: readonly SqlValue[]): SqlValue[] {
  return table.primaryKey.map((i) => row[i] ?? null)
}

/** Encodes a full row into its key and value. */
export function encodeRow(table: TableDesc, layout: RowLayout, row: readonly SqlValue[]): { key: Uint8Array; value: Uint8Array } {
  return {
    key: primaryKeyOf(table, pkValuesOf(table, row)),
    value: encodeRowValue(layout.valueSlots.map((i) => (i < 0 ? null : (row[i] ?? null)))),
  }
}

/** Decodes a row from its key and value. */
export function decodeRow(layout: RowLayout, key: Uint8Array, value: Uint8Array): SqlValue[] {
  const row = new Array<SqlValue>(layout.columnCount).fill(null)
  const parts = decodeKey(key)
  for (let i = 0; i < layout.keySlots.length; i++) row[layout.keySlots[i]!] = valueOfKeyPart(parts[TABLE_KEY_HEADER_PARTS + i] ?? null, layout.keyTypes[i])
  decodeRowValue(value, layout.valueSlots, row)
  return row
}

/** An index entry of a row; `unique` says whether it must be written with a uniqueness check. */
export interface IndexEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
  readonly unique: boolean
}

/** The entry `index` holds for `row`. */
export function indexEntryOf(table: TableDesc, index: IndexDesc, row: readonly SqlValue[]): IndexEntry {
  const values = index.columns.map((i) => row[i] ?? null)
  const pk = pkValuesOf(table, row)
  const enforce = index.unique && !values.includes(null)
  if (enforce) return { key: encodeKey([...header(table.id, index.id), ...keyPartsOf(values)]), value: encodeKey(keyPartsOf(pk)), unique: true }
  return { key: encodeKey([...header(table.id, index.id), ...keyPartsOf(values), ...keyPartsOf(pk)]), value: new Uint8Array(0), unique: false }
}

/** The primary key of the row an index entry points at. */
export function rowKeyOfEntry(table: TableDesc, index: IndexDesc, key: Uint8Array, value: Uint8Array): Uint8Array {
  if (value.length > 0) return encodeKey([...header(table.id, PRIMARY_INDEX_ID), ...decodeKey(value)])
  const parts = decodeKey(key)
  return encodeKey([...header(table.id, PRIMARY_INDEX_ID), ...parts.slice(TABLE_KEY_HEADER_PARTS + index.columns.length)])
}

/**
 * The columns an index entry holds — the index's columns and the primary key — as a row of
 * the table (its other columns NULL): what a covering index scan reads instead of the row.
 */
export function rowOfEntry(table: TableDesc, index: IndexDesc, key: Uint8Array, value: Uint8Array): SqlValue[] {
  const row = new Array<SqlValue>(table.columns.length).fill(null)
  const parts = decodeKey(key)
  index.columns.forEach((c, i) => (row[c] = valueOfKeyPart(parts[TABLE_KEY_HEADER_PARTS + i] ?? null, table.columns[c]?.type)))
  const pk = value.length > 0 ? decodeKey(value) : parts.slice(TABLE_KEY_HEADER_PARTS + index.columns.length)
  table.primaryKey.forEach((c, i) => (row[c] = valueOfKeyPart(pk[i] ?? null, table.columns[c]?.type)))
  return row
}

/** The key prefix of one index of a table followed by `values`. */
export function indexKey(tableId: number, indexId: number, values: readonly SqlValue[]): Uint8Array {
  return encodeKey([...header(tableId, indexId), ...keyPartsOf(values)])
}

// The system catalog's virtual tables — information_schema and the parts of pg_catalog that
// PostgreSQL clients query (psql's \dt and \l, ORMs' "does this table exist") — as rows
// computed from mrdb's catalog when a statement reads them.
//
// Object ids: tables and indexes are 100000 + their catalog id (ids come from one counter, so
// they never collide, and stay clear of PostgreSQL's built-in OIDs); schemas and access
// methods have PostgreSQL's own OIDs. Every object is owned by `root` (mrdb has no owners).

import type { Catalog, ColumnDesc, TableDesc } from './catalog.js'
import type { StaticType } from './binder.js'
import { exprToSql, literalToSql } from './ast.js'
import { typeName, type SqlValue } from './values.js'

/** A virtual table: its columns and how its rows follow from the catalog. */
export interface SystemTable {
  readonly name: string
  readonly columns: readonly string[]
  readonly types: readonly StaticType[]
  readonly rows: (catalog: Catalog) => SqlValue[][]
}

/** The database every node serves (`current_database()`). */
export const DATABASE_NAME = 'mrdb'

/** The schema user tables live in. */
export const USER_SCHEMA = 'public'

const OID_BASE = 100_000n
const NAMESPACES: ReadonlyArray<[bigint, string]> = [
  [11n, 'pg_catalog'],
  [2200n, USER_SCHEMA],
  [13_000n, 'information_schema'],
]
const PUBLIC_OID = 2200n
const ROOT_OID = 10n
const HEAP_AM = 2n
/** PostgreSQL's number for the UTF8 encoding (pg_encoding_to_char). */
export const UTF8_ENCODING = 6n
const BTREE_AM = 403n

const tableOid = (t: TableDesc) => OID_BASE + BigInt(t.id)
const sorted = (catalog: Catalog) => [...catalog.tables.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
const visibleColumns = (t: TableDesc) => t.columns.filter((c) => !c.hidden)

function table(name: string, columns: ReadonlyArray<readonly [string, StaticType]>, rows: (catalog: Catalog) => SqlValue[][]): SystemTable {
  return { name, columns: columns.map(([c]) => c), types: columns.map(([, t]) => t), rows }
}

/** information_schema's name for a column's type (PostgreSQL's lower-case SQL names). */
function dataType(c: ColumnDesc): string {
  const name = typeName(c.type).toLowerCase()
  if (name === 'double') return 'double precision'
  if (name.startsWith('varchar')) return 'character varying'
  if (name.startsWith('numeric')) return 'numeric'
  if (name === 'timestamptz') return 'timestamp with time zone'
  if (name === 'timestamp') return 'timestamp without time zone'
  return name
}

function columnDefault(c: ColumnDesc): SqlValue {
  if (c.defaultExpr !== undefined) return exprToSql(c.defaultExpr)
  return c.defaultValue === null ? null : literalToSql(c.defaultValue)
}

const SYSTEM_TABLES: readonly SystemTable[] = [
  table('information_schema.schemata', [['catalog_name', 'text'], ['schema_name', 'text'], ['schema_owner', 'text']], () =>
    NAMESPACES.map(([, name]) => [DATABASE_NAME, name, 'root']),
  ),
  table(
    'information_schema.tables',
    [['table_catalog', 'text'], ['table_schema', 'text'], ['table_name', 'text'], ['table_type', 'text']],
    (catalog) => sorted(catalog).map((t) => [DATABASE_NAME, USER_SCHEMA, t.name, 'BASE TABLE']),
  ),
  table(
    'information_schema.columns',
    [
      ['table_catalog', 'text'],
      ['table_schema', 'text'],
      ['table_name', 'text'],
      ['column_name', 'text'],
      ['ordinal_position', 'int'],
      ['column_default', 'text'],
      ['is_nullable', 'text'],
      ['data_type', 'text'],
      ['character_maximum_length', 'int'],
    ],
    (catalog) =>
      sorted(catalog).flatMap((t) =>
        visibleColumns(t).map((c, i) => [
          DATABASE_NAME,
          USER_SCHEMA,
          t.name,
          c.name,
          BigInt(i + 1),
          columnDefault(c),
          c.nullable && !t.primaryKey.includes(t.columns.indexOf(c)) ? 'YES' : 'NO',
          dataType(c),
          c.type.maxLength === undefined ? null : BigInt(c.type.maxLength),
        ]),
      ),
  ),
  table('pg_catalog.pg_namespace', [['oid', 'int'], ['nspname', 'text'], ['nspowner', 'int']], () => NAMESPACES.map(([oid, name]) => [oid, name, ROOT_OID])),
  table('pg_catalog.pg_am', [['oid', 'int'], ['amname', 'text']], () => [
    [HEAP_AM, 'heap'],
    [BTREE_AM, 'btree'],
  ]),
  table(
    'pg_catalog.pg_class',
    [
      ['oid', 'int'],
      ['relname', 'text'],
      ['relnamespace', 'int'],
      ['relkind', 'text'],
      ['relowner', 'int'],
      ['relam', 'int'],
      ['relhasindex', 'bool'],
      ['relpersistence', 'text'],
      ['relispartition', 'bool'],
      ['relnatts', 'int'],
    ],
    (catalog) =>
      sorted(catalog).flatMap((t) => [
        [tableOid(t), t.name, PUBLIC_OID, 'r', ROOT_OID, HEAP_AM, t.indexes.length > 0, 'p', false, BigInt(visibleColumns(t).length)],
        ...t.indexes.map((i) => [OID_BASE + BigInt(i.id), i.name, PUBLIC_OID, 'i', ROOT_OID, BTREE_AM, false, 'p', false, BigInt(i.columns.length)]),
      ]),
  ),
  table('pg_catalog.pg_tables', [['schemaname', 'text'], ['tablename', 'text'], ['tableowner', 'text'], ['hasindexes', 'bool']], (catalog) =>
    sorted(catalog).map((t) => [USER_SCHEMA, t.name, 'root', t.indexes.length > 0]),
  ),
  table(
    'pg_catalog.pg_database',
    [
      ['oid', 'int'],
      ['datname', 'text'],
      ['datdba', 'int'],
      ['encoding', 'int'],
      ['datlocprovider', 'text'],
      ['datcollate', 'text'],
      ['datctype', 'text'],
      ['daticulocale', 'text'],
      ['datallowconn', 'bool'],
      // PostgreSQL's aclitem[]: no privileges exist, so always NULL (of no type mrdb has).
      ['datacl', null],
    ],
    () => [[1n, DATABASE_NAME, ROOT_OID, UTF8_ENCODING, 'c', 'C', 'C', null, true, null]],
  ),
]

const BY_NAME = new Map(SYSTEM_TABLES.map((t) => [t.name, t]))

/**
 * The system table a FROM name refers to: `information_schema.x` and `pg_catalog.x` by their
 * qualified names; an unqualified name only when no user table has it (`pg_class`).
 */
export function systemTable(name: string, catalog: Catalog): SystemTable | undefined {
  if (name.includes('.')) return BY_NAME.get(name)
  if (catalog.tables.has(name)) return undefined
  return BY_NAME.get(`pg_catalog.${name}`)
}

// The system catalog's virtual tables — information_schema and the parts of pg_catalog that
// PostgreSQL clients query (psql's \dt, \d TABLE and \l, ORMs' "does this table exist",
// drivers' type lookups) — as rows computed from mrdb's catalog when a statement reads them.
//
// Object ids: tables and secondary indexes are 100000 + their catalog id (ids come from one
// counter, so they never collide, and stay clear of PostgreSQL's built-in OIDs); a table's
// primary key shows as an index `<table>_pkey` (PRIMARY_KEY_OID_BASE + the table's id) and a
// constraint (CONSTRAINT_OID_BASE + the table's id), each unique index as a unique constraint
// of its name (CONSTRAINT_OID_BASE + the index's id). Schemas, types, collations and access
// methods have PostgreSQL's own OIDs (pg-types.ts). Every object is owned by `root` (mrdb has
// no owners). Relations PostgreSQL clients read but mrdb has nothing for (comments,
// inheritance, policies, triggers, publications, rewrite rules) are empty tables with
// PostgreSQL's columns. Columns of PostgreSQL's array types are arrays (types/array.ts); those of
// its vector (int2vector: indkey) and node-tree types hold text or NULL.

import type { Catalog, ColumnDesc, TableDesc } from './catalog.js'
import type { StaticType } from './binder.js'
import { exprToSql, literalToSql } from './ast.js'
import { DEFAULT_COLLATION_OID, PG_TYPES, pgTypeOf } from './pg-types.js'
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
const PG_CATALOG_OID = 11n
/** OIDs of column defaults (pg_attrdef): this plus the table's id times 10,000 plus the column's number. */
const ATTRDEF_OID_BASE = 3_000_000_000n
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

/** information_schema's numeric_precision: bits for binary numbers, digits for NUMERIC(p,s). */
function numericPrecision(c: ColumnDesc): SqlValue {
  if (c.type.base === 'int') return c.type.intBytes === 2 ? 16n : c.type.intBytes === 4 ? 32n : 64n
  if (c.type.base === 'float') return c.type.real === true ? 24n : 53n
  if (c.type.base === 'numeric') return c.type.precision === undefined ? null : BigInt(c.type.precision)
  return null
}

/** A column's default as PostgreSQL deparses it (booleans in lower case, as pg_get_expr prints them). */
function columnDefault(c: ColumnDesc): string | null {
  if (c.defaultExpr !== undefined) return exprToSql(c.defaultExpr)
  if (typeof c.defaultValue === 'boolean') return String(c.defaultValue)
  return c.defaultValue === null ? null : literalToSql(c.defaultValue)
}

/** A relation of pg_class: a table, or an index (secondary, or the one a primary key stands for). */
interface Relation {
  readonly oid: bigint
  readonly name: string
  readonly kind: 'r' | 'i'
  readonly table: TableDesc
  readonly index: IndexView | null
}

/** An index as PostgreSQL shows it: a secondary index, or the primary key's. */
interface IndexView {
  readonly oid: bigint
  readonly name: string
  /** Positions in the table's column list. */
  readonly columns: readonly number[]
  readonly unique: boolean
  readonly primary: boolean
  /** The constraint it backs (primary key, or unique), if any. */
  readonly constraintOid: bigint | null
}

/** OIDs of the index each declared primary key stands for: this plus the table's id. */
const PRIMARY_KEY_OID_BASE = 1_000_000_000n
/** OIDs of constraints: this plus the table's id (primary key) or the unique index's id. */
const CONSTRAINT_OID_BASE = 2_000_000_000n

/** A table's indexes as PostgreSQL shows them: its declared primary key's first, then its secondary indexes. */
function indexesOf(t: TableDesc): IndexView[] {
  const out: IndexView[] = []
  // A table declared without a primary key has a hidden row id as key: no constraint, no index.
  if (!t.primaryKey.some((p) => t.columns[p]?.hidden === true)) {
    out.push({ oid: PRIMARY_KEY_OID_BASE + BigInt(t.id), name: `${t.name}_pkey`, columns: t.primaryKey, unique: true, primary: true, constraintOid: CONSTRAINT_OID_BASE + BigInt(t.id) })
  }
  for (const i of t.indexes) {
    // mrdb has one kind of uniqueness: every unique index is a constraint (ALTER TABLE … DROP CONSTRAINT drops it).
    out.push({ oid: OID_BASE + BigInt(i.id), name: i.name, columns: i.columns, unique: i.unique, primary: false, constraintOid: i.unique ? CONSTRAINT_OID_BASE + BigInt(i.id) : null })
  }
  return out
}

function relations(catalog: Catalog): Relation[] {
  return sorted(catalog).flatMap((t) => [{ oid: tableOid(t), name: t.name, kind: 'r' as const, table: t, index: null }, ...indexesOf(t).map((i) => ({ oid: i.oid, name: i.name, kind: 'i' as const, table: t, index: i }))])
}

/** pg_attribute's number of the column at `position` in the table's column list (hidden columns have none). */
function attnum(t: TableDesc, position: number): bigint {
  return BigInt(t.columns.slice(0, position).filter((c) => !c.hidden).length + 1)
}

/** An identifier as PostgreSQL's quote_ident writes it. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replaceAll('"', '""')}"`
}

const RESERVED = new Set(['all', 'and', 'any', 'as', 'asc', 'case', 'check', 'column', 'constraint', 'create', 'default', 'desc', 'distinct', 'do', 'else', 'end', 'false', 'for', 'from', 'grant', 'group', 'having', 'in', 'into', 'limit', 'not', 'null', 'offset', 'on', 'or', 'order', 'primary', 'references', 'select', 'table', 'then', 'to', 'true', 'union', 'unique', 'user', 'using', 'when', 'where', 'with'])

const columnList = (t: TableDesc, columns: readonly number[]) => columns.map((p) => quoteIdent(t.columns[p]!.name)).join(', ')

/** pg_get_indexdef's text. */
function indexDefinition(t: TableDesc, i: IndexView): string {
  return `CREATE ${i.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(i.name)} ON ${USER_SCHEMA}.${quoteIdent(t.name)} USING btree (${columnList(t, i.columns)})`
}

/** pg_get_constraintdef's text. */
function constraintDefinition(t: TableDesc, i: IndexView): string {
  return `${i.primary ? 'PRIMARY KEY' : 'UNIQUE'} (${columnList(t, i.columns)})`
}

/** The wire type (OID, modifier) of a column. */
const columnType = (c: ColumnDesc) => pgTypeOf(typeName(c.type))

/** The rows of a table with PostgreSQL's columns and no rows: what mrdb has none of. */
function empty(name: string, columns: ReadonlyArray<readonly [string, StaticType]>): SystemTable {
  return table(name, columns, () => [])
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
      ['numeric_precision', 'int'],
      ['numeric_scale', 'int'],
      ['udt_name', 'text'],
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
          numericPrecision(c),
          c.type.base === 'numeric' ? (c.type.scale === undefined ? null : BigInt(c.type.scale)) : c.type.base === 'int' ? 0n : null,
          PG_TYPES.get(columnType(c).oid)?.name ?? 'text',
        ]),
      ),
  ),
  table('pg_catalog.pg_namespace', [['oid', 'int'], ['nspname', 'text'], ['nspowner', 'int'], ['nspacl', null]], () => NAMESPACES.map(([oid, name]) => [oid, name, ROOT_OID, null])),
  table('pg_catalog.pg_am', [['oid', 'int'], ['amname', 'text'], ['amtype', 'text']], () => [
    [HEAP_AM, 'heap', 't'],
    [BTREE_AM, 'btree', 'i'],
  ]),
  table(
    'pg_catalog.pg_class',
    [
      ['oid', 'int'],
      ['relname', 'text'],
      ['relnamespace', 'int'],
      ['reltype', 'int'],
      ['reloftype', 'int'],
      ['relowner', 'int'],
      ['relam', 'int'],
      ['relfilenode', 'int'],
      ['reltablespace', 'int'],
      ['relpages', 'int'],
      ['reltuples', 'float'],
      ['relallvisible', 'int'],
      ['reltoastrelid', 'int'],
      ['relhasindex', 'bool'],
      ['relisshared', 'bool'],
      ['relpersistence', 'text'],
      ['relkind', 'text'],
      ['relnatts', 'int'],
      ['relchecks', 'int'],
      ['relhasrules', 'bool'],
      ['relhastriggers', 'bool'],
      ['relhassubclass', 'bool'],
      ['relrowsecurity', 'bool'],
      ['relforcerowsecurity', 'bool'],
      ['relispopulated', 'bool'],
      ['relreplident', 'text'],
      ['relispartition', 'bool'],
      ['relacl', 'array'],
      ['reloptions', 'array'],
      ['relpartbound', 'text'],
    ],
    (catalog) =>
      relations(catalog).map((r) => {
        const natts = r.index === null ? visibleColumns(r.table).length : r.index.columns.length
        const hasIndex = r.index === null && indexesOf(r.table).length > 0
        // reltuples -1: never analysed (PostgreSQL 14+).
        return [r.oid, r.name, PUBLIC_OID, 0n, 0n, ROOT_OID, r.kind === 'r' ? HEAP_AM : BTREE_AM, r.oid, 0n, 0n, -1, 0n, 0n, hasIndex, false, 'p', r.kind, BigInt(natts), 0n, false, false, false, false, false, true, r.kind === 'r' ? 'd' : 'n', false, null, null, null]
      }),
  ),
  table(
    'pg_catalog.pg_attribute',
    [
      ['attrelid', 'int'],
      ['attname', 'text'],
      ['atttypid', 'int'],
      ['attstattarget', 'int'],
      ['attlen', 'int'],
      ['attnum', 'int'],
      ['attndims', 'int'],
      ['atttypmod', 'int'],
      ['attbyval', 'bool'],
      ['attstorage', 'text'],
      ['attcompression', 'text'],
      ['attnotnull', 'bool'],
      ['atthasdef', 'bool'],
      ['atthasmissing', 'bool'],
      ['attidentity', 'text'],
      ['attgenerated', 'text'],
      ['attisdropped', 'bool'],
      ['attislocal', 'bool'],
      ['attinhcount', 'int'],
      ['attcollation', 'int'],
      ['attacl', null],
      ['attoptions', null],
      ['attfdwoptions', null],
    ],
    (catalog) =>
      relations(catalog).flatMap((r) => {
        const t = r.table
        const positions = r.index === null ? t.columns.flatMap((c, p) => (c.hidden ? [] : [p])) : r.index.columns
        return positions.map((p, k) => {
          const c = t.columns[p]!
          const type = columnType(c)
          const info = PG_TYPES.get(type.oid)
          const notNull = !c.nullable || t.primaryKey.includes(p)
          const hasDefault = r.index === null && columnDefault(c) !== null
          const collation = info?.collatable === true ? BigInt(DEFAULT_COLLATION_OID) : 0n
          return [r.oid, c.name, BigInt(type.oid), -1n, BigInt(type.size), r.index === null ? attnum(t, p) : BigInt(k + 1), 0n, BigInt(type.modifier), type.size > 0 && type.size <= 8, type.size < 0 ? 'x' : 'p', '', notNull, hasDefault, false, '', '', false, true, 0n, collation, null, null, null]
        })
      }),
  ),
  table('pg_catalog.pg_attrdef', [['oid', 'int'], ['adrelid', 'int'], ['adnum', 'int'], ['adbin', 'text']], (catalog) =>
    sorted(catalog).flatMap((t) =>
      t.columns.flatMap((c, p) => {
        const text = columnDefault(c)
        // The expression's text stands for PostgreSQL's node tree: pg_get_expr() returns it as is.
        return c.hidden || text === null ? [] : [[ATTRDEF_OID_BASE + BigInt(t.id) * 10_000n + attnum(t, p), tableOid(t), attnum(t, p), text]]
      }),
    ),
  ),
  table(
    'pg_catalog.pg_index',
    [
      ['indexrelid', 'int'],
      ['indrelid', 'int'],
      ['indnatts', 'int'],
      ['indnkeyatts', 'int'],
      ['indisunique', 'bool'],
      ['indnullsnotdistinct', 'bool'],
      ['indisprimary', 'bool'],
      ['indisexclusion', 'bool'],
      ['indimmediate', 'bool'],
      ['indisclustered', 'bool'],
      ['indisvalid', 'bool'],
      ['indcheckxmin', 'bool'],
      ['indisready', 'bool'],
      ['indislive', 'bool'],
      ['indisreplident', 'bool'],
      // int2vector, as PostgreSQL prints it: the key columns' attnums separated by spaces.
      ['indkey', 'text'],
      ['indcollation', null],
      ['indclass', null],
      ['indoption', null],
      ['indexprs', 'text'],
      ['indpred', 'text'],
    ],
    (catalog) =>
      sorted(catalog).flatMap((t) =>
        indexesOf(t).map((i) => {
          const n = BigInt(i.columns.length)
          return [i.oid, tableOid(t), n, n, i.unique, false, i.primary, false, true, false, true, false, true, true, false, i.columns.map((p) => attnum(t, p)).join(' '), null, null, null, null, null]
        }),
      ),
  ),
  table(
    'pg_catalog.pg_constraint',
    [
      ['oid', 'int'],
      ['conname', 'text'],
      ['connamespace', 'int'],
      ['contype', 'text'],
      ['condeferrable', 'bool'],
      ['condeferred', 'bool'],
      ['convalidated', 'bool'],
      ['conrelid', 'int'],
      ['contypid', 'int'],
      ['conindid', 'int'],
      ['conparentid', 'int'],
      ['confrelid', 'int'],
      ['confupdtype', 'text'],
      ['confdeltype', 'text'],
      ['confmatchtype', 'text'],
      ['conislocal', 'bool'],
      ['coninhcount', 'int'],
      ['connoinherit', 'bool'],
      // int2[] in PostgreSQL: here its text form, {1,2}.
      ['conkey', 'text'],
      ['confkey', 'text'],
      ['conbin', 'text'],
    ],
    (catalog) =>
      sorted(catalog).flatMap((t) =>
        indexesOf(t).flatMap((i) =>
          i.constraintOid === null ? [] : [[i.constraintOid, i.name, PUBLIC_OID, i.primary ? 'p' : 'u', false, false, true, tableOid(t), 0n, i.oid, 0n, 0n, ' ', ' ', ' ', true, 0n, true, `{${i.columns.map((p) => attnum(t, p)).join(',')}}`, null, null]],
        ),
      ),
  ),
  table(
    'pg_catalog.pg_type',
    [
      ['oid', 'int'],
      ['typname', 'text'],
      ['typnamespace', 'int'],
      ['typowner', 'int'],
      ['typlen', 'int'],
      ['typbyval', 'bool'],
      ['typtype', 'text'],
      ['typcategory', 'text'],
      ['typispreferred', 'bool'],
      ['typisdefined', 'bool'],
      ['typdelim', 'text'],
      ['typrelid', 'int'],
      ['typelem', 'int'],
      ['typarray', 'int'],
      ['typnotnull', 'bool'],
      ['typbasetype', 'int'],
      ['typtypmod', 'int'],
      ['typndims', 'int'],
      ['typcollation', 'int'],
      ['typdefault', 'text'],
      ['typacl', null],
    ],
    () =>
      [...PG_TYPES.values()].map((t) => [BigInt(t.oid), t.name, PG_CATALOG_OID, ROOT_OID, BigInt(t.size), t.size > 0 && t.size <= 8, t.category === 'X' ? 'p' : 'b', t.category, false, true, ',', 0n, 0n, 0n, false, 0n, -1n, 0n, t.collatable ? BigInt(DEFAULT_COLLATION_OID) : 0n, null, null]),
  ),
  table(
    'pg_catalog.pg_collation',
    [['oid', 'int'], ['collname', 'text'], ['collnamespace', 'int'], ['collowner', 'int'], ['collprovider', 'text'], ['collisdeterministic', 'bool'], ['collencoding', 'int'], ['collcollate', 'text'], ['collctype', 'text']],
    () => [
      [BigInt(DEFAULT_COLLATION_OID), 'default', PG_CATALOG_OID, ROOT_OID, 'd', true, -1n, null, null],
      [950n, 'C', PG_CATALOG_OID, ROOT_OID, 'c', true, -1n, 'C', 'C'],
      [951n, 'POSIX', PG_CATALOG_OID, ROOT_OID, 'c', true, -1n, 'POSIX', 'POSIX'],
    ],
  ),
  table('pg_catalog.pg_tables', [['schemaname', 'text'], ['tablename', 'text'], ['tableowner', 'text'], ['tablespace', 'text'], ['hasindexes', 'bool'], ['hasrules', 'bool'], ['hastriggers', 'bool'], ['rowsecurity', 'bool']], (catalog) =>
    sorted(catalog).map((t) => [USER_SCHEMA, t.name, 'root', null, indexesOf(t).length > 0, false, false, false]),
  ),
  table(
    'pg_catalog.pg_database',
    [
      ['oid', 'int'],
      ['datname', 'text'],
      ['datdba', 'int'],
      ['encoding', 'int'],
      ['datlocprovider', 'text'],
      ['datistemplate', 'bool'],
      ['datallowconn', 'bool'],
      ['datconnlimit', 'int'],
      ['dattablespace', 'int'],
      ['datcollate', 'text'],
      ['datctype', 'text'],
      ['daticulocale', 'text'],
      // PostgreSQL's aclitem[]: no privileges exist, so always NULL (of no type mrdb has).
      ['datacl', 'array'],
    ],
    () => [[1n, DATABASE_NAME, ROOT_OID, UTF8_ENCODING, 'c', false, true, -1n, 1663n, 'C', 'C', null, null]],
  ),
  table('pg_catalog.pg_roles', [['oid', 'int'], ['rolname', 'text'], ['rolsuper', 'bool'], ['rolinherit', 'bool'], ['rolcreaterole', 'bool'], ['rolcreatedb', 'bool'], ['rolcanlogin', 'bool'], ['rolconnlimit', 'int']], () => [
    [ROOT_OID, 'root', true, true, true, true, true, -1n],
  ]),
  // Definitions of indexes and constraints, for pg_get_indexdef() and pg_get_constraintdef()
  // (catalog-functions.ts): column 0 is the whole definition, column k an index's k-th key.
  table(
    'pg_catalog.mrdb_definitions',
    [['mrdb_object', 'int'], ['mrdb_kind', 'text'], ['mrdb_column', 'int'], ['mrdb_definition', 'text']],
    (catalog) =>
      sorted(catalog).flatMap((t) =>
        indexesOf(t).flatMap((i) => [
          [i.oid, 'index', 0n, indexDefinition(t, i)],
          ...i.columns.map((p, k) => [i.oid, 'index', BigInt(k + 1), quoteIdent(t.columns[p]!.name)]),
          ...(i.constraintOid === null ? [] : [[i.constraintOid, 'constraint', 0n, constraintDefinition(t, i)]]),
        ]),
      ),
  ),
  empty('pg_catalog.pg_description', [['objoid', 'int'], ['classoid', 'int'], ['objsubid', 'int'], ['description', 'text']]),
  empty('pg_catalog.pg_inherits', [['inhrelid', 'int'], ['inhparent', 'int'], ['inhseqno', 'int'], ['inhdetachpending', 'bool']]),
  empty('pg_catalog.pg_policy', [['oid', 'int'], ['polname', 'text'], ['polrelid', 'int'], ['polcmd', 'text'], ['polpermissive', 'bool'], ['polroles', 'array'], ['polqual', 'text'], ['polwithcheck', 'text']]),
  empty('pg_catalog.pg_trigger', [['oid', 'int'], ['tgrelid', 'int'], ['tgparentid', 'int'], ['tgname', 'text'], ['tgfoid', 'int'], ['tgtype', 'int'], ['tgenabled', 'text'], ['tgisinternal', 'bool'], ['tgconstraint', 'int']]),
  empty('pg_catalog.pg_rewrite', [['oid', 'int'], ['rulename', 'text'], ['ev_class', 'int'], ['ev_type', 'text'], ['ev_enabled', 'text'], ['is_instead', 'bool']]),
  empty('pg_catalog.pg_statistic_ext', [['oid', 'int'], ['stxrelid', 'int'], ['stxname', 'text'], ['stxnamespace', 'int'], ['stxowner', 'int'], ['stxstattarget', 'int'], ['stxkeys', 'text'], ['stxkind', 'array'], ['stxexprs', 'text']]),
  empty('pg_catalog.pg_publication', [['oid', 'int'], ['pubname', 'text'], ['pubowner', 'int'], ['puballtables', 'bool'], ['pubinsert', 'bool'], ['pubupdate', 'bool'], ['pubdelete', 'bool'], ['pubtruncate', 'bool'], ['pubviaroot', 'bool']]),
  empty('pg_catalog.pg_publication_rel', [['oid', 'int'], ['prpubid', 'int'], ['prrelid', 'int'], ['prqual', 'text'], ['prattrs', 'array']]),
  empty('pg_catalog.pg_publication_namespace', [['oid', 'int'], ['pnpubid', 'int'], ['pnnspid', 'int']]),
  empty('pg_catalog.pg_foreign_table', [['ftrelid', 'int'], ['ftserver', 'int'], ['ftoptions', 'array']]),
  empty('pg_catalog.pg_partitioned_table', [['partrelid', 'int'], ['partstrat', 'text'], ['partnatts', 'int'], ['partdefid', 'int']]),
  empty('pg_catalog.pg_depend', [['classid', 'int'], ['objid', 'int'], ['objsubid', 'int'], ['refclassid', 'int'], ['refobjid', 'int'], ['refobjsubid', 'int'], ['deptype', 'text']]),
  empty('pg_catalog.pg_sequence', [['seqrelid', 'int'], ['seqtypid', 'int'], ['seqstart', 'int'], ['seqincrement', 'int'], ['seqmax', 'int'], ['seqmin', 'int'], ['seqcache', 'int'], ['seqcycle', 'bool']]),
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

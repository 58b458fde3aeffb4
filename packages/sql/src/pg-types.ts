// PostgreSQL's numbers for mrdb's types: the OIDs of pg_type and the type modifiers that the
// wire protocol's RowDescription, the system catalog (pg_type, pg_attribute) and format_type()
// all use, so they agree by construction.

/** The type OIDs of pg_type that mrdb uses or reads in parameters. */
export const PgType = {
  BOOL: 16,
  BYTEA: 17,
  NAME: 19,
  INT8: 20,
  INT2: 21,
  INT4: 23,
  TEXT: 25,
  OID: 26,
  JSON: 114,
  FLOAT4: 700,
  FLOAT8: 701,
  UNKNOWN: 705,
  BPCHAR: 1042,
  VARCHAR: 1043,
  DATE: 1082,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
  INTERVAL: 1186,
  NUMERIC: 1700,
  UUID: 2950,
  JSONB: 3802,
  ANYARRAY: 2277,
} as const

/** How a value of one type travels: its OID, its byte size (-1: variable) and its modifier (-1: none). */
export interface PgTypeRef {
  readonly oid: number
  readonly size: number
  readonly modifier: number
}

/** One row of pg_type for a type mrdb has. */
export interface PgTypeInfo {
  readonly oid: number
  /** pg_type.typname. */
  readonly name: string
  /** What format_type() prints without a modifier (the SQL standard's name). */
  readonly sqlName: string
  readonly size: number
  /** pg_type.typcategory: B boolean, N numeric, S string, D date/time, T timespan, U user, P pseudo-type. */
  readonly category: string
  /** Whether values are compared by a collation (pg_type.typcollation is then the default, 100). */
  readonly collatable: boolean
}

const info = (oid: number, name: string, sqlName: string, size: number, category: string, collatable = false): PgTypeInfo => ({ oid, name, sqlName, size, category, collatable })

/** pg_type's rows for the types mrdb has, by OID. */
export const PG_TYPES: ReadonlyMap<number, PgTypeInfo> = new Map(
  [
    info(PgType.BOOL, 'bool', 'boolean', 1, 'B'),
    info(PgType.BYTEA, 'bytea', 'bytea', -1, 'U'),
    info(PgType.NAME, 'name', 'name', 64, 'S', true),
    info(PgType.INT8, 'int8', 'bigint', 8, 'N'),
    info(PgType.INT2, 'int2', 'smallint', 2, 'N'),
    info(PgType.INT4, 'int4', 'integer', 4, 'N'),
    info(PgType.TEXT, 'text', 'text', -1, 'S', true),
    info(PgType.OID, 'oid', 'oid', 4, 'N'),
    info(PgType.JSON, 'json', 'json', -1, 'U'),
    info(PgType.FLOAT4, 'float4', 'real', 4, 'N'),
    info(PgType.FLOAT8, 'float8', 'double precision', 8, 'N'),
    info(PgType.UNKNOWN, 'unknown', 'unknown', -2, 'X'),
    info(PgType.BPCHAR, 'bpchar', 'character', -1, 'S', true),
    info(PgType.VARCHAR, 'varchar', 'character varying', -1, 'S', true),
    info(PgType.DATE, 'date', 'date', 4, 'D'),
    info(PgType.TIMESTAMP, 'timestamp', 'timestamp without time zone', 8, 'D'),
    info(PgType.TIMESTAMPTZ, 'timestamptz', 'timestamp with time zone', 8, 'D'),
    info(PgType.INTERVAL, 'interval', 'interval', 16, 'T'),
    info(PgType.NUMERIC, 'numeric', 'numeric', -1, 'N'),
    info(PgType.UUID, 'uuid', 'uuid', 16, 'U'),
    info(PgType.JSONB, 'jsonb', 'jsonb', -1, 'U'),
    info(PgType.ANYARRAY, 'anyarray', 'anyarray', -1, 'P'),
  ].map((t) => [t.oid, t]),
)

/** The OID of the database's default collation (pg_collation). */
export const DEFAULT_COLLATION_OID = 100

/** The size `VARHDRSZ` PostgreSQL adds to the lengths it keeps in type modifiers. */
const VARHDRSZ = 4

/**
 * The wire type of a column whose SQL type is named `sqlType` as result columns name it
 * (values.ts typeName: `INTEGER`, `VARCHAR(20)`, `NUMERIC(12,2)`, `TIMESTAMPTZ` …). TEXT,
 * and anything unnamed such as an untyped NULL (text to PostgreSQL clients since 10), is text.
 */
export function pgTypeOf(sqlType: string): PgTypeRef {
  const varchar = /^VARCHAR\((\d+)\)$/.exec(sqlType)
  if (varchar) return { oid: PgType.VARCHAR, size: -1, modifier: Number(varchar[1]) + VARHDRSZ }
  const numeric = /^NUMERIC(?:\((\d+),(\d+)\))?$/.exec(sqlType)
  if (numeric) return { oid: PgType.NUMERIC, size: -1, modifier: numeric[1] === undefined ? -1 : ((Number(numeric[1]) << 16) | Number(numeric[2])) + VARHDRSZ }
  const oid = OID_BY_NAME[sqlType] ?? PgType.TEXT
  return { oid, size: PG_TYPES.get(oid)!.size, modifier: -1 }
}

const OID_BY_NAME: Readonly<Record<string, number>> = {
  BIGINT: PgType.INT8,
  INTEGER: PgType.INT4,
  SMALLINT: PgType.INT2,
  DOUBLE: PgType.FLOAT8,
  REAL: PgType.FLOAT4,
  BOOLEAN: PgType.BOOL,
  DATE: PgType.DATE,
  TIMESTAMP: PgType.TIMESTAMP,
  TIMESTAMPTZ: PgType.TIMESTAMPTZ,
  INTERVAL: PgType.INTERVAL,
  UUID: PgType.UUID,
  BYTEA: PgType.BYTEA,
  JSONB: PgType.JSONB,
  ANYARRAY: PgType.ANYARRAY,
}

/**
 * PostgreSQL's format_type(oid, typmod): the SQL name of a type with its modifier
 * (`character varying(20)`, `numeric(12,2)`); `???` for an OID that names no type.
 */
export function formatType(oid: number, modifier: number | null): string {
  const t = PG_TYPES.get(oid)
  if (t === undefined) return '???'
  if (modifier === null || modifier < 0) return t.sqlName
  switch (oid) {
    case PgType.VARCHAR:
    case PgType.BPCHAR:
      return `${t.sqlName}(${modifier - VARHDRSZ})`
    case PgType.NUMERIC: {
      const m = modifier - VARHDRSZ
      return `numeric(${(m >> 16) & 0xffff},${m & 0xffff})`
    }
    default:
      return t.sqlName
  }
}

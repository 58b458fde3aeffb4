// PostgreSQL's type names, as CREATE TABLE, CAST and `::` spell them, read into mrdb's
// column types (values.ts ColumnType).

import { fail, SqlState } from '../errors.js'
import type { ColumnType } from '../values.js'

/**
 * The column type a type name means, with its modifiers (`length` is n of VARCHAR(n), the
 * precision of NUMERIC(p,s) or the byte width of INT4/FLOAT8, as the parser hands them over;
 * `suffix` holds words such as WITH TIME ZONE). Undefined for names mrdb does not know.
 * NUMERIC's precision must be 1–1000 and its scale 0–precision (22023 otherwise).
 */
export function columnTypeOf(name: string, length: number | undefined, scale: number | undefined, suffix: readonly string[], column: string): ColumnType | undefined {
  const withTimeZone = suffix.map((w) => w.toUpperCase()).join(' ') === 'WITH TIME ZONE'
  switch (name.toUpperCase()) {
    case 'SMALLINT':
    case 'INT2':
      return { base: 'int', intBytes: 2 }
    case 'INT':
    case 'INTEGER':
      return length === 8 ? { base: 'int' } : length === 2 ? { base: 'int', intBytes: 2 } : { base: 'int', intBytes: 4 }
    case 'INT4':
      return { base: 'int', intBytes: 4 }
    case 'BIGINT':
    case 'INT8':
      return { base: 'int' }
    // Object identifiers and their aliases (system-tables.ts): integers in mrdb, which has no
    // name lookup behind the reg* types, so `x::regtype::text` prints the number.
    case 'OID':
    case 'REGCLASS':
    case 'REGTYPE':
    case 'REGPROC':
    case 'REGPROCEDURE':
    case 'REGNAMESPACE':
    case 'REGROLE':
    case 'REGOPER':
      return { base: 'int' }
    case 'REAL':
    case 'FLOAT4':
      return { base: 'float', real: true }
    case 'FLOAT':
      return length === 4 || (length !== undefined && length <= 24 && length !== 8) ? { base: 'float', real: true } : { base: 'float' }
    case 'FLOAT8':
    case 'DOUBLE':
    case 'DOUBLE PRECISION':
      return { base: 'float' }
    case 'NUMERIC':
    case 'DECIMAL':
      if (length === undefined) return { base: 'numeric' }
      if (!Number.isInteger(length) || length < 1 || length > 1000) fail(SqlState.INVALID_PARAMETER_VALUE, `NUMERIC precision ${length} must be between 1 and 1000 (column ${column})`)
      if (scale !== undefined && (!Number.isInteger(scale) || scale < 0 || scale > length)) {
        fail(SqlState.INVALID_PARAMETER_VALUE, `NUMERIC scale ${scale} must be between 0 and precision ${length} (column ${column})`)
      }
      return { base: 'numeric', precision: length, scale: scale ?? 0 }
    case 'DATE':
      return { base: 'date' }
    case 'TIMESTAMP':
      return { base: withTimeZone ? 'timestamptz' : 'timestamp' }
    case 'TIMESTAMPTZ':
      return { base: 'timestamptz' }
    case 'INTERVAL':
      return { base: 'interval' }
    case 'UUID':
      return { base: 'uuid' }
    case 'BYTEA':
      return { base: 'bytea' }
    case 'JSONB':
      return { base: 'jsonb' }
    default:
      return undefined
  }
}

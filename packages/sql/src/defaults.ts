// Column defaults. PostgreSQL allows any variable-free expression as a DEFAULT and evaluates it
// for every row that does not give the column a value (`DEFAULT now()`, `DEFAULT
// gen_random_uuid()`, SERIAL's `DEFAULT unique_rowid()`). A literal default is stored as its
// value (`ColumnDesc.defaultValue`, the only form older descriptors have); any other is stored
// as the expression (`ColumnDesc.defaultExpr`) and evaluated per row.

import { childExprs, exprToSql, type ColumnDef, type Expr } from './ast.js'
import { bind, EMPTY_SCOPE } from './binder.js'
import type { ColumnDesc } from './catalog.js'
import { fail, SqlState } from './errors.js'
import { evaluate } from './eval.js'
import { coerceToColumn, type SqlValue } from './values.js'

/**
 * Functions whose value differs from call to call (or with the time): a default calling one
 * must be evaluated per row, and cannot fill the existing rows of ALTER TABLE … ADD COLUMN
 * with one value.
 */
const VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  'UNIQUE_ROWID',
  'RANDOM',
  'GEN_RANDOM_UUID',
  'UUID_GENERATE_V4',
  'CLOCK_TIMESTAMP',
  'TIMEOFDAY',
])

/** Whether `e` calls a function that returns a new value on every call (random(), unique_rowid(), …). */
export function isVolatile(e: Expr): boolean {
  return (e.kind === 'function' && VOLATILE_FUNCTIONS.has(e.name.toUpperCase())) || childExprs(e).some(isVolatile)
}

/** What a column descriptor stores for a DEFAULT clause. */
export interface StoredDefault {
  /** The value of a literal default, or of a non-volatile expression evaluated now (NULL for none). */
  readonly defaultValue: SqlValue
  /** The expression of a non-literal default, evaluated for each new row. */
  readonly defaultExpr?: Expr
}

/**
 * The stored form of column `c`'s DEFAULT, checked now: a column reference in it is 0A000 and
 * a value that does not fit the column raises what an INSERT of it would (22P02, 42804…).
 * `forExistingRows` (ALTER TABLE … ADD COLUMN) refuses a volatile default with 0A000: the
 * existing rows would all get one value where PostgreSQL computes one per row.
 */
export function storedDefault(c: ColumnDef, forExistingRows: boolean): StoredDefault {
  const e = c.defaultValue
  if (e === null) return { defaultValue: null }
  if (e.kind === 'literal') return { defaultValue: coerceToColumn(e.value, c.type, c.name, true) }
  if (hasColumn(e)) fail(SqlState.FEATURE_NOT_SUPPORTED, `cannot use column reference in DEFAULT expression of column "${c.name}"`)
  const volatile = isVolatile(e)
  if (volatile && forExistingRows) {
    fail(SqlState.FEATURE_NOT_SUPPORTED, `ADD COLUMN with the volatile default ${exprToSql(e)} is not supported (existing rows would share one value): add the column without it, then UPDATE`)
  }
  // Evaluated once now either way, so that a default that cannot fit the column fails here.
  const value = coerceToColumn(evaluate(bind(e, EMPTY_SCOPE, 'DEFAULT'), []), c.type, c.name)
  return { defaultValue: volatile ? null : value, defaultExpr: e }
}

function hasColumn(e: Expr): boolean {
  return e.kind === 'column' || childExprs(e).some(hasColumn)
}

const boundDefaults = new WeakMap<ColumnDesc, Expr>()

/** The default of `column` for one new row: its expression evaluated now, or its stored value. */
export function defaultFor(column: ColumnDesc): SqlValue {
  const e = column.defaultExpr
  if (e === undefined) return column.defaultValue
  let bound = boundDefaults.get(column)
  if (bound === undefined) {
    bound = bind(e, EMPTY_SCOPE, 'DEFAULT')
    boundDefaults.set(column, bound)
  }
  return coerceToColumn(evaluate(bound, []), column.type, column.name)
}

/** How SHOW COLUMNS prints a column's default (null for none). */
export function defaultText(column: ColumnDesc): string | null {
  if (column.defaultExpr !== undefined) return exprToSql(column.defaultExpr)
  return column.defaultValue === null ? null : String(column.defaultValue)
}

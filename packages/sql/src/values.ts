import { fail, SqlState } from './errors.js'

/** A SQL value as the engine and its clients hold it: INT is bigint, FLOAT is number. */
export type SqlValue = null | bigint | number | string | boolean

/** The four storage types; VARCHAR(n) is `text` with a `maxLength`. */
export type BaseType = 'int' | 'float' | 'text' | 'bool'

/** A column's declared type. */
export interface ColumnType {
  readonly base: BaseType
  /** VARCHAR(n): the most code points a value may have. */
  readonly maxLength?: number
}

/** The smallest and largest 64-bit signed integers. */
export const INT64_MIN = -(1n << 63n)
export const INT64_MAX = (1n << 63n) - 1n

/** The SQL name of a column type as SHOW COLUMNS and result metadata print it. */
export function typeName(type: ColumnType): string {
  switch (type.base) {
    case 'int':
      return 'BIGINT'
    case 'float':
      return 'DOUBLE'
    case 'text':
      return type.maxLength === undefined ? 'TEXT' : `VARCHAR(${type.maxLength})`
    case 'bool':
      return 'BOOLEAN'
  }
}

/** The base type of a non-null value. */
export function baseTypeOf(value: Exclude<SqlValue, null>): BaseType {
  switch (typeof value) {
    case 'bigint':
      return 'int'
    case 'number':
      return 'float'
    case 'string':
      return 'text'
    default:
      return 'bool'
  }
}

/** The SQL name of a value's type, for messages. */
export function valueTypeName(value: SqlValue): string {
  return value === null ? 'NULL' : typeName({ base: baseTypeOf(value) })
}

/** Raises 22003 unless `v` fits in 64 signed bits; returns it. */
export function checkInt64(v: bigint): bigint {
  if (v < INT64_MIN || v > INT64_MAX) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `integer out of range: ${v}`)
  return v
}

/** Whether two base types can be compared (numbers with numbers, otherwise same type). */
export function comparable(a: BaseType, b: BaseType): boolean {
  return a === b || (isNumeric(a) && isNumeric(b))
}

function isNumeric(t: BaseType): boolean {
  return t === 'int' || t === 'float'
}

/**
 * Total order of two non-null values of comparable types: negative, 0 or positive.
 * INT and FLOAT compare numerically; text by Unicode code point (the key codec's order);
 * false < true. Incomparable types raise 42804.
 */
export function compareValues(a: Exclude<SqlValue, null>, b: Exclude<SqlValue, null>): number {
  const ta = typeof a
  const tb = typeof b
  if (ta === tb) {
    if (ta === 'string') return compareStrings(a as string, b as string)
    if (ta === 'number' && Number.isNaN(a) !== Number.isNaN(b)) return Number.isNaN(a) ? 1 : -1
    return a < b ? -1 : a > b ? 1 : 0
  }
  if (ta === 'bigint' && tb === 'number') return compareIntFloat(a as bigint, b as number)
  if (ta === 'number' && tb === 'bigint') return 0 - compareIntFloat(b as bigint, a as number)
  return fail(SqlState.DATATYPE_MISMATCH, `cannot compare ${valueTypeName(a)} with ${valueTypeName(b)}`)
}

function compareIntFloat(i: bigint, f: number): number {
  if (Number.isNaN(f)) return -1
  if (f === Infinity) return -1
  if (f === -Infinity) return 1
  const asFloat = Number(i)
  if (asFloat !== f) return asFloat < f ? -1 : 1
  // Equal as floats: compare exactly (large integers lose precision as floats).
  const fi = BigInt(Math.trunc(f))
  if (fi !== i) return i < fi ? -1 : 1
  const frac = f - Math.trunc(f)
  return frac > 0 ? -1 : frac < 0 ? 1 : 0
}

/** Compares strings by code point (UTF-16 code unit order differs for characters above U+FFFF). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    return codeUnitRank(x) - codeUnitRank(y)
  }
  return a.length - b.length
}

function codeUnitRank(c: number): number {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000
  if (c >= 0xe000) return c - 0x800
  return c
}

/** Three-valued equality: null when either side is NULL. */
export function sqlEquals(a: SqlValue, b: SqlValue): boolean | null {
  if (a === null || b === null) return null
  return compareValues(a, b) === 0
}

/** A string that is equal for values SQL considers equal (used to group, dedupe and hash-join). */
export function valueKey(v: SqlValue): string {
  switch (typeof v) {
    case 'bigint':
      return `n${v}`
    case 'number':
      return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? `n${BigInt(v)}` : Object.is(v, -0) ? 'n0' : `f${v}`
    case 'string':
      return `s${v}`
    case 'boolean':
      return v ? 'T' : 'F'
    default:
      return 'N'
  }
}

/** The key of a tuple of values (see {@link valueKey}). */
export function rowKey(values: readonly SqlValue[]): string {
  let s = ''
  for (const v of values) s += valueKey(v) + '\u0000'
  return s
}

/** Arithmetic operators. */
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%'

/**
 * `a op b` with SQL semantics: NULL in, NULL out; INT op INT stays INT (division truncates
 * toward zero) and raises 22003 on overflow; any FLOAT makes a FLOAT; a zero divisor
 * raises 22012; non-numbers raise 42804.
 */
export function arithmetic(op: ArithmeticOp, a: SqlValue, b: SqlValue): SqlValue {
  if (a === null || b === null) return null
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+':
        return checkInt64(a + b)
      case '-':
        return checkInt64(a - b)
      case '*':
        return checkInt64(a * b)
      case '/':
        if (b === 0n) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
        return checkInt64(a / b)
      case '%':
        if (b === 0n) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
        return a % b
    }
  }
  if ((typeof a !== 'bigint' && typeof a !== 'number') || (typeof b !== 'bigint' && typeof b !== 'number')) {
    return fail(SqlState.DATATYPE_MISMATCH, `operator ${op} does not apply to ${valueTypeName(a)} and ${valueTypeName(b)}`)
  }
  const x = Number(a)
  const y = Number(b)
  let r: number
  switch (op) {
    case '+':
      r = x + y
      break
    case '-':
      r = x - y
      break
    case '*':
      r = x * y
      break
    case '/':
      if (y === 0) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
      r = x / y
      break
    case '%':
      if (y === 0) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
      r = x % y
      break
  }
  if (!Number.isFinite(r) && Number.isFinite(x) && Number.isFinite(y)) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, 'float value out of range')
  return r
}

/** Unary minus: NULL stays NULL, INT overflow raises 22003, non-numbers 42804. */
export function negate(v: SqlValue): SqlValue {
  if (v === null) return null
  if (typeof v === 'bigint') return checkInt64(-v)
  if (typeof v === 'number') return -v
  return fail(SqlState.DATATYPE_MISMATCH, `unary minus does not apply to ${valueTypeName(v)}`)
}

/**
 * Converts `value` for storage in a column of `type`, or raises: 42804 for a wrong type,
 * 22P02 for text that is no valid literal of the type (only when `fromTextLiteral`),
 * 22003 for an integer out of range, 22001 for text longer than VARCHAR(n).
 * FLOAT into INT rounds half away from zero (an assignment cast, as in PostgreSQL).
 */
export function coerceToColumn(value: SqlValue, type: ColumnType, column: string, fromTextLiteral = false): SqlValue {
  if (value === null) return null
  if (fromTextLiteral && typeof value === 'string' && type.base !== 'text') return parseLiteral(value, type, column)
  switch (type.base) {
    case 'int':
      if (typeof value === 'bigint') return checkColumnInt(value, column)
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `value ${value} out of range for column ${column} (BIGINT)`)
        return checkColumnInt(BigInt(Math.sign(value) * Math.round(Math.abs(value))), column)
      }
      break
    case 'float':
      if (typeof value === 'number') return value
      if (typeof value === 'bigint') return Number(value)
      break
    case 'text':
      if (typeof value === 'string') {
        if (type.maxLength !== undefined && codePointLength(value) > type.maxLength) {
          fail(SqlState.STRING_DATA_RIGHT_TRUNCATION, `value too long for column ${column} (${typeName(type)})`)
        }
        return value
      }
      break
    case 'bool':
      if (typeof value === 'boolean') return value
      break
  }
  return fail(SqlState.DATATYPE_MISMATCH, `column ${column} is of type ${typeName(type)} but the value is of type ${valueTypeName(value)}`)
}

function checkColumnInt(v: bigint, column: string): bigint {
  if (v < INT64_MIN || v > INT64_MAX) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `value ${v} out of range for column ${column} (BIGINT)`)
  return v
}

function parseLiteral(text: string, type: ColumnType, column: string): SqlValue {
  const t = text.trim()
  switch (type.base) {
    case 'int':
      if (/^[+-]?\d+$/.test(t)) return checkColumnInt(BigInt(t), column)
      break
    case 'float':
      if (t !== '' && !Number.isNaN(Number(t))) return Number(t)
      break
    case 'bool': {
      const l = t.toLowerCase()
      if (l === 'true' || l === 't' || l === '1') return true
      if (l === 'false' || l === 'f' || l === '0') return false
      break
    }
    case 'text':
      return text
  }
  return fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input for column ${column} of type ${typeName(type)}: '${text}'`)
}

/** The number of Unicode code points in `s` (what VARCHAR(n) and LENGTH count). */
export function codePointLength(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++
    else {
      n++
      i++
    }
  }
  return n
}

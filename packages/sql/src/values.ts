import { fail, SqlState } from './errors.js'
import {
  assignTyped,
  assignTypedToNumber,
  checkIntWidth,
  compareTyped,
  isTypedBase,
  isTypedValue,
  nameOf,
  parseTyped,
  typedArithmetic,
  typedBaseOf,
  typedComparable,
  typedKey,
  typedNegate,
  typedTypeName,
  type TypedBase,
  type TypedValue,
} from './types/typed.js'
import { arrayKey, compareArrays, isArrayValue, parseArrayText, type ArrayElement, type ArrayValue } from './types/array.js'

/**
 * A SQL value as the engine and its clients hold it: INT is bigint, FLOAT is number, TEXT
 * string, BOOLEAN boolean, BYTEA Uint8Array, and NUMERIC, DATE, TIMESTAMP, TIMESTAMPTZ,
 * INTERVAL, UUID and JSONB plain objects tagged by `type` (types/typed.ts). All of them are
 * structured-cloneable, so rows cross worker threads as they are. Arrays (types/array.ts)
 * appear in expressions and the system catalog, never in stored rows.
 */
export type SqlValue = null | bigint | number | string | boolean | Uint8Array | TypedValue | ArrayValue

/**
 * The storage types. VARCHAR(n) is `text` with a `maxLength`; SMALLINT and INTEGER are `int`
 * with `intBytes`; REAL is `float` (kept as a double) with `real`; NUMERIC(p,s) is `numeric`
 * with `precision` and `scale`.
 */
export type BaseType = 'int' | 'float' | 'text' | 'bool' | 'array' | TypedBase

/** A column's declared type. */
export interface ColumnType {
  readonly base: BaseType
  /** VARCHAR(n): the most code points a value may have. */
  readonly maxLength?: number
  /** SMALLINT (2) or INTEGER (4); absent for BIGINT. */
  readonly intBytes?: 2 | 4
  /** REAL: stored and computed as a double, but named REAL. */
  readonly real?: boolean
  /** NUMERIC(precision, scale): values are rounded to `scale` places and must have at most precision - scale digits before the point. */
  readonly precision?: number
  readonly scale?: number
  /** An array's element type (absent: not known statically). */
  readonly element?: ColumnType
}

/** The smallest and largest 64-bit signed integers. */
export const INT64_MIN = -(1n << 63n)
export const INT64_MAX = (1n << 63n) - 1n

/** The SQL name of a column type as SHOW COLUMNS and result metadata print it. */
export function typeName(type: ColumnType): string {
  switch (type.base) {
    case 'int':
      return type.intBytes === 2 ? 'SMALLINT' : type.intBytes === 4 ? 'INTEGER' : 'BIGINT'
    case 'float':
      return type.real === true ? 'REAL' : 'DOUBLE'
    case 'text':
      return type.maxLength === undefined ? 'TEXT' : `VARCHAR(${type.maxLength})`
    case 'bool':
      return 'BOOLEAN'
    case 'array':
      return type.element === undefined ? 'ANYARRAY' : `${typeName(type.element)}[]`
    default:
      return typedTypeName(type.base, type)
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
    case 'boolean':
      return 'bool'
    default:
      return isArrayValue(value) ? 'array' : typedBaseOf(value)
  }
}

/** The SQL name of a value's type, for messages. */
export function valueTypeName(value: SqlValue): string {
  return value === null ? 'NULL' : isArrayValue(value) ? typeName({ base: 'array' }) : nameOf(value)
}

/** Raises 22003 unless `v` fits in 64 signed bits; returns it. */
export function checkInt64(v: bigint): bigint {
  if (v < INT64_MIN || v > INT64_MAX) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `integer out of range: ${v}`)
  return v
}

/** Whether two base types can be compared (numbers with numbers, arrays with array literals, otherwise same type). */
export function comparable(a: BaseType, b: BaseType): boolean {
  return a === b || (a === 'array' && b === 'text') || (a === 'text' && b === 'array') || (isNumeric(a) && isNumeric(b)) || ((isTypedBase(a) || isTypedBase(b)) && typedComparable(a, b))
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
  if (isArrayValue(a) || isArrayValue(b)) return compareArrayWith(a, b)
  if (isTypedValue(a) || isTypedValue(b)) return compareTyped(a, b)
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

/**
 * Arrays in order (types/array.ts); text facing an array is read as an array literal whose
 * elements take the other array's element types (`polroles = '{0}'`), as PostgreSQL's untyped
 * literals do. An array facing anything else raises 42804.
 */
function compareArrayWith(a: Exclude<SqlValue, null>, b: Exclude<SqlValue, null>): number {
  if (typeof a === 'string' && isArrayValue(b)) return compareArrayWith(arrayLiteralLike(a, b), b)
  if (typeof b === 'string' && isArrayValue(a)) return compareArrayWith(a, arrayLiteralLike(b, a))
  if (!isArrayValue(a) || !isArrayValue(b)) return fail(SqlState.DATATYPE_MISMATCH, `cannot compare ${valueTypeName(a)} with ${valueTypeName(b)}`)
  return compareArrays(a, b, (x, y) => compareValues(typeof x === 'string' ? textLike(x, y) : x, typeof y === 'string' ? textLike(y, x) : y))
}

/** Array literal text read with its elements' types taken from `like`'s first non-NULL element (text when none). */
function arrayLiteralLike(text: string, like: ArrayValue): ArrayValue {
  const sample = like.elements.find((e) => e !== null) ?? null
  return { type: 'array', elements: parseArrayText(text).map((e) => (e === null || sample === null ? e : textLike(e, sample))) }
}

/** Text read as a value of `like`'s type (an untyped literal meeting a typed value): 22P02 when it does not read as one. */
export function textLike(text: string, like: Exclude<SqlValue, null>): Exclude<ArrayElement, null> {
  if (typeof like === 'string' || isArrayValue(like)) return text
  if (isTypedValue(like)) return parseTyped(text, { base: typedBaseOf(like) })
  const s = text.trim()
  if (typeof like === 'bigint') {
    if (!/^[+-]?\d+$/.test(s)) fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type bigint: "${text}"`)
    return BigInt(s)
  }
  if (typeof like === 'number') {
    const f = Number(s)
    if (s === '' || Number.isNaN(f)) fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type double precision: "${text}"`)
    return f
  }
  if (/^(t|true|y|yes|on|1)$/i.test(s)) return true
  if (/^(f|false|n|no|off|0)$/i.test(s)) return false
  return fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type boolean: "${text}"`)
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
    case 'object':
      return v === null ? 'N' : isArrayValue(v) ? arrayKey(v, valueKey) : typedKey(v)
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
  if (isArrayValue(a) || isArrayValue(b)) fail(SqlState.UNDEFINED_FUNCTION, `operator does not exist: ${valueTypeName(a)} ${op} ${valueTypeName(b)}`)
  if ((isTypedValue(a) && typeof b !== 'string') || (isTypedValue(b) && typeof a !== 'string')) return typedArithmetic(op, a, b)
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
  if (isTypedValue(v)) return typedNegate(v)
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
  if (isArrayValue(value) || type.base === 'array') fail(SqlState.FEATURE_NOT_SUPPORTED, `arrays cannot be stored in tables (column ${column})`)
  if (isTypedBase(type.base)) return assignTyped(value, type, column, fromTextLiteral)
  if (fromTextLiteral && typeof value === 'string' && type.base !== 'text') return parseLiteral(value, type, column)
  switch (type.base) {
    case 'int':
      if (typeof value === 'bigint') return checkColumnInt(value, type, column)
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `value ${value} out of range for column ${column} (${typeName(type)})`)
        return checkColumnInt(BigInt(Math.sign(value) * Math.round(Math.abs(value))), type, column)
      }
      if (isTypedValue(value)) {
        const n = assignTypedToNumber(value, type)
        if (n !== undefined) return n
      }
      break
    case 'float':
      if (typeof value === 'number') return value
      if (typeof value === 'bigint') return Number(value)
      if (isTypedValue(value)) {
        const n = assignTypedToNumber(value, type)
        if (n !== undefined) return n
      }
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

function checkColumnInt(v: bigint, type: ColumnType, column: string): bigint {
  try {
    return checkIntWidth(v, type.intBytes)
  } catch {
    return fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `value ${v} out of range for column ${column} (${typeName(type)})`)
  }
}

function parseLiteral(text: string, type: ColumnType, column: string): SqlValue {
  const t = text.trim()
  switch (type.base) {
    case 'int':
      if (/^[+-]?\d+$/.test(t)) return checkColumnInt(BigInt(t), type, column)
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
    default:
      return parseTyped(text, type)
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

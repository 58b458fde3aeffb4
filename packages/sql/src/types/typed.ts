// The column types beyond mrdb's first four (int, float, text, bool): NUMERIC, DATE,
// TIMESTAMP, TIMESTAMPTZ, INTERVAL, UUID, JSONB (plain objects tagged by `type`) and BYTEA
// (a Uint8Array). Here: how they print, compare, convert (casts, text input, assignment),
// combine in arithmetic, and become key parts. Everything is plain data, structured-cloneable.

import type { KeyPart } from '@mrdb/storage'
import { fail, SqlState } from '../errors.js'
import { compareBytes, formatBytea, parseBytea, parseUuid, uuidBytes, uuidFromBytes, type UuidValue } from './bytes.js'
import {
  addDays,
  addInterval,
  addIntervals,
  compareInterval,
  dateOf,
  dateToTimestamp,
  formatDate,
  formatInterval,
  formatTimestamp,
  intervalFromSpan,
  intervalSpan,
  negateInterval,
  parseDate,
  parseInterval,
  parseTimestamp,
  parseTimestampTz,
  scaleInterval,
  subtractTimestamps,
  timestampOf,
  timestampToDate,
  type DateValue,
  type IntervalValue,
  type TimestampValue,
} from './datetime.js'
import { jsonAsText, parseJson, parseJsonb, type JsonbValue } from './jsonb.js'
import {
  absNumeric,
  compareNumeric,
  negateNumeric,
  numericArithmetic,
  numericAsExactInt,
  numericForColumn,
  numericFromFloat,
  numericFromInt,
  numericFromKeyText,
  numericKey,
  numericToFloat,
  numericToInt,
  parseNumeric,
  type NumericValue,
} from './numeric.js'

/** A value of one of the object-represented types. */
export type TypedValue = NumericValue | DateValue | TimestampValue | IntervalValue | UuidValue | JsonbValue

/** Any non-null value (mirrors values.ts's SqlValue without importing it at run time). */
type Value = bigint | number | string | boolean | Uint8Array | TypedValue

/** The base types represented here. */
export type TypedBase = 'numeric' | 'date' | 'timestamp' | 'timestamptz' | 'interval' | 'uuid' | 'jsonb' | 'bytea'

/** The column-type facts conversions need (a structural subset of values.ts's ColumnType). */
export interface TypeInfo {
  readonly base: string
  readonly precision?: number
  readonly scale?: number
  readonly intBytes?: 2 | 4
  readonly maxLength?: number
}

const TYPED_BASES: ReadonlySet<string> = new Set<TypedBase>(['numeric', 'date', 'timestamp', 'timestamptz', 'interval', 'uuid', 'jsonb', 'bytea'])

/** Whether a base type is one of this module's. */
export function isTypedBase(base: string): base is TypedBase {
  return TYPED_BASES.has(base)
}

/** Whether a value is one of this module's (an object or bytes; arrays, types/array.ts, are not). */
export function isTypedValue(v: unknown): v is TypedValue | Uint8Array {
  return v !== null && typeof v === 'object' && (v as { type?: unknown }).type !== 'array'
}

/** The base type of a typed value. */
export function typedBaseOf(v: TypedValue | Uint8Array): TypedBase {
  return v instanceof Uint8Array ? 'bytea' : v.type
}

/** The SQL name of a typed base (upper case, as the engine's other type names). */
export function typedTypeName(base: TypedBase, t?: TypeInfo): string {
  if (base === 'numeric') return t?.precision === undefined ? 'NUMERIC' : `NUMERIC(${t.precision},${t.scale ?? 0})`
  return base.toUpperCase()
}

/** A typed value as PostgreSQL prints it in text format. */
export function formatTyped(v: TypedValue | Uint8Array): string {
  if (v instanceof Uint8Array) return formatBytea(v)
  switch (v.type) {
    case 'numeric':
    case 'uuid':
    case 'jsonb':
      return v.text
    case 'date':
      return formatDate(v)
    case 'timestamp':
    case 'timestamptz':
      return formatTimestamp(v)
    case 'interval':
      return formatInterval(v)
  }
}

/** Reads text as a value of `base` (a literal or a cast): 22P02, 22007 or 22008 when it is not one. */
export function parseTyped(text: string, t: TypeInfo): TypedValue | Uint8Array {
  switch (t.base as TypedBase) {
    case 'numeric':
      return parseNumeric(text)
    case 'date':
      return parseDate(text)
    case 'timestamp':
      return parseTimestamp(text)
    case 'timestamptz':
      return parseTimestampTz(text)
    case 'interval':
      return parseInterval(text)
    case 'uuid':
      return parseUuid(text)
    case 'jsonb':
      return parseJsonb(text)
    case 'bytea':
      return parseBytea(text)
    default:
      return fail(SqlState.INTERNAL_ERROR, `not a typed base: ${t.base}`)
  }
}

function mismatch(a: Value, b: Value, what: string): never {
  return fail(SqlState.DATATYPE_MISMATCH, `${what} ${nameOf(a)} with ${nameOf(b)}`)
}

/** The SQL name of any value's type, for messages. */
export function nameOf(v: Value): string {
  switch (typeof v) {
    case 'bigint':
      return 'BIGINT'
    case 'number':
      return 'DOUBLE'
    case 'string':
      return 'TEXT'
    case 'boolean':
      return 'BOOLEAN'
    default:
      return typedTypeName(typedBaseOf(v))
  }
}

/** Micros of a date or timestamp on one time line (a DATE is its midnight; TIMESTAMP is read as UTC, the session zone). */
function instant(v: DateValue | TimestampValue): bigint {
  return v.type === 'date' ? dateToTimestamp(v).micros : v.micros
}

function isTemporal(v: Value): v is DateValue | TimestampValue {
  return typeof v === 'object' && !(v instanceof Uint8Array) && (v.type === 'date' || v.type === 'timestamp' || v.type === 'timestamptz')
}

/**
 * Total order of two non-null values where at least one is typed. Numbers compare by value
 * (NUMERIC with FLOAT as floats, as PostgreSQL does); dates and timestamps on one time line;
 * intervals by length; text facing a typed value is read as that type (a literal such as
 * '2024-01-01'). Anything else raises 42804.
 */
export function compareTyped(a: Value, b: Value): number {
  if (typeof a === 'string' && isTypedValue(b)) return compareTyped(parseTyped(a, { base: typedBaseOf(b) }), b)
  if (typeof b === 'string' && isTypedValue(a)) return compareTyped(a, parseTyped(b, { base: typedBaseOf(a) }))
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b)
    return mismatch(a, b, 'cannot compare')
  }
  if (isNumber(a) && isNumber(b)) {
    if (typeof a === 'number' || typeof b === 'number') {
      const x = asFloat(a)
      const y = asFloat(b)
      if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(x)) - Number(Number.isNaN(y))
      return x < y ? -1 : x > y ? 1 : 0
    }
    return compareNumeric(exact(a), exact(b))
  }
  if (isTemporal(a) && isTemporal(b)) {
    const x = instant(a)
    const y = instant(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (typeof a === 'object' && typeof b === 'object' && a.type === b.type) {
    if (a.type === 'interval') return compareInterval(a, b as IntervalValue)
    if (a.type === 'uuid' || a.type === 'jsonb') {
      const x = a.text
      const y = (b as UuidValue | JsonbValue).text
      return x < y ? -1 : x > y ? 1 : 0
    }
  }
  return mismatch(a, b, 'cannot compare')
}

/** Whether `v` is a number of any kind: INT, FLOAT or NUMERIC. */
function isNumber(v: Value): v is bigint | number | NumericValue {
  return typeof v === 'bigint' || typeof v === 'number' || (typeof v === 'object' && !(v instanceof Uint8Array) && v.type === 'numeric')
}

/** An INT or NUMERIC as a NUMERIC. */
function exact(v: bigint | NumericValue): NumericValue {
  return typeof v === 'bigint' ? numericFromInt(v) : v
}

/** A number as a float (where a FLOAT meets an exact number, both compare and compute as floats). */
function asFloat(v: bigint | number | NumericValue): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : numericToFloat(v)
}

/** A string equal for equal typed values (grouping, DISTINCT, IN sets); integral NUMERICs match integers'. */
export function typedKey(v: TypedValue | Uint8Array): string {
  if (v instanceof Uint8Array) return `x${formatBytea(v)}`
  switch (v.type) {
    case 'numeric': {
      const exact = numericAsExactInt(v)
      return exact !== null ? `n${exact}` : `d${numericKey(v)}`
    }
    case 'date':
      return `t${instant(v)}`
    case 'timestamp':
    case 'timestamptz':
      return `t${v.micros}`
    case 'interval':
      return `i${intervalSpan(v)}`
    case 'uuid':
      return `u${v.text}`
    case 'jsonb':
      return `j${v.text}`
  }
}

// ---- arithmetic ----

/** Arithmetic operators. */
type Op = '+' | '-' | '*' | '/' | '%'

function noOperator(op: string, a: Value, b: Value): never {
  return fail(SqlState.UNDEFINED_FUNCTION, `operator does not exist: ${nameOf(a)} ${op} ${nameOf(b)}`)
}

/**
 * `a op b` where an operand is typed, with PostgreSQL's operators: NUMERIC with INT or
 * NUMERIC is NUMERIC, with FLOAT is FLOAT; date ± integer, date - date (days), date or
 * timestamp ± interval, timestamp - timestamp (an interval), interval ± interval, interval
 * × or ÷ a number. Other combinations raise 42883.
 */
export function typedArithmetic(op: Op, a: Value, b: Value): Value {
  if (isNumber(a) && isNumber(b)) {
    if (typeof a === 'number' || typeof b === 'number') return floatOp(op, asFloat(a), asFloat(b))
    return numericArithmetic(op, exact(a), exact(b))
  }
  if (typeof a !== 'object' || a instanceof Uint8Array) {
    // number op typed: only multiplication commutes (n * interval); int + date likewise.
    if (op === '*' && typeof b === 'object' && !(b instanceof Uint8Array) && b.type === 'interval') return typedArithmetic('*', b, a)
    if (op === '+' && typeof a === 'bigint' && typeof b === 'object' && !(b instanceof Uint8Array) && b.type === 'date') return addDays(b, a)
    if (op === '+' && typeof b === 'object' && !(b instanceof Uint8Array) && b.type === 'interval' && isTemporal(a as Value)) return typedArithmetic('+', b, a)
    return noOperator(op, a, b)
  }
  switch (a.type) {
    case 'date':
      if (typeof b === 'bigint' && (op === '+' || op === '-')) return addDays(a, op === '+' ? b : -b)
      if (typeof b === 'object' && !(b instanceof Uint8Array)) {
        if (b.type === 'date' && op === '-') return BigInt(a.days - b.days)
        if (b.type === 'interval' && (op === '+' || op === '-')) return addInterval(dateToTimestamp(a), b, op === '+' ? 1 : -1)
        if ((b.type === 'timestamp' || b.type === 'timestamptz') && op === '-') return subtractTimestamps(dateToTimestamp(a, b.type), b)
      }
      break
    case 'timestamp':
    case 'timestamptz':
      if (typeof b === 'object' && !(b instanceof Uint8Array)) {
        if (b.type === 'interval' && (op === '+' || op === '-')) return addInterval(a, b, op === '+' ? 1 : -1)
        if ((b.type === 'timestamp' || b.type === 'timestamptz' || b.type === 'date') && op === '-') return subtractTimestamps(a, b.type === 'date' ? dateToTimestamp(b, a.type) : b)
      }
      break
    case 'interval':
      if (typeof b === 'object' && !(b instanceof Uint8Array)) {
        if (b.type === 'interval' && (op === '+' || op === '-')) return addIntervals(a, b, op === '+' ? 1 : -1)
        if (op === '+' && (b.type === 'date' || b.type === 'timestamp' || b.type === 'timestamptz')) return addInterval(b.type === 'date' ? dateToTimestamp(b) : b, a, 1)
        if (b.type === 'numeric' && (op === '*' || op === '/')) return typedArithmetic(op, a, numericToFloat(b))
      }
      if ((typeof b === 'bigint' || typeof b === 'number') && (op === '*' || op === '/')) {
        const f = Number(b)
        if (op === '/' && f === 0) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
        return scaleInterval(a, op === '*' ? f : 1 / f)
      }
      break
  }
  return noOperator(op, a, b)
}

function floatOp(op: Op, x: number, y: number): number {
  if ((op === '/' || op === '%') && y === 0) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
  const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y
  if (!Number.isFinite(r) && Number.isFinite(x) && Number.isFinite(y)) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, 'value out of range: overflow')
  return r
}

/** -v for NUMERIC and INTERVAL; 42883 for other typed values. */
export function typedNegate(v: TypedValue | Uint8Array): Value {
  if (!(v instanceof Uint8Array)) {
    if (v.type === 'numeric') return negateNumeric(v)
    if (v.type === 'interval') return negateInterval(v)
  }
  return fail(SqlState.UNDEFINED_FUNCTION, `operator does not exist: - ${nameOf(v)}`)
}

/** |v| for NUMERIC. */
export function typedAbs(v: TypedValue | Uint8Array): Value {
  if (!(v instanceof Uint8Array) && v.type === 'numeric') return absNumeric(v)
  return fail(SqlState.UNDEFINED_FUNCTION, `function abs(${nameOf(v)}) does not exist`)
}

/** The static result type of `l op r` when an operand's type is typed (null: unknown yet); 42883 when no operator exists. */
export function arithmeticType(op: Op, l: string, r: string): string {
  const num = (t: string) => t === 'int' || t === 'numeric'
  if ((num(l) || l === 'float') && (num(r) || r === 'float')) return l === 'float' || r === 'float' ? 'float' : 'numeric'
  const temporal = (t: string) => t === 'date' || t === 'timestamp' || t === 'timestamptz'
  const plusMinus = op === '+' || op === '-'
  if (l === 'date' && r === 'int' && plusMinus) return 'date'
  if (l === 'int' && r === 'date' && op === '+') return 'date'
  if (l === 'date' && r === 'date' && op === '-') return 'int'
  if (temporal(l) && r === 'interval' && plusMinus) return l === 'date' ? 'timestamp' : l
  if (l === 'interval' && temporal(r) && op === '+') return r === 'date' ? 'timestamp' : r
  if (temporal(l) && temporal(r) && op === '-' && (l !== 'date' || r !== 'date')) return 'interval'
  if (l === 'interval' && r === 'interval' && plusMinus) return 'interval'
  if (l === 'interval' && (num(r) || r === 'float') && (op === '*' || op === '/')) return 'interval'
  if ((num(l) || l === 'float') && r === 'interval' && op === '*') return 'interval'
  return fail(SqlState.UNDEFINED_FUNCTION, `operator does not exist: ${l.toUpperCase()} ${op} ${r.toUpperCase()}`)
}

/** Whether values of two base types can be compared (either typed). */
export function typedComparable(a: string, b: string): boolean {
  if (a === b) return true
  const num = (t: string) => t === 'int' || t === 'float' || t === 'numeric'
  const temporal = (t: string) => t === 'date' || t === 'timestamp' || t === 'timestamptz'
  // Text facing a typed value is read as that type (string literals such as '2024-01-01').
  return (num(a) && num(b)) || (temporal(a) && temporal(b)) || (a === 'text' && isTypedBase(b)) || (b === 'text' && isTypedBase(a))
}

// ---- casts and assignment ----

function intRange(bytes: 2 | 4 | 8 | undefined): [bigint, bigint, string] {
  if (bytes === 2) return [-32768n, 32767n, 'smallint']
  if (bytes === 4) return [-2147483648n, 2147483647n, 'integer']
  return [-(1n << 63n), (1n << 63n) - 1n, 'bigint']
}

/** Raises 22003 unless `v` fits an integer of `bytes` bytes (8 when undefined); returns it. */
export function checkIntWidth(v: bigint, bytes: 2 | 4 | undefined): bigint {
  const [lo, hi, name] = intRange(bytes)
  if (v < lo || v > hi) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `${name} out of range`)
  return v
}

function cannotCast(v: Value, t: TypeInfo): never {
  return fail(SqlState.CANNOT_COERCE, `cannot cast type ${nameOf(v).toLowerCase()} to ${isTypedBase(t.base) ? t.base : t.base === 'int' ? 'bigint' : t.base}`)
}

/**
 * CAST(v AS t) where v or t is typed (PostgreSQL's casts): numbers among INT, FLOAT and NUMERIC
 * (NUMERIC to INT rounds half away from zero; NUMERIC(p,s) rounds to s places and raises 22003
 * beyond p digits); text to and from every type; DATE, TIMESTAMP and TIMESTAMPTZ among each
 * other; JSONB scalars to numbers, BOOLEAN and text. Others raise 42846.
 */
export function castTyped(v: Value, t: TypeInfo): Value {
  if (t.base === 'text') {
    const s = isTypedValue(v) ? formatTyped(v) : String(v)
    return t.maxLength !== undefined ? Array.from(s).slice(0, t.maxLength).join('') : s
  }
  if (typeof v === 'string') {
    if (isTypedBase(t.base)) return conform(parseTyped(v, t), t, 'value')
    return cannotCast(v, t)
  }
  if (typeof v === 'object' && !(v instanceof Uint8Array) && v.type === 'jsonb' && !isTypedBase(t.base)) {
    const j = parseJson(v.text)
    if (t.base === 'bool' && typeof j === 'boolean') return j
    if (j !== null && typeof j === 'object' && 'num' in j) return castTyped({ type: 'numeric', text: j.num as string }, t)
    return fail(SqlState.INVALID_PARAMETER_VALUE, `cannot cast jsonb ${jsonKind(j)} to type ${t.base === 'int' ? 'bigint' : t.base}`)
  }
  switch (t.base) {
    case 'int':
      if (typeof v === 'bigint') return checkIntWidth(v, t.intBytes)
      if (typeof v === 'object' && !(v instanceof Uint8Array) && v.type === 'numeric') return checkIntWidth(numericToInt(v), t.intBytes)
      break
    case 'float':
      if (typeof v === 'object' && !(v instanceof Uint8Array) && v.type === 'numeric') return numericToFloat(v)
      break
    case 'numeric':
      if (typeof v === 'bigint') return conform(numericFromInt(v), t, 'value')
      if (typeof v === 'number') return conform(numericFromFloat(v), t, 'value')
      if (typeof v === 'object' && !(v instanceof Uint8Array) && v.type === 'numeric') return conform(v, t, 'value')
      break
    case 'date':
      if (isTemporal(v)) return v.type === 'date' ? v : timestampToDate(v)
      break
    case 'timestamp':
    case 'timestamptz':
      if (isTemporal(v)) return v.type === 'date' ? dateToTimestamp(v, t.base) : timestampOf(t.base, v.micros)
      break
    case 'interval':
    case 'uuid':
    case 'bytea':
    case 'jsonb':
      if (isTypedValue(v) && typedBaseOf(v) === t.base) return v
      break
  }
  return cannotCast(v, t)
}

function jsonKind(j: unknown): string {
  if (j === null) return 'null'
  if (typeof j === 'string') return 'string'
  if (typeof j === 'boolean') return 'boolean'
  if (Array.isArray(j)) return 'array'
  return typeof j === 'object' && j !== null && 'num' in j ? 'number' : 'object'
}

/** A typed value made to fit a column type's modifiers (NUMERIC(p,s) rounding and overflow). */
function conform(v: TypedValue | Uint8Array, t: TypeInfo, column: string): TypedValue | Uint8Array {
  if (!(v instanceof Uint8Array) && v.type === 'numeric') return numericForColumn(v, t.precision, t.scale, column)
  return v
}

/**
 * `v` stored into a column of typed type `t` (an assignment cast, as PostgreSQL's INSERT and
 * UPDATE apply): numbers into NUMERIC, dates and timestamps among each other, text literals
 * read as the type; anything else raises 42804.
 */
export function assignTyped(v: Value, t: TypeInfo, column: string, fromTextLiteral: boolean): Value {
  if (typeof v === 'string') {
    if (!fromTextLiteral) return fail(SqlState.DATATYPE_MISMATCH, `column ${column} is of type ${typedTypeName(t.base as TypedBase, t)} but the value is of type TEXT`)
    return conform(parseTyped(v, t), t, column)
  }
  if (isTypedValue(v) && typedBaseOf(v) === t.base) return conform(v, t, column)
  const numberToNumeric = t.base === 'numeric' && (typeof v === 'bigint' || typeof v === 'number')
  if (numberToNumeric || (isTemporal(v) && (t.base === 'date' || t.base === 'timestamp' || t.base === 'timestamptz'))) {
    const r = castTyped(v, t)
    return isTypedValue(r) ? conform(r, t, column) : r
  }
  return fail(SqlState.DATATYPE_MISMATCH, `column ${column} is of type ${typedTypeName(t.base as TypedBase, t)} but the value is of type ${nameOf(v)}`)
}

/** A typed value stored into an INT or FLOAT column (NUMERIC rounds into INT); undefined when it is no number. */
export function assignTypedToNumber(v: TypedValue | Uint8Array, t: TypeInfo): bigint | number | undefined {
  if (v instanceof Uint8Array || v.type !== 'numeric') return undefined
  return t.base === 'int' ? checkIntWidth(numericToInt(v), t.intBytes) : numericToFloat(v)
}

/** `->>`'s helper re-exported for eval: the text of a JSON value. */
export { jsonAsText }

// ---- keys ----

/** A typed value as the key part the order-preserving key codec stores. */
export function typedKeyPart(v: TypedValue | Uint8Array): KeyPart {
  if (v instanceof Uint8Array) return v
  switch (v.type) {
    case 'numeric':
      return { decimal: v.text }
    case 'date':
      return BigInt(v.days)
    case 'timestamp':
    case 'timestamptz':
      return v.micros
    case 'interval':
      return { decimal: intervalSpan(v).toString() }
    case 'uuid':
      return uuidBytes(v)
    case 'jsonb':
      return v.text
  }
}

/**
 * The value of a key part stored for a column of typed type `t`. NUMERIC keys keep no
 * display scale: they decode at the column's scale, or at the fewest places when it has none
 * (1.50 in a NUMERIC key reads back as 1.5); INTERVAL keys keep only the length (as days and time).
 */
export function typedFromKeyPart(part: KeyPart, t: TypeInfo): TypedValue | Uint8Array {
  switch (t.base as TypedBase) {
    case 'numeric':
      return numericFromKeyText((part as { decimal: string }).decimal, t.scale)
    case 'date':
      return dateOf(Number(part as bigint))
    case 'timestamp':
    case 'timestamptz':
      return { type: t.base as 'timestamp' | 'timestamptz', micros: part as bigint }
    case 'interval': {
      const text = (part as { decimal: string }).decimal
      return intervalFromSpan(BigInt(numericFromKeyText(text, 0).text))
    }
    case 'uuid':
      return uuidFromBytes(part as Uint8Array)
    case 'jsonb':
      return { type: 'jsonb', text: part as string }
    case 'bytea':
      return part as Uint8Array
  }
}

/** Text input of an INTERVAL literal with a unit (`INTERVAL '1' DAY`). */
export function parseIntervalLiteral(text: string, unit: string | null): IntervalValue {
  return parseInterval(text, unit === '' ? null : unit)
}

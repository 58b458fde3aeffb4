// CAST(x AS type) and x::type, with PostgreSQL's rules for the conversions between types.

import { fail, SqlState } from './errors.js'
import { castTyped, checkIntWidth, formatTyped, isTypedBase, isTypedValue } from './types/typed.js'
import { arrayOf, formatArray, isArrayValue, parseArrayText, type ArrayElement, type ArrayValue } from './types/array.js'
import { checkInt64, codePointLength, typeName, valueTypeName, type ColumnType, type SqlValue } from './values.js'

/** `v` converted to `type`; raises 22P02 for text that does not read as one, 22003 out of range. */
export function castValue(v: SqlValue, type: ColumnType): SqlValue {
  if (v === null) return null
  if (type.base === 'array' || isArrayValue(v)) return castArray(v, type)
  // NUMERIC, dates and times, INTERVAL, UUID, BYTEA and JSONB: types/typed.ts.
  if (isTypedValue(v) || isTypedBase(type.base)) return castTyped(v, type)
  switch (type.base) {
    case 'int':
      return checkIntWidth(toInt(v), type.intBytes)
    case 'float':
      return toFloat(v)
    case 'text': {
      const s = castText(v)
      // An explicit cast to VARCHAR(n) truncates, as in PostgreSQL.
      return type.maxLength !== undefined && codePointLength(s) > type.maxLength ? Array.from(s).slice(0, type.maxLength).join('') : s
    }
    case 'bool':
      return toBool(v)
  }
  return null
}

/** A value as text, the way PostgreSQL prints it (booleans as true/false; arrays as `{…}`). */
export function castText(v: Exclude<SqlValue, null>): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (typeof v === 'number') return floatText(v)
  if (isArrayValue(v)) return formatArray(v, arrayElementText)
  if (isTypedValue(v)) return formatTyped(v)
  return String(v)
}

/** An array element's text as array_out prints it (booleans as t/f, the way the wire protocol sends them). */
export function arrayElementText(e: Exclude<ArrayElement, null>): string {
  return typeof e === 'boolean' ? (e ? 't' : 'f') : castText(e)
}

/**
 * Casts to and from arrays: an array literal (`'{1,2}'::int[]`) or an array to an array type
 * casts each element to the element type (text when not given); an array to text is array_out.
 * Anything else is 42846.
 */
function castArray(v: Exclude<SqlValue, null>, type: ColumnType): SqlValue {
  if (type.base === 'text') return castValue(castText(v), type)
  if (type.base !== 'array') return fail(SqlState.CANNOT_COERCE, `cannot cast type ${valueTypeName(v)} to ${typeName(type)}`)
  const element = type.element ?? { base: 'text' }
  const elements: readonly ArrayElement[] = typeof v === 'string' ? parseArrayText(v) : isArrayValue(v) ? v.elements : fail(SqlState.CANNOT_COERCE, `cannot cast type ${valueTypeName(v)} to ${typeName(type)}`)
  return arrayOf(elements.map((e) => castValue(e, element) as ArrayElement))
}

/** A double as PostgreSQL's float8 output prints it (shortest exact digits, exponent from 1e15). */
export function floatText(f: number): string {
  if (Number.isNaN(f)) return 'NaN'
  if (f === Infinity) return 'Infinity'
  if (f === -Infinity) return '-Infinity'
  const abs = Math.abs(f)
  if (abs !== 0 && (abs >= 1e15 || abs < 1e-4)) {
    const [mantissa, exponent] = f.toExponential().split('e') as [string, string]
    const e = Number(exponent)
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`
  }
  return Object.is(f, -0) ? '-0' : String(f)
}

function invalid(type: string, v: string): never {
  return fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type ${type}: "${v}"`)
}

function toInt(v: Exclude<SqlValue, null>): bigint {
  switch (typeof v) {
    case 'bigint':
      return v
    case 'number': {
      if (!Number.isFinite(v) || Math.abs(v) >= 2 ** 63) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, 'bigint out of range')
      // float8 → int8 rounds to nearest, ties to even (rint).
      const r = Math.round(v)
      return BigInt(Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r)
    }
    case 'boolean':
      return v ? 1n : 0n
    case 'string': {
      const s = v.trim()
      if (!/^[+-]?\d+$/.test(s)) invalid('bigint', v)
      const n = BigInt(s)
      if (n !== BigInt.asIntN(64, n)) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `value "${v}" is out of range for type bigint`)
      return checkInt64(n)
    }
    default:
      return fail(SqlState.CANNOT_COERCE, `cannot cast type ${valueTypeName(v)} to bigint`)
  }
}

function toFloat(v: Exclude<SqlValue, null>): number {
  switch (typeof v) {
    case 'bigint':
      return Number(v)
    case 'number':
      return v
    case 'boolean':
      return fail(SqlState.CANNOT_COERCE, `cannot cast type boolean to ${typeName({ base: 'float' })}`)
    case 'string': {
      const s = v.trim().toLowerCase()
      const special: Record<string, number> = { nan: NaN, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity, inf: Infinity, '+inf': Infinity, '-inf': -Infinity }
      if (s in special) return special[s]!
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s)) invalid('double precision', v)
      return Number(s)
    }
    default:
      return fail(SqlState.CANNOT_COERCE, `cannot cast type ${valueTypeName(v)} to ${typeName({ base: 'float' })}`)
  }
}

const TRUE_WORDS = ['t', 'true', 'y', 'yes', 'on', '1']
const FALSE_WORDS = ['f', 'false', 'n', 'no', 'off', '0']

function toBool(v: Exclude<SqlValue, null>): boolean {
  switch (typeof v) {
    case 'boolean':
      return v
    case 'bigint':
      return v !== 0n
    case 'string': {
      const s = v.trim().toLowerCase()
      // PostgreSQL also takes unique prefixes of true/false/yes/no (but 'o' alone is ambiguous).
      if (s.length > 0 && (TRUE_WORDS.includes(s) || (s.length > 1 && ('true'.startsWith(s) || 'yes'.startsWith(s))))) return true
      if (s.length > 0 && (FALSE_WORDS.includes(s) || (s.length > 1 && ('false'.startsWith(s) || 'off'.startsWith(s))))) return false
      return invalid('boolean', v)
    }
    default:
      return fail(SqlState.CANNOT_COERCE, `cannot cast type ${valueTypeName(v)} to boolean`)
  }
}

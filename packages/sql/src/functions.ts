// Scalar functions: what each takes and returns, and how it evaluates, with PostgreSQL's
// semantics (NULL in, NULL out, except where PostgreSQL says otherwise: COALESCE, CONCAT,
// GREATEST, LEAST, NULLIF).

import type { StaticType } from './binder.js'
import { fail, SqlState } from './errors.js'
import { formatType } from './pg-types.js'
import { DATABASE_NAME, USER_SCHEMA, UTF8_ENCODING } from './system-tables.js'
import { TYPE_FUNCTIONS } from './types/type-functions.js'
import { absNumeric, floorNumeric, isNumericValue, numericToFloat, roundNumeric, signNumeric, truncNumeric } from './types/numeric.js'
import { formatTyped, isTypedValue } from './types/typed.js'
import { uniqueRowId } from './unique-rowid.js'
import { arrayElementText, castText } from './cast.js'
import { isArrayValue, type ArrayValue } from './types/array.js'
import { codePointLength, compareValues, negate, typeName, valueTypeName, type SqlValue } from './values.js'

/** One scalar function: its argument count and how its result type follows from its arguments'. */
interface FunctionDef {
  readonly minArgs: number
  readonly maxArgs: number
  /** The result type, given the arguments' static types (checking them). */
  readonly type: (args: readonly StaticType[], name: string) => StaticType
  /** Evaluates it; `args` may hold NULLs only for functions that are not {@link strict}. */
  readonly call: (args: readonly SqlValue[], name: string) => SqlValue
  /** Strict functions return NULL when any argument is NULL, without being called. */
  readonly strict: boolean
}

const MANY = Number.POSITIVE_INFINITY

const text = (t: StaticType, name: string): void => expect(t, ['text'], name)
const numeric = (t: StaticType, name: string): void => expect(t, ['int', 'float', 'numeric'], name)
const integer = (t: StaticType, name: string): void => expect(t, ['int'], name)
const array = (t: StaticType, name: string): void => expect(t, ['array'], name)

function expect(t: StaticType, allowed: readonly string[], name: string): void {
  if (t !== null && t !== 'null' && !allowed.includes(t)) {
    fail(SqlState.UNDEFINED_FUNCTION, `function ${name.toLowerCase()}(${typeName({ base: t })}) does not exist`)
  }
}

/** The common type of arguments that must agree (COALESCE, GREATEST…): one type, or INT with FLOAT. */
function sameType(args: readonly StaticType[], name: string): StaticType {
  let common: StaticType = 'null'
  for (const t of args) {
    if (t === null) return null
    if (t === 'null' || t === common) continue
    if (common === 'null') common = t
    else if ((common === 'int' || common === 'float' || common === 'numeric') && (t === 'int' || t === 'float' || t === 'numeric')) common = common === 'float' || t === 'float' ? 'float' : 'numeric'
    else fail(SqlState.DATATYPE_MISMATCH, `${name} types ${typeName({ base: common })} and ${typeName({ base: t })} cannot be matched`)
  }
  return common
}

const str = (v: SqlValue): string => v as string
const int = (v: SqlValue): bigint => v as bigint
const elementsOf = (v: SqlValue): ArrayValue['elements'] => (v as ArrayValue).elements
/** `v` as a JavaScript number (INT or FLOAT). */
const num = (v: SqlValue): number => (isNumericValue(v) ? numericToFloat(v) : Number(v))

/** Code points of `s` (so that characters above U+FFFF count once, as PostgreSQL counts them). */
const chars = (s: string): string[] => Array.from(s)

/** `n` as a safe count of characters, raising 22023 beyond what a string could hold. */
function count(n: bigint, name: string): number {
  if (n > 100_000_000n) fail(SqlState.PROGRAM_LIMIT_EXCEEDED, `${name.toLowerCase()}: requested length too large`)
  return Number(n)
}

/** PostgreSQL's substring(s, start [, count]): 1-based, a start before 1 still counts toward `count`. */
function substring(s: string, start: bigint, length: bigint | null): string {
  const cs = chars(s)
  if (length !== null && length < 0n) fail(SqlState.SUBSTRING_ERROR, 'negative substring length not allowed')
  const from = start < 1n ? 0 : Number(start) - 1
  const to = length === null ? cs.length : Math.max(0, Number(start + length) - 1)
  return cs.slice(from, Math.max(from, to)).join('')
}

function trim(s: string, set: string, leading: boolean, trailing: boolean): string {
  const cs = chars(s)
  const drop = new Set(chars(set))
  let a = 0
  let b = cs.length
  if (leading) while (a < b && drop.has(cs[a]!)) a++
  if (trailing) while (b > a && drop.has(cs[b - 1]!)) b--
  return cs.slice(a, b).join('')
}

function pad(s: string, length: bigint, fill: string, left: boolean, name: string): string {
  const n = count(length, name)
  const cs = chars(s)
  if (n <= cs.length) return cs.slice(0, Math.max(0, n)).join('')
  const f = chars(fill)
  if (f.length === 0) return s
  const padding = Array.from({ length: n - cs.length }, (_, i) => f[i % f.length]!).join('')
  return left ? padding + s : s + padding
}

/**
 * Rounds half away from zero to `digits` decimal places (PostgreSQL's numeric rounding), on
 * the decimal the double was written as: 2.345 is stored as 2.34499…, yet rounds to 2.35.
 */
function roundTo(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x
  const f = 10 ** digits
  const scaled = Number((Math.abs(x) * f).toPrecision(15))
  return (Math.sign(x) * Math.round(scaled)) / f
}

/** lpad / rpad: the string filled to a length on the left or right. */
function padFunction(left: boolean): FunctionDef {
  return {
    minArgs: 2,
    maxArgs: 3,
    strict: true,
    type: ([s, k, f], n) => (text(s!, n), integer(k!, n), f !== undefined && text(f, n), 'text'),
    call: ([s, k, f], n) => pad(str(s!), int(k!), f === undefined ? ' ' : str(f), left, n),
  }
}

const FUNCTIONS: Readonly<Record<string, FunctionDef>> = {
  // The clock, uuids, extract/date_trunc and the JSONB operators (types/type-functions.ts).
  ...TYPE_FUNCTIONS,
  COALESCE: { minArgs: 1, maxArgs: MANY, strict: false, type: (a) => sameType(a, 'COALESCE'), call: (a) => a.find((v) => v !== null) ?? null },
  NULLIF: {
    minArgs: 2,
    maxArgs: 2,
    strict: false,
    type: (a) => (sameType(a, 'NULLIF'), a[0] ?? null),
    call: ([x, y]) => (x === null || x === undefined ? null : y !== null && y !== undefined && compareValues(x, y) === 0 ? null : x),
  },
  GREATEST: { minArgs: 1, maxArgs: MANY, strict: false, type: (a) => sameType(a, 'GREATEST'), call: (a) => extreme(a, 1) },
  LEAST: { minArgs: 1, maxArgs: MANY, strict: false, type: (a) => sameType(a, 'LEAST'), call: (a) => extreme(a, -1) },
  // PostgreSQL's concat skips NULLs (the || operator does not).
  CONCAT: { minArgs: 1, maxArgs: MANY, strict: false, type: () => 'text', call: (a) => a.filter((v) => v !== null).map(textOf).join('') },
  LOWER: { minArgs: 1, maxArgs: 1, strict: true, type: ([s], n) => (text(s!, n), 'text'), call: ([s]) => str(s!).toLowerCase() },
  UPPER: { minArgs: 1, maxArgs: 1, strict: true, type: ([s], n) => (text(s!, n), 'text'), call: ([s]) => str(s!).toUpperCase() },
  LENGTH: { minArgs: 1, maxArgs: 1, strict: true, type: ([s], n) => (text(s!, n), 'int'), call: ([s]) => BigInt(codePointLength(str(s!))) },
  CHAR_LENGTH: { minArgs: 1, maxArgs: 1, strict: true, type: ([s], n) => (text(s!, n), 'int'), call: ([s]) => BigInt(codePointLength(str(s!))) },
  OCTET_LENGTH: { minArgs: 1, maxArgs: 1, strict: true, type: ([s], n) => (text(s!, n), 'int'), call: ([s]) => BigInt(Buffer.byteLength(str(s!))) },
  SUBSTRING: {
    minArgs: 2,
    maxArgs: 3,
    strict: true,
    type: ([s, a, b], n) => (text(s!, n), integer(a!, n), b !== undefined && integer(b, n), 'text'),
    call: ([s, a, b]) => substring(str(s!), int(a!), b === undefined ? null : int(b)),
  },
  TRIM: { minArgs: 1, maxArgs: 2, strict: true, type: (a, n) => (a.forEach((t) => text(t, n)), 'text'), call: ([s, set]) => trim(str(s!), set === undefined ? ' ' : str(set), true, true) },
  LTRIM: { minArgs: 1, maxArgs: 2, strict: true, type: (a, n) => (a.forEach((t) => text(t, n)), 'text'), call: ([s, set]) => trim(str(s!), set === undefined ? ' ' : str(set), true, false) },
  RTRIM: { minArgs: 1, maxArgs: 2, strict: true, type: (a, n) => (a.forEach((t) => text(t, n)), 'text'), call: ([s, set]) => trim(str(s!), set === undefined ? ' ' : str(set), false, true) },
  STRPOS: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: (a, n) => (a.forEach((t) => text(t, n)), 'int'),
    call: ([s, sub]) => {
      const at = str(s!).indexOf(str(sub!))
      return at < 0 ? 0n : BigInt(codePointLength(str(s!).slice(0, at)) + 1)
    },
  },
  REPLACE: { minArgs: 3, maxArgs: 3, strict: true, type: (a, n) => (a.forEach((t) => text(t, n)), 'text'), call: ([s, from, to]) => (str(from!) === '' ? str(s!) : str(s!).replaceAll(str(from!), str(to!))) },
  LEFT: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([s, k], n) => (text(s!, n), integer(k!, n), 'text'),
    call: ([s, k]) => {
      const cs = chars(str(s!))
      const n = Number(int(k!))
      return cs.slice(0, n < 0 ? Math.max(0, cs.length + n) : n).join('')
    },
  },
  RIGHT: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([s, k], n) => (text(s!, n), integer(k!, n), 'text'),
    call: ([s, k]) => {
      const cs = chars(str(s!))
      const n = Number(int(k!))
      return cs.slice(n < 0 ? Math.min(cs.length, -n) : Math.max(0, cs.length - n)).join('')
    },
  },
  REPEAT: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([s, k], n) => (text(s!, n), integer(k!, n), 'text'),
    call: ([s, k], n) => {
      const times = int(k!)
      if (times <= 0n) return ''
      count(times * BigInt(str(s!).length), n)
      return str(s!).repeat(Number(times))
    },
  },
  REVERSE: { minArgs: 1, maxArgs: 1, strict: true, type: ([s], n) => (text(s!, n), 'text'), call: ([s]) => chars(str(s!)).reverse().join('') },
  LPAD: padFunction(true),
  RPAD: padFunction(false),
  ABS: {
    minArgs: 1,
    maxArgs: 1,
    strict: true,
    type: ([x], n) => (numeric(x!, n), x ?? null),
    call: ([x]) => (typeof x === 'bigint' ? (x < 0n ? negate(x) : x) : isNumericValue(x) ? absNumeric(x) : Math.abs(num(x!))),
  },
  SIGN: {
    minArgs: 1,
    maxArgs: 1,
    strict: true,
    type: ([x], n) => (numeric(x!, n), x ?? null),
    call: ([x]) => (typeof x === 'bigint' ? (x > 0n ? 1n : x < 0n ? -1n : 0n) : isNumericValue(x) ? signNumeric(x) : Math.sign(num(x!))),
  },
  ROUND: {
    minArgs: 1,
    maxArgs: 2,
    strict: true,
    type: ([x, d], n) => (numeric(x!, n), d !== undefined && integer(d, n), x ?? null),
    // NUMERIC rounds half away from zero, exactly; a double half to even (PostgreSQL's rint).
    call: ([x, d]) =>
      typeof x === 'bigint' ? x : isNumericValue(x) ? roundNumeric(x, d === undefined ? 0 : Number(int(d))) : d === undefined ? roundHalfEven(num(x!)) : roundTo(num(x!), Number(int(d))),
  },
  TRUNC: {
    minArgs: 1,
    maxArgs: 2,
    strict: true,
    type: ([x, d], n) => (numeric(x!, n), d !== undefined && integer(d, n), x ?? null),
    call: ([x, d]) => {
      if (typeof x === 'bigint') return x
      if (isNumericValue(x)) return truncNumeric(x, d === undefined ? 0 : Number(int(d)))
      const f = 10 ** (d === undefined ? 0 : Number(int(d)))
      return Math.trunc(num(x!) * f) / f
    },
  },
  FLOOR: { minArgs: 1, maxArgs: 1, strict: true, type: ([x], n) => (numeric(x!, n), x ?? null), call: ([x]) => (typeof x === 'bigint' ? x : isNumericValue(x) ? floorNumeric(x) : Math.floor(num(x!))) },
  CEIL: { minArgs: 1, maxArgs: 1, strict: true, type: ([x], n) => (numeric(x!, n), x ?? null), call: ([x]) => (typeof x === 'bigint' ? x : isNumericValue(x) ? floorNumeric(x, true) : Math.ceil(num(x!))) },
  MOD: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: (a, n) => (a.forEach((t) => integer(t, n)), 'int'),
    call: ([x, y]) => {
      if (int(y!) === 0n) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
      return int(x!) % int(y!)
    },
  },
  SQRT: {
    minArgs: 1,
    maxArgs: 1,
    strict: true,
    type: ([x], n) => (numeric(x!, n), 'float'),
    call: ([x]) => {
      if (num(x!) < 0) fail(SqlState.INVALID_ARGUMENT_FOR_POWER, 'cannot take square root of a negative number')
      return Math.sqrt(num(x!))
    },
  },
  POWER: { minArgs: 2, maxArgs: 2, strict: true, type: (a, n) => (a.forEach((t) => numeric(t, n)), 'float'), call: ([x, y]) => num(x!) ** num(y!) },
  TEXTREGEXEQ: { minArgs: 2, maxArgs: 2, strict: true, type: (a, n) => (a.forEach((t) => text(t, n)), 'bool'), call: ([s, p]) => regex(str(p!), '').test(str(s!)) },
  TEXTICREGEXEQ: { minArgs: 2, maxArgs: 2, strict: true, type: (a, n) => (a.forEach((t) => text(t, n)), 'bool'), call: ([s, p]) => regex(str(p!), 'i').test(str(s!)) },
  // The system catalog's helpers (system-tables.ts): one database, one user schema, every object owned by root.
  VERSION: { minArgs: 0, maxArgs: 0, strict: false, type: () => 'text', call: () => SERVER_VERSION },
  CURRENT_DATABASE: { minArgs: 0, maxArgs: 0, strict: false, type: () => 'text', call: () => DATABASE_NAME },
  CURRENT_SCHEMA: { minArgs: 0, maxArgs: 0, strict: false, type: () => 'text', call: () => USER_SCHEMA },
  PG_GET_USERBYID: { minArgs: 1, maxArgs: 1, strict: true, type: () => 'text', call: () => 'root' },
  PG_TABLE_IS_VISIBLE: { minArgs: 1, maxArgs: 1, strict: true, type: () => 'bool', call: () => true },
  PG_ENCODING_TO_CHAR: { minArgs: 1, maxArgs: 1, strict: true, type: () => 'text', call: ([e]) => (e === UTF8_ENCODING ? 'UTF8' : '') },
  FORMAT_TYPE: {
    minArgs: 2,
    maxArgs: 2,
    // Strict in its type only: format_type(oid, NULL) is the name without a modifier.
    strict: false,
    type: (a, n) => (a.forEach((t) => integer(t, n)), 'text'),
    call: ([oid, mod]) => (oid === null || oid === undefined ? null : formatType(Number(int(oid)), mod === null || mod === undefined ? null : Number(int(mod)))),
  },
  // pg_attrdef.adbin and the like hold an expression's SQL text, which stands for PostgreSQL's node tree.
  PG_GET_EXPR: { minArgs: 2, maxArgs: 3, strict: true, type: ([e], n) => (text(e!, n), 'text'), call: ([e]) => e! },
  // No object has a comment.
  OBJ_DESCRIPTION: { minArgs: 1, maxArgs: 2, strict: true, type: () => 'text', call: () => null },
  COL_DESCRIPTION: { minArgs: 2, maxArgs: 2, strict: true, type: () => 'text', call: () => null },
  SHOBJ_DESCRIPTION: { minArgs: 2, maxArgs: 2, strict: true, type: () => 'text', call: () => null },
  // mrdb has no extended statistics (pg_statistic_ext is empty): no oid names such an object.
  PG_GET_STATISTICSOBJDEF_COLUMNS: { minArgs: 1, maxArgs: 1, strict: true, type: () => 'text', call: () => null },
  // Arrays (types/array.ts): one dimension, lower bound 1.
  ARRAY_TO_STRING: {
    minArgs: 2,
    maxArgs: 3,
    strict: true,
    type: ([a, sep, nulls], n) => (array(a!, n), text(sep!, n), nulls === undefined || text(nulls, n), 'text'),
    // NULL elements are left out, or written as the third argument.
    call: ([a, sep, nulls]) =>
      elementsOf(a!)
        .flatMap((e) => (e !== null ? [arrayElementText(e)] : nulls === undefined ? [] : [str(nulls)]))
        .join(str(sep!)),
  },
  ARRAY_LENGTH: { minArgs: 2, maxArgs: 2, strict: true, type: ([a, d], n) => (array(a!, n), integer(d!, n), 'int'), call: ([a, d]) => (int(d!) === 1n && elementsOf(a!).length > 0 ? BigInt(elementsOf(a!).length) : null) },
  ARRAY_UPPER: { minArgs: 2, maxArgs: 2, strict: true, type: ([a, d], n) => (array(a!, n), integer(d!, n), 'int'), call: ([a, d]) => (int(d!) === 1n && elementsOf(a!).length > 0 ? BigInt(elementsOf(a!).length) : null) },
  ARRAY_LOWER: { minArgs: 2, maxArgs: 2, strict: true, type: ([a, d], n) => (array(a!, n), integer(d!, n), 'int'), call: ([a, d]) => (int(d!) === 1n && elementsOf(a!).length > 0 ? 1n : null) },
  CARDINALITY: { minArgs: 1, maxArgs: 1, strict: true, type: ([a], n) => (array(a!, n), 'int'), call: ([a]) => BigInt(elementsOf(a!).length) },
  // Every table could be published (there are no publications).
  PG_RELATION_IS_PUBLISHABLE: { minArgs: 1, maxArgs: 1, strict: true, type: () => 'bool', call: () => true },
  QUOTE_IDENT: {
    minArgs: 1,
    maxArgs: 1,
    strict: true,
    type: ([s], n) => (text(s!, n), 'text'),
    call: ([s]) => (/^[a-z_][a-z0-9_$]*$/.test(str(s!)) ? str(s!) : `"${str(s!).replaceAll('"', '""')}"`),
  },

  /** A new id on every call, unique across nodes (unique-rowid.ts): the default of SERIAL columns. */
  UNIQUE_ROWID: { minArgs: 0, maxArgs: 0, strict: false, type: () => 'int', call: () => uniqueRowId() },
}

/** What version() answers. */
export const SERVER_VERSION = 'PostgreSQL 15.0 (mrdb 0.1.0) on x86_64-pc-linux-gnu, a MultiRaft sharded SQL database'

const regexCache = new Map<string, RegExp>()

/** A POSIX regular expression as a JavaScript one (they agree on the common syntax); 2201B if it does not compile. */
function regex(pattern: string, flags: string): RegExp {
  const key = flags + pattern
  let re = regexCache.get(key)
  if (re === undefined) {
    try {
      re = new RegExp(pattern, `${flags}u`)
    } catch (cause) {
      return fail(SqlState.INVALID_REGULAR_EXPRESSION, `invalid regular expression: ${cause instanceof Error ? cause.message : String(cause)}`)
    }
    if (regexCache.size > 1000) regexCache.clear()
    regexCache.set(key, re)
  }
  return re
}

/** Other names PostgreSQL accepts for the same function. */
const ALIASES: Readonly<Record<string, string>> = {
  CHARACTER_LENGTH: 'CHAR_LENGTH',
  SUBSTR: 'SUBSTRING',
  BTRIM: 'TRIM',
  CEILING: 'CEIL',
  POW: 'POWER',
}

/** The canonical name of scalar function `name` (upper case), or undefined if there is none. */
export function scalarFunctionName(name: string): string | undefined {
  const upper = name.toUpperCase()
  const canonical = ALIASES[upper] ?? upper
  return FUNCTIONS[canonical] === undefined ? undefined : canonical
}

function definition(name: string, argCount: number): FunctionDef {
  const def = FUNCTIONS[name]
  if (def === undefined) return fail(SqlState.UNDEFINED_FUNCTION, `function ${name.toLowerCase()} does not exist`)
  if (argCount < def.minArgs || argCount > def.maxArgs) {
    fail(SqlState.UNDEFINED_FUNCTION, `function ${name.toLowerCase()} does not take ${argCount} argument${argCount === 1 ? '' : 's'}`)
  }
  return def
}

/** The result type of `name` applied to arguments of `args` types; raises 42883 or 42804 for wrong arguments. */
export function functionType(name: string, args: readonly StaticType[]): StaticType {
  return definition(name, args.length).type(args, name)
}

/** Calls scalar function `name` (canonical, see {@link scalarFunctionName}). */
export function callFunction(name: string, args: readonly SqlValue[]): SqlValue {
  const def = definition(name, args.length)
  if (def.strict && args.some((a) => a === null)) return null
  return def.call(args, name)
}

function extreme(args: readonly SqlValue[], sign: 1 | -1): SqlValue {
  let best: SqlValue = null
  for (const v of args) if (v !== null && (best === null || sign * compareValues(v, best) > 0)) best = v
  return best
}

/** A value as text, as PostgreSQL prints it in concat(). */
function textOf(v: SqlValue): string {
  if (typeof v === 'boolean') return v ? 't' : 'f'
  if (typeof v === 'string') return v
  if (typeof v === 'bigint' || typeof v === 'number') return String(v)
  if (isArrayValue(v)) return castText(v)
  if (isTypedValue(v)) return formatTyped(v)
  return fail(SqlState.DATATYPE_MISMATCH, `cannot convert ${valueTypeName(v)} to text`)
}

/** Rounds to the nearest integer, ties to even (PostgreSQL's round(double precision)). */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

// PostgreSQL's view of mrdb's values: type OIDs for result columns, values in text and
// binary format as PostgreSQL prints them, and bound parameters turned into SQL literals.

import { castText, formatTyped, isArrayValue, isTypedValue, PgType, pgTypeOf, skipQuotedOrComment, type SqlValue, type TypedValue } from '@mrdb/sql'
import type { FieldDescription } from './backend.js'
import { PgWireError, PgWireState } from './errors.js'

export { PgType }

/** What a result column of the SQL layer's type name is on the wire (@mrdb/sql pgTypeOf: the OIDs the catalog shows too). */
export function fieldOf(name: string, sqlType: string, format: number): FieldDescription {
  const t = pgTypeOf(sqlType)
  return { name, typeOid: t.oid, typeSize: t.size, typeModifier: t.modifier, format }
}

/** A float8 as PostgreSQL prints it (shortest exact digits; exponent from 1e15 and below 1e-4, at least two digits). */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return 'Infinity'
  if (v === -Infinity) return '-Infinity'
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const abs = Math.abs(v)
  if (abs >= 1e-4 && abs < 1e15) return String(v)
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2')
}

/** A value in text format (booleans 't'/'f'). */
export function textValue(v: Exclude<SqlValue, null>): string {
  switch (typeof v) {
    case 'bigint':
      return v.toString()
    case 'number':
      return formatFloat(v)
    case 'boolean':
      return v ? 't' : 'f'
    case 'string':
      return v
    default:
      return isArrayValue(v) ? castText(v) : formatTyped(v)
  }
}

/** A value encoded for the wire in `format` (0 text, 1 binary) for a column of type `typeOid`. */
export function encodeValue(v: SqlValue, typeOid: number, format: number): Buffer | null {
  if (v === null) return null
  if (format === 0) return Buffer.from(textValue(v), 'utf8')
  switch (typeOid) {
    case PgType.INT8: {
      const b = Buffer.alloc(8)
      b.writeBigInt64BE(BigInt(v as bigint | number))
      return b
    }
    case PgType.FLOAT8: {
      const b = Buffer.alloc(8)
      b.writeDoubleBE(Number(v))
      return b
    }
    case PgType.BOOL:
      return Buffer.of(v === true ? 1 : 0)
    case PgType.INT4:
    case PgType.INT2: {
      const b = Buffer.alloc(typeOid === PgType.INT4 ? 4 : 2)
      if (typeOid === PgType.INT4) b.writeInt32BE(Number(v))
      else b.writeInt16BE(Number(v))
      return b
    }
    case PgType.FLOAT4: {
      const b = Buffer.alloc(4)
      b.writeFloatBE(Number(v))
      return b
    }
    default:
      return isTypedValue(v) ? binaryTyped(v) : Buffer.from(textValue(v), 'utf8')
  }
}

/** Microseconds and days from 1970-01-01 (mrdb) to 2000-01-01 (PostgreSQL's binary epoch). */
const PG_EPOCH_MICROS = 946_684_800_000_000n
const PG_EPOCH_DAYS = 10_957

/** A typed value (NUMERIC, dates and times, INTERVAL, UUID, BYTEA, JSONB) in PostgreSQL's binary format. */
function binaryTyped(v: TypedValue | Uint8Array): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v)
  switch (v.type) {
    case 'date': {
      const b = Buffer.alloc(4)
      b.writeInt32BE(v.days - PG_EPOCH_DAYS)
      return b
    }
    case 'timestamp':
    case 'timestamptz': {
      const b = Buffer.alloc(8)
      b.writeBigInt64BE(v.micros - PG_EPOCH_MICROS)
      return b
    }
    case 'interval': {
      const b = Buffer.alloc(16)
      b.writeBigInt64BE(v.micros)
      b.writeInt32BE(v.days, 8)
      b.writeInt32BE(v.months, 12)
      return b
    }
    case 'uuid':
      return Buffer.from(v.text.replaceAll('-', ''), 'hex')
    case 'jsonb':
      return Buffer.concat([Buffer.of(1), Buffer.from(v.text, 'utf8')])
    case 'numeric':
      return binaryNumeric(v.text)
  }
}

/** NUMERIC's binary format: ndigits, weight, sign, dscale, then base-10000 digits (int16 each). */
function binaryNumeric(text: string): Buffer {
  const negative = text.startsWith('-')
  const [int = '', frac = ''] = text.replace(/^-/, '').split('.')
  const intPadded = int.padStart(Math.ceil(int.length / 4) * 4, '0')
  const fracPadded = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0')
  let digits: number[] = []
  for (let i = 0; i < intPadded.length; i += 4) digits.push(Number(intPadded.slice(i, i + 4)))
  for (let i = 0; i < fracPadded.length; i += 4) digits.push(Number(fracPadded.slice(i, i + 4)))
  let weight = intPadded.length / 4 - 1
  while (digits.length > 0 && digits[0] === 0) {
    digits.shift()
    weight--
  }
  while (digits.length > 0 && digits[digits.length - 1] === 0) digits.pop()
  if (digits.length === 0) weight = 0
  digits = digits.length === 0 ? [] : digits
  const b = Buffer.alloc(8 + digits.length * 2)
  b.writeInt16BE(digits.length, 0)
  b.writeInt16BE(weight, 2)
  b.writeUInt16BE(negative && digits.length > 0 ? 0x4000 : 0, 4)
  b.writeUInt16BE(frac.length, 6)
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + i * 2))
  return b
}

/** A bound parameter as a typed value: what to put where its `$n` stands. */
export type ParamValue = { readonly kind: 'null' } | { readonly kind: 'number'; readonly text: string } | { readonly kind: 'bool'; readonly value: boolean } | { readonly kind: 'string'; readonly text: string }

const INT_RE = /^[+-]?\d+$/
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

function invalid(type: string, text: string): never {
  throw new PgWireError(PgWireState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type ${type}: "${text.length > 60 ? `${text.slice(0, 60)}…` : text}"`)
}

/**
 * Reads a bound parameter's bytes by its declared type (0: unknown, inferred later) and
 * format. Numbers are checked here, so nothing but digits reaches the statement text.
 */
export function decodeParam(raw: Buffer | null, typeOid: number, format: number): ParamValue {
  if (raw === null) return { kind: 'null' }
  if (format === 1) return decodeBinaryParam(raw, typeOid)
  if (format !== 0) throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, `invalid parameter format code ${format}`)
  const text = raw.toString('utf8')
  switch (typeOid) {
    case PgType.INT2:
    case PgType.INT4:
    case PgType.INT8:
    case PgType.OID: {
      const t = text.trim()
      if (!INT_RE.test(t)) invalid(typeOid === PgType.INT8 ? 'bigint' : 'integer', text)
      return { kind: 'number', text: BigInt(t).toString() }
    }
    case PgType.FLOAT4:
    case PgType.FLOAT8:
    case PgType.NUMERIC: {
      const t = text.trim()
      if (!FLOAT_RE.test(t)) invalid(typeOid === PgType.NUMERIC ? 'numeric' : 'double precision', text)
      return { kind: 'number', text: t.replace(/^\+/, '') }
    }
    case PgType.BOOL: {
      const t = text.trim().toLowerCase()
      if (['t', 'true', 'yes', 'on', '1', 'y'].includes(t)) return { kind: 'bool', value: true }
      if (['f', 'false', 'no', 'off', '0', 'n'].includes(t)) return { kind: 'bool', value: false }
      return invalid('boolean', text)
    }
    default:
      return { kind: 'string', text }
  }
}

function decodeBinaryParam(raw: Buffer, typeOid: number): ParamValue {
  const size = (n: number) => {
    if (raw.length !== n) throw new PgWireError(PgWireState.INVALID_BINARY_REPRESENTATION, `incorrect binary data format in bound parameter: ${raw.length} bytes for a ${n}-byte type`)
  }
  switch (typeOid) {
    case PgType.INT2:
      size(2)
      return { kind: 'number', text: String(raw.readInt16BE(0)) }
    case PgType.INT4:
      size(4)
      return { kind: 'number', text: String(raw.readInt32BE(0)) }
    case PgType.INT8:
      size(8)
      return { kind: 'number', text: raw.readBigInt64BE(0).toString() }
    case PgType.FLOAT4:
    case PgType.FLOAT8: {
      size(typeOid === PgType.FLOAT4 ? 4 : 8)
      const v = typeOid === PgType.FLOAT4 ? raw.readFloatBE(0) : raw.readDoubleBE(0)
      if (!Number.isFinite(v)) throw new PgWireError(PgWireState.FEATURE_NOT_SUPPORTED, `parameter value ${v} is not supported`)
      return { kind: 'number', text: String(v) }
    }
    case PgType.BOOL:
      size(1)
      return { kind: 'bool', value: raw[0] !== 0 }
    case PgType.TEXT:
    case PgType.VARCHAR:
    case PgType.BPCHAR:
    case PgType.NAME:
    case PgType.UNKNOWN:
    case 0:
      return { kind: 'string', text: raw.toString('utf8') }
    default:
      throw new PgWireError(PgWireState.FEATURE_NOT_SUPPORTED, `binary format for parameters of type ${typeOid} is not supported`)
  }
}

/** A string literal that the SQL parser reads back as exactly `text` (or a 22P02 refusal). */
export function quoteString(text: string): string {
  if (text.includes('\0')) throw new PgWireError(PgWireState.INVALID_TEXT_REPRESENTATION, 'a text value cannot contain the character 0x00')
  // A standard string: quotes doubled, a backslash an ordinary character (skipQuotedOrComment).
  return `'${text.replaceAll("'", "''")}'`
}

/**
 * What an untyped parameter's context says it is: a column's base type across a comparison
 * or SET, a number (LIMIT, OFFSET), `compared` (a comparison with a column of no known
 * type), or nothing known (`none`: VALUES, select lists, function arguments).
 */
export type ParamContext = 'int' | 'float' | 'bool' | 'text' | 'number' | 'compared' | 'none'

const CANONICAL_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?$/

/**
 * The SQL literal a parameter becomes. Typed parameters keep their type. An untyped one is a
 * string literal (which INSERT and UPDATE convert to the column's type, as PostgreSQL's
 * unknown literals are) unless its context wants a number or a boolean and the text is one.
 */
export function literalOf(p: ParamValue, context: ParamContext): string {
  switch (p.kind) {
    case 'null':
      return 'NULL'
    case 'bool':
      return p.value ? 'TRUE' : 'FALSE'
    case 'number':
      return p.text.startsWith('-') ? `(${p.text})` : p.text
    case 'string': {
      const t = p.text.trim()
      const numeric = context === 'int' || context === 'float' || context === 'number' ? FLOAT_RE.test(t) : context === 'compared' && CANONICAL_NUMBER.test(p.text)
      if (numeric) return t.startsWith('-') ? `(${t})` : t.replace(/^\+/, '')
      if (context === 'bool') {
        const b = t.toLowerCase()
        if (['t', 'true', 'yes', 'on', '1'].includes(b)) return 'TRUE'
        if (['f', 'false', 'no', 'off', '0'].includes(b)) return 'FALSE'
      }
      return quoteString(p.text)
    }
  }
}

/** Where each `$n` of a statement stands: its number, offsets, and the identifier compared with it, if any. */
export interface Placeholder {
  readonly index: number
  readonly start: number
  readonly end: number
  /** A column name next to it across a comparison or `SET col =`, or `#limit` after LIMIT/OFFSET (for the type of an untyped parameter). */
  readonly neighbour: string | null
}

const IDENT_CHAR = /[A-Za-z0-9_$]/

/** Finds the `$n` placeholders of `sql`, outside quotes and comments (found as the parser finds them). */
export function findPlaceholders(sql: string): Placeholder[] {
  const out: Placeholder[] = []
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql[i]!
    const skipped = skipQuotedOrComment(sql, i)
    if (skipped !== i) {
      i = skipped
    } else if (c === '$' && /\d/.test(sql[i + 1] ?? '') && (i === 0 || !IDENT_CHAR.test(sql[i - 1]!))) {
      let j = i + 1
      while (j < n && /\d/.test(sql[j]!)) j++
      out.push({ index: Number(sql.slice(i + 1, j)), start: i, end: j, neighbour: neighbourOf(sql, i, j) })
      i = j
    } else if (IDENT_CHAR.test(c)) {
      while (i < n && IDENT_CHAR.test(sql[i]!)) i++
    } else i++
  }
  return out
}

/** The identifier on the other side of a comparison, arithmetic operator or `=` of SET around sql[start, end). */
function neighbourOf(sql: string, start: number, end: number): string | null {
  if (/\b(LIMIT|OFFSET)\s*$/i.test(sql.slice(Math.max(0, start - 20), start))) return '#limit'
  const before = /([A-Za-z_][A-Za-z0-9_]*)["`]?\s*(?:=|<>|!=|<=|>=|<|>|\+|-|\*|\/|%|\bLIKE|\bIN\s*\([^)]*)\s*$/i.exec(sql.slice(Math.max(0, start - 200), start))
  if (before) return before[1]!.toLowerCase()
  const after = /^\s*(?:=|<>|!=|<=|>=|<|>|\+|-|\*|\/|%)\s*["`]?([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(end, end + 200))
  if (after && !/^(NULL|TRUE|FALSE)$/i.test(after[1]!)) return after[1]!.toLowerCase()
  return null
}

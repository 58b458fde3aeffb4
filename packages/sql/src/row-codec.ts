// The value half of a row: every non-primary-key column, in column order.
// Layout: format byte 0x01, varint column count, then per column a tag byte and payload:
// 0 NULL | 1 INT (8 bytes, big-endian two's complement) | 2 FLOAT (8 bytes IEEE 754)
// | 3 TEXT (varint byte length + UTF-8) | 4 FALSE | 5 TRUE | 6 NUMERIC (varint length + its
// canonical ASCII text, scale included) | 7 DATE (4 bytes, days since 1970-01-01) | 8 TIMESTAMP
// and 9 TIMESTAMPTZ (8 bytes, microseconds since 1970-01-01 UTC) | 10 INTERVAL (4 bytes months,
// 4 bytes days, 8 bytes microseconds) | 11 BYTEA (varint length + bytes) | 12 UUID (16 bytes)
// | 13 JSONB (varint length + its canonical UTF-8 text).
// The count lets a later format add columns: missing trailing columns decode as NULL.

import { fail, SqlState } from './errors.js'
import { uuidBytes, uuidFromBytes } from './types/bytes.js'
import { isArrayValue } from './types/array.js'
import type { TypedValue } from './types/typed.js'
import type { SqlValue } from './values.js'

const FORMAT_V1 = 0x01
const enum Tag {
  NULL = 0,
  INT = 1,
  FLOAT = 2,
  TEXT = 3,
  FALSE = 4,
  TRUE = 5,
  NUMERIC = 6,
  DATE = 7,
  TIMESTAMP = 8,
  TIMESTAMPTZ = 9,
  INTERVAL = 10,
  BYTEA = 11,
  UUID = 12,
  JSONB = 13,
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Encodes `values` (the non-key columns of one row) into a row value. */
export function encodeRowValue(values: readonly SqlValue[]): Uint8Array {
  let size = 1 + 5
  const texts: Array<Uint8Array | null> = []
  for (const v of values) {
    const bytes = variableBytes(v)
    if (bytes !== null) {
      texts.push(bytes)
      size += 1 + 5 + bytes.length
    } else {
      texts.push(null)
      size += 17
    }
  }
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let pos = 0
  out[pos++] = FORMAT_V1
  pos = writeVarint(out, pos, values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    switch (typeof v) {
      case 'bigint':
        out[pos++] = Tag.INT
        view.setBigInt64(pos, v)
        pos += 8
        break
      case 'number':
        out[pos++] = Tag.FLOAT
        view.setFloat64(pos, v)
        pos += 8
        break
      case 'string': {
        const bytes = texts[i]!
        out[pos++] = Tag.TEXT
        pos = writeVarint(out, pos, bytes.length)
        out.set(bytes, pos)
        pos += bytes.length
        break
      }
      case 'boolean':
        out[pos++] = v ? Tag.TRUE : Tag.FALSE
        break
      case 'object':
        if (v === null) out[pos++] = Tag.NULL
        else if (isArrayValue(v)) fail(SqlState.FEATURE_NOT_SUPPORTED, 'arrays cannot be stored in tables')
        else pos = writeTyped(out, view, pos, v, texts[i] ?? null)
        break
      default:
        out[pos++] = Tag.NULL
    }
  }
  return out.slice(0, pos)
}

/** The variable-length payload of a value (TEXT, NUMERIC, BYTEA, JSONB), or null for fixed-size ones. */
function variableBytes(v: SqlValue): Uint8Array | null {
  if (typeof v === 'string') return encoder.encode(v)
  if (v === null || typeof v !== 'object') return null
  if (v instanceof Uint8Array) return v
  if (v.type === 'numeric' || v.type === 'jsonb') return encoder.encode(v.text)
  return null
}

function writeTyped(out: Uint8Array, view: DataView, pos: number, v: TypedValue | Uint8Array, bytes: Uint8Array | null): number {
  const withBytes = (tag: Tag) => {
    out[pos++] = tag
    pos = writeVarint(out, pos, bytes!.length)
    out.set(bytes!, pos)
    return pos + bytes!.length
  }
  if (v instanceof Uint8Array) return withBytes(Tag.BYTEA)
  switch (v.type) {
    case 'numeric':
      return withBytes(Tag.NUMERIC)
    case 'jsonb':
      return withBytes(Tag.JSONB)
    case 'date':
      out[pos++] = Tag.DATE
      view.setInt32(pos, v.days)
      return pos + 4
    case 'timestamp':
    case 'timestamptz':
      out[pos++] = v.type === 'timestamp' ? Tag.TIMESTAMP : Tag.TIMESTAMPTZ
      view.setBigInt64(pos, v.micros)
      return pos + 8
    case 'interval':
      out[pos++] = Tag.INTERVAL
      view.setInt32(pos, v.months)
      view.setInt32(pos + 4, v.days)
      view.setBigInt64(pos + 8, v.micros)
      return pos + 16
    case 'uuid':
      out[pos++] = Tag.UUID
      out.set(uuidBytes(v), pos)
      return pos + 16
  }
}

/** Decodes a row value into `into` at the positions `slots` (the non-key columns' places in the row; -1: skip the value). */
export function decodeRowValue(bytes: Uint8Array, slots: readonly number[], into: SqlValue[]): void {
  if (bytes[0] !== FORMAT_V1) corrupt(`unknown row format ${bytes[0]}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 1
  const [count, afterCount] = readVarint(bytes, pos)
  pos = afterCount
  for (let i = 0; i < count; i++) {
    const tag = bytes[pos++]
    let v: SqlValue
    switch (tag) {
      case Tag.NULL:
        v = null
        break
      case Tag.INT:
        v = view.getBigInt64(pos)
        pos += 8
        break
      case Tag.FLOAT:
        v = view.getFloat64(pos)
        pos += 8
        break
      case Tag.TEXT: {
        const [len, start] = readVarint(bytes, pos)
        v = decoder.decode(bytes.subarray(start, start + len))
        pos = start + len
        break
      }
      case Tag.FALSE:
        v = false
        break
      case Tag.TRUE:
        v = true
        break
      case Tag.NUMERIC:
      case Tag.JSONB:
      case Tag.BYTEA: {
        const [len, start] = readVarint(bytes, pos)
        const payload = bytes.subarray(start, start + len)
        v = tag === Tag.BYTEA ? payload.slice() : { type: tag === Tag.NUMERIC ? 'numeric' : 'jsonb', text: decoder.decode(payload) }
        pos = start + len
        break
      }
      case Tag.DATE:
        v = { type: 'date', days: view.getInt32(pos) }
        pos += 4
        break
      case Tag.TIMESTAMP:
      case Tag.TIMESTAMPTZ:
        v = { type: tag === Tag.TIMESTAMP ? 'timestamp' : 'timestamptz', micros: view.getBigInt64(pos) }
        pos += 8
        break
      case Tag.INTERVAL:
        v = { type: 'interval', months: view.getInt32(pos), days: view.getInt32(pos + 4), micros: view.getBigInt64(pos + 8) }
        pos += 16
        break
      case Tag.UUID:
        v = uuidFromBytes(bytes.subarray(pos, pos + 16))
        pos += 16
        break
      default:
        return corrupt(`unknown value tag ${tag}`)
    }
    const slot = i < slots.length ? slots[i]! : -1
    if (slot >= 0) into[slot] = v
  }
  for (let i = count; i < slots.length; i++) if (slots[i]! >= 0) into[slots[i]!] = null
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  out[pos++] = n
  return pos
}

function readVarint(bytes: Uint8Array, pos: number): [number, number] {
  let n = 0
  let shift = 0
  for (;;) {
    if (pos >= bytes.length) corrupt('truncated varint')
    const b = bytes[pos++]!
    n |= (b & 0x7f) << shift
    if (b < 0x80) return [n >>> 0, pos]
    shift += 7
    if (shift > 28) corrupt('varint too long')
  }
}

function corrupt(message: string): never {
  return fail(SqlState.INTERNAL_ERROR, `corrupt row value: ${message}`)
}

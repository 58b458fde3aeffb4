// BYTEA and UUID: bytes with PostgreSQL's text forms. A BYTEA value is a Uint8Array (which
// crosses worker threads as is); a UUID is its canonical text, stored as 16 bytes.

import { fail, SqlState } from '../errors.js'

/** A UUID: `text` is the canonical lower-case form, 8-4-4-4-12 hex digits. */
export interface UuidValue {
  readonly type: 'uuid'
  readonly text: string
}

function invalid(type: string, text: string): never {
  return fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type ${type}: "${text.length > 60 ? `${text.slice(0, 60)}…` : text}"`)
}

/** BYTEA from text: hex (`\x0102`, whitespace between pairs allowed) or the escape format (`ab\000\\`). */
export function parseBytea(text: string): Uint8Array {
  if (text.startsWith('\\x') || text.startsWith('\\X')) {
    const hex = text.slice(2).replace(/\s+/g, '')
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) invalid('bytea', text)
    const out = new Uint8Array(hex.length / 2)
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
    return out
  }
  const out: number[] = []
  const utf8 = new TextEncoder().encode(text)
  for (let i = 0; i < utf8.length; i++) {
    const b = utf8[i]!
    if (b !== 0x5c) {
      out.push(b)
      continue
    }
    if (utf8[i + 1] === 0x5c) {
      out.push(0x5c)
      i++
      continue
    }
    const oct = String.fromCharCode(...utf8.subarray(i + 1, i + 4))
    if (!/^[0-3][0-7]{2}$/.test(oct)) invalid('bytea', text)
    out.push(parseInt(oct, 8))
    i += 3
  }
  return Uint8Array.from(out)
}

/** BYTEA as PostgreSQL prints it (bytea_output = hex): `\x0102`. */
export function formatBytea(b: Uint8Array): string {
  let s = '\\x'
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

/** Bytewise order of two byte strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** UUID from text: 32 hex digits, optionally in braces, with hyphens between groups of four (as PostgreSQL accepts). */
export function parseUuid(text: string): UuidValue {
  let t = text.trim()
  if (t.startsWith('{') && t.endsWith('}')) t = t.slice(1, -1)
  if (!/^[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}$/.test(t)) invalid('uuid', text)
  return uuidFromHex(t.replaceAll('-', '').toLowerCase())
}

function uuidFromHex(hex: string): UuidValue {
  return { type: 'uuid', text: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` }
}

/** A UUID's 16 bytes. */
export function uuidBytes(u: UuidValue): Uint8Array {
  const hex = u.text.replaceAll('-', '')
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** The UUID of 16 bytes. */
export function uuidFromBytes(b: Uint8Array): UuidValue {
  if (b.length !== 16) fail(SqlState.INTERNAL_ERROR, `a uuid has 16 bytes, not ${b.length}`)
  let hex = ''
  for (const x of b) hex += x.toString(16).padStart(2, '0')
  return uuidFromHex(hex)
}

/** A random (version 4) UUID, as gen_random_uuid() returns. */
export function randomUuid(): UuidValue {
  return { type: 'uuid', text: globalThis.crypto.randomUUID() }
}

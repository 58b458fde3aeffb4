import { StorageError, StorageErrorCode } from './errors.js'

/**
 * An exact decimal number as a key part: `decimal` is its text, `[-]digits[.digits][e[+-]digits]`.
 * Numerically equal texts ('1.50', '1.5', '15e-1') encode to the same bytes; decoding gives
 * the normalized form `[-]0.<digits>e<exponent>` (digits without trailing zeros), or '0'.
 */
export interface KeyDecimal {
  readonly decimal: string
}

/**
 * One element of an encoded key tuple.
 * - `null`
 * - `bigint`: a signed 64-bit integer
 * - `number`: a 64-bit float (every JS number is encoded as a float; use bigint for integers)
 * - {@link KeyDecimal}: an exact decimal of any size and precision
 * - `string`: Unicode text (must be well-formed: no lone surrogates), NUL allowed
 * - `Uint8Array`: raw bytes
 * - `boolean`
 */
export type KeyPart = null | bigint | number | KeyDecimal | string | Uint8Array | boolean

/**
 * Type tags, in the order values of different types sort:
 * null < integer < decimal < float < bytes < string < false < true.
 */
const Tag = {
  NULL: 0x05,
  INT: 0x10,
  /** Decimals: negative < zero < positive (see {@link KeyWriter.decimal}). */
  DECIMAL_NEG: 0x14,
  DECIMAL_ZERO: 0x15,
  DECIMAL_POS: 0x16,
  FLOAT: 0x20,
  BYTES: 0x30,
  STRING: 0x40,
  FALSE: 0x50,
  TRUE: 0x51,
} as const

/** Escaped byte strings end with 0x00 0x01; a NUL inside is written 0x00 0xff. */
const ESCAPE = 0x00
const ESCAPED_NUL = 0xff
const TERMINATOR = 0x01

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const SIGN_BIT = 1n << 63n

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Encodes a tuple so that bytewise order of encodings equals the order of tuples:
 * element by element, by type first (see {@link Tag}), then by value; a tuple sorts
 * before any longer tuple it is a prefix of. Integers order numerically, floats order
 * -Infinity < … < -0 < +0 < … < +Infinity < NaN (all NaNs are one value), strings by
 * Unicode code point, bytes bytewise, false < true, decimals numerically (integers, decimals
 * and floats are different types: 1n, {decimal: '1'} and 1 are three keys).
 */
export function encodeKey(parts: readonly KeyPart[]): Uint8Array {
  const w = new KeyWriter()
  for (const part of parts) w.write(part)
  return w.finish()
}

/** Decodes bytes made by {@link encodeKey} back to the tuple; malformed input raises ERR_INVALID_KEY. */
export function decodeKey(bytes: Uint8Array): KeyPart[] {
  const parts: KeyPart[] = []
  const r = new KeyReader(bytes)
  while (!r.done()) parts.push(r.read())
  return parts
}

/** Encodes raw bytes so that they are self-delimiting and keep their order (used as a key prefix). */
export function encodeBytesPart(bytes: Uint8Array): Uint8Array {
  const w = new KeyWriter()
  w.escaped(bytes)
  return w.finish()
}

/** Reads one {@link encodeBytesPart} value at `offset`; returns it and the offset just past it. */
export function decodeBytesPart(bytes: Uint8Array, offset: number): { value: Uint8Array; end: number } {
  const r = new KeyReader(bytes, offset)
  const value = r.escaped()
  return { value, end: r.offset }
}

class KeyWriter {
  private buf = new Uint8Array(64)
  private len = 0
  private readonly scratch = new DataView(new ArrayBuffer(8))

  write(part: KeyPart): void {
    if (part === null) return this.byte(Tag.NULL)
    switch (typeof part) {
      case 'bigint':
        return this.int(part)
      case 'number':
        return this.float(part)
      case 'string':
        if (!part.isWellFormed()) invalid('string key part has a lone surrogate')
        this.byte(Tag.STRING)
        return this.escaped(utf8Encoder.encode(part))
      case 'boolean':
        return this.byte(part ? Tag.TRUE : Tag.FALSE)
      default:
        if (part instanceof Uint8Array) {
          this.byte(Tag.BYTES)
          return this.escaped(part)
        }
        if (typeof part === 'object' && typeof (part as KeyDecimal).decimal === 'string') return this.decimal(part.decimal)
        invalid(`unsupported key part type ${typeof part}`)
    }
  }

  int(v: bigint): void {
    if (v < INT64_MIN || v > INT64_MAX) invalid(`integer key part ${v} is outside signed 64-bit range`)
    this.byte(Tag.INT)
    this.scratch.setBigUint64(0, BigInt.asUintN(64, v) ^ SIGN_BIT)
    this.raw(new Uint8Array(this.scratch.buffer, 0, 8))
  }

  float(v: number): void {
    this.byte(Tag.FLOAT)
    // Positive floats (and +0): flip the sign bit. Negative: flip every bit. NaN: one canonical value.
    this.scratch.setFloat64(0, Number.isNaN(v) ? Number.NaN : v)
    const bits = this.scratch.getBigUint64(0)
    this.scratch.setBigUint64(0, bits & SIGN_BIT ? ~bits & 0xffff_ffff_ffff_ffffn : bits ^ SIGN_BIT)
    this.raw(new Uint8Array(this.scratch.buffer, 0, 8))
  }

  /**
   * A decimal 0.d1d2…dn × 10^e (d1 ≠ 0, dn ≠ 0): the sign's tag, then for a positive number
   * e as a 32-bit integer with its sign bit flipped and the digits as ASCII ending in 0x00;
   * for a negative one -e and the digits mapped '0'→'9', '1'→'8', … ending in 0xff, so that
   * bigger magnitudes sort first. A shorter digit string is a prefix of a longer one with the
   * same leading digits, and its terminator sorts before (positive) or after (negative) any digit.
   */
  decimal(text: string): void {
    const { negative, digits, exponent } = parseDecimal(text)
    if (digits === '') return this.byte(Tag.DECIMAL_ZERO)
    this.byte(negative ? Tag.DECIMAL_NEG : Tag.DECIMAL_POS)
    this.scratch.setUint32(0, ((negative ? -exponent : exponent) ^ 0x8000_0000) >>> 0)
    this.raw(new Uint8Array(this.scratch.buffer, 0, 4))
    this.reserve(digits.length + 1)
    for (let i = 0; i < digits.length; i++) {
      const d = digits.charCodeAt(i)
      this.buf[this.len++] = negative ? DIGIT_0 + DIGIT_9 - d : d
    }
    this.buf[this.len++] = negative ? 0xff : 0x00
  }

  escaped(bytes: Uint8Array): void {
    this.reserve(bytes.length * 2 + 2)
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!
      this.buf[this.len++] = b
      if (b === ESCAPE) this.buf[this.len++] = ESCAPED_NUL
    }
    this.buf[this.len++] = ESCAPE
    this.buf[this.len++] = TERMINATOR
  }

  byte(b: number): void {
    this.reserve(1)
    this.buf[this.len++] = b
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length)
    this.buf.set(bytes, this.len)
    this.len += bytes.length
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len)
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n))
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }
}

class KeyReader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset = 0,
  ) {}

  done(): boolean {
    return this.offset >= this.bytes.length
  }

  read(): KeyPart {
    const tag = this.bytes[this.offset++]
    switch (tag) {
      case Tag.NULL:
        return null
      case Tag.INT:
        return this.int64()
      case Tag.DECIMAL_ZERO:
        return { decimal: '0' }
      case Tag.DECIMAL_NEG:
      case Tag.DECIMAL_POS:
        return this.decimal(tag === Tag.DECIMAL_NEG)
      case Tag.FLOAT: {
        const enc = this.fixed64()
        const bits = enc & SIGN_BIT ? enc ^ SIGN_BIT : ~enc & 0xffff_ffff_ffff_ffffn
        const view = new DataView(new ArrayBuffer(8))
        view.setBigUint64(0, bits)
        return view.getFloat64(0)
      }
      case Tag.BYTES:
        return this.escaped()
      case Tag.STRING:
        try {
          return utf8Decoder.decode(this.escaped(false))
        } catch (cause) {
          throw new StorageError(StorageErrorCode.INVALID_KEY, 'string key part is not valid UTF-8', { cause })
        }
      case Tag.FALSE:
        return false
      case Tag.TRUE:
        return true
      default:
        return invalid(`unknown type tag ${tag} at offset ${this.offset - 1}`)
    }
  }

  decimal(negative: boolean): KeyDecimal {
    if (this.offset + 4 > this.bytes.length) invalid('truncated decimal exponent in key')
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 4)
    const e = (view.getUint32(0) ^ 0x8000_0000) | 0
    this.offset += 4
    let digits = ''
    for (;;) {
      if (this.offset >= this.bytes.length) invalid('unterminated decimal in key')
      const b = this.bytes[this.offset++]!
      if (b === (negative ? 0xff : 0x00)) break
      const d = negative ? DIGIT_0 + DIGIT_9 - b : b
      if (d < DIGIT_0 || d > DIGIT_9) invalid('bad decimal digit in key')
      digits += String.fromCharCode(d)
    }
    if (digits === '' || digits.startsWith('0') || digits.endsWith('0')) invalid('decimal digits in key are not normalized')
    return { decimal: `${negative ? '-' : ''}0.${digits}e${negative ? -e : e}` }
  }

  /**
   * A signed integer (stored with its sign bit flipped, big-endian). Those of up to 53 bits —
   * nearly every key — are read as two 32-bit words into one BigInt, without the 64-bit path's
   * DataView and three BigInt operations.
   */
  int64(): bigint {
    if (this.offset + 8 > this.bytes.length) invalid('truncated 8-byte key part')
    const b = this.bytes
    const o = this.offset
    this.offset += 8
    const high = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) ^ 0x8000_0000 // the signed high word
    const low = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0
    if (high >= -0x20_0000 && high < 0x20_0000) return BigInt(high * 0x1_0000_0000 + low)
    return (BigInt(high) << 32n) + BigInt(low)
  }

  fixed64(): bigint {
    if (this.offset + 8 > this.bytes.length) invalid('truncated 8-byte key part')
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 8)
    this.offset += 8
    return view.getBigUint64(0)
  }

  /** An escaped byte string: a copy of its bytes, or (`copy` false, for a caller that only reads them at once) possibly a view. */
  escaped(copy = true): Uint8Array {
    // Most byte strings hold no NUL: they end at the first escape byte.
    const end = this.bytes.indexOf(ESCAPE, this.offset)
    if (end >= 0 && this.bytes[end + 1] === TERMINATOR) {
      const view = this.bytes.subarray(this.offset, end)
      this.offset = end + 2
      return copy ? new Uint8Array(view) : view
    }
    const out: number[] = []
    for (;;) {
      if (this.offset >= this.bytes.length) invalid('unterminated byte string in key')
      const b = this.bytes[this.offset++]!
      if (b !== ESCAPE) {
        out.push(b)
        continue
      }
      const next = this.bytes[this.offset++]
      if (next === TERMINATOR) return Uint8Array.from(out)
      if (next !== ESCAPED_NUL) invalid('bad escape in key byte string')
      out.push(0)
    }
  }
}

const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i

/** A decimal text as sign, significant digits (no leading or trailing zeros; '' for zero) and e in 0.digits × 10^e. */
function parseDecimal(text: string): { negative: boolean; digits: string; exponent: number } {
  const m = DECIMAL_TEXT.exec(text)
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return invalid(`decimal key part ${JSON.stringify(text.slice(0, 40))} is not a number`)
  const all = m[2]! + (m[3] ?? '')
  const lead = all.length - all.replace(/^0+/, '').length
  const digits = all.slice(lead).replace(/0+$/, '')
  const exponent = m[2]!.length - lead + Number(m[4] ?? 0)
  if (!Number.isSafeInteger(exponent) || exponent > 0x3fff_ffff || exponent < -0x3fff_ffff) invalid(`decimal key part exponent out of range`)
  return { negative: m[1] === '-' && digits !== '', digits, exponent }
}

function invalid(message: string): never {
  throw new StorageError(StorageErrorCode.INVALID_KEY, message)
}

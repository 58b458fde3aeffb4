// The structural check of a protobuf message from the network, before it is decoded: a walk
// over its wire format along the schema, in time linear in its bytes, that refuses what the
// decoder would misread or pay too dearly for. protobufjs reads a known field with whatever
// wire type it finds (a length-delimited value in a uint32 field becomes a garbage number, a
// varint beyond 32 bits in a uint32 field is cut to 32), skips unknown groups recursively
// (64 MiB of nested groups overflows the stack), and allocates an object per message and per
// bytes field: 64 MiB of empty messages under the server's message limit is 32 million of
// them. So: every known field must have its declared wire type, a 32-bit field's varint must
// fit 32 bits, groups and fixed-width values (no field of the schema uses them) are refused,
// every length must lie within its message, and a message may not be denser in fields than
// real requests are (the same budget as the JSON bodies had: 4,096 plus one per 4 bytes).
// Pure: no I/O.

import type { Type } from 'protobufjs'
import { KvError, KvErrorCode } from './errors.js'

/** Fields any message may have, however short. */
const BASE_FIELDS = 4096
/**
 * Beyond {@link BASE_FIELDS}, a message must spend at least this many bytes per field. Real
 * requests spend more: a get of a 2-byte key with a timestamp spends 4, a put of a 20-byte
 * key and a 100-byte value 28; an empty message spends 2.
 */
const MIN_BYTES_PER_FIELD = 4

const VARINT = 0
const FIXED64 = 1
const LENGTH_DELIMITED = 2
const FIXED32 = 5

/** Field types whose varint must fit in 32 bits. */
const THIRTY_TWO_BIT = new Set(['uint32', 'int32', 'sint32'])

/**
 * Throws KvError INVALID_ARGUMENT unless `bytes` is a well-formed message of `type` (see the
 * file comment). `type` must come from a resolved root (`Root.resolveAll()`).
 */
export function checkFrame(bytes: Uint8Array, type: Type): void {
  const budget = { left: BASE_FIELDS + Math.floor(bytes.byteLength / MIN_BYTES_PER_FIELD) }
  walk(bytes, 0, bytes.byteLength, type, budget)
}

function walk(buf: Uint8Array, start: number, end: number, type: Type, budget: { left: number }): void {
  let pos = start
  while (pos < end) {
    if (--budget.left < 0) throw malformed(`more than ${BASE_FIELDS} + 1 per ${MIN_BYTES_PER_FIELD} bytes of fields in ${buf.byteLength} bytes`)
    const [tag, afterTag] = varint(buf, pos, end)
    pos = afterTag
    const wire = tag % 8
    const id = Math.floor(tag / 8)
    const field = id > 0 && id < 2 ** 29 ? type.fieldsById[id] : undefined
    const nested = field?.resolvedType && 'fields' in field.resolvedType ? (field.resolvedType as Type) : undefined
    if (field) {
      const expected = nested || field.type === 'bytes' || field.type === 'string' ? LENGTH_DELIMITED : VARINT
      if (wire !== expected) throw malformed(`field ${type.name}.${field.name} has wire type ${wire}, expected ${expected}`)
    }
    switch (wire) {
      case VARINT: {
        const [value, next] = varint(buf, pos, end)
        if (field && THIRTY_TWO_BIT.has(field.type) && value >= 2 ** 32) throw malformed(`field ${type.name}.${field.name} is over 32 bits`)
        pos = next
        break
      }
      case LENGTH_DELIMITED: {
        const [length, next] = varint(buf, pos, end)
        if (length > end - next) throw malformed(`a length of ${length} runs past the end of its message`)
        if (nested) walk(buf, next, next + length, nested, budget)
        pos = next + length
        break
      }
      case FIXED64:
      case FIXED32: {
        const width = wire === FIXED64 ? 8 : 4
        if (width > end - pos) throw malformed('a fixed-width value runs past the end of its message')
        pos += width
        break
      }
      default:
        throw malformed(`wire type ${wire} (groups are not used)`)
    }
  }
}

/** The varint at `pos` (as a number: exact below 2^53, enough to compare) and the position after it. */
function varint(buf: Uint8Array, pos: number, end: number): [number, number] {
  let value = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw malformed('a varint runs past the end of its message')
    const b = buf[pos++]!
    value += (b & 0x7f) * scale
    if (b < 0x80) return [value, pos]
    scale *= 128
  }
  throw malformed('a varint longer than 10 bytes')
}

function malformed(why: string): KvError {
  return new KvError(KvErrorCode.INVALID_ARGUMENT, `malformed message: ${why}`)
}

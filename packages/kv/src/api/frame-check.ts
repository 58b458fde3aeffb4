// The structural check of a protobuf message from the network, before it is decoded: a walk
// over its wire format along the schema, in time linear in its bytes, that refuses what the
// decoder would misread or pay too dearly for. protobufjs reads a known field with whatever
// wire type it finds (a length-delimited value in a uint32 field becomes a garbage number, a
// varint beyond 32 bits in a uint32 field is cut to 32), skips unknown groups recursively
// (64 MiB of nested groups overflows the stack), and allocates an object per message, bytes
// field and 64-bit number: 64 MiB of empty messages under the server's message limit is 32
// million of them, gigabytes of heap. So: every known field must have its declared wire
// type, a 32-bit field's varint must fit 32 bits, groups and fixed-width values (no field of
// the schema uses them) are refused, field numbers must be valid, every length must lie within its message, and a message may
// hold at most MAX_FRAME_VALUES values. (A density budget like the JSON bodies' cannot tell
// garbage from real requests here: a batch of one-byte deletes spends 2.5 bytes a value,
// empty messages 2.)
// Pure: no I/O.

import type { Type } from 'protobufjs'
import { KvError, KvErrorCode } from './errors.js'

/**
 * Values (fields) one message may hold. Each costs the decoder an object or a property, up to
 * a few hundred MB at this cap; real messages hold far fewer (a client sends at most 512
 * requests a message, and a command is at most 8 MiB: a batch of 1.6 million one-byte
 * deletes, the densest, is 3.2 million values), while 64 MiB of empty messages is 32 million.
 */
export const MAX_FRAME_VALUES = 4 * 1024 * 1024

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
  const budget = { left: MAX_FRAME_VALUES }
  walk(bytes, 0, bytes.byteLength, type, budget)
}

function walk(buf: Uint8Array, start: number, end: number, type: Type, budget: { left: number }): void {
  let pos = start
  while (pos < end) {
    const [tag, afterTag] = varint(buf, pos, end)
    pos = afterTag
    const wire = tag % 8
    const id = Math.floor(tag / 8)
    if (id === 0 || id >= 2 ** 29) throw malformed(`field number ${id}`)
    const field = type.fieldsById[id]
    const nested = field?.resolvedType && 'fields' in field.resolvedType ? (field.resolvedType as Type) : undefined
    if (field) {
      const expected = nested || field.type === 'bytes' || field.type === 'string' ? LENGTH_DELIMITED : VARINT
      if (wire !== expected) throw malformed(`field ${type.name}.${field.name} has wire type ${wire}, expected ${expected}`)
    }
    if (--budget.left < 0) throw malformed(`more than ${MAX_FRAME_VALUES} values`)
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

// Decoding what a PostgreSQL client sends (protocol 3.0): the untyped startup packets
// (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest) and the typed messages after
// them. Pure: bytes in, values out. Every length is checked against the bytes present and a
// limit, so lying, huge or negative lengths are 08P01 protocol violations, never a crash or
// an unbounded buffer. (node-postgres's pg-protocol parses only the server's messages, and
// its BufferReader reads past a missing terminator: this file is the client side's reader.)

import { protocolViolation } from './errors.js'

/** The protocol version 3.0 as a startup packet carries it. */
export const PROTOCOL_3 = 196608
/** The magic "version" codes of the special startup packets. */
export const SSL_REQUEST_CODE = 80877103
export const GSSENC_REQUEST_CODE = 80877104
export const CANCEL_REQUEST_CODE = 80877102

/** The largest startup packet accepted (PostgreSQL's own limit is 10,000 bytes). */
export const MAX_STARTUP_BYTES = 10_000

/** A decoded startup packet. */
export type StartupPacket =
  | { readonly kind: 'startup'; readonly parameters: ReadonlyMap<string, string> }
  | { readonly kind: 'ssl-request' }
  | { readonly kind: 'gssenc-request' }
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: number }

/** Describe and Close name a prepared statement ('S') or a portal ('P'). */
export type Target = 'statement' | 'portal'

/** A decoded typed message from the client. */
export type FrontendMessage =
  | { readonly kind: 'query'; readonly sql: string }
  | { readonly kind: 'parse'; readonly name: string; readonly sql: string; readonly paramTypes: readonly number[] }
  | {
      readonly kind: 'bind'
      readonly portal: string
      readonly statement: string
      readonly paramFormats: readonly number[]
      readonly params: ReadonlyArray<Buffer | null>
      readonly resultFormats: readonly number[]
    }
  | { readonly kind: 'describe'; readonly target: Target; readonly name: string }
  | { readonly kind: 'execute'; readonly portal: string; readonly maxRows: number }
  | { readonly kind: 'close'; readonly target: Target; readonly name: string }
  | { readonly kind: 'sync' }
  | { readonly kind: 'flush' }
  | { readonly kind: 'terminate' }
  | { readonly kind: 'password'; readonly data: Buffer }
  | { readonly kind: 'copy'; readonly type: string }

/** A bounds-checked reader over one message body. */
class Reader {
  private at = 0

  constructor(private readonly buf: Buffer) {}

  int16(): number {
    this.need(2)
    const v = this.buf.readInt16BE(this.at)
    this.at += 2
    return v
  }

  int32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.at)
    this.at += 4
    return v
  }

  byte(): number {
    this.need(1)
    return this.buf[this.at++]!
  }

  cstring(): string {
    const end = this.buf.indexOf(0, this.at)
    if (end < 0) protocolViolation('invalid string in message: no terminator')
    const s = this.buf.toString('utf8', this.at, end)
    this.at = end + 1
    return s
  }

  bytes(n: number): Buffer {
    this.need(n)
    const b = this.buf.subarray(this.at, this.at + n)
    this.at += n
    return b
  }

  /** A count field: non-negative and small enough for the bytes left (each item needs `minItemBytes`). */
  count(minItemBytes: number): number {
    const n = this.int16()
    if (n < 0 || n * minItemBytes > this.buf.length - this.at) protocolViolation(`invalid count ${n} in message`)
    return n
  }

  rest(): Buffer {
    const b = this.buf.subarray(this.at)
    this.at = this.buf.length
    return b
  }

  end(what: string): void {
    if (this.at !== this.buf.length) protocolViolation(`invalid message format: ${this.buf.length - this.at} stray bytes in ${what}`)
  }

  private need(n: number): void {
    if (n < 0 || this.at + n > this.buf.length) protocolViolation('invalid message format: a field runs past the end of the message')
  }
}

/** Decodes a startup packet's body (the bytes after its length). */
export function decodeStartup(body: Buffer): StartupPacket {
  const r = new Reader(body)
  const code = r.int32()
  switch (code) {
    case SSL_REQUEST_CODE:
      r.end('SSLRequest')
      return { kind: 'ssl-request' }
    case GSSENC_REQUEST_CODE:
      r.end('GSSENCRequest')
      return { kind: 'gssenc-request' }
    case CANCEL_REQUEST_CODE: {
      const processId = r.int32()
      const secretKey = r.int32()
      r.end('CancelRequest')
      return { kind: 'cancel', processId, secretKey }
    }
    case PROTOCOL_3: {
      const parameters = new Map<string, string>()
      for (;;) {
        const name = r.cstring()
        if (name === '') break
        parameters.set(name, r.cstring())
      }
      r.end('StartupMessage')
      return { kind: 'startup', parameters }
    }
    default:
      return protocolViolation(`unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0`)
  }
}

/** Decodes a typed message from its type byte and body. */
export function decodeMessage(type: number, body: Buffer): FrontendMessage {
  const r = new Reader(body)
  let m: FrontendMessage
  switch (String.fromCharCode(type)) {
    case 'Q':
      m = { kind: 'query', sql: r.cstring() }
      break
    case 'P': {
      const name = r.cstring()
      const sql = r.cstring()
      const n = r.count(4)
      const paramTypes = Array.from({ length: n }, () => r.int32() >>> 0)
      m = { kind: 'parse', name, sql, paramTypes }
      break
    }
    case 'B': {
      const portal = r.cstring()
      const statement = r.cstring()
      const paramFormats = Array.from({ length: r.count(2) }, () => r.int16())
      const params = Array.from({ length: r.count(4) }, () => {
        const len = r.int32()
        if (len === -1) return null
        if (len < 0) protocolViolation(`invalid parameter length ${len}`)
        return r.bytes(len)
      })
      const resultFormats = Array.from({ length: r.count(2) }, () => r.int16())
      m = { kind: 'bind', portal, statement, paramFormats, params, resultFormats }
      break
    }
    case 'D':
    case 'C': {
      const t = r.byte()
      if (t !== 0x53 && t !== 0x50) protocolViolation(`invalid ${type === 0x44 ? 'DESCRIBE' : 'CLOSE'} message subtype ${t}`)
      const target: Target = t === 0x53 ? 'statement' : 'portal'
      m = { kind: type === 0x44 ? 'describe' : 'close', target, name: r.cstring() }
      break
    }
    case 'E': {
      const portal = r.cstring()
      m = { kind: 'execute', portal, maxRows: r.int32() }
      break
    }
    case 'S':
      m = { kind: 'sync' }
      break
    case 'H':
      m = { kind: 'flush' }
      break
    case 'X':
      m = { kind: 'terminate' }
      break
    case 'p':
      m = { kind: 'password', data: r.rest() }
      break
    case 'd':
    case 'c':
    case 'f':
      r.rest()
      m = { kind: 'copy', type: String.fromCharCode(type) }
      break
    default:
      return protocolViolation(`invalid frontend message type ${type}`)
  }
  r.end(m.kind)
  return m
}

/** A complete frame cut from the stream: a startup packet (no type byte) or a typed message. */
export type Frame = { readonly type: null; readonly body: Buffer } | { readonly type: number; readonly body: Buffer }

/**
 * Cuts the byte stream into frames. The first frames are untyped startup packets (length
 * first); once {@link startupDone} is called, typed messages (type byte, then length). A
 * length below its own 4 bytes, or above the limit, is a protocol violation: nothing is
 * buffered beyond one message of at most `maxMessageBytes`.
 */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0)
  private typed = false

  constructor(private readonly maxMessageBytes: number) {}

  /** From now on frames are typed messages. */
  startupDone(): void {
    this.typed = true
  }

  /** Bytes received but not yet a complete frame. */
  get buffered(): number {
    return this.pending.length
  }

  /** Adds received bytes; returns the next complete frame, or null until more arrive. Call again until null. */
  next(chunk?: Buffer): Frame | null {
    if (chunk !== undefined && chunk.length > 0) this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const head = this.typed ? 5 : 4
    if (this.pending.length < head) return null
    const length = this.pending.readInt32BE(head - 4)
    const limit = this.typed ? this.maxMessageBytes : MAX_STARTUP_BYTES
    if (length < 4) protocolViolation(`invalid message length ${length}`)
    if (length > limit) protocolViolation(`invalid message length ${length}: over the ${limit}-byte limit`)
    const total = head - 4 + length
    if (this.pending.length < total) return null
    const body = this.pending.subarray(head, total)
    const type = this.typed ? this.pending[0]! : null
    this.pending = this.pending.subarray(total)
    return type === null ? { type: null, body } : { type, body }
  }
}

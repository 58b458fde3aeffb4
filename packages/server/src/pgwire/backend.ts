// Encoding what the server sends (protocol 3.0): each function returns one framed message.
// The framing (type byte, length) is node-postgres's pg-protocol Writer.

import { Writer } from 'pg-protocol/dist/buffer-writer.js'

/** A result column as RowDescription describes it. */
export interface FieldDescription {
  readonly name: string
  readonly typeOid: number
  /** pg_type.typlen: 8 for int8 and float8, 1 for bool, -1 for variable length. */
  readonly typeSize: number
  readonly typeModifier: number
  /** 0 text, 1 binary. */
  readonly format: number
}

/** The fields of an ErrorResponse or NoticeResponse. */
export interface ErrorFields {
  readonly severity: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING'
  readonly code: string
  readonly message: string
  readonly detail?: string
  readonly hint?: string
  /** 1-based character position in the query text. */
  readonly position?: number
}

/** ReadyForQuery's transaction status: idle, in a transaction block, in a failed one. */
export type ReadyStatus = 'I' | 'T' | 'E'

function w(): Writer {
  return new Writer()
}

/** AuthenticationOk. */
export function authenticationOk(): Buffer {
  return w().addInt32(0).flush(0x52)
}

/** AuthenticationSASL: the SASL mechanisms the server accepts. */
export function authenticationSasl(mechanisms: readonly string[]): Buffer {
  const writer = w().addInt32(10)
  for (const m of mechanisms) writer.addCString(m)
  return writer.addCString('').flush(0x52)
}

/** AuthenticationSASLContinue: a server message of the SASL exchange (SCRAM's server-first-message). */
export function authenticationSaslContinue(data: string): Buffer {
  return w().addInt32(11).addString(data).flush(0x52)
}

/** AuthenticationSASLFinal: the last server message of the SASL exchange (SCRAM's server-final-message). */
export function authenticationSaslFinal(data: string): Buffer {
  return w().addInt32(12).addString(data).flush(0x52)
}

/** ParameterStatus: a run-time parameter's value. */
export function parameterStatus(name: string, value: string): Buffer {
  return w().addCString(name).addCString(value).flush(0x53)
}

/** BackendKeyData: what a CancelRequest must name. */
export function backendKeyData(processId: number, secretKey: number): Buffer {
  return w().addInt32(processId).addInt32(secretKey).flush(0x4b)
}

/** ReadyForQuery. */
export function readyForQuery(status: ReadyStatus): Buffer {
  return w().addString(status).flush(0x5a)
}

/** RowDescription. */
export function rowDescription(fields: readonly FieldDescription[]): Buffer {
  const m = w().addInt16(fields.length)
  for (const f of fields) m.addCString(f.name).addInt32(0).addInt16(0).addInt32(f.typeOid).addInt16(f.typeSize).addInt32(f.typeModifier).addInt16(f.format)
  return m.flush(0x54)
}

/** DataRow: each value already in its column's format; null is SQL NULL. */
export function dataRow(values: ReadonlyArray<Buffer | null>): Buffer {
  const m = w().addInt16(values.length)
  for (const v of values) {
    if (v === null) m.addInt32(-1)
    else m.addInt32(v.length).add(v)
  }
  return m.flush(0x44)
}

/**
 * DataRow messages of many rows whose values are texts (NULL as null), in one buffer: what
 * {@link dataRow} gives row by row, without a writer and a buffer per row and per value.
 */
export function textDataRows(rows: ReadonlyArray<ReadonlyArray<string | null>>): Buffer {
  let size = 0
  for (const row of rows) {
    size += 7 // type, length, column count
    for (const v of row) size += v === null ? 4 : 4 + Buffer.byteLength(v, 'utf8')
  }
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (const row of rows) {
    const start = at
    out[at] = 0x44
    at = out.writeInt16BE(row.length, at + 5)
    for (const v of row) {
      if (v === null) at = out.writeInt32BE(-1, at)
      else {
        const n = out.write(v, at + 4, 'utf8')
        out.writeInt32BE(n, at)
        at += 4 + n
      }
    }
    out.writeInt32BE(at - start - 1, start + 1)
  }
  return out
}

/** CommandComplete with its tag (`SELECT 3`, `INSERT 0 1`, `BEGIN`, …). */
export function commandComplete(tag: string): Buffer {
  return w().addCString(tag).flush(0x43)
}

/** EmptyQueryResponse: the query string held no statement. */
export function emptyQueryResponse(): Buffer {
  return w().flush(0x49)
}

function fields(f: ErrorFields): Writer {
  const m = w().addString('S').addCString(f.severity).addString('V').addCString(f.severity).addString('C').addCString(f.code).addString('M').addCString(f.message)
  if (f.detail !== undefined) m.addString('D').addCString(f.detail)
  if (f.hint !== undefined) m.addString('H').addCString(f.hint)
  if (f.position !== undefined) m.addString('P').addCString(String(f.position))
  return m.addCString('')
}

/** ErrorResponse. */
export function errorResponse(f: ErrorFields): Buffer {
  return fields(f).flush(0x45)
}

/** NoticeResponse. */
export function noticeResponse(f: ErrorFields): Buffer {
  return fields(f).flush(0x4e)
}

/** ParseComplete. */
export function parseComplete(): Buffer {
  return w().flush(0x31)
}

/** BindComplete. */
export function bindComplete(): Buffer {
  return w().flush(0x32)
}

/** CloseComplete. */
export function closeComplete(): Buffer {
  return w().flush(0x33)
}

/** NoData: the statement or portal returns no rows. */
export function noData(): Buffer {
  return w().flush(0x6e)
}

/** ParameterDescription: the type OIDs of a prepared statement's parameters. */
export function parameterDescription(typeOids: readonly number[]): Buffer {
  const m = w().addInt16(typeOids.length)
  for (const t of typeOids) m.addInt32(t | 0)
  return m.flush(0x74)
}

/** PortalSuspended: Execute's row limit was reached before the portal's end. */
export function portalSuspended(): Buffer {
  return w().flush(0x73)
}

/** The one-byte answer to an SSLRequest or GSSENCRequest that refuses it. */
export const REFUSE_ENCRYPTION = Buffer.from('N')
/** The answer to an SSLRequest the server accepts: the TLS handshake follows. */
export const ACCEPT_ENCRYPTION = Buffer.from('S')

/** CopyOutResponse: a COPY … TO STDOUT of `columns` columns follows, all in text format. */
export function copyOutResponse(columns: number): Buffer {
  const m = w().add(Buffer.of(0)).addInt16(columns)
  for (let i = 0; i < columns; i++) m.addInt16(0)
  return m.flush(0x48)
}

/** CopyData: one row of a COPY, as its bytes. */
export function copyData(data: Buffer): Buffer {
  return w().add(data).flush(0x64)
}

/** CopyDone: the COPY's rows are all sent. */
export function copyDone(): Buffer {
  return w().flush(0x63)
}

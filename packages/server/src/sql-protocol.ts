// The SQL service's wire format: one bidirectional stream per session. The client sends
// statements, the server answers each, in order, with a result or an error carrying its
// SQLSTATE code. Bodies are JSON; 64-bit integers travel as decimal strings, and every
// value is decoded by its column's type.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js'
import { decodeRequestBody } from '@mrdb/kv'

/** One statement sent on a session. */
export interface SqlRequest {
  id: number
  sql: string
}

/** A value on the wire: INT as a decimal string, FLOAT as a number (or 'NaN'/'Infinity'/'-Infinity'), TEXT, BOOLEAN, NULL. */
export type WireValue = string | number | boolean | null

/** The answer to one statement. */
export interface SqlResponse {
  id: number
  result?: {
    command: string
    columns: Array<{ name: string; type: string }>
    rows: WireValue[][]
    rowsAffected: number
  }
  error?: { code: string; message: string }
}

const serialize = (v: unknown) => Buffer.from(JSON.stringify(v))

/**
 * The SQL service: `Session`, a stream of statements and their answers. The server gets each
 * message through decodeRequestBody: unchecked, or the error to answer a malformed one with.
 */
export const SQL_SERVICE = {
  session: {
    path: '/mrdb.sql.Sql/Session',
    requestStream: true,
    responseStream: true,
    requestSerialize: serialize,
    requestDeserialize: (b: Buffer) => decodeRequestBody(b) as SqlRequest,
    responseSerialize: serialize,
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as SqlResponse,
  } satisfies MethodDefinition<SqlRequest, SqlResponse>,
} satisfies ServiceDefinition

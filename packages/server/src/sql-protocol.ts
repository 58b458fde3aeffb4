// The SQL service's wire format: one bidirectional stream per session. The client sends
// statements, the server answers each, in order, with a result or an error carrying its
// SQLSTATE code. Bodies are JSON; 64-bit integers travel as decimal strings, and every
// value is decoded by its column's type.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js'

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

const json = <T>() => ({
  serialize: (v: T) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as T,
})
const req = json<SqlRequest>()
const res = json<SqlResponse>()

/** The SQL service: `Session`, a stream of statements and their answers. */
export const SQL_SERVICE = {
  session: {
    path: '/mrdb.sql.Sql/Session',
    requestStream: true,
    responseStream: true,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  } satisfies MethodDefinition<SqlRequest, SqlResponse>,
} satisfies ServiceDefinition

// Serves SQL sessions: each stream is one session of the node's SQL engine, running its
// statements one at a time, in arrival order. When the stream ends or breaks, the session
// closes and an open transaction is rolled back. Errors reach the client as SQLSTATE codes,
// never as stack traces.

import type { Server, ServerDuplexStream } from '@grpc/grpc-js'
import { KvError } from '@mrdb/kv'
import { SqlError, type SqlEngine, type SqlValue } from '@mrdb/sql'
import { SQL_SERVICE, type SqlRequest, type SqlResponse, type WireValue } from './sql-protocol.js'

/** SQLSTATE of failures that are not the statement's fault (a bug or an I/O error). */
const INTERNAL_ERROR = 'XX000'
/** SQLSTATE of a message that is no request. */
const PROTOCOL_VIOLATION = '08P01'

/** Adds the SQL service, answered by `engine`, to a gRPC server. */
export function addSqlService(server: Server, engine: SqlEngine): void {
  server.addService(SQL_SERVICE, { session: (call: ServerDuplexStream<SqlRequest, SqlResponse>) => serveSession(call, engine) })
}

function serveSession(call: ServerDuplexStream<SqlRequest, SqlResponse>, engine: SqlEngine): void {
  const session = engine.session()
  let queue = Promise.resolve()
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    queue = queue.then(() => session.close()).catch(() => {
      // the session's transaction is rolled back by its locks' TTL if this fails
    })
  }
  call.on('data', (request: unknown) => {
    // Every message is answered, in order: a malformed one with 08P01 (and id 0 if it has none).
    const fields = request !== null && typeof request === 'object' && !(request instanceof KvError) ? (request as Partial<Record<keyof SqlRequest, unknown>>) : {}
    const id = typeof fields.id === 'number' ? fields.id : 0
    const sql = fields.sql
    const refusal = request instanceof KvError ? request.message : 'a request needs a sql string'
    queue = queue.then(async () => {
      const response = typeof sql === 'string' ? await execute(id, sql) : { id, error: { code: PROTOCOL_VIOLATION, message: refusal } }
      if (!call.destroyed) call.write(response)
    })
  })
  call.on('error', close)
  call.on('end', () => {
    close()
    void queue.then(() => call.end())
  })

  async function execute(id: number, sql: string): Promise<SqlResponse> {
    try {
      const r = await session.execute(sql)
      return { id, result: { command: r.command, columns: r.columns, rows: r.rows.map((row) => row.map(toWireValue)), rowsAffected: r.rowsAffected } }
    } catch (err) {
      if (err instanceof SqlError) return { id, error: { code: err.code, message: err.message } }
      return { id, error: { code: INTERNAL_ERROR, message: `internal error: ${err instanceof Error ? err.message : String(err)}` } }
    }
  }
}

function toWireValue(v: SqlValue): WireValue {
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  return v
}

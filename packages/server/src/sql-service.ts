// Serves SQL sessions: each stream is one session of the node's SQL engine, running its
// statements one at a time, in arrival order. When the stream ends or breaks, the session
// closes and an open transaction is rolled back. Errors reach the client as SQLSTATE codes,
// never as stack traces.

import type { Server, ServerDuplexStream } from '@grpc/grpc-js'
import { SqlError, type SqlEngine, type SqlValue } from '@mrdb/sql'
import { SQL_SERVICE, type SqlRequest, type SqlResponse, type WireValue } from './sql-protocol.js'

/** SQLSTATE of failures that are not the statement's fault (a bug or an I/O error). */
const INTERNAL_ERROR = 'XX000'

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
  call.on('data', (request: Partial<SqlRequest> | null) => {
    const id = typeof request?.id === 'number' ? request.id : 0
    const sql = request?.sql
    queue = queue.then(async () => {
      const response = typeof sql === 'string' ? await execute(id, sql) : { id, error: { code: '08P01', message: 'a request needs a sql string' } }
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

// A SQL session with a node, for the CLI, tests and benchmarks: statements go out on the
// session's stream and resolve with their results, decoded by column type.

import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js'
import type { SqlValue } from '@mrdb/sql'
import { SQL_SERVICE, type SqlRequest, type SqlResponse, type WireValue } from './sql-protocol.js'

/** The result of one statement. */
export interface SqlClientResult {
  command: string
  columns: Array<{ name: string; type: string }>
  rows: SqlValue[][]
  rowsAffected: number
}

/** A statement's failure, with its SQLSTATE code; `08006` when the connection broke. */
export class SqlClientError extends Error {
  override readonly name = 'SqlClientError'

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** SQLSTATE of a broken connection: the statement's outcome is unknown. */
export const CONNECTION_FAILURE = '08006'

/** One session with one node; see the file comment. */
export class SqlClient {
  private readonly channel: Client
  private readonly stream: ClientDuplexStream<SqlRequest, SqlResponse>
  private readonly waiting = new Map<number, { resolve: (r: SqlResponse) => void; reject: (e: Error) => void }>()
  private nextId = 1
  private broken: SqlClientError | undefined

  /** Opens a session with the node at `address` (host:port). */
  constructor(readonly address: string) {
    // A big result travels as one message: accept what the node accepts.
    this.channel = new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 })
    this.stream = this.channel.makeBidiStreamRequest(SQL_SERVICE.session.path, SQL_SERVICE.session.requestSerialize, SQL_SERVICE.session.responseDeserialize)
    this.stream.on('data', (res: SqlResponse) => {
      const w = this.waiting.get(res.id)
      this.waiting.delete(res.id)
      w?.resolve(res)
    })
    const fail = (err: Error) => {
      this.broken = new SqlClientError(CONNECTION_FAILURE, `the connection to ${address} broke: ${err.message}`)
      for (const w of this.waiting.values()) w.reject(this.broken)
      this.waiting.clear()
    }
    this.stream.on('error', fail)
    this.stream.on('end', () => fail(new Error('the server ended the session')))
  }

  /** Runs one statement; throws {@link SqlClientError} with its code on failure. */
  async query(sql: string): Promise<SqlClientResult> {
    if (this.broken) throw this.broken
    const id = this.nextId++
    const res = await new Promise<SqlResponse>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.stream.write({ id, sql })
    })
    if (res.error) throw new SqlClientError(res.error.code, res.error.message)
    const r = res.result!
    return { command: r.command, columns: r.columns, rowsAffected: r.rowsAffected, rows: r.rows.map((row) => row.map((v, i) => fromWireValue(v, r.columns[i]?.type ?? ''))) }
  }

  /** Ends the session (the server rolls back an open transaction) and the connection. */
  close(): void {
    this.stream.end()
    this.channel.close()
  }
}

function fromWireValue(v: WireValue, type: string): SqlValue {
  if (v === null) return null
  if (typeof v === 'string' && /^(INT|INTEGER|BIGINT)/i.test(type)) return BigInt(v)
  if (typeof v === 'string' && /^(FLOAT|REAL|DOUBLE)/i.test(type)) return Number(v)
  return v
}

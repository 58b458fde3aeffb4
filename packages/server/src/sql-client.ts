// A SQL session with a node over the PostgreSQL wire protocol (node-postgres underneath),
// for the CLI, tests, workloads and benchmarks: one connection, statements run one at a time
// with the simple query protocol, results decoded by column type into the SQL layer's values.
// `cancel()` sends a CancelRequest for the statement running now; `transactionStatus` is the
// last ReadyForQuery's state. It works against any PostgreSQL server as well as mrdb.

import { connect } from 'node:net'
import pg from 'pg'
import type { SqlValue } from '@mrdb/sql'

/** The result of one statement. */
export interface SqlClientResult {
  command: string
  /** Column names and types, by the SQL layer's type names (BIGINT, DOUBLE, BOOLEAN, TEXT, VARCHAR(n)) or PostgreSQL's. */
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
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** SQLSTATE of a broken connection: the statement's outcome is unknown. */
export const CONNECTION_FAILURE = '08006'

/** The transaction state the server last reported: PostgreSQL's ReadyForQuery I / T / E. */
export type SqlTransactionStatus = 'idle' | 'in-transaction' | 'failed'

/** Options of a {@link SqlClient}. */
export interface SqlClientOptions {
  /** Login user; default `$PGUSER`, else `root`. */
  readonly user?: string
  /** Password for SCRAM-SHA-256 logins; default `$PGPASSWORD` (none on --insecure nodes). */
  readonly password?: string
  /** Database name (mrdb has one; clients name it anyway); default `mrdb`. */
  readonly database?: string
  /** Milliseconds to wait for the connection and its startup; default 10,000. */
  readonly connectTimeoutMs?: number
  /** application_name reported to the server. */
  readonly applicationName?: string
  /** Connect over TLS (sslmode=verify-full), checking the node's certificate against this CA (PEM); default plaintext. */
  readonly tlsCa?: Buffer
}

const TYPE_NAMES: Record<number, string> = {
  16: 'BOOLEAN',
  17: 'BYTEA',
  20: 'BIGINT',
  21: 'SMALLINT',
  23: 'INTEGER',
  25: 'TEXT',
  26: 'OID',
  700: 'REAL',
  701: 'DOUBLE',
  1042: 'CHAR',
  1082: 'DATE',
  1114: 'TIMESTAMP',
  1184: 'TIMESTAMPTZ',
  1700: 'NUMERIC',
  2950: 'UUID',
  3802: 'JSONB',
  114: 'JSON',
}

/** Every value arrives as its text form; {@link decode} turns it into a SqlValue by type. */
const RAW_TEXT = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig

/** One session with one node (or PostgreSQL server); see the file comment. */
export class SqlClient {
  private readonly client: pg.Client
  private connecting: Promise<void> | undefined
  private broken: SqlClientError | undefined
  private readonly host: string
  private readonly port: number
  /** CommandComplete tags of the statement running now (node-postgres keeps only their first word). */
  private tags: string[] = []

  /** A session with the SQL port at `address` (host:port); it connects at the first statement. */
  constructor(
    readonly address: string,
    options: SqlClientOptions = {},
  ) {
    const at = address.lastIndexOf(':')
    this.host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1')
    this.port = Number(address.slice(at + 1))
    this.client = new pg.Client({
      host: this.host,
      port: this.port,
      user: options.user ?? process.env['PGUSER'] ?? 'root',
      password: options.password ?? process.env['PGPASSWORD'],
      database: options.database ?? 'mrdb',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: options.applicationName,
      types: RAW_TEXT,
      ssl: options.tlsCa && { ca: options.tlsCa },
    })
    const connection = (this.client as unknown as { connection: { on(event: 'commandComplete', f: (msg: { text: string }) => void): void } }).connection
    connection.on('commandComplete', (msg) => void this.tags.push(msg.text))
    // A connection that breaks between statements is reported at the next one.
    this.client.on('error', (err) => {
      this.broken ??= new SqlClientError(CONNECTION_FAILURE, `the connection to ${address} broke: ${err.message}`, { cause: err })
    })
    this.client.on('end', () => {
      this.broken ??= new SqlClientError(CONNECTION_FAILURE, `the connection to ${address} was closed`)
    })
  }

  /** Connects now (otherwise the first statement does); throws {@link SqlClientError} on a refused login or an unreachable node. */
  async connect(): Promise<void> {
    this.connecting ??= this.client.connect().then(
      () => undefined,
      (err: unknown) => {
        this.broken = toClientError(err, `could not connect to ${this.address}`)
        throw this.broken
      },
    )
    await this.connecting
  }

  /** Runs one statement; throws {@link SqlClientError} with its SQLSTATE code on failure. */
  async query(sql: string): Promise<SqlClientResult> {
    if (this.broken) throw this.broken
    await this.connect()
    let r: pg.QueryArrayResult
    this.tags = []
    try {
      r = await this.client.query({ text: sql, rowMode: 'array' })
    } catch (err) {
      throw this.broken ?? toClientError(err, `the connection to ${this.address} broke`)
    }
    // A simple query of several statements answers with one result each: the last one counts.
    const last = (Array.isArray(r) ? (r as pg.QueryArrayResult[]).at(-1) : r) ?? r
    const fields = last.fields ?? []
    const columns = fields.map((f) => ({ name: f.name, type: typeName(f.dataTypeID, (f as { dataTypeModifier?: number }).dataTypeModifier ?? -1) }))
    // The tag without its counts: 'CREATE TABLE', 'INSERT' (of 'INSERT 0 2'), 'SELECT'.
    const tag = this.tags.at(-1) ?? last.command ?? ''
    return {
      command: tag.replace(/( \d+)+$/, ''),
      columns,
      rows: (last.rows as unknown[][]).map((row) => row.map((v, i) => decode(v, fields[i]?.dataTypeID ?? 25))),
      rowsAffected: fields.length > 0 ? 0 : (last.rowCount ?? 0),
    }
  }

  /** The transaction state after the last statement. */
  get transactionStatus(): SqlTransactionStatus {
    const s = this.client.getTransactionStatus()
    return s === 'T' ? 'in-transaction' : s === 'E' ? 'failed' : 'idle'
  }

  /**
   * Asks the server to cancel the statement running now on this session (a CancelRequest on a
   * new connection, as psql's Ctrl-C sends). The statement then fails with 57014; a cancel that
   * arrives when nothing runs does nothing.
   */
  async cancel(): Promise<void> {
    const { processID, secretKey } = this.client as unknown as { processID?: number; secretKey?: number }
    if (processID === undefined || secretKey === undefined || processID === null) return
    await sendCancelRequest(this.host, this.port, processID, secretKey)
  }

  /** Ends the session (the server rolls back an open transaction) and the connection. */
  close(): void {
    this.broken ??= new SqlClientError(CONNECTION_FAILURE, 'the session is closed')
    if (this.connecting !== undefined) void this.client.end().catch(() => undefined)
  }
}

/** The PostgreSQL CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102

/** Sends a CancelRequest for the session (`processId`, `secretKey`) to the server at host:port; resolves once the server closed the connection. */
export async function sendCancelRequest(host: string, port: number, processId: number, secretKey: number): Promise<void> {
  const packet = Buffer.alloc(16)
  packet.writeInt32BE(16, 0)
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4)
  packet.writeInt32BE(processId, 8)
  packet.writeInt32BE(secretKey, 12)
  await new Promise<void>((resolve) => {
    const socket = connect({ host, port }, () => socket.end(packet))
    socket.setTimeout(5_000, () => socket.destroy())
    socket.on('error', () => resolve())
    socket.on('close', () => resolve())
    socket.resume()
  })
}

function typeName(oid: number, modifier: number): string {
  if (oid === 1043) return modifier > 4 ? `VARCHAR(${modifier - 4})` : 'VARCHAR'
  return TYPE_NAMES[oid] ?? 'TEXT'
}

function decode(v: unknown, oid: number): SqlValue {
  if (v === null || v === undefined) return null
  const text = String(v)
  switch (oid) {
    case 20:
    case 21:
    case 23:
    case 26:
      return BigInt(text)
    case 700:
    case 701:
      return Number(text)
    case 16:
      return text === 't' || text === 'true'
    default:
      return text
  }
}

/** `err` as a SqlClientError: a server's ErrorResponse keeps its SQLSTATE; anything else is 08006, its message after `context`. */
function toClientError(err: unknown, context: string): SqlClientError {
  if (err instanceof SqlClientError) return err
  const e = err as { code?: unknown; message?: unknown; severity?: unknown }
  const message = typeof e?.message === 'string' ? e.message : String(err)
  // A server's ErrorResponse carries a SQLSTATE (five characters); anything else is the connection's.
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string') return new SqlClientError(e.code, message, { cause: err })
  return new SqlClientError(CONNECTION_FAILURE, `${context}: ${message}`, { cause: err })
}

// The node's PostgreSQL wire protocol listener (`--sql-listen`): one PgConnection per TCP
// connection, a per-node session limit (53300 past it), a deadline for the startup (a client
// that connects and says nothing is dropped), and the process id/secret key table that
// CancelRequests are matched against; with certificates, SSLRequest is accepted and the
// connection continues over TLS (psql's sslmode=require and up). Stream glue only: the protocol is in connection.ts.

import { randomInt } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls'
import { readUser, type SqlEngine } from '@mrdb/sql'
import { PgConnection, type StatementOutcome } from './connection.js'
import type { TlsIdentity } from '../tls/certs.js'

/** Options of {@link PgServer.start}. */
export interface PgServerOptions {
  readonly engine: SqlEngine
  /** host:port to listen on; port 0 picks a free one. */
  readonly listen: string
  /** Let clients in without a password (`--insecure`); otherwise logins are SCRAM-SHA-256 against the users in the system keyspace. */
  readonly insecure: boolean
  /** Milliseconds a failed password login waits before its 28P01 (default 1,000). */
  readonly authFailureDelayMs?: number
  /** Most concurrent sessions (default 100). */
  readonly maxConnections?: number
  /** Milliseconds a new connection has to finish its startup (default 10,000). */
  readonly startupTimeoutMs?: number
  /** Default statement_timeout in ms (0, the default: none). */
  readonly statementTimeoutMs?: number
  /** The largest message accepted from a client (default 64 MiB). */
  readonly maxMessageBytes?: number
  readonly logger?: { warn(msg: string): void; debug?(msg: string): void }
  /** Told of every statement any session ran (metrics, the slow-statement log). */
  readonly onStatement?: (s: StatementOutcome) => void
  /** The node's certificate: SSLRequest is then accepted (absent: refused with 'N'). */
  readonly tls?: TlsIdentity
}

/** Bytes of queued messages past which a connection stops reading its socket until it catches up. */
const BACKLOG_PAUSE = 64

/** A listening wire protocol server; see the file comment. */
export class PgServer {
  private readonly sessions = new Map<number, { connection: PgConnection; secretKey: number }>()
  private readonly sockets = new Set<Socket>()
  private admitted = 0

  private constructor(
    private readonly server: Server,
    private readonly o: PgServerOptions,
    /** The address clients reach the server at. */
    readonly address: string,
    /** The TLS settings of sessions that ask for encryption (with certificates). */
    private readonly secureContext = o.tls && createSecureContext({ cert: o.tls.cert, key: o.tls.key, ca: o.tls.ca }),
  ) {}

  /** Starts listening. */
  static async start(o: PgServerOptions): Promise<PgServer> {
    const at = o.listen.lastIndexOf(':')
    const host = o.listen.slice(0, at)
    const port = Number(o.listen.slice(at + 1))
    const server = createServer({ noDelay: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const bound = server.address()
    const address = `${host}:${typeof bound === 'object' && bound !== null ? bound.port : port}`
    const pg = new PgServer(server, o, address)
    server.on('connection', (socket) => pg.accept(socket))
    server.on('error', (err) => o.logger?.warn(`sql listener: ${err.message}`))
    return pg
  }

  /** Sessions serving statements now. */
  get sessionCount(): number {
    return this.admitted
  }

  /** Sessions inside a transaction block now (BEGIN without its COMMIT or ROLLBACK yet). */
  get openTransactions(): number {
    let n = 0
    for (const { connection } of this.sessions.values()) if (connection.transactionStatus !== 'idle') n++
    return n
  }

  /** Stops listening and ends every connection (running statements are cancelled, open transactions rolled back). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    let processId = 0
    do processId = randomInt(1, 2 ** 31 - 1)
    while (this.sessions.has(processId))
    const secretKey = randomInt(0, 2 ** 31 - 1)
    let admitted = false
    // The stream the session speaks on: the socket, or the TLS layer over it once started.
    let stream: Socket = socket
    let startupTimer: NodeJS.Timeout | undefined = setTimeout(() => {
      this.o.logger?.debug?.(`sql: dropped ${socket.remoteAddress}:${socket.remotePort}: no startup in ${this.o.startupTimeoutMs ?? 10_000} ms`)
      socket.destroy()
    }, this.o.startupTimeoutMs ?? 10_000)
    const connection = new PgConnection({
      engine: this.o.engine,
      insecure: this.o.insecure,
      verifierOf: async (user) => (await readUser(this.o.engine.db, user))?.verifier ?? undefined,
      authFailureDelayMs: this.o.authFailureDelayMs ?? 1000,
      processId,
      secretKey,
      statementTimeoutMs: this.o.statementTimeoutMs ?? 0,
      maxMessageBytes: this.o.maxMessageBytes ?? 64 * 1024 * 1024,
      send: (data) => {
        if (!stream.destroyed) stream.write(data)
      },
      drained: () => drained(stream),
      end: () => stream.end(),
      startTls: this.secureContext && (() => startTls(this.secureContext!)),
      admit: () => {
        if (this.admitted >= (this.o.maxConnections ?? 100)) return false
        this.admitted++
        admitted = true
        this.sessions.set(processId, { connection, secretKey })
        return true
      },
      cancel: (pid, key) => {
        const target = this.sessions.get(pid)
        if (target !== undefined && target.secretKey === key) target.connection.cancel()
      },
      started: () => {
        clearTimeout(startupTimer)
        startupTimer = undefined
      },
      observe: this.o.onStatement,
    })
    const onData = (chunk: Buffer) => {
      connection.receive(chunk)
      if (connection.backlog > BACKLOG_PAUSE) {
        const paused = stream
        paused.pause()
        const resume = setInterval(() => {
          if (connection.backlog <= BACKLOG_PAUSE / 2 || paused.destroyed) {
            clearInterval(resume)
            paused.resume()
          }
        }, 5)
      }
    }
    const startTls = (context: SecureContext) => {
      // The client sends nothing after its SSLRequest until it reads 'S': every later byte is TLS.
      socket.off('data', onData)
      const secure = new TLSSocket(socket, { isServer: true, secureContext: context })
      secure.on('data', onData)
      secure.on('error', () => socket.destroy())
      stream = secure
    }
    socket.on('data', onData)
    socket.on('error', () => undefined)
    socket.once('close', () => {
      clearTimeout(startupTimer)
      this.sockets.delete(socket)
      if (admitted) {
        this.admitted--
        this.sessions.delete(processId)
      }
      connection.closed()
    })
  }
}

/**
 * Resolves once `stream` wants more data: at once while its buffer is below the high-water
 * mark, else at its 'drain' — or when it closes, so no statement waits on a gone client.
 */
function drained(stream: Socket): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
  })
}

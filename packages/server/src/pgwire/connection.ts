// One client connection of the PostgreSQL wire protocol (3.0): startup, authentication
// (trust on --insecure nodes, SCRAM-SHA-256 otherwise: scram-auth.ts), then the simple and
// extended query protocols over one SqlSession. Bytes come in through receive(); replies go
// out through the `send` port in batches (at ReadyForQuery, Flush, or every 64 KiB). Messages
// run strictly in order, one at a time. A query's rows go out as the statement produces them,
// and the statement waits while the client is behind (the `drained` port); a portal's
// statement stays suspended between Executes with a row limit (statement-rows.ts). See
// docs/decisions.md, "PostgreSQL wire protocol" and "Streaming execution: the extended protocol and a slow client".

import { createHmac, randomBytes } from 'node:crypto'
import { parseScramVerifier, SqlError, SqlState, splitStatements, type ScramVerifier, type SqlEngine, type RowSink, type SqlResult, type SqlSession, type TransactionStatus } from '@mrdb/sql'
import * as be from './backend.js'
import { PgWireError, PgWireState, protocolViolation } from './errors.js'
import { decodeMessage, decodeStartup, FrameSplitter, type FrontendMessage } from './frontend.js'
import { SCRAM_MECHANISM, ScramExchange } from './scram-auth.js'
import { copyTextRow, copyToStdoutQuery } from './copy.js'
import { pgSleepSeconds, SessionSettings } from './settings.js'
import { StatementRows, type Columns } from './statement-rows.js'
import { decodeParam, encodeValue, fieldOf, findPlaceholders, literalOf, PgType, textValue, type ParamContext, type Placeholder } from './types.js'

/** What a connection needs from the server around it. */
export interface ConnectionPorts {
  readonly engine: SqlEngine
  /** Let clients in without a password (nodes started with --insecure). */
  readonly insecure: boolean
  /** A user's stored SCRAM verifier; undefined when the user does not exist or has no password. Rejects when it cannot be read. */
  verifierOf(user: string): Promise<string | undefined>
  /** Milliseconds a failed password login waits before its 28P01 (slows down guessing). */
  readonly authFailureDelayMs: number
  readonly processId: number
  readonly secretKey: number
  /** Default statement_timeout in ms (0: none). */
  readonly statementTimeoutMs: number
  /** The largest message accepted from the client. */
  readonly maxMessageBytes: number
  /** Writes bytes to the client. */
  send(data: Buffer): void
  /**
   * Resolves once the client has taken enough of the bytes sent so far for more to be sent (at
   * once while the socket's buffer is below its high-water mark), or the connection closed.
   */
  drained(): Promise<void>
  /** Ends the connection once written data is out. */
  end(): void
  /**
   * Switches the connection to TLS (after 'S' went out in plaintext); present only when the
   * node has certificates and the connection is not encrypted yet. Without it SSLRequest is refused.
   */
  startTls?(): void
  /** Whether another session may start (the node's connection limit); claims a slot if so. */
  admit(): boolean
  /** Cancels the session with this key pair, if any. */
  cancel(processId: number, secretKey: number): void
  /** Startup is over (the connection counts as a session or has been refused). */
  started(): void
  /** Told of every statement that ran, with how long it took and the SQLSTATE it failed with. */
  observe?(s: StatementOutcome): void
}

/** One statement as {@link ConnectionPorts.observe} sees it. */
export interface StatementOutcome {
  readonly sql: string
  readonly durationMs: number
  /** The SQLSTATE of its error; none when it succeeded. */
  readonly code?: string
}

interface Prepared {
  readonly sql: string
  readonly paramTypes: readonly number[]
  readonly placeholders: readonly Placeholder[]
  readonly paramCount: number
}

interface Portal {
  readonly sql: string
  readonly resultFormats: readonly number[]
  /** Its statement: undefined until started (by Describe or the first Execute); null for an empty query. */
  rows: StatementRows | null | undefined
  /** Set when its statement was ended, suspended, because another one needed the session. */
  interrupted: boolean
}

const FLUSH_BYTES = 64 * 1024
/** The most rows whose DataRow messages are encoded into one buffer (see sendRows). */
const MAX_ROWS_PER_GROUP = 256
const CANCELED = 'canceling statement due to user request'

/** A client connection; see the file comment. */
export class PgConnection {
  private readonly splitter: FrameSplitter
  private readonly queue: Array<{ type: number | null; body: Buffer }> = []
  private running = false
  private phase: 'startup' | 'auth' | 'ready' | 'closed' = 'startup'
  /** Whether the session switched to TLS (an SSLRequest was accepted). */
  private encrypted = false
  /** The login under way (phase 'auth'): its user, startup parameters and SCRAM exchange. */
  private login: { user: string; parameters: ReadonlyMap<string, string>; scram: ScramExchange; step: 'initial' | 'final' } | undefined
  private session: SqlSession | undefined
  private settings: SessionSettings | undefined
  private readonly statements = new Map<string, Prepared>()
  private readonly portals = new Map<string, Portal>()
  /** After an error in an extended-protocol message, everything up to Sync is skipped. */
  private skipping = false
  private out: Buffer[] = []
  private outBytes = 0
  /** Aborts the statement running now. */
  private running_statement: AbortController | undefined
  /** The portal whose statement runs (suspended between Executes), if any: the session runs one statement at a time. */
  private live: Portal | undefined

  constructor(private readonly ports: ConnectionPorts) {
    this.splitter = new FrameSplitter(ports.maxMessageBytes)
  }

  /** Whether the connection finished its startup and serves statements. */
  get ready(): boolean {
    return this.phase === 'ready'
  }

  /** Messages received but not yet handled (the socket should pause while this grows). */
  get backlog(): number {
    return this.queue.length
  }

  /** Bytes from the client. */
  receive(chunk: Buffer): void {
    if (this.phase === 'closed') return
    if (!this.frame(chunk)) return
    void this.pump()
  }

  /** Cuts received bytes into queued frames; false after a framing error (reported, connection ended). */
  private frame(chunk?: Buffer): boolean {
    try {
      for (let frame = this.splitter.next(chunk); frame !== null; frame = this.splitter.next()) {
        this.queue.push(frame)
        // A startup packet changes how the next bytes are framed: it is handled before reading on.
        if (frame.type === null) break
      }
      return true
    } catch (err) {
      this.fail(err)
      return false
    }
  }

  /** The session's transaction state ('idle' before it starts). */
  get transactionStatus(): TransactionStatus {
    return this.session?.transactionStatus ?? 'idle'
  }

  /** Cancels the running statement (a CancelRequest with this session's key). */
  cancel(): void {
    this.running_statement?.abort(new SqlError(SqlState.QUERY_CANCELED, CANCELED))
  }

  /** The client went away: cancel what runs, roll back an open transaction, end the session. */
  closed(): void {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.queue.length = 0
    this.cancel()
    const stopped = this.live?.rows?.stop()
    this.live = undefined
    const session = this.session
    if (session !== undefined) void Promise.resolve(stopped).then(() => this.idle()).then(() => session.close()).catch(() => undefined)
  }

  private idleWaiters: Array<() => void> = []

  private idle(): Promise<void> {
    return this.running ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve()
  }

  private async pump(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      while (this.queue.length > 0 && this.phase !== 'closed') {
        const frame = this.queue.shift()!
        try {
          if (frame.type === null) await this.startup(frame.body)
          else await this.message(decodeMessage(frame.type, frame.body))
        } catch (err) {
          this.fail(err)
        }
        // Bytes held back behind a startup packet are framed now.
        if (this.queue.length === 0 && (this.phase as string) !== 'closed' && frame.type === null) this.frame()
      }
    } finally {
      this.running = false
      for (const w of this.idleWaiters.splice(0)) w()
    }
  }

  /** Reports a fatal error and ends the connection. */
  private fail(err: unknown): void {
    if (this.phase === 'closed') return
    const e = err instanceof PgWireError ? err : new PgWireError(PgWireState.INTERNAL_ERROR, `internal error: ${err instanceof Error ? err.message : String(err)}`, true)
    this.emit(be.errorResponse({ severity: 'FATAL', code: e.code, message: e.message }))
    this.flush()
    this.ports.end()
    if (this.session === undefined) this.ports.started()
    this.closed()
  }

  private async startup(body: Buffer): Promise<void> {
    if (this.phase !== 'startup') protocolViolation('unexpected startup packet')
    const packet = decodeStartup(body)
    switch (packet.kind) {
      case 'ssl-request':
        // Encryption is started once; an SSLRequest inside TLS is refused.
        if (this.ports.startTls && !this.encrypted) {
          this.ports.send(be.ACCEPT_ENCRYPTION)
          this.ports.startTls()
          this.encrypted = true
        } else this.ports.send(be.REFUSE_ENCRYPTION)
        return
      case 'gssenc-request':
        this.ports.send(be.REFUSE_ENCRYPTION)
        return
      case 'cancel':
        this.ports.cancel(packet.processId, packet.secretKey)
        this.phase = 'closed'
        this.ports.started()
        this.ports.end()
        return
      case 'startup': {
        const user = packet.parameters.get('user')
        if (user === undefined || user === '') throw new PgWireError(PgWireState.INVALID_AUTHORIZATION, 'no PostgreSQL user name specified in startup packet', true)
        // A node with certificates takes SQL sessions over TLS only, as CockroachDB's secure mode.
        if (this.ports.startTls && !this.encrypted) throw new PgWireError(PgWireState.INVALID_AUTHORIZATION, 'this node accepts SQL connections over TLS only (sslmode=require or stronger)', true)
        this.splitter.startupDone()
        if (this.ports.insecure) return this.begin(user, packet.parameters)
        let stored: string | undefined
        try {
          stored = await this.ports.verifierOf(user)
        } catch (err) {
          throw new PgWireError(PgWireState.CANNOT_CONNECT_NOW, `cannot read the users of the cluster now: ${err instanceof Error ? err.message : String(err)}`, true)
        }
        // An unknown user (or one without a password) gets the same exchange with a made-up verifier: it fails at the proof.
        const verifier = (stored === undefined ? undefined : parseScramVerifier(stored)) ?? mockVerifier(user)
        this.login = { user, parameters: packet.parameters, scram: new ScramExchange(verifier, randomBytes(18).toString('base64')), step: 'initial' }
        this.phase = 'auth'
        this.ports.send(be.authenticationSasl([SCRAM_MECHANISM]))
        return
      }
    }
  }

  /** A SASL message of the login under way. */
  private async authenticate(m: FrontendMessage): Promise<void> {
    const login = this.login!
    if (m.kind !== 'password') protocolViolation(`expected a SASL response, got a ${m.kind} message`)
    if (login.step === 'initial') {
      this.ports.send(be.authenticationSaslContinue(login.scram.start(m.data)))
      login.step = 'final'
      return
    }
    const final = login.scram.finish(m.data)
    if (final === undefined) {
      await new Promise((resolve) => setTimeout(resolve, this.ports.authFailureDelayMs))
      throw new PgWireError(PgWireState.INVALID_PASSWORD, `password authentication failed for user "${login.user}"`, true)
    }
    this.login = undefined
    this.emit(be.authenticationSaslFinal(final))
    this.begin(login.user, login.parameters)
  }

  /** The login succeeded: the session starts (if the node's connection limit lets it). */
  private begin(user: string, parameters: ReadonlyMap<string, string>): void {
    if (!this.ports.admit()) throw new PgWireError(PgWireState.TOO_MANY_CONNECTIONS, 'sorry, too many clients already', true)
    this.ports.started()
    this.settings = new SessionSettings(user, parameters.get('database') || user, this.ports.statementTimeoutMs, parameters)
    this.session = this.ports.engine.session()
    this.phase = 'ready'
    this.emit(be.authenticationOk())
    for (const [name, value] of this.settings.reported()) this.emit(be.parameterStatus(name, value))
    this.emit(be.backendKeyData(this.ports.processId, this.ports.secretKey))
    this.readyForQuery()
  }

  private async message(m: FrontendMessage): Promise<void> {
    if (this.phase === 'auth') return this.authenticate(m)
    if (this.skipping && m.kind !== 'sync' && m.kind !== 'terminate') return
    try {
      switch (m.kind) {
        case 'query':
          return await this.simpleQuery(m.sql)
        case 'parse':
          return this.parse(m.name, m.sql, m.paramTypes)
        case 'bind':
          return await this.bind(m)
        case 'describe':
          return await this.describe(m.target, m.name)
        case 'execute':
          return await this.execute(m.portal, m.maxRows)
        case 'close':
          if (m.target === 'statement') this.statements.delete(m.name)
          else await this.dropPortal(m.name)
          this.emit(be.closeComplete())
          return
        case 'sync':
          this.skipping = false
          // Outside a transaction block, Sync ends the implicit transaction and its portals.
          if (this.session!.transactionStatus === 'idle') {
            await this.endLive()
            this.portals.clear()
          }
          this.readyForQuery()
          return
        case 'flush':
          this.flush()
          return
        case 'terminate':
          this.flush()
          this.ports.end()
          this.closed()
          return
        case 'password':
          return protocolViolation('unexpected password message: no authentication was requested')
        case 'copy':
          return protocolViolation('unexpected COPY message: no COPY is in progress')
      }
    } catch (err) {
      if (err instanceof PgWireError && err.fatal) throw err
      this.error(err)
      if (m.kind !== 'query') this.skipping = true
    }
  }

  /** Sends an ErrorResponse for a statement's (or a message's) error. */
  private error(err: unknown, sql?: string, offset = 0): void {
    if (err instanceof SqlError || err instanceof PgWireError) {
      this.emit(be.errorResponse({ severity: 'ERROR', code: err.code, message: err.message, position: sql === undefined ? undefined : positionOf(err.message, sql, offset) }))
    } else {
      this.emit(be.errorResponse({ severity: 'ERROR', code: PgWireState.INTERNAL_ERROR, message: `internal error: ${err instanceof Error ? err.message : String(err)}` }))
    }
  }

  private async simpleQuery(sql: string): Promise<void> {
    const { statements, rest } = splitStatements(sql)
    if (rest !== '') statements.push(rest)
    if (statements.length === 0) this.emit(be.emptyQueryResponse())
    let from = 0
    for (const text of statements) {
      const offset = Math.max(0, sql.indexOf(text, from))
      from = offset + text.length
      try {
        await this.endLive()
        const copyQuery = copyToStdoutQuery(text)
        if (copyQuery !== undefined) {
          await this.copyOut(copyQuery)
          continue
        }
        // A query that streams hands its rows over as they are produced: they go out (in
        // FLUSH_BYTES writes) before the last is computed, the RowDescription before the first.
        const rows = new StatementRows((sink) => this.run(text, sink))
        try {
          const columns = await rows.columns()
          const fields = fieldsOf(columns, [])
          if (columns.length > 0) this.emit(be.rowDescription(fields))
          const sent = await this.sendRows(rows, fields, Infinity)
          this.emit(be.commandComplete(tagOf(await rows.result(), sent)))
        } finally {
          // A failure here (a value that cannot be encoded) must not leave the statement waiting in its sink.
          await rows.stop()
        }
      } catch (err) {
        if (err instanceof PgWireError && err.fatal) throw err
        this.error(err, text, offset)
        break
      }
    }
    this.readyForQuery()
  }

  /** COPY … TO STDOUT: the query's rows as CopyData in text format, between CopyOutResponse and CopyDone. */
  private async copyOut(query: string): Promise<void> {
    const rows = new StatementRows((sink) => this.run(query, sink))
    try {
      const columns = await rows.columns()
      if (columns.length === 0) throw new PgWireError(PgWireState.FEATURE_NOT_SUPPORTED, 'COPY (query) TO STDOUT needs a query that returns rows')
      this.emit(be.copyOutResponse(columns.length))
      let sent = 0
      for (let batch = await rows.take(Infinity); batch.length > 0; batch = await rows.take(Infinity)) {
        for (const row of batch) if (this.emit(be.copyData(copyTextRow(row)))) await this.keepPace()
        sent += batch.length
      }
      this.emit(be.copyDone())
      this.emit(be.commandComplete(`COPY ${sent}`))
    } finally {
      await rows.stop()
    }
  }

  /**
   * Sends DataRows of `rows` until `max` are out or none are left, keeping pace with the
   * client (after each write, the statement waits while the socket's buffer is full); returns how many went.
   */
  private async sendRows(rows: StatementRows, fields: readonly be.FieldDescription[], max: number): Promise<number> {
    let sent = 0
    let rowsPerGroup = 16
    while (sent < max) {
      const batch = await rows.take(max - sent)
      if (batch.length === 0) break
      if (fields.every((f) => f.format === 0)) {
        // All text: rows are encoded a group at a time into one buffer, groups of about FLUSH_BYTES (up to 256 rows).
        for (let i = 0; i < batch.length; ) {
          const group = batch.slice(i, i + rowsPerGroup)
          const bytes = be.textDataRows(group.map((row) => row.map((v) => (v === null ? null : textValue(v)))))
          i += group.length
          rowsPerGroup = Math.max(1, Math.min(MAX_ROWS_PER_GROUP, Math.floor((FLUSH_BYTES * group.length) / Math.max(1, bytes.length))))
          if (this.emit(bytes)) await this.keepPace()
        }
      } else for (const row of batch) if (this.emit(be.dataRow(row.map((v, i) => encodeValue(v, fields[i]!.typeOid, fields[i]!.format))))) await this.keepPace()
      sent += batch.length
    }
    return sent
  }

  /** Waits while the client is behind: what was handed to the socket is still mostly unread. */
  private async keepPace(): Promise<void> {
    await this.ports.drained()
  }

  /** Runs one statement (see {@link runStatement}), told to the observer. */
  private async run(sql: string, onRows?: RowSink): Promise<SqlResult> {
    const observe = this.ports.observe
    if (observe === undefined) return this.runStatement(sql, onRows)
    const started = performance.now()
    try {
      const result = await this.runStatement(sql, onRows)
      observe({ sql, durationMs: performance.now() - started })
      return result
    } catch (err) {
      const code = err instanceof SqlError || err instanceof PgWireError ? err.code : PgWireState.INTERNAL_ERROR
      observe({ sql, durationMs: performance.now() - started, code })
      throw err
    }
  }

  /** Runs one statement: a session-level one here, anything else in the engine, under statement_timeout and cancel. */
  private async runStatement(sql: string, onRows?: RowSink): Promise<SqlResult> {
    const session = this.session!
    const settings = this.settings!
    const answered = settings.answer(sql)
    if (answered !== undefined) {
      if (session.transactionStatus === 'failed') throw new PgWireError(PgWireState.IN_FAILED_SQL_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block')
      if (answered.report) this.emit(be.parameterStatus(...answered.report))
      return answered.result
    }
    const controller = new AbortController()
    this.running_statement = controller
    const ms = settings.statementTimeoutMs
    const timer = ms > 0 ? setTimeout(() => controller.abort(new SqlError(SqlState.QUERY_CANCELED, 'canceling statement due to statement timeout')), ms) : undefined
    try {
      const sleep = pgSleepSeconds(sql)
      if (sleep !== undefined) return await this.pgSleep(sleep, controller.signal)
      return await session.execute(sql, { signal: controller.signal, ...(onRows === undefined ? {} : { onRows }) })
    } finally {
      if (timer !== undefined) clearTimeout(timer)
      this.running_statement = undefined
    }
  }

  /** `SELECT pg_sleep(seconds)`: waits, or fails with the signal's reason (57014) when cancelled or timed out. */
  private async pgSleep(seconds: number, signal: AbortSignal): Promise<SqlResult> {
    if (this.session!.transactionStatus === 'failed') throw new PgWireError(PgWireState.IN_FAILED_SQL_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block')
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer)
        reject(signal.reason instanceof Error ? signal.reason : new SqlError(SqlState.QUERY_CANCELED, CANCELED))
      }
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, seconds * 1000)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    return { command: 'SELECT', columns: [{ name: 'pg_sleep', type: 'TEXT' }], rows: [['']], rowsAffected: 0 }
  }

  private parse(name: string, sql: string, declared: readonly number[]): void {
    if (name !== '' && this.statements.has(name)) throw new PgWireError(PgWireState.DUPLICATE_PREPARED_STATEMENT, `prepared statement "${name}" already exists`)
    const { statements, rest } = splitStatements(sql)
    if (statements.length + (rest === '' ? 0 : 1) > 1) throw new SqlError(SqlState.SYNTAX_ERROR, 'cannot insert multiple commands into a prepared statement')
    const placeholders = findPlaceholders(sql)
    const paramCount = Math.max(declared.length, ...placeholders.map((p) => p.index))
    if (placeholders.some((p) => p.index < 1)) throw new PgWireError(PgWireState.UNDEFINED_PARAMETER, 'there is no parameter $0')
    const paramTypes = Array.from({ length: paramCount }, (_, i) => declared[i] ?? 0)
    this.statements.set(name, { sql, paramTypes, placeholders, paramCount })
    this.emit(be.parseComplete())
  }

  private async bind(m: Extract<FrontendMessage, { kind: 'bind' }>): Promise<void> {
    const statement = this.statements.get(m.statement)
    if (statement === undefined) throw new PgWireError(PgWireState.INVALID_SQL_STATEMENT_NAME, `prepared statement "${m.statement}" does not exist`)
    if (m.params.length !== statement.paramCount) {
      throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, `bind message supplies ${m.params.length} parameters, but prepared statement "${m.statement}" requires ${statement.paramCount}`)
    }
    if (m.paramFormats.length > 1 && m.paramFormats.length !== m.params.length) throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, `bind message has ${m.paramFormats.length} parameter formats but ${m.params.length} parameters`)
    if (m.portal !== '' && this.portals.has(m.portal)) throw new PgWireError(PgWireState.DUPLICATE_CURSOR, `cursor "${m.portal}" already exists`)
    // A new unnamed portal replaces the old one.
    if (m.portal === '') await this.dropPortal('')
    const values = m.params.map((raw, i) => decodeParam(raw, statement.paramTypes[i] ?? 0, m.paramFormats.length === 0 ? 0 : (m.paramFormats[i] ?? m.paramFormats[0]!)))
    let sql = ''
    let at = 0
    for (const p of statement.placeholders) {
      sql += statement.sql.slice(at, p.start) + literalOf(values[p.index - 1]!, this.contextOf(p, statement.paramTypes[p.index - 1] ?? 0))
      at = p.end
    }
    sql += statement.sql.slice(at)
    for (const f of m.resultFormats) if (f !== 0 && f !== 1) throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, `unsupported format code: ${f}`)
    this.portals.set(m.portal, { sql, resultFormats: m.resultFormats, rows: undefined, interrupted: false })
    this.emit(be.bindComplete())
  }

  /** What an untyped parameter is, from the column it is compared with (typed ones keep their type). */
  private contextOf(p: Placeholder, typeOid: number): ParamContext {
    if (typeOid !== 0 && typeOid !== PgType.UNKNOWN) return 'text'
    if (p.neighbour === null) return 'none'
    if (p.neighbour === '#limit') return 'number'
    const types = this.ports.engine.columnBaseTypes(p.neighbour)
    if (types.length !== 1) return 'compared'
    return types[0] as ParamContext
  }

  private async describe(target: 'statement' | 'portal', name: string): Promise<void> {
    if (target === 'statement') {
      const statement = this.statements.get(name)
      if (statement === undefined) throw new PgWireError(PgWireState.INVALID_SQL_STATEMENT_NAME, `prepared statement "${name}" does not exist`)
      this.emit(be.parameterDescription(statement.paramTypes.map((t) => (t === 0 ? PgType.TEXT : t))))
      let sql = ''
      let at = 0
      for (const p of statement.placeholders) {
        sql += `${statement.sql.slice(at, p.start)}NULL`
        at = p.end
      }
      sql += statement.sql.slice(at)
      // INSERT, UPDATE and DELETE … RETURNING: the engine plans RETURNING without writing.
      if (/^\s*(insert|update|delete)\b/i.test(statement.sql)) {
        const columns = (await this.session!.describe(sql)) ?? []
        return void this.emit(columns.length > 0 ? be.rowDescription(columns.map((c) => fieldOf(c.name, c.type, 0))) : be.noData())
      }
      // Other columns are known only by running it: a query is run with NULL parameters (reads only).
      if (!/^\s*(select|show|explain|values|with|table|describe)\b/i.test(statement.sql)) return void this.emit(be.noData())
      await this.endLive()
      const rows = new StatementRows((sink) => this.run(sql, sink))
      const columns = await rows.columns()
      await rows.stop()
      this.emit(columns.length > 0 ? be.rowDescription(fieldsOf(columns, [])) : be.noData())
      return
    }
    const portal = this.portalNamed(name)
    // Columns come from running the statement, so a described portal starts now (suspended at its first rows); Execute sends them.
    const rows = await this.startPortal(portal)
    const columns = rows === null ? [] : await rows.columns()
    this.emit(columns.length > 0 ? be.rowDescription(fieldsOf(columns, portal.resultFormats)) : be.noData())
  }

  private portalNamed(name: string): Portal {
    const portal = this.portals.get(name)
    if (portal === undefined) throw new PgWireError(PgWireState.INVALID_CURSOR_NAME, `portal "${name}" does not exist`)
    if (portal.interrupted) {
      throw new PgWireError(PgWireState.FEATURE_NOT_SUPPORTED, `portal "${name}" cannot be resumed: another statement ran while it was suspended (mrdb keeps one suspended portal at a time)`)
    }
    return portal
  }

  /** The portal's statement, started now if it has not been (another one still running is ended first). */
  private async startPortal(portal: Portal): Promise<StatementRows | null> {
    if (portal.rows !== undefined) return portal.rows
    const split = splitStatements(portal.sql)
    if (split.statements.length === 0 && split.rest === '') return (portal.rows = null)
    await this.endLive()
    portal.rows = new StatementRows((sink) => this.run(portal.sql, sink))
    this.live = portal
    return portal.rows
  }

  /**
   * Ends the statement of the portal that holds the session, if it still runs (suspended):
   * another statement needs the session, or the portal's transaction ends. Its later Executes
   * are refused (the rows it had not sent are gone).
   */
  private async endLive(): Promise<void> {
    const portal = this.live
    if (portal === undefined) return
    this.live = undefined
    if (portal.rows?.done === false) {
      portal.interrupted = true
      await portal.rows.stop()
    }
  }

  /** Closes a portal (Close, or a Bind replacing the unnamed one), ending its statement if it runs. */
  private async dropPortal(name: string): Promise<void> {
    const portal = this.portals.get(name)
    if (portal === undefined) return
    if (this.live === portal) await this.endLive()
    this.portals.delete(name)
  }

  private async execute(name: string, maxRows: number): Promise<void> {
    const portal = this.portalNamed(name)
    const rows = await this.startPortal(portal)
    if (rows === null) return void this.emit(be.emptyQueryResponse())
    try {
      const fields = fieldsOf(await rows.columns(), portal.resultFormats)
      const sent = await this.sendRows(rows, fields, maxRows > 0 ? maxRows : Infinity)
      // At the row limit with the statement not known to be over: the next Execute goes on (PostgreSQL too suspends when the limit falls on the last row).
      if (!rows.done) return void this.emit(be.portalSuspended())
      this.emit(be.commandComplete(tagOf(await rows.result(), sent)))
    } finally {
      if (this.live === portal && rows.done) this.live = undefined
    }
  }

  private readyForQuery(): void {
    const status = this.session?.transactionStatus ?? 'idle'
    this.emit(be.readyForQuery(status === 'idle' ? 'I' : status === 'in-transaction' ? 'T' : 'E'))
    this.flush()
  }

  /** Queues a message for the client; true when that sent the queued messages (FLUSH_BYTES of them). */
  private emit(message: Buffer): boolean {
    this.out.push(message)
    this.outBytes += message.length
    if (this.outBytes < FLUSH_BYTES) return false
    this.flush()
    return true
  }

  private flush(): void {
    if (this.out.length === 0 || this.phase === 'closed') {
      this.out = []
      this.outBytes = 0
      return
    }
    this.ports.send(this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out))
    this.out = []
    this.outBytes = 0
  }
}

/** Per process: the made-up salts of unknown users stay the same from one attempt to the next, as a real user's would. */
const MOCK_SECRET = randomBytes(32)

/** A verifier no password matches, for a user that does not exist (or has no password). */
function mockVerifier(user: string): ScramVerifier {
  const digest = (label: string) => createHmac('sha256', MOCK_SECRET).update(`${label}\0${user}`).digest()
  return { iterations: 4096, salt: digest('salt').subarray(0, 16), storedKey: randomBytes(32), serverKey: randomBytes(32) }
}

/** The RowDescription fields of `columns` in the client's result formats (none given: all text). */
function fieldsOf(columns: Columns, formats: readonly number[]): be.FieldDescription[] {
  return columns.map((c, i) => fieldOf(c.name, c.type, formats.length === 0 ? 0 : (formats[i] ?? formats[0]!)))
}

/** The CommandComplete tag PostgreSQL gives the statement. */
export function tagOf(result: SqlResult, rows: number): string {
  switch (result.command) {
    case 'SELECT':
      return `SELECT ${rows}`
    case 'INSERT':
    case 'REPLACE':
      return `INSERT 0 ${result.rowsAffected}`
    case 'UPDATE':
    case 'DELETE':
      return `${result.command} ${result.rowsAffected}`
    default:
      return result.command
  }
}

/** The 1-based character position an error message's "line L, column C" points at, in the whole query text. */
export function positionOf(message: string, sql: string, offset: number): number | undefined {
  const m = /\bline (\d+), column (\d+)/.exec(message)
  if (!m) return undefined
  const lines = sql.split('\n')
  const line = Number(m[1])
  if (line < 1 || line > lines.length) return undefined
  let at = 0
  for (let i = 0; i < line - 1; i++) at += lines[i]!.length + 1
  return offset + at + Number(m[2])
}

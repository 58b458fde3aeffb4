// SqlEngine (one per node: the KV database, the statement and catalog caches) and SqlSession
// (one per client connection: autocommit or an explicit transaction).

import type { Statement } from './ast.js'
import { Catalog, EMPTY_CATALOG, loadCatalog, type TableDesc } from './catalog.js'
import { createIndex, createTable, dropIndex, dropTable, showColumns, showTables } from './ddl.js'
import { executeDelete, executeInsert, executeUpdate, type DmlResult } from './dml.js'
import { fail, SqlError, SqlState } from './errors.js'
import type { ExecutorPool } from './executor-pool.js'
import { explain } from './explain.js'
import type { KvDatabase, KvTransaction } from './kv-port.js'
import { DEFAULT_MEMORY_BUDGET_BYTES } from './memory.js'
import { StatementCache } from './parse.js'
import { executeTopLevel, planQuery } from './select.js'
import { planReturning } from './returning.js'
import { DEFAULT_BACKFILL_CHUNK, executeSchemaStatement, isSchemaChange, runSchemaChange, schemaChangeTag, type SchemaChange } from './schema-change.js'
import { executeUserStatement } from './users.js'
import { cancelError, duplicateMessage, StaleCatalogError, StatementContext, type CatalogState, type ExecutionOptions, type RowSink } from './statement-context.js'
import { SchemaLease, type BeginTimes, type SchemaLeaseOptions } from './schema-lease.js'
import { setUniqueRowIdNode } from './unique-rowid.js'
import { analyze, StatsCache } from './stats.js'
import { StatsRefresher } from './stats-refresh.js'
import type { SqlValue } from './values.js'

/** Options of one {@link SqlSession.execute} call. */
export interface ExecuteOptions {
  /**
   * Cancels the statement when aborted: it fails with 57014 (the signal's reason when that is
   * a SqlError, else "canceling statement due to user request") at its next KV call, and an
   * autocommit statement does not commit. Work already sent to the KV layer finishes there.
   */
  readonly signal?: AbortSignal
  /**
   * Takes a query's rows batch by batch as they are produced, for a query that streams (one
   * table or a join, with no aggregate, window function or correlated subquery): its result then has `streamed` set and no
   * `rows`. Other queries' rows come in the result as always. A statement that has handed
   * rows to it is not retried (autocommit retries on a write conflict otherwise). A sink that
   * answers false ends the query there, successfully (a portal closed before its last row).
   */
  readonly onRows?: RowSink
}

/** Where a session stands, as PostgreSQL's ReadyForQuery reports it. */
export type TransactionStatus = 'idle' | 'in-transaction' | 'failed'

/**
 * The result of one statement. A query has columns and rows; INSERT, UPDATE and DELETE have
 * `rowsAffected`, and with RETURNING also columns and one row per written row (PostgreSQL's
 * wire protocol then sends RowDescription and DataRows before `INSERT 0 n` / `UPDATE n` / `DELETE n`).
 */
export interface SqlResult {
  /** What ran: 'SELECT', 'INSERT', 'CREATE TABLE', 'BEGIN', … */
  command: string
  /** Result columns: none for a statement without rows (a DML without RETURNING, DDL…). */
  columns: Array<{ name: string; type: string }>
  rows: SqlValue[][]
  /** Rows inserted, updated or deleted (0 for other statements). */
  rowsAffected: number
  /** For a query whose rows went to {@link ExecuteOptions.onRows}: how many (and `rows` is empty). */
  streamed?: number
}

/** Options of {@link SqlEngine}. */
export interface SqlEngineOptions {
  /** How many times an autocommit statement is retried after a write conflict (default 3). */
  readonly maxRetries?: number
  /** Pairs per scan call (default 1000). */
  readonly scanChunkSize?: number
  /** How many distinct statement texts the parse cache keeps (default 1000). */
  readonly statementCacheSize?: number
  /**
   * Worker threads for parsing and for big scans' decoding, filtering and aggregation, so
   * the event loop stays free for Raft. Every statement not in the parse cache is parsed
   * there; scans use it unless their session says `SET executor_pool = off`. Without one,
   * that work runs inline (scans one chunk at a time).
   */
  readonly pool?: ExecutorPool
  /**
   * This node's id (its store id), placed in every unique_rowid() value (SERIAL columns' default)
   * so that ids made on different nodes never collide; see unique-rowid.ts. Without one, the
   * process uses a random id (fine for a single in-memory engine).
   */
  readonly nodeId?: number
  /**
   * The gateway's schema lease (schema-lease.ts): how long statements may plan with a catalog
   * validated earlier instead of reading the catalog version each time, at the price of
   * catalog changes waiting that long before and after they commit. Default 0 ms: every
   * statement reads the version at its snapshot, and catalog changes do not wait.
   */
  readonly schemaLease?: SchemaLeaseOptions
  /**
   * Bytes one statement's operators (sorts, hash tables, groups, materialised subqueries) may
   * hold at once before it fails with 53200; default 256 MiB. A session may lower or raise its
   * own with `SET sql_memory_budget_mb = N`.
   */
  readonly memoryBudgetBytes?: number
  /** Where sorts over the budget spill their runs (the node's data directory); default the OS's temporary directory. */
  readonly spillDir?: string
  /**
   * Automatic statistics (stats-refresh.ts): a table's statistics are collected again in the
   * background once enough of its rows were written through this engine. Default false (an
   * engine's plans and KV calls then depend on its statements alone); a node turns it on.
   */
  readonly statsRefresh?: boolean
  /** Where the engine's background work reports what failed (a node passes its log). */
  readonly logger?: { warn(msg: string): void }
}

/** The SQL engine of one node: hands out sessions that share its caches. */
export class SqlEngine {
  /** Parsed statements by text. */
  readonly statements: StatementCache
  /** @internal The newest catalog seen (validated by each statement against its snapshot). */
  catalog: Catalog = EMPTY_CATALOG
  /** @internal */
  readonly maxRetries: number
  /** @internal */
  readonly execution: ExecutionOptions
  /** @internal The schema lease of this gateway. */
  readonly lease: SchemaLease
  /** @internal Collects tables' statistics again as they change (null: only ANALYZE does). */
  readonly statsRefresh: StatsRefresher | null

  constructor(
    readonly db: KvDatabase,
    options: SqlEngineOptions = {},
  ) {
    this.maxRetries = options.maxRetries ?? 3
    const stats = new StatsCache(db)
    this.execution = {
      scanChunkSize: options.scanChunkSize ?? 1000,
      pool: options.pool ?? null,
      memoryBudgetBytes: options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES,
      ...(options.spillDir === undefined ? {} : { spillDir: options.spillDir }),
      stats,
    }
    this.statsRefresh = options.statsRefresh !== true ? null : new StatsRefresher({ stats, collect: (tableId) => this.analyzeTable(tableId), ...(options.logger ? { logger: options.logger } : {}) })
    this.statements = new StatementCache(options.statementCacheSize ?? 1000)
    this.lease = new SchemaLease(options.schemaLease ?? { durationMs: 0 })
    if (options.nodeId !== undefined) setUniqueRowIdNode(options.nodeId)
  }

  /** A new session (one per client connection). */
  session(): SqlSession {
    return new SqlSession(this)
  }

  /**
   * The base types ('int', 'float', 'text', 'bool') of the columns named `column` in any table
   * of the newest catalog this engine has seen (possibly stale; empty when none is known).
   */
  columnBaseTypes(column: string): string[] {
    const types = new Set<string>()
    for (const t of this.catalog.tables.values()) for (const c of t.columns) if (c.name === column && c.type !== undefined) types.add(c.type.base)
    return [...types]
  }

  /** @internal Hears that a committed statement wrote `rows` rows of table `tableId` (automatic statistics). */
  noteWrites(tableId: number, rows: number): void {
    this.statsRefresh?.noteWrites(tableId, rows)
  }

  /** ANALYZE of the table with id `tableId` (if the newest catalog seen here still has it), in a session of its own. */
  private async analyzeTable(tableId: number): Promise<void> {
    const table = [...this.catalog.tables.values()].find((t) => t.id === tableId)
    if (table === undefined) return
    const session = this.session()
    try {
      await session.execute(`ANALYZE "${table.name.replaceAll('"', '""')}"`)
    } finally {
      await session.close()
    }
  }

  /** @internal Keeps the newest catalog. */
  remember(catalog: Catalog): void {
    if (catalog.version >= this.catalog.version) this.catalog = catalog
  }

  /** @internal A transaction, with when it asked for its snapshot and when it got it (for the lease). */
  async begin(): Promise<{ txn: KvTransaction; times: BeginTimes }> {
    const calledMs = this.lease.now()
    const txn = await this.db.begin()
    return { txn, times: { calledMs, resolvedMs: this.lease.now() } }
  }
}

interface OpenTransaction {
  readonly txn: KvTransaction
  readonly times: BeginTimes
  /** The catalog as this transaction sees it, once a statement used it, and whether it is current or leased. */
  catalog: Catalog | null
  catalogState: CatalogState
  /** Whether a statement changed the catalog (the commit then waits out the schema lease). */
  changedCatalog: boolean
  aborted: boolean
  /** Rows its statements wrote, by table id: told to the engine once it commits (automatic statistics). */
  readonly writes: Map<number, number>
}

/**
 * A client connection. Statements outside BEGIN run in their own transaction (retried on
 * write conflicts); between BEGIN and COMMIT/ROLLBACK they share one. After an error inside a
 * transaction, only ROLLBACK (or COMMIT, which then rolls back) is accepted (25P02).
 * COMMIT and ROLLBACK without a transaction are no-ops. Several `;`-separated statements
 * run in order and the last result is returned; the first error stops them. Session settings:
 * `SET executor_pool = on|off` says whether big scans use the engine's worker pool,
 * `SET sql_memory_budget_mb = N` sets this session's statement memory budget, and
 * `SET naive_plans = on|off` plans full scans and nested loops only (a test reference).
 */
export class SqlSession {
  private open: OpenTransaction | null = null
  private closed = false
  /** `SET executor_pool`: whether this session's scans use the engine's worker pool (parsing always does). */
  private usePool = true
  /** `SET sql_memory_budget_mb`: this session's statement memory budget, if it set one. */
  private memoryBudgetBytes: number | undefined
  /** `SET naive_plans`: full scans and nested loops only (the reference plan of the differential test). */
  private naivePlans = false
  /** The cancellation signal of the statement running now, if any. */
  private signal: AbortSignal | undefined
  /** Where the running statement's streamed rows go, if anywhere, and how many went there. */
  private sink: { readonly onRows: RowSink; sent: number } | undefined

  constructor(private readonly engine: SqlEngine) {}

  /** Whether an explicit transaction is open. */
  get inTransaction(): boolean {
    return this.open !== null
  }

  /** Idle, inside BEGIN, or inside BEGIN after an error (only ROLLBACK or COMMIT are accepted). */
  get transactionStatus(): TransactionStatus {
    return this.open === null ? 'idle' : this.open.aborted ? 'failed' : 'in-transaction'
  }

  /** Runs SQL text; raises SqlError. */
  async execute(sql: string, options: ExecuteOptions = {}): Promise<SqlResult> {
    if (this.closed) fail(SqlState.CONNECTION_FAILURE, 'session is closed')
    this.signal = options.signal
    this.sink = options.onRows === undefined ? undefined : { onRows: options.onRows, sent: 0 }
    try {
      return await this.executeText(sql)
    } finally {
      this.signal = undefined
      this.sink = undefined
    }
  }

  private async executeText(sql: string): Promise<SqlResult> {
    let statements: readonly Statement[]
    try {
      // Off the event loop whatever the session's setting: the parser's cost is not bounded
      // by the text's length (see ExecutorPool), and the loop also ticks Raft.
      const pool = this.engine.execution.pool
      statements = pool ? await this.engine.statements.parseWith(sql, (text) => pool.parse(text)) : this.engine.statements.parse(sql)
    } catch (e) {
      if (this.open !== null) this.open.aborted = true
      throw toSqlError(e, this.engine.catalog)
    }
    let result: SqlResult | undefined
    try {
      for (const s of statements) {
        this.checkCancel()
        result = await this.run(s)
      }
    } catch (e) {
      // Errors from outside a statement's own handling (starting a transaction) get their code here.
      throw toSqlError(e, this.engine.catalog)
    }
    return result!
  }

  /**
   * The result columns of `sql` (one statement) learned without running it, for the wire
   * protocol's Describe of a prepared statement: RETURNING's columns for an INSERT, UPDATE or
   * DELETE with RETURNING, none for one without; null for any other statement (whose columns
   * only running it tells). Raises what planning RETURNING raises (42703…), and 25P02 inside
   * an aborted transaction.
   */
  async describe(sql: string): Promise<SqlResult['columns'] | null> {
    if (this.closed) fail(SqlState.CONNECTION_FAILURE, 'session is closed')
    let statements: readonly Statement[]
    try {
      const pool = this.engine.execution.pool
      statements = pool ? await this.engine.statements.parseWith(sql, (text) => pool.parse(text)) : this.engine.statements.parse(sql)
    } catch (e) {
      throw toSqlError(e, this.engine.catalog)
    }
    const stmt = statements.length === 1 ? statements[0]! : null
    if (stmt === null || (stmt.kind !== 'insert' && stmt.kind !== 'update' && stmt.kind !== 'delete')) return null
    const items = stmt.returning
    if (items === null) return []
    const open = this.open
    if (open?.aborted === true) fail(SqlState.IN_FAILED_SQL_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block')
    // Outside BEGIN, a transaction of its own that only reads (never committed, as a read-only statement's).
    const txn = open?.txn ?? (await this.engine.db.begin())
    const known = open?.catalog ? { catalog: open.catalog, state: open.catalogState } : null
    try {
      const { result } = await this.runWithCatalog(txn, known, null, stmt, async (ctx) => {
        const plan = await planReturning(ctx, ctx.catalog.table(stmt.table), items)
        await ctx.ensureValidated()
        return { command: 'DESCRIBE', columns: plan.columns.map((c) => ({ ...c })), rows: [], rowsAffected: 0 }
      })
      return result.columns
    } catch (e) {
      throw toSqlError(e, open?.catalog ?? this.engine.catalog)
    }
  }

  /** Rolls back an open transaction and ends the session. */
  async close(): Promise<void> {
    if (this.open !== null) await this.open.txn.rollback().catch(() => undefined)
    this.open = null
    this.closed = true
  }

  /** Raises 57014 if the running statement was cancelled. */
  private checkCancel(): void {
    const signal = this.signal
    if (signal?.aborted) throw cancelError(signal)
  }

  private async run(stmt: Statement): Promise<SqlResult> {
    const open = this.open
    if (open !== null && stmt.kind !== 'commit' && stmt.kind !== 'rollback') {
      // PostgreSQL's rule: once a statement inside BEGIN fails, the transaction is aborted
      // and only its end (ROLLBACK, or COMMIT, which then rolls back) is accepted.
      if (open.aborted) fail(SqlState.IN_FAILED_SQL_TRANSACTION, 'current transaction is aborted, commands ignored until end of transaction block')
      try {
        return await this.runStatement(stmt)
      } catch (e) {
        open.aborted = true
        throw toSqlError(e, open.catalog ?? this.engine.catalog)
      }
    }
    return this.runStatement(stmt)
  }

  private async runStatement(stmt: Statement): Promise<SqlResult> {
    switch (stmt.kind) {
      case 'begin':
        if (this.open !== null) fail(SqlState.ACTIVE_SQL_TRANSACTION, 'there is already a transaction in progress')
        this.open = { ...(await this.engine.begin()), catalog: null, catalogState: 'unchecked', changedCatalog: false, aborted: false, writes: new Map() }
        return command('BEGIN')
      case 'commit': {
        const open = this.open
        if (open === null) return command('COMMIT')
        this.open = null
        if (open.aborted) {
          await open.txn.rollback().catch(() => undefined)
          return command('ROLLBACK')
        }
        try {
          if (open.changedCatalog) await this.engine.lease.beforeCatalogCommit(open.times)
          await open.txn.commit({ timestampFromOracle: open.changedCatalog })
        } catch (e) {
          await open.txn.rollback().catch(() => undefined)
          throw toSqlError(e, open.catalog ?? this.engine.catalog)
        }
        if (open.catalog !== null) this.engine.remember(open.catalog)
        for (const [table, rows] of open.writes) this.engine.noteWrites(table, rows)
        if (open.changedCatalog) await this.engine.lease.afterCatalogCommit()
        return command('COMMIT')
      }
      case 'rollback':
        if (this.open !== null) await this.open.txn.rollback().catch(() => undefined)
        this.open = null
        return command('ROLLBACK')
      case 'set':
        this.set(stmt.name, stmt.value)
        return command('SET')
      default:
        if (this.open === null && isSchemaChange(stmt)) return this.schemaChange(stmt)
        return this.open === null ? this.autocommit(stmt) : this.inOpenTransaction(this.open, stmt)
    }
  }

  /** Runs an online schema change job; it returns once no gateway plans with a catalog from before it. */
  private async schemaChange(stmt: SchemaChange): Promise<SqlResult> {
    const lease = this.engine.lease
    try {
      await runSchemaChange(this.engine.db, stmt, { chunkSize: DEFAULT_BACKFILL_CHUNK, lease })
    } finally {
      await lease.afterCatalogCommit()
    }
    return command(schemaChangeTag(stmt))
  }

  /** Applies a session setting; see {@link SqlSession}. */
  private set(name: string, value: string): void {
    if (name === 'sql_memory_budget_mb') {
      const mb = Number(value)
      if (!Number.isFinite(mb) || mb <= 0) fail(SqlState.INVALID_PARAMETER_VALUE, `sql_memory_budget_mb must be a positive number of MiB, not "${value}"`)
      this.memoryBudgetBytes = Math.round(mb * 1024 * 1024)
      return
    }
    if (name !== 'executor_pool' && name !== 'naive_plans') fail(SqlState.UNDEFINED_OBJECT, `unrecognized setting "${name}" (settings: executor_pool, naive_plans, sql_memory_budget_mb)`)
    let on: boolean
    if (['on', 'true', '1'].includes(value)) on = true
    else if (['off', 'false', '0'].includes(value)) on = false
    else return fail(SqlState.INVALID_PARAMETER_VALUE, `${name} must be on or off, not "${value}"`)
    if (name === 'executor_pool') this.usePool = on
    else this.naivePlans = on
  }

  /**
   * Runs a statement inside BEGIN … COMMIT (the caller aborts the transaction if it fails).
   * Its writes reach the transaction only once it succeeded, after its inserts were checked
   * against the transaction, so a unique violation is this statement's error, not COMMIT's.
   */
  private async inOpenTransaction(open: OpenTransaction, stmt: Statement): Promise<SqlResult> {
    const known = open.catalog !== null ? { catalog: open.catalog, state: open.catalogState } : this.leased(open.txn, open.times)
    const { result, ctx } = await this.runWithCatalog(open.txn, known, open.times, stmt)
    await ctx.checkInserts() // INSERT and UPDATE checked theirs already (StatementContext.finishWrites): a no-op then
    ctx.buffer.flush(open.txn)
    const written = writtenTable(ctx, stmt, result)
    if (written !== null) open.writes.set(written.id, (open.writes.get(written.id) ?? 0) + result.rowsAffected)
    open.catalog = ctx.newCatalog ?? ctx.catalog
    open.catalogState = ctx.newCatalog !== null || ctx.isCurrent ? 'current' : 'leased'
    if (ctx.newCatalog !== null) open.changedCatalog = true
    return result
  }

  /** The gateway's leased catalog for `txn`, if its lease covers the transaction. */
  private leased(txn: KvTransaction, times: BeginTimes): { catalog: Catalog; state: CatalogState } | null {
    const catalog = this.engine.lease.catalogFor(txn.startTs, times)
    return catalog === null ? null : { catalog, state: 'leased' }
  }

  /**
   * Runs a statement in a transaction of its own, retried on write conflicts. Its inserts are
   * not read first: the commit's absence check reports a duplicate at this same statement.
   * The first attempt may plan with the leased catalog; a retry reads the version (a write
   * conflict may come from a schema change two versions on).
   */
  private async autocommit(stmt: Statement): Promise<SqlResult> {
    for (let attempt = 0; ; attempt++) {
      const { txn, times } = await this.engine.begin()
      let wrote = false
      try {
        const { result, ctx } = await this.runWithCatalog(txn, attempt === 0 ? this.leased(txn, times) : null, times, stmt)
        if (ctx.buffer.size > 0) {
          wrote = true
          this.checkCancel()
          ctx.buffer.flush(txn)
          if (ctx.newCatalog !== null) await this.engine.lease.beforeCatalogCommit(times)
          await txn.commit({ timestampFromOracle: ctx.newCatalog !== null })
          const written = writtenTable(ctx, stmt, result)
          if (written !== null) this.engine.noteWrites(written.id, result.rowsAffected)
        }
        if (ctx.newCatalog !== null) {
          this.engine.remember(ctx.newCatalog)
          await this.engine.lease.afterCatalogCommit()
        }
        return result
      } catch (e) {
        if (wrote) await txn.rollback().catch(() => undefined)
        const code = kvCode(e)
        // Rows already sent cannot be taken back: a statement that streamed some is not retried.
        if ((code === 'WRITE_CONFLICT' || code === 'TXN_ABORTED') && attempt < this.engine.maxRetries && (this.sink?.sent ?? 0) === 0) continue
        throw toSqlError(e, this.engine.catalog)
      }
    }
  }

  /**
   * Runs a statement against `known` (a current or leased catalog) or else the engine's
   * cached one (checked at the snapshot, re-planned once if stale). A catalog found current
   * renews the gateway's lease when `times` says when the transaction began.
   */
  private async runWithCatalog(
    txn: KvTransaction,
    known: { catalog: Catalog; state: CatalogState } | null,
    times: BeginTimes | null,
    stmt: Statement,
    run: (ctx: StatementContext, stmt: Statement) => Promise<SqlResult> = execute,
  ): Promise<{ result: SqlResult; ctx: StatementContext }> {
    let execution = this.usePool ? this.engine.execution : { ...this.engine.execution, pool: null }
    if (this.memoryBudgetBytes !== undefined) execution = { ...execution, memoryBudgetBytes: this.memoryBudgetBytes }
    if (this.naivePlans) execution = { ...execution, naivePlans: true }
    const sink = this.sink
    if (sink !== undefined) {
      execution = {
        ...execution,
        sink: (columns, rows) => {
          sink.sent += rows.length
          return sink.onRows(columns, rows)
        },
      }
    }
    const options = this.signal === undefined ? execution : { ...execution, signal: this.signal }
    const checksInserts = this.open !== null
    const startTs = txn.startTs
    const renew = (catalog: Catalog) => (times === null ? undefined : () => this.engine.lease.renew(catalog, startTs, times))
    if (this.signal !== undefined) txn = cancellable(txn, this.signal)
    const catalog = known?.catalog ?? this.engine.catalog
    const first = new StatementContext(this.engine.db, txn, catalog, options, known?.state ?? 'unchecked', checksInserts, renew(catalog))
    try {
      return { result: await run(first, stmt), ctx: first }
    } catch (e) {
      // An error found while planning against a catalog not read at this snapshot (an
      // unknown table, say) may only mean it is stale: it stands only if the catalog is current.
      if ((sink?.sent ?? 0) > 0) throw e
      if (!(e instanceof StaleCatalogError) && !(known?.state !== 'current' && e instanceof SqlError && (await isStale(first)))) throw e
    }
    const fresh = await loadCatalog(txn)
    this.engine.remember(fresh)
    renew(fresh)?.()
    const second = new StatementContext(this.engine.db, txn, fresh, options, 'current', checksInserts)
    return { result: await run(second, stmt), ctx: second }
  }
}

/**
 * `txn` for one statement: each read first checks `signal`, and a read in flight when it
 * fires is abandoned (its answer ignored) so the statement ends at once. Writes are only
 * buffered, and commit is the session's: they, and the rest, pass straight through.
 */
function cancellable(txn: KvTransaction, signal: AbortSignal): KvTransaction {
  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (signal.aborted) return Promise.reject(cancelError(signal))
    const work = call()
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(cancelError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      work.then(
        (v) => {
          signal.removeEventListener('abort', onAbort)
          resolve(v)
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(e)
        },
      )
    })
  }
  const guarded: Partial<Record<keyof KvTransaction, unknown>> = {
    get: (key: Uint8Array) => guard(() => txn.get(key)),
    getMany: (keys: readonly Uint8Array[]) => guard(() => txn.getMany(keys)),
    scan: (start: Uint8Array, end: Uint8Array, limit?: number) => guard(() => txn.scan(start, end, limit)),
  }
  return new Proxy(txn, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in guarded) return guarded[prop as keyof KvTransaction]
      const value: unknown = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

/** Whether the statement's catalog is older than its snapshot. */
async function isStale(ctx: StatementContext): Promise<boolean> {
  try {
    await ctx.ensureCurrent()
    return false
  } catch (e) {
    if (e instanceof StaleCatalogError) return true
    throw e
  }
}

/** The table an INSERT, UPDATE or DELETE that wrote rows wrote to; null for any other statement. */
function writtenTable(ctx: StatementContext, stmt: Statement, result: SqlResult): TableDesc | null {
  if ((stmt.kind !== 'insert' && stmt.kind !== 'update' && stmt.kind !== 'delete') || result.rowsAffected === 0) return null
  return ctx.catalog.tables.get(stmt.table) ?? null
}

function command(name: string, rowsAffected = 0): SqlResult {
  return { command: name, columns: [], rows: [], rowsAffected }
}

/** An INSERT, UPDATE or DELETE's result: the count, and RETURNING's columns and rows if it has one. */
function dmlResult(name: string, result: DmlResult): SqlResult {
  if (result.returning === null) return command(name, result.affected)
  return { command: name, columns: result.returning.columns.map((c) => ({ ...c })), rows: result.returning.rows, rowsAffected: result.affected }
}

async function execute(ctx: StatementContext, stmt: Statement): Promise<SqlResult> {
  switch (stmt.kind) {
    case 'select':
    case 'set-op': {
      const plan = await planQuery(ctx, stmt)
      const { rows, streamed } = await executeTopLevel(ctx, plan)
      await ctx.ensureValidated()
      return { command: 'SELECT', columns: plan.columns.map((c) => ({ ...c })), rows, rowsAffected: 0, ...(streamed === null ? {} : { streamed }) }
    }
    case 'insert':
      return dmlResult('INSERT', await executeInsert(ctx, stmt))
    case 'update':
      return dmlResult('UPDATE', await executeUpdate(ctx, stmt))
    case 'delete':
      return dmlResult('DELETE', await executeDelete(ctx, stmt))
    case 'create-table':
      await createTable(ctx, stmt)
      return command('CREATE TABLE')
    case 'drop-table':
      return command('DROP TABLE', await dropTable(ctx, stmt))
    case 'create-index':
      await createIndex(ctx, stmt)
      return command('CREATE INDEX')
    case 'drop-index':
      await dropIndex(ctx, stmt)
      return command('DROP INDEX')
    case 'show-tables':
      return { command: 'SHOW', columns: [{ name: 'table_name', type: 'TEXT' }], rows: await showTables(ctx), rowsAffected: 0 }
    case 'show-columns':
      return {
        command: 'SHOW',
        columns: ['Field', 'Type', 'Null', 'Key', 'Default'].map((name) => ({ name, type: 'TEXT' })),
        rows: await showColumns(ctx, stmt.table),
        rowsAffected: 0,
      }
    case 'explain': {
      const lines = await explain(ctx, stmt.statement)
      await ctx.ensureValidated()
      return { command: 'EXPLAIN', columns: [{ name: 'plan', type: 'TEXT' }], rows: lines.map((l) => [l]), rowsAffected: 0 }
    }
    case 'analyze':
      await analyze(ctx, stmt.table)
      return command('ANALYZE')
    case 'alter-table':
    case 'show-jobs':
    case 'check-indexes':
      return executeSchemaStatement(ctx, stmt)
    case 'create-user':
    case 'alter-user':
    case 'drop-user':
      return executeUserStatement(ctx, stmt)
    case 'begin':
    case 'commit':
    case 'rollback':
    case 'set':
      return fail(SqlState.INTERNAL_ERROR, `${stmt.kind} reached the executor`)
  }
}

function kvCode(e: unknown): string | undefined {
  if (e instanceof SqlError) return undefined
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** Converts any error a statement raised into the SqlError a client sees. */
function toSqlError(e: unknown, catalog: Catalog): SqlError {
  if (e instanceof SqlError) return e
  const code = kvCode(e)
  const message = e instanceof Error ? e.message : String(e)
  switch (code) {
    case 'WRITE_CONFLICT':
    case 'TXN_ABORTED':
      return new SqlError(SqlState.SERIALIZATION_FAILURE, `restart transaction: ${message}`, { cause: e })
    case 'GC_THRESHOLD':
      // The snapshot is older than what garbage collection keeps: a fresh transaction succeeds.
      return new SqlError(SqlState.SERIALIZATION_FAILURE, `restart transaction: snapshot too old: ${message}`, { cause: e })
    case 'KEY_EXISTS':
      return new SqlError(SqlState.UNIQUE_VIOLATION, duplicateMessage(catalog, (e as { key?: Uint8Array }).key), { cause: e })
    case 'TIMEOUT':
      return new SqlError(SqlState.STATEMENT_COMPLETION_UNKNOWN, `the outcome of the statement is unknown: ${message}`, { cause: e })
    case 'UNAVAILABLE':
      return new SqlError(SqlState.CONNECTION_FAILURE, `the database is unavailable: ${message}`, { cause: e })
    default:
      return new SqlError(SqlState.INTERNAL_ERROR, `internal error: ${message}`, { cause: e })
  }
}

// Online schema changes as jobs: CREATE INDEX, DROP INDEX and ALTER TABLE outside a
// transaction block. The statement's gateway runs the job to its end before answering:
// each state of schema-state.ts is one small transaction that publishes the next descriptor
// (and bumps the catalog version, so every gateway's cached catalog notices at its next
// statement); the backfill runs in chunks, a transaction each, yielding the event loop
// between them; dropped indexes' entries are deleted in chunks once nobody writes them.
// Jobs are recorded under /sys/jobs/<id> (JSON) and listed by SHOW JOBS.
//
// Writers need no waiting between states: a writing transaction commits only while the
// table is at most one version past the one it planned with (StatementContext.writeView,
// checked by KvTransaction.checkAtCommit at the commit timestamp), so once a state is
// published, no writer of the state two steps back can commit any more. Readers may plan
// with a leased catalog (schema-lease.ts): a step that publishes commits only once the
// lease allows it, so that no reader is two versions behind. See docs/decisions.md,
// "Online schema changes" and "Schema leases".

import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { encodeKey, keySuccessor, prefixEnd } from '@mrdb/storage'
import type { AlterAction, Statement } from './ast.js'
import {
  decodeCounter,
  decodeDescriptor,
  descriptorKey,
  encodeCounter,
  encodeDescriptor,
  FIRST_ID,
  indexPrefix,
  loadCatalog,
  NEXT_ID_KEY,
  PRIMARY_INDEX_ID,
  VERSION_KEY,
  type Catalog,
  type ColumnDesc,
  type IndexDesc,
  type TableDesc,
} from './catalog.js'
import { createdInTransaction, createIndex } from './ddl.js'
import { storedDefault } from './defaults.js'
import { fail, SqlError, SqlState } from './errors.js'
import type { KvDatabase, KvTransaction } from './kv-port.js'
import { advance, jobState, reverse, startAddColumn, startAddIndex, startDropColumn, startDropIndex, writeView } from './schema-state.js'
import type { StatementContext } from './statement-context.js'
import type { SqlResult } from './engine.js'
import { decodeRow, encodeRow, indexEntryOf, rowLayout } from './table-codec.js'
import type { SqlValue } from './values.js'
import type { SchemaLease } from './schema-lease.js'
import { scanSpan } from './access.js'

/** A schema change a job runs: CREATE INDEX, DROP INDEX, ALTER TABLE. */
export type SchemaChange = Extract<Statement, { kind: 'create-index' | 'drop-index' | 'alter-table' }>

/** Whether `stmt` runs as an online schema change job when outside a transaction block. */
export function isSchemaChange(stmt: Statement): stmt is SchemaChange {
  return stmt.kind === 'create-index' || stmt.kind === 'drop-index' || stmt.kind === 'alter-table'
}

/** A job as SHOW JOBS lists it. */
export interface JobRecord {
  readonly id: number
  /** The statement, as SQL. */
  readonly description: string
  readonly table: string
  readonly state: 'running' | 'succeeded' | 'failed'
  /** Where the job is: the state its columns and indexes are in, or its last step. */
  readonly phase: string
  /** The backfill's (or cleanup's) fraction done, 0 to 1; 1 once the job ended. */
  readonly progress: number
  readonly error: string | null
}

/** Tuning of schema change jobs. */
export interface SchemaChangeOptions {
  /** Rows (or index entries) per backfill or cleanup transaction. */
  readonly chunkSize: number
  /** Called after each step and chunk (tests use it to interleave writes with a job). */
  readonly onStep?: (job: JobRecord) => Promise<void> | void
  /** The gateway's schema lease: each step that publishes a state commits only once the lease allows it. */
  readonly lease?: SchemaLease
}

/** The default rows per backfill transaction: small enough to keep each one short. */
export const DEFAULT_BACKFILL_CHUNK = 256

const JOBS_PREFIX = encodeKey(['/sys', 'jobs'])
const JOB_ID_KEY = encodeKey(['/sys', 'job-counter'])

function jobKey(id: number): Uint8Array {
  return encodeKey(['/sys', 'jobs', BigInt(id)])
}

function encodeJob(job: JobRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(job))
}

function decodeJob(bytes: Uint8Array): JobRecord {
  return JSON.parse(new TextDecoder().decode(bytes)) as JobRecord
}

/** How many times a job's transaction is retried after write conflicts before the job gives up. */
const MAX_STEP_ATTEMPTS = 100

/** The transactions that bumped the catalog version ({@link publish}). */
const publishing = new WeakSet<KvTransaction>()

/**
 * Runs `fn` in a transaction of its own and commits it, retrying write conflicts. A
 * transaction that published a state waits for the schema lease before it commits.
 */
async function inTransaction<T>(db: KvDatabase, fn: (txn: KvTransaction) => Promise<T>, lease: SchemaLease | undefined): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const calledMs = lease?.now() ?? 0
    const txn = await db.begin()
    const times = { calledMs, resolvedMs: lease?.now() ?? 0 }
    try {
      const out = await fn(txn)
      if (lease !== undefined && publishing.has(txn)) await lease.beforeCatalogCommit(times)
      await txn.commit({ timestampFromOracle: publishing.has(txn) })
      return out
    } catch (e) {
      await txn.rollback().catch(() => undefined)
      const code = (e as { code?: unknown } | null)?.code
      if (e instanceof SqlError || (code !== 'WRITE_CONFLICT' && code !== 'TXN_ABORTED') || attempt >= MAX_STEP_ATTEMPTS) throw e
      await new Promise((r) => setTimeout(r, Math.min(100, 2 ** Math.min(attempt, 7)) * Math.random()))
    }
  }
}

async function readTable(txn: KvTransaction, name: string): Promise<TableDesc> {
  const bytes = await txn.get(descriptorKey(name))
  if (bytes === undefined) fail(SqlState.UNDEFINED_TABLE, `relation "${name}" does not exist`)
  return decodeDescriptor(bytes)
}

/** Writes a changed descriptor and bumps the catalog version, so cached catalogs notice. */
async function publish(txn: KvTransaction, table: TableDesc, previousName = table.name): Promise<void> {
  const version = decodeCounter(await txn.get(VERSION_KEY))
  if (previousName !== table.name) txn.delete(descriptorKey(previousName))
  txn.put(descriptorKey(table.name), encodeDescriptor(table))
  txn.put(VERSION_KEY, encodeCounter(version + 1n))
  publishing.add(txn)
}

async function allocate(txn: KvTransaction, key: Uint8Array, first: number): Promise<number> {
  const raw = decodeCounter(await txn.get(key))
  const next = raw === 0n ? BigInt(first) : raw
  txn.put(key, encodeCounter(next + 1n))
  return Number(next)
}

function checkIndexName(catalog: Catalog, name: string): void {
  if (catalog.indexTable(name) !== undefined || name.endsWith('_pkey')) fail(SqlState.DUPLICATE_OBJECT, `relation "${name}" already exists`)
  for (const t of catalog.tables.values()) {
    for (const m of t.mutations ?? []) if (m.kind === 'index' && m.index.name === name) fail(SqlState.DUPLICATE_OBJECT, `relation "${name}" already exists`)
  }
}

function checkNoJob(table: TableDesc): void {
  const m = (table.mutations ?? [])[0]
  if (m !== undefined) fail(SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE, `table "${table.name}" is being changed by job ${m.jobId}; try again when it ends (SHOW JOBS)`)
}

function visibleColumn(table: TableDesc, name: string): number {
  const i = table.columns.findIndex((c) => c.name === name && !c.hidden)
  if (i < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" does not exist`)
  return i
}

/** The SQL text of a schema change, for SHOW JOBS. */
export function describeSchemaChange(stmt: SchemaChange): string {
  switch (stmt.kind) {
    case 'create-index':
      return `CREATE ${stmt.unique ? 'UNIQUE ' : ''}INDEX ${stmt.name} ON ${stmt.table} (${stmt.columns.join(', ')})`
    case 'drop-index':
      return `DROP INDEX ${stmt.name}`
    case 'alter-table':
      return `ALTER TABLE ${stmt.table} ${describeAction(stmt.action)}`
  }
}

function describeAction(a: AlterAction): string {
  switch (a.kind) {
    case 'add-column':
      return `ADD COLUMN ${a.column.name}`
    case 'drop-column':
      return `DROP COLUMN ${a.name}`
    case 'rename-column':
      return `RENAME COLUMN ${a.from} TO ${a.to}`
    case 'rename-table':
      return `RENAME TO ${a.to}`
    case 'add-unique':
      return `ADD CONSTRAINT ${a.name ?? ''} UNIQUE (${a.columns.join(', ')})`.replace('  ', ' ')
    case 'drop-constraint':
      return `DROP CONSTRAINT ${a.name}`
  }
}

/** What the first transaction of a schema change decided. */
type Start = { kind: 'job'; jobId: number; table: string; job: JobRecord } | { kind: 'done' }

/**
 * Runs a schema change outside a transaction block: validates it against the current
 * catalog, publishes its first state with a job record, then drives the job to its end.
 * Raises the error that failed the job (the job's columns and indexes are rolled back first),
 * e.g. 23505 when a unique index's backfill meets duplicates.
 */
export async function runSchemaChange(db: KvDatabase, stmt: SchemaChange, options: SchemaChangeOptions = { chunkSize: DEFAULT_BACKFILL_CHUNK }): Promise<void> {
  const description = describeSchemaChange(stmt)
  const start = await inTransaction(db, async (txn): Promise<Start> => {
    const catalog = await loadCatalog(txn)
    const startJob = async (table: TableDesc, change: (jobId: number) => TableDesc | Promise<TableDesc>): Promise<Start> => {
      checkNoJob(table)
      const jobId = await allocate(txn, JOB_ID_KEY, 1)
      const next = await change(jobId)
      await publish(txn, next)
      const job: JobRecord = { id: jobId, description, table: table.name, state: 'running', phase: phaseOf(next, jobId), progress: 0, error: null }
      txn.put(jobKey(jobId), encodeJob(job))
      return { kind: 'job', jobId, table: table.name, job }
    }
    const addIndex = (table: TableDesc, name: string, columns: readonly string[], unique: boolean): Promise<Start> => {
      checkIndexName(catalog, name)
      const positions = columns.map((c) => visibleColumn(table, c))
      return startJob(table, async (jobId) => {
        const id = await allocate(txn, NEXT_ID_KEY, FIRST_ID)
        const index: IndexDesc = { id, name, columns: positions, unique }
        return startAddIndex(table, index, jobId)
      })
    }
    switch (stmt.kind) {
      case 'create-index':
        return addIndex(catalog.table(stmt.table), stmt.name, stmt.columns, stmt.unique)
      case 'drop-index': {
        const table = catalog.indexTable(stmt.name)
        if (table === undefined || (stmt.table !== null && table.name !== stmt.table)) fail(SqlState.UNDEFINED_OBJECT, `index "${stmt.name}" does not exist`)
        return startJob(table, (jobId) => startDropIndex(table, stmt.name, jobId))
      }
      case 'alter-table': {
        const table = catalog.table(stmt.table)
        const a = stmt.action
        switch (a.kind) {
          case 'add-column': {
            if (table.columns.some((c) => c.name === a.column.name) || (table.mutations ?? []).some((m) => m.kind === 'column' && m.column.name === a.column.name)) {
              if (a.ifNotExists) return { kind: 'done' }
              fail(SqlState.DUPLICATE_COLUMN, `column "${a.column.name}" of relation "${table.name}" already exists`)
            }
            const c = a.column
            const column: Omit<ColumnDesc, 'id'> = { name: c.name, type: c.type, nullable: !c.notNull, ...storedDefault(c, true), hidden: false }
            return startJob(table, (jobId) => startAddColumn(table, column, jobId))
          }
          case 'drop-column':
            if (!table.columns.some((c) => c.name === a.name && !c.hidden) && a.ifExists) return { kind: 'done' }
            return startJob(table, (jobId) => startDropColumn(table, a.name, jobId))
          case 'add-unique':
            return addIndex(table, a.name ?? `${table.name}_${a.columns.join('_')}_key`, a.columns, true)
          case 'drop-constraint': {
            if (a.name === `${table.name}_pkey`) fail(SqlState.FEATURE_NOT_SUPPORTED, 'dropping a primary key is not supported')
            const index = table.indexes.find((i) => i.name === a.name && i.unique)
            if (index === undefined) {
              if (a.ifExists) return { kind: 'done' }
              fail(SqlState.UNDEFINED_OBJECT, `constraint "${a.name}" of relation "${table.name}" does not exist`)
            }
            return startJob(table, (jobId) => startDropIndex(table, a.name, jobId))
          }
          case 'rename-column': {
            checkNoJob(table)
            const i = visibleColumn(table, a.from)
            if (table.columns.some((c) => c.name === a.to)) fail(SqlState.DUPLICATE_COLUMN, `column "${a.to}" of relation "${table.name}" already exists`)
            const columns = table.columns.map((c, j) => (j === i ? { ...c, name: a.to } : c))
            await publish(txn, { ...table, columns, version: (table.version ?? 0) + 1 })
            return { kind: 'done' }
          }
          case 'rename-table': {
            checkNoJob(table)
            if (catalog.tables.has(a.to)) fail(SqlState.DUPLICATE_TABLE, `relation "${a.to}" already exists`)
            await publish(txn, { ...table, name: a.to, version: (table.version ?? 0) + 1 }, table.name)
            return { kind: 'done' }
          }
        }
      }
    }
  }, options.lease)
  if (start.kind === 'job') await runJob(db, start.jobId, start.table, options, start.job)
}

function phaseOf(table: TableDesc, jobId: number): string {
  const s = jobState(table, jobId)
  return s === null ? 'done' : `${s.direction === 'add' ? 'adding' : 'dropping'}: ${s.state}`
}

async function updateJob(txn: KvTransaction, jobId: number, change: Partial<JobRecord>): Promise<JobRecord> {
  const bytes = await txn.get(jobKey(jobId))
  if (bytes === undefined) fail(SqlState.INTERNAL_ERROR, `job ${jobId} has no record`)
  const job = { ...decodeJob(bytes), ...change }
  txn.put(jobKey(jobId), encodeJob(job))
  return job
}

/**
 * Drives job `jobId` on table `name` to its end: one published state at a time, the
 * backfill when its additions reach that state, the cleanup of dropped indexes' entries.
 * A backfill that fails on the data (duplicates for a unique index, NULLs for NOT NULL)
 * reverses the job's additions, which then leave by the same states; the error is raised.
 */
export async function runJob(db: KvDatabase, jobId: number, name: string, options: SchemaChangeOptions, started?: JobRecord): Promise<void> {
  if (started !== undefined) await options.onStep?.(started)
  let failure: SqlError | null = null
  const droppedIndexes: IndexDesc[] = []
  let tableId = 0
  for (;;) {
    const step = await inTransaction(db, async (txn) => {
      const table = await readTable(txn, name)
      tableId = table.id
      if (jobState(table, jobId) === null) return null
      // Indexes leaving now (delete-only drops) have entries to clean up afterwards.
      const leaving = (table.mutations ?? []).flatMap((m) => (m.jobId === jobId && m.kind === 'index' && m.direction === 'drop' && m.state === 'delete-only' ? [m.index] : []))
      const next = advance(table, jobId)
      await publish(txn, next)
      const job = await updateJob(txn, jobId, { phase: phaseOf(next, jobId) })
      return { table: next, leaving, job }
    }, options.lease)
    if (step === null) break
    droppedIndexes.push(...step.leaving)
    await options.onStep?.(step.job)
    const state = jobState(step.table, jobId)
    if (state?.direction === 'add' && state.state === 'backfill') {
      try {
        await backfill(db, step.table, jobId, options)
      } catch (e) {
        if (!(e instanceof SqlError)) throw e
        failure = e
        await inTransaction(db, async (txn) => {
          await publish(txn, reverse(await readTable(txn, name), jobId))
          await updateJob(txn, jobId, { phase: 'rolling back', error: `${e.code}: ${e.message}` })
        }, options.lease)
      }
    }
  }
  for (const index of droppedIndexes) await deleteIndexEntries(db, tableId, index, jobId, options)
  const final = await inTransaction(db, (txn) =>
    updateJob(txn, jobId, failure === null ? { state: 'succeeded', phase: 'done', progress: 1 } : { state: 'failed', phase: 'rolled back', progress: 1 }),
    undefined,
  )
  await options.onStep?.(final)
  if (failure !== null) throw failure
}

/** Counts the rows of a table at one snapshot (for the backfill's progress fraction). */
async function countRows(db: KvDatabase, start: Uint8Array, end: Uint8Array): Promise<number> {
  const txn = await db.begin()
  try {
    let n = 0
    for (let from = start; ; ) {
      const page = await txn.scan(from, end, 1000)
      n += page.length
      if (page.length < 1000) return n
      from = keySuccessor(page[page.length - 1]![0])
      await yieldToEventLoop()
    }
  } finally {
    await txn.rollback().catch(() => undefined)
  }
}

/**
 * Fills in what the job's additions need in every row that exists now, a chunk of rows per
 * transaction: index entries (a unique one checked against entries already there — from
 * other rows, or from writers that write it since write-only), or the new column's default.
 * A chunk that meets a concurrent write of one of its keys fails on the write-write
 * conflict and is done again from a fresh snapshot.
 */
async function backfill(db: KvDatabase, table: TableDesc, jobId: number, options: SchemaChangeOptions): Promise<void> {
  const view = writeView(table)
  const t = view.table
  const layout = rowLayout(t)
  const additions = (table.mutations ?? []).filter((m) => m.jobId === jobId && m.direction === 'add')
  const indexes = additions.flatMap((m) => (m.kind === 'index' ? [m.index] : []))
  const columns = additions.flatMap((m) => (m.kind === 'column' ? [{ column: m.column, position: t.columns.findIndex((c) => c.id === m.column.id) }] : []))
  // A NULL default is what a missing value decodes as: only NOT NULL needs the rows looked at.
  const rewrites = columns.filter(({ column }) => column.defaultValue !== null || !column.nullable)
  if (indexes.length === 0 && rewrites.length === 0) return
  const start = indexPrefix(table.id, PRIMARY_INDEX_ID)
  const end = prefixEnd(start)!
  const total = await countRows(db, start, end)
  let done = 0
  for (let from = start; ; ) {
    const page = await inTransaction(db, async (txn) => {
      const pairs = await txn.scan(from, end, options.chunkSize)
      for (const { column, position } of rewrites) {
        for (const [key, value] of pairs) {
          const row = decodeRow(layout, key, value)
          if (row[position] === null && column.defaultValue === null) fail(SqlState.NOT_NULL_VIOLATION, `column "${column.name}" of relation "${table.name}" contains null values`)
          if (row[position] === column.defaultValue) continue
          row[position] = column.defaultValue
          txn.put(key, encodeRow(t, layout, row).value)
        }
      }
      if (indexes.length > 0) await backfillEntries(txn, t, indexes, pairs.map(([k, v]) => decodeRow(layout, k, v)))
      const progress = total === 0 ? 1 : Math.min(1, (done + pairs.length) / Math.max(total, done + pairs.length))
      const job = await updateJob(txn, jobId, { progress })
      return { pairs, job }
    }, undefined)
    done += page.pairs.length
    await options.onStep?.(page.job)
    if (page.pairs.length < options.chunkSize) return
    from = keySuccessor(page.pairs[page.pairs.length - 1]![0])
    await yieldToEventLoop()
  }
}

async function backfillEntries(txn: KvTransaction, t: TableDesc, indexes: readonly IndexDesc[], rows: readonly SqlValue[][]): Promise<void> {
  for (const index of indexes) {
    const entries = rows.map((r) => indexEntryOf(t, index, r))
    const unique = entries.filter((e) => e.unique)
    const present = await txn.getMany(unique.map((e) => e.key))
    const seen = new Map<string, string>()
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
    const duplicate = (): never => fail(SqlState.UNIQUE_VIOLATION, `could not create unique index "${index.name}": duplicate key value violates unique constraint "${index.name}"`)
    unique.forEach((e, i) => {
      const there = present[i]
      if (there !== undefined && hex(there) !== hex(e.value)) duplicate()
      const mine = seen.get(hex(e.key))
      if (mine !== undefined && mine !== hex(e.value)) duplicate()
      seen.set(hex(e.key), hex(e.value))
    })
    const skip = new Set(unique.filter((_, i) => present[i] !== undefined).map((e) => hex(e.key)))
    for (const e of entries) if (!skip.has(hex(e.key))) txn.put(e.key, e.value)
  }
}

/** Deletes every entry of a dropped index, a chunk per transaction. */
async function deleteIndexEntries(db: KvDatabase, tableId: number, index: IndexDesc, jobId: number, options: SchemaChangeOptions): Promise<void> {
  const start = indexPrefix(tableId, index.id)
  const end = prefixEnd(start)!
  for (;;) {
    const n = await inTransaction(db, async (txn) => {
      const keys = (await txn.scan(start, end, options.chunkSize)).map(([k]) => k)
      for (const k of keys) txn.delete(k)
      if (keys.length > 0) await updateJob(txn, jobId, { phase: `deleting the entries of index "${index.name}"` })
      return keys.length
    }, undefined)
    if (n < options.chunkSize) return
    await yieldToEventLoop()
  }
}

/** SHOW JOBS: one row per job, oldest first: job_id, description, state, phase, progress, error. */
export async function showJobs(ctx: StatementContext): Promise<SqlValue[][]> {
  await ctx.ensureValidated()
  const pairs = await scanSpan(ctx, { start: JOBS_PREFIX, end: prefixEnd(JOBS_PREFIX)!, text: '' }, (p) => p, Infinity)
  return pairs
    .map(([, v]) => decodeJob(v))
    .sort((a, b) => a.id - b.id)
    .map((j) => [BigInt(j.id), j.description, j.state, j.phase, j.progress, j.error])
}

/** The column names and types of {@link showJobs}. */
export const SHOW_JOBS_COLUMNS = [
  { name: 'job_id', type: 'BIGINT' },
  { name: 'description', type: 'TEXT' },
  { name: 'state', type: 'TEXT' },
  { name: 'phase', type: 'TEXT' },
  { name: 'progress', type: 'DOUBLE' },
  { name: 'error', type: 'TEXT' },
]

/** The column names and types of {@link checkIndexes}. */
export const CHECK_INDEXES_COLUMNS = [
  { name: 'table_name', type: 'TEXT' },
  { name: 'index_name', type: 'TEXT' },
  { name: 'rows', type: 'BIGINT' },
  { name: 'entries', type: 'BIGINT' },
  { name: 'missing', type: 'BIGINT' },
  { name: 'dangling', type: 'BIGINT' },
  { name: 'status', type: 'TEXT' },
]

/**
 * CHECK INDEXES: at the statement's snapshot, for every public secondary index of every
 * table (or of `only`), whether each row has exactly the entry it should (`missing` counts
 * rows without it) and each entry belongs to a row (`dangling` counts entries pointing at a
 * missing row or not matching its row's values). One row per index; status 'ok' or
 * 'inconsistent'. Holds one table's expected entries in memory at a time.
 */
export async function checkIndexes(ctx: StatementContext, only: string | null): Promise<SqlValue[][]> {
  await ctx.ensureValidated()
  const tables = only === null ? [...ctx.catalog.tables.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) : [ctx.catalog.table(only)]
  const out: SqlValue[][] = []
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  for (const table of tables) {
    if (table.indexes.length === 0) continue
    const layout = rowLayout(table)
    const start = indexPrefix(table.id, PRIMARY_INDEX_ID)
    const rows = await scanSpan(ctx, { start, end: prefixEnd(start)!, text: '' }, (pairs) => pairs.map(([k, v]) => decodeRow(layout, k, v)), Infinity)
    for (const index of table.indexes) {
      const expected = new Map<string, string>()
      for (const r of rows) {
        const e = indexEntryOf(table, index, r)
        expected.set(hex(e.key), hex(e.value))
      }
      const istart = indexPrefix(table.id, index.id)
      const entries = await scanSpan(ctx, { start: istart, end: prefixEnd(istart)!, text: '' }, (pairs) => pairs.map(([k, v]): [string, string] => [hex(k), hex(v)]), Infinity)
      let matched = 0
      let dangling = 0
      for (const [k, v] of entries) {
        if (expected.get(k) === v) matched++
        else dangling++
      }
      const missing = expected.size - matched + (rows.length - expected.size)
      out.push([table.name, index.name, BigInt(rows.length), BigInt(entries.length), BigInt(missing), BigInt(dangling), missing === 0 && dangling === 0 ? 'ok' : 'inconsistent'])
    }
  }
  return out
}

/** The command tag of a schema change statement. */
export function schemaChangeTag(stmt: SchemaChange): string {
  return stmt.kind === 'create-index' ? 'CREATE INDEX' : stmt.kind === 'drop-index' ? 'DROP INDEX' : 'ALTER TABLE'
}

/**
 * Runs, in a statement's transaction, the statements of this module that run there: SHOW
 * JOBS, CHECK INDEXES, and ALTER TABLE, which is refused inside a transaction block (25001):
 * an online schema change commits several transactions of its own.
 */
export async function executeSchemaStatement(ctx: StatementContext, stmt: Extract<Statement, { kind: 'alter-table' | 'show-jobs' | 'check-indexes' }>): Promise<SqlResult> {
  switch (stmt.kind) {
    case 'alter-table': {
      // ADD CONSTRAINT … UNIQUE on a table this transaction created (as ORMs' migrations
      // do) needs no online change: no other transaction can write the table yet.
      const action = stmt.action
      const table = ctx.catalog.tables.get(stmt.table)
      if (action.kind === 'add-unique' && table !== undefined && createdInTransaction(ctx.txn)?.has(table.id)) {
        const name = action.name ?? `${stmt.table}_${action.columns.join('_')}_key`
        await createIndex(ctx, { kind: 'create-index', name, table: stmt.table, columns: action.columns, unique: true })
        return { command: 'ALTER TABLE', columns: [], rows: [], rowsAffected: 0 }
      }
      return fail(SqlState.ACTIVE_SQL_TRANSACTION, 'ALTER TABLE cannot run inside a transaction block unless it adds a unique constraint to a table created in it (it is an online schema change: run it outside BEGIN … COMMIT)')
    }
    case 'show-jobs':
      return { command: 'SHOW', columns: SHOW_JOBS_COLUMNS, rows: await showJobs(ctx), rowsAffected: 0 }
    case 'check-indexes':
      return { command: 'CHECK INDEXES', columns: CHECK_INDEXES_COLUMNS, rows: await checkIndexes(ctx, stmt.table), rowsAffected: 0 }
  }
}

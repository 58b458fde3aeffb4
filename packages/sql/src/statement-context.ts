// What one statement runs with: its transaction, the catalog it planned against, and its
// write buffer. Reads go through here so that the schema version check, when the catalog is
// neither current nor leased, rides along with the statement's first read (in the same
// getMany, or in parallel with its first scan).

import { decodeKey } from '@mrdb/storage'
import { Catalog, decodeCounter, decodeDescriptor, descriptorKey, PRIMARY_INDEX_ID, VERSION_KEY, type TableDesc } from './catalog.js'
import { fail, SqlError, SqlState } from './errors.js'
import type { KvDatabase, KvPair, KvTransaction } from './kv-port.js'
import type { ExecutorPool } from './executor-pool.js'
import { MemoryAccount } from './memory.js'
import type { SqlValue } from './values.js'
import { WriteBuffer } from './write-buffer.js'
import type { StatsCache } from './stats.js'
import { writeView, type WriteView } from './schema-state.js'

/** Raised when the statement's cached catalog is older than its snapshot: re-plan with a fresh one. */
export class StaleCatalogError extends Error {
  override readonly name = 'StaleCatalogError'
}

/** Tuning knobs of statement execution. */
export interface ExecutionOptions {
  /** Pairs fetched per scan call. */
  readonly scanChunkSize: number
  /** Worker threads for CPU-heavy steps; null: run them inline, chunk by chunk. */
  readonly pool: ExecutorPool | null
  /** Cancels the statement (57014) when aborted; long CPU steps check it as they yield. */
  readonly signal?: AbortSignal
  /** Bytes a statement's operators may hold at once (53200 past it; see memory.ts). */
  readonly memoryBudgetBytes: number
  /** Where a sort too big for the budget writes its sorted runs (a temporary directory under it); default the OS's. */
  readonly spillDir?: string
  /** The gateway's table statistics (none: plans as if no table had any). */
  readonly stats?: StatsCache
  /**
   * Plans every table as a full scan and every join as a nested loop (`SET naive_plans = on`):
   * the reference the differential test compares real plans with.
   */
  readonly naivePlans?: boolean
  /** Where a top-level query that streams hands its rows as they are produced (see {@link RowSink}). */
  readonly sink?: RowSink
}

/**
 * Takes a query's result rows a batch at a time, as they are produced (the wire protocol sends
 * them on); `columns` are the result's. Awaited before the next batch is computed, so a sink
 * that waits (for a slow client, for the next Execute of a portal) holds the query there.
 * `false` means no more rows are wanted: the query stops reading, as at its LIMIT, and
 * succeeds with the rows handed over so far.
 */
export type RowSink = (columns: ReadonlyArray<{ name: string; type: string }>, rows: SqlValue[][]) => Promise<boolean | void> | boolean | void

/** The 57014 error a cancelled statement fails with (the signal's reason when that is one). */
export function cancelError(signal: AbortSignal): SqlError {
  const reason: unknown = signal.reason
  return reason instanceof SqlError ? reason : new SqlError(SqlState.QUERY_CANCELED, 'canceling statement due to user request')
}

/**
 * How far a statement's catalog is known to match its snapshot: `unchecked` (the version is
 * read with the statement's first read), `leased` (the gateway's schema lease vouches that it
 * is at most one version behind the snapshot, see schema-lease.ts), `current` (read at this
 * snapshot already).
 */
export type CatalogState = 'unchecked' | 'leased' | 'current'

/** One statement's view of its transaction. */
export class StatementContext {
  /** Writes held back until the statement succeeds; every write's size is checked against the KV limits. */
  readonly buffer = new WriteBuffer((key, value) => this.checkWriteSize(key, value))
  /** What this statement's operators hold, against its memory budget. */
  readonly memory: MemoryAccount
  /** Set by DDL: the catalog as this statement leaves it. */
  newCatalog: Catalog | null = null
  /** The read of the version at this snapshot, once started (resolved at once for a `current` catalog). */
  private versionCheck: Promise<void> | null
  private verified: boolean

  /**
   * Lets the event loop run — Raft ticks, other sessions, a cancel request — in the middle
   * of a long CPU step (a join's loop), then raises 57014 if the statement was cancelled.
   */
  async yieldToEventLoop(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve))
    const signal = this.options.signal
    if (signal?.aborted) throw cancelError(signal)
  }

  constructor(
    readonly db: KvDatabase,
    readonly txn: KvTransaction,
    readonly catalog: Catalog,
    readonly options: ExecutionOptions,
    /** How far the catalog is known to match this transaction's snapshot. */
    private readonly state: CatalogState,
    /** Whether inserted keys are checked against the transaction before the statement returns ({@link checkInserts}). */
    readonly checksInserts = false,
    /** Called when a read of the version found the catalog current at this snapshot (the gateway renews its lease). */
    private readonly onCurrent?: () => void,
  ) {
    this.verified = state === 'current'
    this.memory = new MemoryAccount(options.memoryBudgetBytes)
    this.versionCheck = this.verified ? Promise.resolve() : null
  }

  /** Whether the catalog is known to be the one at this snapshot (not only leased). */
  get isCurrent(): boolean {
    return this.verified
  }

  /**
   * Reads many keys (checking the schema version in the same call if the catalog is
   * unchecked). A key longer than the KV layer can store is absent without asking (the KV
   * layer would refuse it).
   */
  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    const max = this.db.limits.maxKeyBytes
    if (keys.some((k) => k.length > max)) {
      const storable = keys.filter((k) => k.length <= max)
      const values = storable.length > 0 ? await this.getMany(storable) : (await this.ensureValidated(), [])
      let j = 0
      return keys.map((k) => (k.length > max ? undefined : values[j++]))
    }
    if (this.state === 'leased' && this.versionCheck === null) return this.txn.getMany(keys)
    if (this.versionCheck !== null) {
      const [values] = await Promise.all([this.txn.getMany(keys), this.versionCheck])
      return values
    }
    const combined = this.txn.getMany([VERSION_KEY, ...keys])
    const check = combined.then((values) => this.verify(values[0]))
    this.versionCheck = check
    // Awaited together: a failed read rejects both, and neither may go unhandled.
    const [values] = await Promise.all([combined, check])
    return values.slice(1)
  }

  /** Scans [start, end) (checking the schema version in parallel if the catalog is unchecked). */
  async scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<KvPair[]> {
    const [pairs] = await Promise.all([this.txn.scan(start, end, limit), this.ensureValidated()])
    return pairs
  }

  /**
   * Resolves once the catalog may be used at this snapshot — current, or leased — and
   * raises StaleCatalogError when a read of the version found it stale. What reads and
   * writes rows needs no more (writers are held to their plan's version at commit, see
   * {@link writeView}).
   */
  ensureValidated(): Promise<void> {
    if (this.state === 'leased' && this.versionCheck === null) return Promise.resolve()
    return this.ensureCurrent()
  }

  /**
   * Resolves once the catalog is known to be the one at this snapshot (reading the version
   * if it is only leased); raises StaleCatalogError otherwise. DDL needs this: it writes the
   * next catalog computed from this one.
   */
  ensureCurrent(): Promise<void> {
    this.versionCheck ??= this.txn.get(VERSION_KEY).then((v) => this.verify(v))
    return this.versionCheck
  }

  private verify(version: Uint8Array | undefined): void {
    if (decodeCounter(version) !== this.catalog.version) throw new StaleCatalogError('schema changed')
    this.verified = true
    this.onCurrent?.()
  }

  /**
   * How this statement writes `table` (its mutation columns and indexes included), and the
   * schema lease of the write: the transaction may commit only if, at its commit timestamp,
   * the table is still the same table at most one descriptor version past `table`'s (one
   * schema-change state, see schema-state.ts); otherwise its commit fails with a retryable
   * write conflict, and an autocommit statement is planned again.
   */
  writeView(table: TableDesc): WriteView {
    const planned = table.version ?? 0
    this.txn.checkAtCommit(descriptorKey(table.name), (bytes) => {
      if (bytes === undefined) return false
      const now = decodeDescriptor(bytes)
      return now.id === table.id && (now.version ?? 0) <= planned + 1
    })
    return writeView(table)
  }

  /** Raises 23505 naming the constraint a duplicate key belongs to. */
  duplicateKey(key: Uint8Array): never {
    return fail(SqlState.UNIQUE_VIOLATION, duplicateMessage(this.newCatalog ?? this.catalog, key))
  }

  /**
   * Statement-time uniqueness: raises 23505 if a key this statement inserted without having
   * read it is present in the transaction — its snapshot merged with its own earlier writes —
   * in one read for all of them. The commit still asserts absence (KvTransaction.insert), which
   * catches what a concurrent transaction committed after this snapshot.
   */
  async checkInserts(): Promise<void> {
    const keys = this.buffer.unverifiedInserts()
    if (keys.length === 0) return
    const values = await this.getMany(keys)
    const present = keys.findIndex((_, i) => values[i] !== undefined)
    if (present >= 0) this.duplicateKey(keys[present]!)
    this.buffer.markVerified()
  }

  /**
   * Ends a writing statement: validates the catalog and, when this statement checks its
   * inserts ({@link checksInserts}), checks them — in one read for both.
   */
  async finishWrites(): Promise<void> {
    if (this.checksInserts) await this.checkInserts()
    await this.ensureValidated()
  }

  /** Raises 54000 if a write of `key` and `value` is over the KV layer's limits (it could never commit). */
  private checkWriteSize(key: Uint8Array, value: Uint8Array): void {
    const { maxKeyBytes, maxWriteBytes } = this.db.limits
    const size = key.length + value.length
    if (key.length <= maxKeyBytes && size <= maxWriteBytes) return
    const where = indexOfKey(this.newCatalog ?? this.catalog, key)
    const what = where === undefined ? 'a write' : where.index === null ? `a row of table "${where.table}"` : `an entry of index "${where.index}"`
    if (key.length > maxKeyBytes) fail(SqlState.PROGRAM_LIMIT_EXCEEDED, `the key of ${what} is ${key.length} bytes, over the ${maxKeyBytes}-byte limit of a key`)
    fail(SqlState.PROGRAM_LIMIT_EXCEEDED, `${what} is ${size} bytes, over the ${maxWriteBytes}-byte limit of one write (key and value)`)
  }
}

/** The table and index (null: the primary index, the rows) a row or index entry key belongs to. */
function indexOfKey(catalog: Catalog, key: Uint8Array): { table: string; index: string | null } | undefined {
  try {
    const parts = decodeKey(key)
    if (parts[0] !== '/table' || typeof parts[1] !== 'bigint' || typeof parts[2] !== 'bigint') return undefined
    const tableId = Number(parts[1])
    const indexId = Number(parts[2])
    for (const t of catalog.tables.values()) {
      if (t.id !== tableId) continue
      return { table: t.name, index: indexId === PRIMARY_INDEX_ID ? null : (t.indexes.find((i) => i.id === indexId)?.name ?? `index ${indexId}`) }
    }
  } catch {
    // Not a table key.
  }
  return undefined
}

/** The message of a unique violation on `key` (a row or index entry key). */
export function duplicateMessage(catalog: Catalog, key: Uint8Array | undefined): string {
  const where = key === undefined ? undefined : indexOfKey(catalog, key)
  if (where === undefined) return 'duplicate key value violates a unique constraint'
  return `duplicate key value violates unique constraint "${where.index ?? `${where.table}_pkey`}"`
}

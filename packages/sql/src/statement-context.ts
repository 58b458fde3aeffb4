// What one statement runs with: its transaction, the catalog it planned against, and its
// write buffer. Reads go through here so that the schema version check rides along with the
// statement's first read (in the same getMany, or in parallel with its first scan).

import { decodeKey } from '@mrdb/storage'
import { Catalog, decodeCounter, VERSION_KEY } from './catalog.js'
import { fail, SqlState } from './errors.js'
import type { KvDatabase, KvPair, KvTransaction } from './kv-port.js'
import type { ExecutorPool } from './executor-pool.js'
import { WriteBuffer } from './write-buffer.js'

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
}

/** One statement's view of its transaction. */
export class StatementContext {
  /** Writes held back until the statement succeeds. */
  readonly buffer = new WriteBuffer()
  /** Set by DDL: the catalog as this statement leaves it. */
  newCatalog: Catalog | null = null
  private versionCheck: Promise<void> | null

  constructor(
    readonly db: KvDatabase,
    readonly txn: KvTransaction,
    readonly catalog: Catalog,
    readonly options: ExecutionOptions,
    /** Whether the catalog is already known to match this transaction's snapshot. */
    validated: boolean,
  ) {
    this.versionCheck = validated ? Promise.resolve() : null
  }

  /** Reads many keys (checking the schema version in the same call if not yet done). */
  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
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

  /** Scans [start, end) (checking the schema version in parallel if not yet done). */
  async scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<KvPair[]> {
    const [pairs] = await Promise.all([this.txn.scan(start, end, limit), this.ensureValidated()])
    return pairs
  }

  /** Resolves once the catalog is known to match the snapshot; raises StaleCatalogError otherwise. */
  ensureValidated(): Promise<void> {
    this.versionCheck ??= this.txn.get(VERSION_KEY).then((v) => this.verify(v))
    return this.versionCheck
  }

  private verify(version: Uint8Array | undefined): void {
    if (decodeCounter(version) !== this.catalog.version) throw new StaleCatalogError('schema changed')
  }

  /** Raises 23505 naming the constraint a duplicate key belongs to. */
  duplicateKey(key: Uint8Array): never {
    return fail(SqlState.UNIQUE_VIOLATION, duplicateMessage(this.newCatalog ?? this.catalog, key))
  }
}

/** The message of a unique violation on `key` (a row or index entry key). */
export function duplicateMessage(catalog: Catalog, key: Uint8Array | undefined): string {
  if (key !== undefined) {
    try {
      const parts = decodeKey(key)
      if (parts[0] === '/table' && typeof parts[1] === 'bigint' && typeof parts[2] === 'bigint') {
        const tableId = Number(parts[1])
        const indexId = Number(parts[2])
        for (const t of catalog.tables.values()) {
          if (t.id !== tableId) continue
          const name = indexId === 1 ? `${t.name}_pkey` : (t.indexes.find((i) => i.id === indexId)?.name ?? `index ${indexId}`)
          return `duplicate key value violates unique constraint "${name}"`
        }
      }
    } catch {
      // Not a table key: fall through to the generic message.
    }
  }
  return 'duplicate key value violates a unique constraint'
}

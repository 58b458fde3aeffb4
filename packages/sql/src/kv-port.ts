// What the SQL layer needs from the KV layer: snapshot-isolated transactions and the range
// layout. @mrdb/kv's distributed transactions implement it over a real cluster; tests may
// implement it in memory.

/** One key-value pair. */
export type KvPair = [key: Uint8Array, value: Uint8Array]

/** A span of keys [start, end) held by one range; an empty end means "to the end of the keyspace". */
export interface RangeSpan {
  rangeId: number
  start: Uint8Array
  end: Uint8Array
}

/**
 * A snapshot-isolated transaction: reads see the database as of `startTs` plus this
 * transaction's own writes; writes are buffered until {@link commit}, which commits all of
 * them atomically or none (two-phase commit across ranges).
 *
 * Errors are `KvError`s from @mrdb/kv with a `code`; those a SQL user must tell apart:
 * `WRITE_CONFLICT` (another transaction wrote a key this one writes after it started: retry
 * the transaction), `KEY_EXISTS` (an {@link insert} found the key present, `key` names it),
 * `TXN_ABORTED` (the transaction was rolled back by someone else, e.g. its locks expired).
 */
export interface KvTransaction {
  /** The snapshot timestamp every read of this transaction uses. */
  readonly startTs: bigint
  /** The value of `key`, or undefined. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  /** The values of many keys at once, in the order asked. */
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>
  /** Live pairs in [start, end) (empty end: no bound) in key order, at most `limit` (default 1000). */
  scan(start: Uint8Array, end: Uint8Array, limit?: number): Promise<KvPair[]>
  /** Buffers a write of `value` at `key`. */
  put(key: Uint8Array, value: Uint8Array): void
  /** Buffers a write of `value` at `key` that must find the key absent: commit fails with KEY_EXISTS otherwise. */
  insert(key: Uint8Array, value: Uint8Array): void
  /** Buffers a deletion of `key`. */
  delete(key: Uint8Array): void
  /**
   * Adds a condition on `key` that {@link commit} checks at the commit timestamp — after every
   * write is locked and before the commit point — reading the newest committed value (waiting
   * out other transactions' locks on it). If `accept` refuses that value, the commit rolls back
   * and fails with WRITE_CONFLICT (retryable). A condition on a key this transaction writes is
   * skipped: the write-write conflict check covers it. The first condition on a key is kept.
   */
  checkAtCommit(key: Uint8Array, accept: (value: Uint8Array | undefined) => boolean): void
  /** Commits every buffered write atomically. A transaction that wrote nothing commits at once. */
  commit(options?: CommitOptions): Promise<void>
  /** Drops the buffered writes (and any locks left by a failed commit). */
  rollback(): Promise<void>
}

/**
 * How big one write may be. A write over these limits cannot commit (the KV layer refuses
 * it with INVALID_ARGUMENT), so the SQL layer refuses it at the statement that makes it.
 */
export interface KvLimits {
  /** The longest key a transaction can write, in bytes. */
  readonly maxKeyBytes: number
  /** The most bytes (key plus value) one write can carry: one range command holds it whole. */
  readonly maxWriteBytes: number
}

/** How {@link KvTransaction.commit} commits. */
export interface CommitOptions {
  /**
   * Take the commit timestamp from the oracle after the call began. A one-phase commit does
   * not: its range picks the timestamp just above the reads it served, which may lie below
   * timestamps the oracle handed out before the call. The schema lease needs this of every
   * catalog change (docs/decisions.md, "Schema leases").
   */
  readonly timestampFromOracle?: boolean
}

/** The database as the SQL layer sees it. */
export interface KvDatabase {
  /** The size limits of one write. */
  readonly limits: KvLimits
  /** Starts a transaction at a fresh timestamp from the cluster's timestamp oracle. */
  begin(): Promise<KvTransaction>
  /** The ranges covering [start, end), in key order, each clipped to the span. */
  rangesOf(start: Uint8Array, end: Uint8Array): Promise<RangeSpan[]>
}

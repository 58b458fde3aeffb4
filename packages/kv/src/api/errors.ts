import type { RangeDescriptor } from './range-descriptor.js'

/** Stable error codes of the KV layer, carried over gRPC to clients. */
export const KvErrorCode = {
  /** This node's replica is not the range's leader; `leaderHint` names the node that may be. */
  NOT_LEADER: 'NOT_LEADER',
  /** This node hosts no replica of the range (it moved, merged, or never lived here). */
  RANGE_NOT_FOUND: 'RANGE_NOT_FOUND',
  /**
   * The key (a scan's start) is outside the range the request was sent to, as of the read or
   * write (the range split or merged, or the cache is stale). Nothing was read or written;
   * `descriptor` is the range as the replica holds it now: refresh the cache and retry.
   */
  KEY_NOT_IN_RANGE: 'KEY_NOT_IN_RANGE',
  /** The request did not finish before its deadline; a write may or may not have applied. */
  TIMEOUT: 'TIMEOUT',
  /** The range cannot serve now (no quorum, no leader, node stopping). Retry later. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The request itself is malformed (bad key, bad range, oversized value). Do not retry. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A transaction lock is in the way (SQL transactions); retry after it resolves. */
  KEY_LOCKED: 'KEY_LOCKED',
  /** Transactions: another transaction wrote a key this one writes, after this one started. Retry the whole transaction. */
  WRITE_CONFLICT: 'WRITE_CONFLICT',
  /** Transactions: an insert found its key already present. */
  KEY_EXISTS: 'KEY_EXISTS',
  /** Transactions: the transaction was rolled back (its locks expired and a reader resolved them, or its commit failed). */
  TXN_ABORTED: 'TXN_ABORTED',
  /** Transactions: a rollback was asked for a transaction that committed on that key. */
  ALREADY_COMMITTED: 'ALREADY_COMMITTED',
  /**
   * The read's timestamp is below the range's GC threshold (CockroachDB: "batch timestamp
   * must be after replica GC threshold"): versions it would need may be gone, so it is refused
   * rather than answered incompletely. Also a transaction that started below the range's GC
   * fence cannot write there. Not retryable at the same timestamp: start a new transaction.
   */
  GC_THRESHOLD: 'GC_THRESHOLD',
  /**
   * Transactions: the range will not commit this transaction in one phase now — its leader
   * has not yet learned a timestamp above every read its predecessors served (it just became
   * leader, or took in a merged range), or it has no timestamp source. Nothing was written:
   * commit in two phases instead.
   */
  ONE_PHASE_REFUSED: 'ONE_PHASE_REFUSED',
  /** Stored data failed its checksum: the replica stops serving rather than return bad data. */
  CORRUPTION: 'CORRUPTION',
} as const

/** One of {@link KvErrorCode}. */
export type KvErrorCode = (typeof KvErrorCode)[keyof typeof KvErrorCode]

/** Codes a client retries (after refreshing its range cache or backing off). */
export const RETRYABLE_CODES: ReadonlySet<KvErrorCode> = new Set([KvErrorCode.NOT_LEADER, KvErrorCode.RANGE_NOT_FOUND, KvErrorCode.KEY_NOT_IN_RANGE, KvErrorCode.UNAVAILABLE, KvErrorCode.KEY_LOCKED])

/** The transaction lock a KEY_LOCKED error met: resolve it through its primary key. */
export interface LockInfo {
  key: Uint8Array
  primary: Uint8Array
  startTs: bigint
  ttlMs: number
}

/** Every error the KV layer raises on purpose. */
export class KvError extends Error {
  override readonly name = 'KvError'
  /** For KEY_LOCKED: the lock in the way (the first, when there are several). */
  readonly lock: LockInfo | undefined
  /** For KEY_LOCKED from a scan: every lock it met (a bounded number). */
  readonly locks: LockInfo[] | undefined
  /** For KEY_EXISTS: the key found present. */
  readonly key: Uint8Array | undefined
  /** For KEY_NOT_IN_RANGE: the range as the replica that refused held it then (newer than the sender's cache). */
  readonly descriptor: RangeDescriptor | undefined

  constructor(
    readonly code: KvErrorCode,
    message: string,
    /** For NOT_LEADER: the node id believed to lead the range, if known. */
    readonly leaderHint?: number,
    options?: { cause?: unknown; lock?: LockInfo; locks?: LockInfo[]; key?: Uint8Array; descriptor?: RangeDescriptor },
  ) {
    super(message, options)
    this.lock = options?.lock ?? options?.locks?.[0]
    this.locks = options?.locks
    this.key = options?.key
    this.descriptor = options?.descriptor
  }
}

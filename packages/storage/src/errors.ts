/** Stable error codes of `@mrdb/storage`. Users and callers branch on these, never on messages. */
export const StorageErrorCode = {
  /** The engine or snapshot was closed or released before the call. */
  CLOSED: 'ERR_CLOSED',
  /** Stored bytes failed a checksum or could not be decoded: the data on disk is damaged. */
  CORRUPTION: 'ERR_CORRUPTION',
  /** A key is of the wrong type, empty, or cannot be encoded. */
  INVALID_KEY: 'ERR_INVALID_KEY',
  /** A value is of the wrong type. */
  INVALID_VALUE: 'ERR_INVALID_VALUE',
  /** An option or argument is malformed (unknown batch op type, bad range, bad timestamp). */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** A key, value or batch is over the documented size limit. */
  TOO_LARGE: 'ERR_TOO_LARGE',
  /** Another process (or another open in this one) holds the directory's lock. */
  LOCKED: 'ERR_LOCKED',
  /** The underlying engine failed to read or write. */
  IO: 'ERR_IO',
  /** MVCC: a newer committed version or another transaction's write conflicts with this one. */
  WRITE_CONFLICT: 'ERR_WRITE_CONFLICT',
  /** MVCC: the key is locked by a transaction that may still commit; resolve the lock and retry. */
  KEY_LOCKED: 'ERR_KEY_LOCKED',
  /** MVCC: the transaction's lock is gone (rolled back or resolved) so it cannot commit. */
  TXN_NOT_FOUND: 'ERR_TXN_NOT_FOUND',
  /** MVCC: a prewrite that asserts its key absent found a live value there. */
  KEY_EXISTS: 'ERR_KEY_EXISTS',
  /** MVCC: a rollback was asked for a transaction that already committed. */
  ALREADY_COMMITTED: 'ERR_ALREADY_COMMITTED',
  /** Raft log: the requested entries were compacted away. */
  COMPACTED: 'ERR_COMPACTED',
  /** Raft log: the requested entries are not in the log yet. */
  UNAVAILABLE: 'ERR_UNAVAILABLE',
} as const

/** One of the values of {@link StorageErrorCode}. */
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode]

/** Every error `@mrdb/storage` throws on purpose: a stable `code`, a message, and the `cause` if any. */
export class StorageError extends Error {
  override readonly name: string = 'StorageError'
  readonly code: StorageErrorCode

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Wraps an error thrown by classic-level into a StorageError with the matching code. */
export function fromLevelError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const levelCode = (err as { code?: unknown } | null)?.code
  const detail = err instanceof Error ? err.message : String(err)
  switch (levelCode) {
    case 'LEVEL_DATABASE_NOT_OPEN':
    case 'LEVEL_ITERATOR_NOT_OPEN':
    case 'LEVEL_SNAPSHOT_NOT_OPEN':
      return new StorageError(StorageErrorCode.CLOSED, `${what}: engine is closed`, { cause: err })
    case 'LEVEL_LOCKED':
      return new StorageError(StorageErrorCode.LOCKED, `${what}: directory is locked by another open engine`, { cause: err })
    case 'LEVEL_CORRUPTION':
      return new StorageError(StorageErrorCode.CORRUPTION, `${what}: ${detail}`, { cause: err })
    default:
      return new StorageError(StorageErrorCode.IO, `${what}: ${detail}`, { cause: err })
  }
}

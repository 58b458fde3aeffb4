import { StorageError, StorageErrorCode } from './errors.js'

/**
 * An MVCC timestamp: an unsigned 64-bit bigint made of a physical time in milliseconds
 * (upper 46 bits) and a logical counter (lower 18 bits), as a timestamp oracle hands out.
 * Lock TTLs are measured on the physical part.
 */
export type Timestamp = bigint

/** Bits of the logical counter in a {@link Timestamp}. */
export const LOGICAL_BITS = 18n
/** The largest timestamp: reads at it see the newest committed version. */
export const MAX_TIMESTAMP: Timestamp = (1n << 64n) - 1n

/** Builds a timestamp from milliseconds and a logical counter. */
export function composeTimestamp(physicalMs: number, logical = 0): Timestamp {
  return (BigInt(physicalMs) << LOGICAL_BITS) | BigInt(logical)
}

/** The physical milliseconds of a timestamp. */
export function physicalMs(ts: Timestamp): number {
  return Number(ts >> LOGICAL_BITS)
}

/** Throws ERR_INVALID_ARGUMENT unless `ts` is a bigint in [0, 2^64). */
export function checkTimestamp(ts: unknown, what: string): Timestamp {
  if (typeof ts !== 'bigint' || ts < 0n || ts > MAX_TIMESTAMP) {
    throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `${what} must be a bigint in [0, 2^64), got ${String(ts)}`)
  }
  return ts
}

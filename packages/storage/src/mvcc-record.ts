import { StorageError, StorageErrorCode } from './errors.js'
import type { Timestamp } from './timestamp.js'

/**
 * Binary layouts of MVCC records. Keys, under the store's prefix P:
 * - `P m <user key>` → the key's {@link LatestRecord}: its newest version and its lock, so a
 *   point read at a recent timestamp is one engine get;
 * - `P h <escaped user key> <~commitTs>` → an older {@link Version}, newest first;
 * - `P r <escaped user key> <startTs>` → a rollback marker for a transaction at startTs.
 */

/** What a write does to a key: store a value, delete it, or (locks only) just lock it. */
export type MutationKind = 'put' | 'delete' | 'lock'

/** A committed version of a key. */
export interface Version {
  commitTs: Timestamp
  startTs: Timestamp
  /** The value, or undefined for a deletion. */
  value: Uint8Array | undefined
}

/** A Percolator lock: the transaction at `startTs` has prewritten this key. */
export interface Lock {
  startTs: Timestamp
  ttlMs: number
  kind: MutationKind
  /** The transaction's primary key: its lock or commit record decides the transaction. */
  primary: Uint8Array
  /** The value a 'put' will commit. */
  value: Uint8Array | undefined
}

/** The newest version of a key and the lock on it, stored together. */
export interface LatestRecord {
  version: Version | undefined
  lock: Lock | undefined
}

const HAS_VERSION = 1
const VERSION_IS_DELETE = 2
const HAS_LOCK = 4
const KIND_CODES: Record<MutationKind, number> = { put: 0, delete: 1, lock: 2 }
const KINDS: readonly MutationKind[] = ['put', 'delete', 'lock']

/** Encodes a latest record. */
export function encodeLatest(rec: LatestRecord): Uint8Array {
  const lock = rec.lock
  const version = rec.version
  let size = 1
  if (lock) size += 8 + 4 + 1 + 4 + lock.primary.length + 4 + (lock.value?.length ?? 0)
  if (version) size += 16 + (version.value?.length ?? 0)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 1
  let flags = 0
  if (lock) {
    flags |= HAS_LOCK
    view.setBigUint64(at, lock.startTs)
    view.setUint32(at + 8, lock.ttlMs)
    out[at + 12] = KIND_CODES[lock.kind]
    view.setUint32(at + 13, lock.primary.length)
    out.set(lock.primary, at + 17)
    at += 17 + lock.primary.length
    const value = lock.value ?? new Uint8Array(0)
    view.setUint32(at, value.length)
    out.set(value, at + 4)
    at += 4 + value.length
  }
  if (version) {
    flags |= HAS_VERSION
    if (version.value === undefined) flags |= VERSION_IS_DELETE
    view.setBigUint64(at, version.commitTs)
    view.setBigUint64(at + 8, version.startTs)
    if (version.value) out.set(version.value, at + 16)
  }
  out[0] = flags
  return out
}

/** Decodes a latest record; damaged bytes raise ERR_CORRUPTION. */
export function decodeLatest(bytes: Uint8Array): LatestRecord {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const flags = bytes[0]!
    let at = 1
    let lock: Lock | undefined
    if (flags & HAS_LOCK) {
      const startTs = view.getBigUint64(at)
      const ttlMs = view.getUint32(at + 8)
      const kind = KINDS[bytes[at + 12]!]
      const primaryLength = view.getUint32(at + 13)
      const primary = bytes.slice(at + 17, at + 17 + primaryLength)
      at += 17 + primaryLength
      const valueLength = view.getUint32(at)
      const value = kind === 'put' ? bytes.slice(at + 4, at + 4 + valueLength) : undefined
      at += 4 + valueLength
      if (kind === undefined || at > bytes.length) throw new RangeError('bad lock')
      lock = { startTs, ttlMs, kind, primary, value }
    }
    let version: Version | undefined
    if (flags & HAS_VERSION) {
      version = {
        commitTs: view.getBigUint64(at),
        startTs: view.getBigUint64(at + 8),
        value: flags & VERSION_IS_DELETE ? undefined : bytes.subarray(at + 16),
      }
    } else if (at !== bytes.length) {
      throw new RangeError('trailing bytes')
    }
    return { version, lock }
  } catch (cause) {
    throw new StorageError(StorageErrorCode.CORRUPTION, 'MVCC record is damaged', { cause })
  }
}

/**
 * What a read at `ts` needs from an encoded latest record, without building objects:
 * `'history'` when the latest version is newer than `ts` (look in history), the value or
 * undefined otherwise. A blocking lock makes it return `'lock'` (decode fully to get it).
 */
export function readLatestAt(bytes: Uint8Array, ts: Timestamp): Uint8Array | undefined | 'history' | 'lock' {
  const flags = bytes[0]!
  if (flags & HAS_LOCK) return 'lock'
  if (!(flags & HAS_VERSION)) return undefined
  if (bytes.length < 17) throw new StorageError(StorageErrorCode.CORRUPTION, 'MVCC record is damaged')
  const view = new DataView(bytes.buffer, bytes.byteOffset, 9)
  if (view.getBigUint64(1) > ts) return 'history'
  return flags & VERSION_IS_DELETE ? undefined : bytes.subarray(17)
}

/** Encodes an older version stored in history (its commit timestamp is in the key). */
export function encodeHistoric(version: Version): Uint8Array {
  const out = new Uint8Array(9 + (version.value?.length ?? 0))
  out[0] = version.value === undefined ? 1 : 0
  new DataView(out.buffer).setBigUint64(1, version.startTs)
  if (version.value) out.set(version.value, 9)
  return out
}

/** Decodes a history value for the version committed at `commitTs`. */
export function decodeHistoric(bytes: Uint8Array, commitTs: Timestamp): Version {
  if (bytes.length < 9 || bytes[0]! > 1) throw new StorageError(StorageErrorCode.CORRUPTION, 'MVCC history record is damaged')
  const startTs = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(1)
  return { commitTs, startTs, value: bytes[0] === 1 ? undefined : bytes.subarray(9) }
}

/** 8 bytes big-endian of `ts`; with `descending`, of its complement so newer sorts first. */
export function encodeTs(ts: Timestamp, descending: boolean): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, descending ? ~ts & 0xffff_ffff_ffff_ffffn : ts)
  return out
}

/** Reads a timestamp written by {@link encodeTs} from the last 8 bytes of `key`. */
export function decodeTrailingTs(key: Uint8Array, descending: boolean): Timestamp {
  const raw = new DataView(key.buffer, key.byteOffset + key.byteLength - 8, 8).getBigUint64(0)
  return descending ? ~raw & 0xffff_ffff_ffff_ffffn : raw
}

// The invariants of a request that do not depend on how it travelled: checked by the node's
// request handler on every request (in-process or decoded from the wire) and by the gRPC
// sender before it encodes one (a value the schema cannot carry, such as a negative
// generation, is refused with the handler's own message). Decoding gives types; this gives
// the rest. Bounds of keys against the range are the replica's to check.

import { MAX_TIMESTAMP } from '@mrdb/storage'
import { KvError, KvErrorCode } from './errors.js'
import type { KvRequest } from './requests.js'
import type { TxnMutation } from './types.js'

/** The largest TTL a lock may have (it travels as 32 bits). */
const MAX_TTL_MS = 0xffff_ffff
/** The largest page a scan may ask for (it travels as 32 bits). */
const MAX_LIMIT = 0xffff_ffff

/**
 * Throws INVALID_ARGUMENT unless `req` is a request a replica may be asked: a positive range
 * id, a non-negative generation, non-empty keys and lists, timestamps within 64 bits, a
 * positive 32-bit limit, a 32-bit TTL. (Bounds of keys against the range are the replica's to check.)
 */
export function checkRequest(req: KvRequest): void {
  if (req.op === 'ranges') return
  if (!Number.isSafeInteger(req.rangeId) || req.rangeId <= 0) throw invalid(`rangeId must be a positive integer, got ${String(req.rangeId)}`)
  if (req.op === 'checksum') return
  if (req.generation !== undefined && (!Number.isSafeInteger(req.generation) || req.generation < 0)) {
    throw invalid(`generation must be a non-negative integer, got ${String(req.generation)}`)
  }
  switch (req.op) {
    case 'get':
      key(req.key)
      timestamp(req.ts)
      return
    case 'put':
    case 'delete':
    case 'cas':
      key(req.key)
      return
    case 'scan':
      timestamp(req.ts)
      if (req.limit !== undefined && (!Number.isSafeInteger(req.limit) || req.limit <= 0 || req.limit > MAX_LIMIT)) throw invalid(`limit must be a positive 32-bit integer, got ${String(req.limit)}`)
      return
    case 'deleteRange':
      return
    case 'batch':
      nonEmpty(req.writes, 'writes')
      for (const w of req.writes) key(w.key)
      return
    case 'prewrite':
      timestamp(req.startTs)
      key(req.primary)
      ttl(req.ttlMs)
      mutations(req.mutations)
      return
    case 'onePhaseCommit':
      timestamp(req.startTs)
      timestamp(req.maxCommitTs)
      mutations(req.mutations)
      return
    case 'commit':
      timestamp(req.startTs)
      timestamp(req.commitTs)
      nonEmpty(req.keys, 'keys').forEach(key)
      return
    case 'rollback':
      timestamp(req.startTs)
      nonEmpty(req.keys, 'keys').forEach(key)
      return
    case 'checkTxn':
      key(req.primary)
      timestamp(req.startTs)
      timestamp(req.nowTs)
      return
    case 'heartbeat':
      key(req.primary)
      timestamp(req.startTs)
      ttl(req.ttlMs)
      return
  }
}

function key(k: Uint8Array): void {
  if (k.length === 0) throw invalid('key must not be empty')
}

function mutations(ms: readonly TxnMutation[]): void {
  for (const m of nonEmpty(ms, 'mutations')) {
    if (m.kind !== 'put' && m.kind !== 'delete' && m.kind !== 'lock') throw invalid(`a mutation's kind must be put, delete or lock, got ${String(m.kind)}`)
    key(m.key)
  }
}

function nonEmpty<T>(v: readonly T[], what: string): readonly T[] {
  if (v.length === 0) throw invalid(`${what} must be a non-empty array`)
  return v
}

function timestamp(t: bigint | undefined): void {
  if (t !== undefined && (t < 0n || t > MAX_TIMESTAMP)) throw invalid(`a timestamp must be below 2^64, got ${t}`)
}

function ttl(ms: number): void {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TTL_MS) throw invalid(`ttlMs must be a 32-bit count of ms, got ${String(ms)}`)
}

function invalid(message: string): KvError {
  return new KvError(KvErrorCode.INVALID_ARGUMENT, message)
}

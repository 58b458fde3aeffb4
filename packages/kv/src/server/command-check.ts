// The checks a command must pass to apply. They depend only on the command and the range
// descriptor, so a leader runs them before proposing (the client hears why at once) and
// every replica runs them again at apply time, against the descriptor as of that entry —
// the range may have changed between proposal and apply — with the same outcome on all.

import { MAX_MVCC_KEY_SIZE, MAX_MVCC_VALUE_SIZE, MAX_TIMESTAMP, compareBytes } from '@mrdb/storage'
import { MAX_COMMAND_SIZE, type TxnMutation } from '../api/types.js'
import { encodedCommandSize, type Command } from './command.js'
import { KvError, KvErrorCode } from '../api/errors.js'
import { rangeContains, type RangeDescriptor } from '../api/range-descriptor.js'

/** Most keys one GC command collects. */
export const MAX_GC_KEYS = 10_000

/**
 * Why `c` cannot apply to the range `d`, or undefined if it can. `size` is its encoded size,
 * when known already (a replica applying an entry has its bytes).
 */
export function checkCommand(c: Command, d: RangeDescriptor, size = encodedCommandSize(c)): KvError | undefined {
  if (size > MAX_COMMAND_SIZE) return invalid(`the command is ${size} bytes, over the ${MAX_COMMAND_SIZE}-byte limit`)
  switch (c.kind) {
    case 'put':
      return checkKey(c.key, d) ?? checkValue(c.value)
    case 'delete':
      return checkKey(c.key, d)
    case 'cas':
      return checkKey(c.key, d) ?? (c.expected && checkValue(c.expected)) ?? (c.value && checkValue(c.value))
    case 'batch':
      for (const w of c.writes) {
        const err = checkKey(w.key, d) ?? (w.value && checkValue(w.value))
        if (err) return err
      }
      return undefined
    case 'freeze':
    case 'merge':
      return undefined
    case 'split':
      if (!Number.isSafeInteger(c.newRangeId) || c.newRangeId <= 0) return invalid(`a new range id must be a positive integer, got ${c.newRangeId}`)
      if (c.newRangeId === d.rangeId) return invalid('a range cannot split into itself')
      if (c.splitKey.length === 0 || compareBytes(c.splitKey, d.startKey) <= 0) return invalid(`range ${d.rangeId} cannot split at its start key`)
      return checkKey(c.splitKey, d)
    case 'prewrite':
      return checkMutations(c.mutations, d) ?? checkTs(c.startTs, 'start') ?? checkUserKey(c.primary) ?? checkTtl(c.ttlMs)
    case 'onePhaseCommit':
      if (c.commitTs <= c.startTs) return invalid(`commit timestamp ${c.commitTs} must be after start ${c.startTs}`)
      return checkMutations(c.mutations, d) ?? checkTs(c.startTs, 'start') ?? checkTs(c.commitTs, 'commit')
    case 'commit':
      if (c.commitTs <= c.startTs) return invalid(`commit timestamp ${c.commitTs} must be after start ${c.startTs}`)
      return checkTs(c.startTs, 'start') ?? checkTs(c.commitTs, 'commit') ?? checkKeys(c.keys, d)
    case 'rollback':
      return checkTs(c.startTs, 'start') ?? checkKeys(c.keys, d)
    case 'checkTxn':
      return checkTs(c.startTs, 'start') ?? checkTs(c.nowTs, 'current') ?? checkKey(c.primary, d)
    case 'heartbeat':
      return checkTs(c.startTs, 'start') ?? checkTtl(c.ttlMs) ?? checkKey(c.primary, d)
    case 'gc':
      if (c.fence < 0n || c.fence >= MAX_TIMESTAMP || c.threshold < 0n || c.threshold > c.fence) return invalid(`a GC threshold (${c.threshold}) must not be above its fence (${c.fence}), which must be below the maximum timestamp`)
      if (c.keys.length > MAX_GC_KEYS) return invalid(`one GC command collects at most ${MAX_GC_KEYS} keys, got ${c.keys.length}`)
      for (const k of c.keys) {
        const err = checkKey(k, d)
        if (err) return err
      }
      return undefined
    case 'deleteRange':
      if (c.end.length > 0 && compareBytes(c.start, c.end) >= 0) return invalid('a range to delete must have start < end')
      return checkKey(c.start, d, true) ?? (c.end.length > MAX_MVCC_KEY_SIZE ? tooLong('end key', c.end.length) : undefined)
  }
}

/**
 * A DeleteRange's end cut to the range (its start is inside, see {@link checkCommand});
 * `resume` is where the rest of the span begins, if it goes beyond the range.
 */
export function clampEnd(end: Uint8Array, d: RangeDescriptor): { end: Uint8Array; resume: Uint8Array | undefined } {
  if (d.endKey.length === 0 || (end.length > 0 && compareBytes(end, d.endKey) <= 0)) return { end, resume: undefined }
  return { end: d.endKey, resume: d.endKey }
}

function checkKey(key: Uint8Array, d: RangeDescriptor, emptyAllowed = false): KvError | undefined {
  if (key.length === 0 && !emptyAllowed) return invalid('key must not be empty')
  if (key.length > MAX_MVCC_KEY_SIZE) return tooLong('key', key.length)
  if (!rangeContains(d, key)) {
    return new KvError(KvErrorCode.KEY_NOT_IN_RANGE, `key ${Buffer.from(key).toString('hex')} is not in range ${d.rangeId}`, undefined, { descriptor: d })
  }
  return undefined
}

function checkMutations(mutations: readonly TxnMutation[], d: RangeDescriptor): KvError | undefined {
  if (mutations.length === 0) return invalid('a transaction needs at least one mutation')
  for (const m of mutations) {
    const err = checkKey(m.key, d) ?? (m.kind === 'put' ? (m.value ? checkValue(m.value) : invalid('a put mutation needs a value')) : undefined)
    if (err) return err
  }
  return undefined
}

function checkKeys(keys: readonly Uint8Array[], d: RangeDescriptor): KvError | undefined {
  if (keys.length === 0) return invalid('at least one key is needed')
  for (const k of keys) {
    const err = checkKey(k, d)
    if (err) return err
  }
  return undefined
}

/** A key that may live in another range (a transaction's primary). */
function checkUserKey(key: Uint8Array): KvError | undefined {
  if (key.length === 0) return invalid('key must not be empty')
  return key.length > MAX_MVCC_KEY_SIZE ? tooLong('key', key.length) : undefined
}

function checkTs(ts: bigint, what: string): KvError | undefined {
  return ts > 0n && ts < MAX_TIMESTAMP ? undefined : invalid(`the ${what} timestamp ${ts} is out of range`)
}

function checkTtl(ttlMs: number): KvError | undefined {
  return Number.isInteger(ttlMs) && ttlMs >= 0 && ttlMs <= 0xffff_ffff ? undefined : invalid(`a lock TTL must be a 32-bit count of ms, got ${ttlMs}`)
}

function checkValue(value: Uint8Array): KvError | undefined {
  return value.length > MAX_MVCC_VALUE_SIZE ? invalid(`a value of ${value.length} bytes is over the ${MAX_MVCC_VALUE_SIZE}-byte limit`) : undefined
}

function tooLong(what: string, length: number): KvError {
  return invalid(`${what} of ${length} bytes is over the ${MAX_MVCC_KEY_SIZE}-byte limit`)
}

function invalid(message: string): KvError {
  return new KvError(KvErrorCode.INVALID_ARGUMENT, message)
}

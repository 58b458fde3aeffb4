// The checks a command must pass to apply. They depend only on the command and the range
// descriptor, so a leader runs them before proposing (the client hears why at once) and
// every replica runs them again at apply time, against the descriptor as of that entry —
// the range may have changed between proposal and apply — with the same outcome on all.

import { MAX_MVCC_KEY_SIZE, MAX_MVCC_VALUE_SIZE, compareBytes } from '@mrdb/storage'
import { encodedCommandSize, type Command } from './command.js'
import { KvError, KvErrorCode } from './errors.js'
import { rangeContains, type RangeDescriptor } from './range-descriptor.js'

/** Largest encoded command a range accepts (TiKV's raft-entry-max-size is the same 8 MiB). */
export const MAX_COMMAND_SIZE = 8 * 1024 * 1024

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
    return new KvError(KvErrorCode.KEY_NOT_IN_RANGE, `key ${Buffer.from(key).toString('hex')} is not in range ${d.rangeId}`)
  }
  return undefined
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

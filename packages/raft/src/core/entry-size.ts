// How entries are measured for the byte limits of Config (maxSizePerMsg, maxInflightBytes,
// maxUncommittedEntriesSize).

import type { Entry } from './types.js'

/**
 * Fixed per-entry cost counted against maxSizePerMsg on top of the payload (term, index,
 * type). It makes every entry cost at least this much, so a size limit of 0 still means
 * "one entry per message" and empty entries cannot be batched without bound.
 */
export const ENTRY_OVERHEAD_BYTES = 16

/** Bytes an entry counts for against maxSizePerMsg: payload plus ENTRY_OVERHEAD_BYTES. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES
}

/** Sum of payload bytes of ents[from, to); used for inflight and uncommitted limits. */
export function payloadSize(ents: readonly Entry[], from = 0, to = ents.length): number {
  let n = 0
  for (let i = from; i < to; i++) n += (ents[i] as Entry).data.byteLength
  return n
}

/**
 * The end (exclusive) of the longest run ents[from, end) whose entrySize total fits in
 * maxBytes; at least one entry is always included when from < to.
 */
export function limitEnd(ents: readonly Entry[], from: number, to: number, maxBytes: number): number {
  if (from >= to) return from
  let size = entrySize(ents[from] as Entry)
  let end = from + 1
  while (end < to) {
    size += entrySize(ents[end] as Entry)
    if (size > maxBytes) break
    end++
  }
  return end
}

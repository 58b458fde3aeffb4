// Partial aggregation of one chunk of scanned rows — decode, filter, fold into groups — and
// the merge of partial results. A pure function over plain data, so it runs the same inline
// or in a worker thread (executor-pool.ts).

import type { Expr } from './ast.js'
import type { KvPair } from './kv-port.js'
import { accumulate, addSums, decodeAndFilter, filterRows, joinText, type AggregateSpec, type AggregateState, type GroupTable } from './row-ops.js'
import type { RowLayout } from './table-codec.js'
import { compareValues } from './values.js'

/** One chunk's aggregation: what to decode, which rows to keep, how to group and fold them. */
export interface AggregateChunk {
  readonly layout: RowLayout
  readonly pairs: readonly KvPair[]
  /** Conditions a row must meet (each null-free; all must be true). */
  readonly filters: readonly Expr[]
  readonly groupBy: readonly Expr[]
  /** Without DISTINCT: partial states of distinct aggregates cannot be merged. */
  readonly aggregates: readonly AggregateSpec[]
}

/**
 * A chunk's pairs in two buffers: every key and value one after another in `bytes`, and where
 * each ends in `ends` (key, value, key, …). Handed to a worker thread by transfer — structured
 * cloning a thousand pairs' separate byte arrays cost the event loop about 8 times as much.
 */
export interface PackedPairs {
  readonly bytes: Uint8Array<ArrayBuffer>
  readonly ends: Uint32Array<ArrayBuffer>
}

/** `pairs` packed into two buffers of their own (see {@link PackedPairs}). */
export function packPairs(pairs: readonly KvPair[]): PackedPairs {
  let size = 0
  for (const [k, v] of pairs) size += k.length + v.length
  const bytes = new Uint8Array(size)
  const ends = new Uint32Array(pairs.length * 2)
  let at = 0
  pairs.forEach(([k, v], i) => {
    bytes.set(k, at)
    ends[2 * i] = at += k.length
    bytes.set(v, at)
    ends[2 * i + 1] = at += v.length
  })
  return { bytes, ends }
}

/** The pairs {@link packPairs} packed (views into its buffer). */
export function unpackPairs(packed: PackedPairs): KvPair[] {
  const { bytes, ends } = packed
  const pairs: KvPair[] = []
  let at = 0
  for (let i = 0; i < ends.length; i += 2) {
    const keyEnd = ends[i]!
    const valueEnd = ends[i + 1]!
    pairs.push([bytes.subarray(at, keyEnd), bytes.subarray(keyEnd, valueEnd)])
    at = valueEnd
  }
  return pairs
}

/** The groups of one chunk, with partial aggregate states; see {@link mergeGroups}. */
export function aggregateChunk(chunk: AggregateChunk): GroupTable {
  let rows = decodeAndFilter(chunk.layout, chunk.pairs, chunk.filters[0] ?? null)
  for (const f of chunk.filters.slice(1)) rows = filterRows(rows, f)
  const groups: GroupTable = new Map()
  accumulate(groups, rows, chunk.groupBy, chunk.aggregates)
  return groups
}

/** Folds the partial groups `part` into `into` (aggregates without DISTINCT only); `onNew` sees each group `into` did not have. */
export function mergeGroups(into: GroupTable, part: GroupTable, aggregates: readonly AggregateSpec[], onNew?: (group: GroupTable extends Map<string, infer G> ? G : never) => void): void {
  for (const [key, group] of part) {
    const existing = into.get(key)
    if (existing === undefined) {
      onNew?.(group)
      into.set(key, group)
      continue
    }
    aggregates.forEach((spec, i) => mergeState(spec, existing.states[i]!, group.states[i]!))
  }
}

function mergeState(spec: AggregateSpec, into: AggregateState, part: AggregateState): void {
  into.count += part.count
  if (part.sum !== null) {
    into.sum = addSums(into.sum, part.sum)
  }
  if (spec.fn === 'STRING_AGG') into.best = joinText(into.best, part.best, spec)
  else if (part.best !== null) {
    const better = spec.fn === 'MIN' ? compareValues(part.best, into.best ?? part.best) < 0 : compareValues(part.best, into.best ?? part.best) > 0
    if (into.best === null || better) into.best = part.best
  }
}

// What each PD command does to the state. Deterministic: every replica reaches the same
// result from the same state. A command either applies whole or, checked first, is rejected
// with an error result; it never throws, so a bad command cannot stop the apply loop.

import { compareBytes } from '@mrdb/storage'
import { PdError, PdErrorCode } from './errors.js'
import type { PdCommand, PdResult } from './pd-command.js'
import { MAX_RANGE_ID, PdStateEdit, rangesOverlap, type PdStateReader, type RangeRecord, type StoreRecord } from './pd-state.js'

/** Applies one command to `edit` and returns its result. */
export function applyPdCommand(edit: PdStateEdit, c: PdCommand): PdResult {
  if (c.kind !== 'bootstrap' && edit.counters.clusterId === '') {
    return fail(PdErrorCode.NOT_BOOTSTRAPPED, `${c.kind}: the cluster is not bootstrapped yet`)
  }
  switch (c.kind) {
    case 'bootstrap':
      return bootstrap(edit, c)
    case 'putStore': {
      if (edit.store(c.store.storeId)?.state === 'removed') return fail(PdErrorCode.STORE_REMOVED, `store ${c.store.storeId} was removed from the cluster`)
      edit.putStore(c.store)
      return { ok: true }
    }
    case 'setStoreState': {
      const store = edit.store(c.storeId)
      if (!store) return fail(PdErrorCode.STORE_NOT_FOUND, `store ${c.storeId} is unknown`)
      if (store.state === 'removed' && c.state !== 'removed') return fail(PdErrorCode.STORE_REMOVED, `store ${c.storeId} was removed from the cluster`)
      edit.putStore({ ...store, state: c.state })
      return { ok: true }
    }
    case 'putRange':
      return putRange(edit, c.range)
    case 'removeRange': {
      const stored = edit.range(c.rangeId)
      if (!stored) return fail(PdErrorCode.RANGE_NOT_FOUND, `range ${c.rangeId} is unknown`)
      if (stored.generation > c.generation) return { ok: true, stale: true }
      edit.removeRange(c.rangeId)
      return { ok: true, stale: false }
    }
    case 'allocIds': {
      const counters = edit.counters
      const first = c.idKind === 'range' ? counters.nextRangeId : counters.nextReplicaId
      const max = c.idKind === 'range' ? MAX_RANGE_ID : Number.MAX_SAFE_INTEGER
      if (first + c.count - 1 > max) return fail(PdErrorCode.IDS_EXHAUSTED, `${c.idKind} ids are used up (at most ${max})`)
      if (c.idKind === 'range') counters.nextRangeId += c.count
      else counters.nextReplicaId += c.count
      return { ok: true, first }
    }
    case 'raiseTsoLimit': {
      if (c.limit > edit.counters.tsoLimit) edit.counters.tsoLimit = c.limit
      return { ok: true, limit: edit.counters.tsoLimit }
    }
    case 'raiseGcSafePoint': {
      if (c.safePoint > (edit.counters.gcSafePoint ?? 0n)) edit.counters.gcSafePoint = c.safePoint
      return { ok: true, safePoint: edit.counters.gcSafePoint ?? 0n }
    }
  }
}

/**
 * Checks a whole initial state: the rules every command keeps, at once. Null when it is
 * valid. Used for bootstrap commands and the state a PD group starts from.
 */
export function checkInitialState(clusterId: string, stores: readonly StoreRecord[], ranges: readonly RangeRecord[], nextRangeId: number): PdError | null {
  if (clusterId === '' && (stores.length > 0 || ranges.length > 0)) return error(PdErrorCode.INVALID_ARGUMENT, 'a state without a cluster id holds no stores or ranges')
  const storeIds = new Set(stores.map((s) => s.storeId))
  if (storeIds.size !== stores.length) return error(PdErrorCode.INVALID_ARGUMENT, 'store ids repeat')
  if (nextRangeId > MAX_RANGE_ID + 1) return error(PdErrorCode.INVALID_ARGUMENT, `next range id must be at most ${MAX_RANGE_ID + 1}`)
  const seen = new Set<number>()
  for (const r of ranges) {
    if (seen.has(r.rangeId)) return error(PdErrorCode.INVALID_ARGUMENT, `range id ${r.rangeId} repeats`)
    seen.add(r.rangeId)
    if (r.rangeId >= nextRangeId) return error(PdErrorCode.INVALID_ARGUMENT, `next range id ${nextRangeId} must be above range id ${r.rangeId}`)
    const unknown = r.replicas.find((x) => !storeIds.has(x.nodeId))
    if (unknown) return error(PdErrorCode.STORE_NOT_FOUND, `range ${r.rangeId} has a replica on unknown store ${unknown.nodeId}`)
  }
  // In start key order, a range overlaps an earlier one iff it overlaps the one reaching
  // furthest so far: O(n log n), where comparing every pair took seconds of a blocked event
  // loop on every PD member at `mrdb init --ranges 10000`.
  const byStart = [...ranges].sort((a, b) => compareBytes(a.startKey, b.startKey))
  let furthest: RangeRecord | undefined
  for (const r of byStart) {
    if (furthest && rangesOverlap(furthest, r)) return error(PdErrorCode.INVALID_ARGUMENT, `ranges ${furthest.rangeId} and ${r.rangeId} overlap`)
    if (!furthest || (furthest.endKey.length > 0 && (r.endKey.length === 0 || compareBytes(r.endKey, furthest.endKey) > 0))) furthest = r
  }
  return null
}

function bootstrap(edit: PdStateEdit, c: PdCommand & { kind: 'bootstrap' }): PdResult {
  if (edit.counters.clusterId !== '') return fail(PdErrorCode.ALREADY_BOOTSTRAPPED, `the cluster is already bootstrapped as ${edit.counters.clusterId}`)
  const rejected = checkInitialState(c.clusterId, c.stores, c.ranges, c.nextRangeId)
  if (rejected) return { ok: false, error: rejected }
  const maxReplicaId = Math.max(0, ...c.ranges.flatMap((r) => r.replicas.map((x) => x.replicaId)))
  edit.counters.clusterId = c.clusterId
  edit.counters.nextRangeId = c.nextRangeId
  edit.counters.nextReplicaId = Math.max(edit.counters.nextReplicaId, maxReplicaId + 1)
  for (const s of c.stores) edit.putStore(s)
  for (const r of c.ranges) edit.putRange(r)
  return { ok: true }
}

function putRange(edit: PdStateEdit, range: RangeRecord): PdResult {
  if (range.rangeId >= edit.counters.nextRangeId) {
    return fail(PdErrorCode.INVALID_ARGUMENT, `range id ${range.rangeId} was never allocated (next is ${edit.counters.nextRangeId})`)
  }
  const unknown = range.replicas.find((x) => !edit.store(x.nodeId))
  if (unknown) return fail(PdErrorCode.STORE_NOT_FOUND, `range ${range.rangeId} has a replica on unknown store ${unknown.nodeId}`)
  const stored = edit.range(range.rangeId)
  if (stored && stored.generation > range.generation) return { ok: true, stale: true, replaced: [] }
  const overlapping = overlaps(edit, range)
  if (overlapping.some((o) => o.generation >= range.generation)) return { ok: true, stale: true, replaced: [] }
  const replaced = overlapping.map((o) => o.rangeId).sort((a, b) => a - b)
  for (const id of replaced) edit.removeRange(id)
  edit.putRange(range)
  return { ok: true, stale: false, replaced }
}

/** Ranges other than `range` itself whose spans overlap it. Linear: the PD holds thousands of ranges, not millions. */
function overlaps(state: PdStateReader, range: RangeRecord): RangeRecord[] {
  const found: RangeRecord[] = []
  for (const r of state.allRanges()) if (r.rangeId !== range.rangeId && rangesOverlap(r, range)) found.push(r)
  return found
}

function error(code: PdErrorCode, message: string): PdError {
  return new PdError(code, message)
}

function fail(code: PdErrorCode, message: string): PdResult {
  return { ok: false, error: error(code, message) }
}

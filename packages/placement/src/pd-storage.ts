// How a node keeps its PD replica's state in its engine, and the bytes of a PD snapshot.
//
// Keys under 0x03 (system, replicated; apart from the Raft log's 0x01 and MVCC's 0x02):
// - `03 6d` ('m'): the meta record — applied index and term, membership, counters, cluster id
// - `03 73 <store id u64>` ('s'): one store record
// - `03 72 <range id u64>` ('r'): one range record
// All values are JSON. The applied index lives in the meta record, so the batch that writes
// an apply's records also moves the applied index: replay after a crash starts exactly there.

import type { ConfState } from '@mrdb/raft'
import { MAX_TIMESTAMP, type BatchOp, type Reader } from '@mrdb/storage'
import { PdError, PdErrorCode } from './errors.js'
import { parseRange, parseStore, rangeToJson, type PdCounters, type PdStateData, type PdStateEdit, type RangeRecord, type StoreRecord } from './pd-state.js'

/** Where the PD replica stands in its group's log, and the membership as of there. */
export interface PdApplied {
  appliedIndex: number
  appliedTerm: number
  confState: ConfState
}

/** The PD state of a node as read from its engine. */
export interface StoredPdState {
  applied: PdApplied
  data: PdStateData
}

const PREFIX = 0x03
const META_KEY = Uint8Array.of(PREFIX, 0x6d)
const STORE_TAG = 0x73
const RANGE_TAG = 0x72
/** Every PD key: [gte, lt). */
const PD_SPAN = { gte: Uint8Array.of(PREFIX), lt: Uint8Array.of(PREFIX + 1) }

interface MetaJson {
  appliedIndex: number
  appliedTerm: number
  confState: ConfState
  clusterId: string
  nextRangeId: number
  nextReplicaId: number
  tsoLimit: string
  gcSafePoint?: string
}

/** Reads the PD state stored in `reader` (an engine or a snapshot of it); undefined if this node has none. */
export async function readPdState(reader: Reader): Promise<StoredPdState | undefined> {
  const raw = await reader.get(META_KEY)
  if (!raw) return undefined
  const { applied, counters } = decode(raw, 'meta record', parseMeta)
  const stores: StoreRecord[] = []
  const ranges: RangeRecord[] = []
  for await (const [key, value] of reader.scan({ gt: META_KEY, lt: PD_SPAN.lt })) {
    if (key[1] === STORE_TAG) stores.push(decode(value, 'store record', parseStore))
    else if (key[1] === RANGE_TAG) ranges.push(decode(value, 'range record', parseRange))
  }
  return { applied, data: { ...counters, stores, ranges } }
}

/** Engine ops writing a whole PD state (over a node that has none: see {@link clearPdStateOps}). */
export function pdStateOps(applied: PdApplied, data: PdStateData): BatchOp[] {
  const ops: BatchOp[] = [metaOp(applied, data)]
  for (const s of data.stores) ops.push(storeOp(s))
  for (const r of data.ranges) ops.push(rangeOp(r))
  return ops
}

/** Engine ops writing what an edit changed, and the new applied position. */
export function pdEditOps(applied: PdApplied, edit: PdStateEdit): BatchOp[] {
  const ops: BatchOp[] = [metaOp(applied, edit.counters)]
  for (const s of edit.changedStores()) ops.push(storeOp(s))
  for (const [id, r] of edit.changedRanges()) ops.push(r ? rangeOp(r) : { type: 'del', key: recordKey(RANGE_TAG, id) })
  return ops
}

/** Engine ops deleting every PD key `reader` holds. */
export async function clearPdStateOps(reader: Reader): Promise<BatchOp[]> {
  const ops: BatchOp[] = []
  for await (const [key] of reader.scan(PD_SPAN)) ops.push({ type: 'del', key })
  return ops
}

/** Encodes a whole PD state as the data of a Raft snapshot (the snapshot's metadata carries the applied position). */
export function encodePdSnapshot(data: PdStateData): Uint8Array {
  const json = { ...data, tsoLimit: data.tsoLimit.toString(), gcSafePoint: data.gcSafePoint?.toString(), ranges: data.ranges.map(rangeToJson) }
  return new TextEncoder().encode(JSON.stringify(json))
}

/** Decodes a PD snapshot's data; damaged bytes raise CORRUPTION. */
export function decodePdSnapshot(bytes: Uint8Array): PdStateData {
  return decode(bytes, 'snapshot', (j) => {
    const o = j as Record<string, unknown>
    if (!Array.isArray(o.stores) || !Array.isArray(o.ranges)) throw new Error('stores or ranges missing')
    return { ...parseCounters(o), stores: o.stores.map(parseStore), ranges: o.ranges.map(parseRange) }
  })
}

function metaOp(applied: PdApplied, counters: PdCounters): BatchOp {
  const meta: MetaJson = {
    appliedIndex: applied.appliedIndex,
    appliedTerm: applied.appliedTerm,
    confState: applied.confState,
    clusterId: counters.clusterId,
    nextRangeId: counters.nextRangeId,
    nextReplicaId: counters.nextReplicaId,
    tsoLimit: counters.tsoLimit.toString(),
  }
  if (counters.gcSafePoint) meta.gcSafePoint = counters.gcSafePoint.toString()
  return { type: 'put', key: META_KEY, value: json(meta) }
}

function storeOp(s: StoreRecord): BatchOp {
  return { type: 'put', key: recordKey(STORE_TAG, s.storeId), value: json(s) }
}

function rangeOp(r: RangeRecord): BatchOp {
  return { type: 'put', key: recordKey(RANGE_TAG, r.rangeId), value: json(rangeToJson(r)) }
}

function recordKey(tag: number, id: number): Uint8Array {
  const key = new Uint8Array(10)
  key[0] = PREFIX
  key[1] = tag
  new DataView(key.buffer).setBigUint64(2, BigInt(id))
  return key
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

function parseMeta(j: unknown): { applied: PdApplied; counters: PdCounters } {
  const o = j as MetaJson
  const cs = o.confState
  const ids = (list: unknown): boolean => Array.isArray(list) && list.every((x) => Number.isSafeInteger(x))
  if (!Number.isSafeInteger(o.appliedIndex) || !Number.isSafeInteger(o.appliedTerm) || !cs || !ids(cs.voters) || !ids(cs.learners) || !ids(cs.votersOutgoing) || !ids(cs.learnersNext)) {
    throw new Error('applied position or membership missing')
  }
  return { applied: { appliedIndex: o.appliedIndex, appliedTerm: o.appliedTerm, confState: cs }, counters: parseCounters(o as unknown as Record<string, unknown>) }
}

function parseCounters(o: Record<string, unknown>): PdCounters {
  if (typeof o.clusterId !== 'string' || !Number.isSafeInteger(o.nextRangeId) || !Number.isSafeInteger(o.nextReplicaId) || typeof o.tsoLimit !== 'string') {
    throw new Error('counters missing')
  }
  const tsoLimit = BigInt(o.tsoLimit)
  if (tsoLimit < 0n || tsoLimit > MAX_TIMESTAMP) throw new Error('TSO limit out of range')
  const counters: PdCounters = { clusterId: o.clusterId, nextRangeId: o.nextRangeId as number, nextReplicaId: o.nextReplicaId as number, tsoLimit }
  if (o.gcSafePoint !== undefined) {
    const sp = typeof o.gcSafePoint === 'string' && /^\d{1,20}$/.test(o.gcSafePoint) ? BigInt(o.gcSafePoint) : -1n
    if (sp < 0n || sp > MAX_TIMESTAMP) throw new Error('GC safe point out of range')
    counters.gcSafePoint = sp
  }
  return counters
}

function decode<T>(bytes: Uint8Array, what: string, parse: (j: unknown) => T): T {
  try {
    return parse(JSON.parse(new TextDecoder().decode(bytes)))
  } catch (cause) {
    throw corrupt(what, cause)
  }
}

function corrupt(what: string, cause: unknown): PdError {
  return new PdError(PdErrorCode.CORRUPTION, `PD ${what} is damaged`, undefined, { cause })
}

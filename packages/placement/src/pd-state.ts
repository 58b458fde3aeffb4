// The placement driver's replicated state: stores, range records and counters. Records are
// plain immutable values; a PdStateEdit collects the changes of the commands of one apply,
// so the in-memory state moves only once they are on disk.

import { MAX_MVCC_KEY_SIZE, compareBytes } from '@mrdb/storage'
import { PdError, PdErrorCode } from './errors.js'

/**
 * The Raft group id of the PD. Range ids are handed out from 1 upward and never reach it
 * (allocIds refuses, putRange rejects), so the PD group and the range groups can share one
 * MultiRaft host and one Raft log store. 2^32 − 1 leaves four billion range ids and fits any
 * 32-bit field a tool may squeeze group ids into.
 */
export const PD_GROUP_ID = 0xffff_ffff

/** The largest id a range may have. */
export const MAX_RANGE_ID = PD_GROUP_ID - 1

/** Where a store is in its life: serving, draining its replicas, or gone for good. */
export type StoreState = 'up' | 'decommissioning' | 'removed'

/** A store (node) of the cluster. */
export interface StoreRecord {
  storeId: number
  /** host:port its services listen on. */
  address: string
  state: StoreState
}

/** How a replica takes part in its range's Raft group. */
export type ReplicaRole = 'voter' | 'learner'

/** One replica of a range; `nodeId` is the id of the store that holds it. */
export interface ReplicaRecord {
  replicaId: number
  nodeId: number
  role: ReplicaRole
}

/**
 * A range as the PD knows it: the keys [startKey, endKey) (an empty endKey is +∞) and its
 * replicas. Structurally a kv RangeDescriptor. `generation` grows with every split, merge and
 * membership change; both halves of a split get the parent's generation + 1.
 */
export interface RangeRecord {
  rangeId: number
  startKey: Uint8Array
  endKey: Uint8Array
  generation: number
  replicas: ReplicaRecord[]
}

/** The counters and identity of the cluster. */
export interface PdCounters {
  /** Empty until the cluster is bootstrapped. */
  clusterId: string
  /** The next range id allocIds hands out. Invariant: above every stored range id. */
  nextRangeId: number
  /** The next replica id allocIds hands out. */
  nextReplicaId: number
  /** The TSO may hand out only timestamps below this; it only grows. */
  tsoLimit: bigint
  /**
   * The cluster's MVCC GC safe point: ranges may collect what no read at or above it sees.
   * It only grows; absent: 0 (nothing collected yet).
   */
  gcSafePoint?: bigint
}

/** The whole PD state as plain data (bootstrap input, snapshot content). */
export interface PdStateData extends PdCounters {
  stores: StoreRecord[]
  ranges: RangeRecord[]
}

/** The state of a PD group before the cluster is bootstrapped. */
export function emptyPdState(): PdStateData {
  return { clusterId: '', nextRangeId: 1, nextReplicaId: 1, tsoLimit: 0n, stores: [], ranges: [] }
}

/** Read access to a PD state, committed or being edited. */
export interface PdStateReader {
  readonly counters: Readonly<PdCounters>
  store(storeId: number): StoreRecord | undefined
  range(rangeId: number): RangeRecord | undefined
  allStores(): Iterable<StoreRecord>
  allRanges(): Iterable<RangeRecord>
}

/** The committed PD state of one replica, in memory. */
export class PdState implements PdStateReader {
  private constructor(
    private counterValues: PdCounters,
    private readonly stores: Map<number, StoreRecord>,
    private readonly ranges: Map<number, RangeRecord>,
  ) {}

  /** A state holding `data` (records are copied). */
  static from(data: PdStateData): PdState {
    const { stores, ranges, ...counters } = data
    return new PdState(
      counters,
      new Map(stores.map((s) => [s.storeId, cloneStore(s)])),
      new Map(ranges.map((r) => [r.rangeId, cloneRange(r)])),
    )
  }

  get counters(): Readonly<PdCounters> {
    return this.counterValues
  }

  store(storeId: number): StoreRecord | undefined {
    return this.stores.get(storeId)
  }

  range(rangeId: number): RangeRecord | undefined {
    return this.ranges.get(rangeId)
  }

  allStores(): Iterable<StoreRecord> {
    return this.stores.values()
  }

  allRanges(): Iterable<RangeRecord> {
    return this.ranges.values()
  }

  /** The state as plain data: stores by id, ranges by start key, records copied. */
  toData(): PdStateData {
    return {
      ...this.counterValues,
      stores: [...this.stores.values()].sort((a, b) => a.storeId - b.storeId).map(cloneStore),
      ranges: [...this.ranges.values()].sort((a, b) => compareBytes(a.startKey, b.startKey) || a.rangeId - b.rangeId).map(cloneRange),
    }
  }

  /** Takes in the changes of an edit made on this state (once they are durable). */
  commit(edit: PdStateEdit): void {
    this.counterValues = { ...edit.counters }
    for (const s of edit.changedStores()) this.stores.set(s.storeId, s)
    for (const [id, r] of edit.changedRanges()) {
      if (r) this.ranges.set(id, r)
      else this.ranges.delete(id)
      this.rangesVersion++
    }
  }

  /** Rises whenever a commit writes or removes a range: an unchanged value means an unchanged range table. */
  rangesVersion = 0
}

/** Changes to a PdState not yet taken in: reads see them, the base is untouched. */
export class PdStateEdit implements PdStateReader {
  /** The counters after the edit. */
  counters: PdCounters
  private readonly stores = new Map<number, StoreRecord>()
  /** Changed ranges; undefined marks a removed one. */
  private readonly ranges = new Map<number, RangeRecord | undefined>()

  constructor(private readonly base: PdStateReader) {
    this.counters = { ...base.counters }
  }

  store(storeId: number): StoreRecord | undefined {
    return this.stores.get(storeId) ?? this.base.store(storeId)
  }

  range(rangeId: number): RangeRecord | undefined {
    return this.ranges.has(rangeId) ? this.ranges.get(rangeId) : this.base.range(rangeId)
  }

  *allStores(): Iterable<StoreRecord> {
    for (const s of this.base.allStores()) if (!this.stores.has(s.storeId)) yield s
    yield* this.stores.values()
  }

  *allRanges(): Iterable<RangeRecord> {
    for (const r of this.base.allRanges()) if (!this.ranges.has(r.rangeId)) yield r
    for (const r of this.ranges.values()) if (r) yield r
  }

  putStore(store: StoreRecord): void {
    this.stores.set(store.storeId, cloneStore(store))
  }

  putRange(range: RangeRecord): void {
    this.ranges.set(range.rangeId, cloneRange(range))
  }

  removeRange(rangeId: number): void {
    this.ranges.set(rangeId, undefined)
  }

  /** Stores written by the edit. */
  changedStores(): Iterable<StoreRecord> {
    return this.stores.values()
  }

  /** Ranges written (a record) or removed (undefined) by the edit, by id. */
  changedRanges(): Iterable<[number, RangeRecord | undefined]> {
    return this.ranges.entries()
  }
}

/** Whether two ranges' key spans overlap. */
export function rangesOverlap(a: RangeRecord, b: RangeRecord): boolean {
  const aBeforeB = a.endKey.length > 0 && compareBytes(a.endKey, b.startKey) <= 0
  const bBeforeA = b.endKey.length > 0 && compareBytes(b.endKey, a.startKey) <= 0
  return !aBeforeB && !bBeforeA
}

/** A copy of a store record. */
export function cloneStore(s: StoreRecord): StoreRecord {
  return { storeId: s.storeId, address: s.address, state: s.state }
}

/** A deep copy of a range record. */
export function cloneRange(r: RangeRecord): RangeRecord {
  return {
    rangeId: r.rangeId,
    startKey: Uint8Array.from(r.startKey),
    endKey: Uint8Array.from(r.endKey),
    generation: r.generation,
    replicas: r.replicas.map((x) => ({ replicaId: x.replicaId, nodeId: x.nodeId, role: x.role })),
  }
}

// ---- records as JSON ---------------------------------------------------------------------

/** A range record as JSON-safe data (keys in hex). */
export interface RangeRecordJson {
  rangeId: number
  startKey: string
  endKey: string
  generation: number
  replicas: ReplicaRecord[]
}

/** Converts a range record to JSON-safe data. */
export function rangeToJson(r: RangeRecord): RangeRecordJson {
  return { ...cloneRange(r), startKey: Buffer.from(r.startKey).toString('hex'), endKey: Buffer.from(r.endKey).toString('hex') }
}

const STORE_STATES: readonly StoreState[] = ['up', 'decommissioning', 'removed']
const ROLES: readonly ReplicaRole[] = ['voter', 'learner']
const HEX = /^(?:[0-9a-f]{2})*$/
/** Longest store address accepted. */
const MAX_ADDRESS_LENGTH = 1024

/** Checks untrusted JSON for a store record; INVALID_ARGUMENT names what is wrong. */
export function parseStore(j: unknown): StoreRecord {
  const o = object(j, 'store')
  const storeId = parseId(o.storeId, 'store id')
  if (typeof o.address !== 'string' || o.address.length === 0 || o.address.length > MAX_ADDRESS_LENGTH) {
    throw invalid(`store ${storeId}: address must be a non-empty string of at most ${MAX_ADDRESS_LENGTH} characters`)
  }
  return { storeId, address: o.address, state: parseStoreState(o.state) }
}

/** Checks untrusted JSON for a store state. */
export function parseStoreState(j: unknown): StoreState {
  if (!STORE_STATES.includes(j as StoreState)) throw invalid(`store state must be one of ${STORE_STATES.join(', ')}, got ${String(j)}`)
  return j as StoreState
}

/**
 * Checks untrusted JSON for a range record and the invariants it holds on its own: an id in
 * [1, MAX_RANGE_ID], startKey < endKey (or endKey empty), at least one voter, replica and
 * node ids unique.
 */
export function parseRange(j: unknown): RangeRecord {
  const o = object(j, 'range')
  const rangeId = parseId(o.rangeId, 'range id')
  if (rangeId > MAX_RANGE_ID) throw invalid(`range id ${rangeId} is above ${MAX_RANGE_ID} (ids above are the PD's own)`)
  const startKey = key(o.startKey, `range ${rangeId}: start key`)
  const endKey = key(o.endKey, `range ${rangeId}: end key`)
  if (endKey.length > 0 && compareBytes(startKey, endKey) >= 0) throw invalid(`range ${rangeId}: start key must be below end key`)
  const generation = o.generation
  if (!Number.isSafeInteger(generation) || (generation as number) < 0) throw invalid(`range ${rangeId}: generation must be a non-negative integer`)
  if (!Array.isArray(o.replicas) || o.replicas.length === 0) throw invalid(`range ${rangeId}: replicas must be a non-empty array`)
  const replicas = o.replicas.map((x: unknown): ReplicaRecord => {
    const r = object(x, `range ${rangeId}: replica`)
    if (!ROLES.includes(r.role as ReplicaRole)) throw invalid(`range ${rangeId}: replica role must be voter or learner`)
    return { replicaId: parseId(r.replicaId, `range ${rangeId}: replica id`), nodeId: parseId(r.nodeId, `range ${rangeId}: node id`), role: r.role as ReplicaRole }
  })
  if (!replicas.some((r) => r.role === 'voter')) throw invalid(`range ${rangeId}: needs at least one voter`)
  if (new Set(replicas.map((r) => r.replicaId)).size !== replicas.length) throw invalid(`range ${rangeId}: replica ids repeat`)
  if (new Set(replicas.map((r) => r.nodeId)).size !== replicas.length) throw invalid(`range ${rangeId}: two replicas on one node`)
  return { rangeId, startKey, endKey, generation: generation as number, replicas }
}

/** Checks untrusted JSON for a positive safe integer id. */
export function parseId(j: unknown, what: string): number {
  if (!Number.isSafeInteger(j) || (j as number) < 1) throw invalid(`${what} must be a positive integer, got ${String(j)}`)
  return j as number
}

function object(j: unknown, what: string): Record<string, unknown> {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw invalid(`${what} must be an object`)
  return j as Record<string, unknown>
}

function key(j: unknown, what: string): Uint8Array {
  if (typeof j !== 'string' || !HEX.test(j)) throw invalid(`${what} must be lowercase hex`)
  if (j.length / 2 > MAX_MVCC_KEY_SIZE) throw invalid(`${what} is over ${MAX_MVCC_KEY_SIZE} bytes`)
  return Uint8Array.from(Buffer.from(j, 'hex'))
}

function invalid(message: string): PdError {
  return new PdError(PdErrorCode.INVALID_ARGUMENT, message)
}

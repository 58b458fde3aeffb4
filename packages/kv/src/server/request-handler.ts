// The one place a node serves KV requests, whichever way they came: decoded from the gRPC
// service's bodies (kv-service.ts) or handed over in-process by the node's own client
// (local-sender.ts). It checks each request's invariants, routes it to the local replica of
// its range — which must lead the range, else NOT_LEADER with a hint — and turns every failure
// into an error answer: nothing is thrown past it.

import { MAX_TIMESTAMP } from '@mrdb/storage'
import { KvError, KvErrorCode } from '../api/errors.js'
import { rangesOverlap, type RangeDescriptor } from '../api/range-descriptor.js'
import type { KvDataRequest, KvRequest, KvResponse, KvResponseBase, NodeAddress, RangeRoute } from '../api/requests.js'
import type { TxnMutation } from '../api/types.js'
import { toKvError, type CommandResult } from './replica.js'
import type { Store } from './store.js'

/** What a node knows of the cluster beyond its own replicas, for clients filling their range cache. */
export interface ClusterView {
  /** Every node's address. */
  nodes(): NodeAddress[]
  /** Every range of the cluster with the node its leader is on (0: unknown). */
  ranges(): Promise<RangeRoute[]>
}

/** How many pairs a scan returns when the request names no limit. */
const DEFAULT_SCAN_LIMIT = 1000
/** The largest TTL a lock may have (it travels as 32 bits). */
const MAX_TTL_MS = 0xffff_ffff

/** Serves typed requests on a node's store; see the file comment. */
export class KvRequestHandler {
  constructor(
    private readonly store: Store,
    private readonly cluster: ClusterView,
  ) {}

  /** The answer to `req`; never rejects (a failure is the answer's `error`). */
  async handle(req: KvRequest): Promise<KvResponse> {
    try {
      checkRequest(req)
      if (req.op === 'ranges') return { ranges: routingView(this.store, await this.cluster.ranges()), nodes: this.cluster.nodes() }
      if (req.op === 'checksum') return await this.store.replica(req.rangeId).checksum()
      const res = await this.data(req)
      // A request routed by another generation than the range's current one: the current
      // descriptor goes back with the answer, so the sender's cache catches up.
      if (req.generation === undefined || res.error || res.descriptor) return res
      const d = this.store.localReplica(req.rangeId)?.descriptor
      return d && d.generation !== req.generation ? { ...res, descriptor: d } : res
    } catch (err) {
      return { error: toKvError(err) }
    }
  }

  private async data(req: KvDataRequest): Promise<KvResponse> {
    const store = this.store
    const id = req.rangeId
    switch (req.op) {
      case 'get':
        return { value: await store.get(id, req.key, req.ts ?? MAX_TIMESTAMP) }
      case 'put':
        return written(await store.write(id, { kind: 'put', key: req.key, value: req.value }))
      case 'delete':
        return written(await store.write(id, { kind: 'delete', key: req.key }))
      case 'cas': {
        const r = await store.write(id, { kind: 'cas', key: req.key, expected: req.expected, value: req.value })
        return r.ok ? { succeeded: r.succeeded, current: r.current } : { error: r.error }
      }
      case 'scan': {
        const { rows, rangeEnd, resume, descriptor } = await store.scan(id, req.start, req.end, req.limit ?? DEFAULT_SCAN_LIMIT, req.ts ?? MAX_TIMESTAMP)
        // The range the scan read, which its rangeEnd belongs to (not a later one).
        const stale = req.generation !== undefined && descriptor.generation !== req.generation
        return { pairs: rows, rangeEnd, resume, descriptor: stale ? descriptor : undefined }
      }
      case 'deleteRange': {
        const r = await store.write(id, { kind: 'deleteRange', start: req.start, end: req.end })
        return r.ok ? { deleted: r.deleted, resume: r.resume } : { error: r.error }
      }
      case 'batch':
        return written(await store.write(id, { kind: 'batch', writes: req.writes.map((w) => ({ key: w.key, value: w.value })) }))
      case 'prewrite':
        return written(await store.write(id, { kind: 'prewrite', startTs: req.startTs, primary: req.primary, ttlMs: req.ttlMs, mutations: req.mutations }))
      case 'onePhaseCommit': {
        const r = await store.commitOnePhase(id, req.startTs, req.mutations, req.maxCommitTs)
        return r.ok ? { commitTs: r.commitTs } : { error: r.error }
      }
      case 'commit':
        return written(await store.write(id, { kind: 'commit', startTs: req.startTs, commitTs: req.commitTs, keys: req.keys }))
      case 'rollback':
        return written(await store.write(id, { kind: 'rollback', startTs: req.startTs, keys: req.keys }))
      case 'checkTxn': {
        const r = await store.write(id, { kind: 'checkTxn', primary: req.primary, startTs: req.startTs, nowTs: req.nowTs })
        return r.ok ? { txn: r.txn } : { error: r.error }
      }
      case 'heartbeat':
        return written(await store.write(id, { kind: 'heartbeat', primary: req.primary, startTs: req.startTs, ttlMs: req.ttlMs }))
    }
  }
}

function written(r: CommandResult): KvResponseBase {
  return r.ok ? {} : { error: r.error }
}

/**
 * Throws INVALID_ARGUMENT unless `req` is a request a replica may be asked: a positive range
 * id, a non-negative generation, non-empty keys and lists, timestamps within 64 bits, a
 * positive limit, a 32-bit TTL. (Bounds of keys against the range are the replica's to check.)
 */
function checkRequest(req: KvRequest): void {
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
      if (req.limit !== undefined && (!Number.isSafeInteger(req.limit) || req.limit <= 0)) throw invalid(`limit must be a positive integer, got ${String(req.limit)}`)
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

/**
 * The cluster's ranges as this node tells clients: the PD's table, with this node's own
 * replicas where they are newer (a split or merge applied here before the PD heard of it),
 * minus entries a newer range overlaps; where this node holds a replica, its view of the
 * leader is the freshest.
 */
function routingView(store: Store, pd: RangeRoute[]): RangeRoute[] {
  const view = new Map(pd.map((r) => [r.descriptor.rangeId, r]))
  // The PD's table has no overlaps of its own; only these local overlays can overlap it.
  const newer: RangeDescriptor[] = []
  for (const d of store.descriptors()) {
    if (store.replica(d.rangeId).appliedIndex === 0) continue // still empty: its descriptor is only a target
    const known = view.get(d.rangeId)
    if (known && known.descriptor.generation >= d.generation) continue
    view.set(d.rangeId, { descriptor: d, leaderNodeId: known?.leaderNodeId ?? 0 })
    newer.push(d)
  }
  return [...view.values()]
    .filter((a) => !newer.some((b) => b !== a.descriptor && b.generation > a.descriptor.generation && rangesOverlap(a.descriptor, b)))
    .map((r) => {
      const id = r.descriptor.rangeId
      const localLeader = store.raft.hasGroup(id) ? (store.raft.nodeOf(id, store.raft.leaderOf(id)) ?? 0) : 0
      return { descriptor: r.descriptor, leaderNodeId: localLeader || r.leaderNodeId }
    })
}

// The one place a node serves KV requests, whichever way they came: decoded from the gRPC
// service's bodies (kv-service.ts) or handed over in-process by the node's own client
// (local-sender.ts). It checks each request's invariants, routes it to the local replica of
// its range — which must lead the range, else NOT_LEADER with a hint — and turns every failure
// into an error answer: nothing is thrown past it.

import { MAX_TIMESTAMP } from '@mrdb/storage'
import { rangesOverlap, type RangeDescriptor } from '../api/range-descriptor.js'
import type { KvDataRequest, KvRequest, KvResponse, KvResponseBase, NodeAddress, RangeRoute } from '../api/requests.js'
import { checkRequest } from '../api/request-check.js'
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

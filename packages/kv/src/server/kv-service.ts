// The KV service a node serves: each call is routed to the local replica of the range it
// names, which must lead the range. Bad requests get INVALID_ARGUMENT; nothing is thrown
// past this boundary.

import { MAX_TIMESTAMP } from '@mrdb/storage'
import type { Server, ServerDuplexStream, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js'
import { KvError, KvErrorCode, type LockInfo } from '../api/errors.js'
import { descriptorToJson, rangesOverlap, type RangeDescriptor } from '../api/range-descriptor.js'
import type { TxnMutation } from '../api/types.js'
import { toKvError, type CommandResult } from './replica.js'
import type { Store } from './store.js'
import {
  KV_SERVICE,
  fromWire,
  toWire,
  type BatchRequest,
  type CasRequest,
  type CheckTxnRequest,
  type CheckTxnResponse,
  type CommitRequest,
  type HeartbeatRequest,
  type PrewriteRequest,
  type RollbackRequest,
  type CommandOp,
  type CommandRequest,
  type CommandResponse,
  type CasResponse,
  type DeleteRangeResponse,
  type GetResponse,
  type ChecksumResponse,
  type RangesResponse,
  type ScanResponse,
  type KeyRequest,
  type PutRequest,
  type RangeRequest,
  type SpanRequest,
  type WireError,
  type WireLock,
  type WireResponse,
} from '../api/protocol.js'

/** What a node knows of the cluster beyond its own replicas, for clients filling their range cache. */
export interface ClusterView {
  /** Every node's address. */
  nodes(): Array<{ nodeId: number; address: string }>
  /** Every range of the cluster with the node its leader is on (0: unknown). */
  ranges(): Promise<Array<{ descriptor: RangeDescriptor; leaderNodeId: number }>>
}

/** Adds the KV service for `store` to a gRPC server. */
export function addKvService(server: Server, store: Store, cluster: ClusterView): void {
  const ops = dataOperations(store)
  const impl: UntypedServiceImplementation = {
    get: handle(ops.get),
    put: handle(ops.put),
    delete: handle(ops.delete),
    cas: handle(ops.cas),
    scan: handle(ops.scan),
    deleteRange: handle(ops.deleteRange),
    batch: handle(ops.batch),
    prewrite: handle(ops.prewrite),
    commit: handle(ops.commit),
    rollback: handle(ops.rollback),
    checkTxn: handle(ops.checkTxn),
    heartbeat: handle(ops.heartbeat),
    ranges: handle(async (): Promise<RangesResponse> => ({
      ranges: routingView(store, await cluster.ranges()).map(({ descriptor, leaderNodeId }) => ({ descriptor: descriptorToJson(descriptor), leaderNodeId })),
      nodes: cluster.nodes(),
    })),
    checksum: handle(async (req: RangeRequest): Promise<ChecksumResponse> => store.replica(rangeId(req)).checksum()),
    commands: (call: ServerDuplexStream<CommandRequest[], CommandResponse[]>) => serveCommands(call, ops),
  }
  server.addService(KV_SERVICE, impl)
}

/**
 * The cluster's ranges as this node tells clients: the PD's table, with this node's own
 * replicas where they are newer (a split or merge applied here before the PD heard of it),
 * minus entries a newer range overlaps; where this node holds a replica, its view of the
 * leader is the freshest.
 */
function routingView(store: Store, pd: Array<{ descriptor: RangeDescriptor; leaderNodeId: number }>): Array<{ descriptor: RangeDescriptor; leaderNodeId: number }> {
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

/**
 * The data operations, shared by the unary methods and the command stream. Each answers a
 * request routed by another generation of its range than the current one with the range's
 * descriptor (see {@link withRange}).
 */
function dataOperations(store: Store): Record<CommandOp, (req: never) => Promise<WireResponse>> {
  const ops: Record<CommandOp, (req: never) => Promise<WireResponse>> = {
    get: async (req: KeyRequest): Promise<GetResponse> => {
      const value = await store.get(rangeId(req), key(req.key), readTs(req.ts))
      return value === undefined ? {} : { value: toWire(value) }
    },
    put: async (req: PutRequest) => writeResult(await store.write(rangeId(req), { kind: 'put', key: key(req.key), value: bytes(req.value, 'value') })),
    delete: async (req: KeyRequest) => writeResult(await store.write(rangeId(req), { kind: 'delete', key: key(req.key) })),
    cas: async (req: CasRequest): Promise<CasResponse> => {
      const r = await store.write(rangeId(req), {
        kind: 'cas',
        key: key(req.key),
        expected: req.expected === undefined ? undefined : bytes(req.expected, 'expected'),
        value: req.value === undefined ? undefined : bytes(req.value, 'value'),
      })
      if (!r.ok) return { error: wireError(r.error) }
      return { succeeded: r.succeeded, current: r.current === undefined ? undefined : toWire(r.current) }
    },
    scan: async (req: SpanRequest): Promise<ScanResponse> => {
      const { rows, rangeEnd, resume, descriptor } = await store.scan(rangeId(req), bytes(req.start ?? '', 'start'), bytes(req.end ?? '', 'end'), limit(req.limit), readTs(req.ts))
      const pairs = rows.map(([k, v]) => [toWire(k), toWire(v)] as [string, string])
      const res: ScanResponse = { pairs, rangeEnd: toWire(rangeEnd) }
      if (resume !== undefined) res.resume = toWire(resume)
      // The range the scan read, which its rangeEnd belongs to (not a later one).
      if (req.generation !== undefined && descriptor.generation !== req.generation) res.descriptor = descriptorToJson(descriptor)
      return res
    },
    deleteRange: async (req: SpanRequest): Promise<DeleteRangeResponse> => {
      const r = await store.write(rangeId(req), { kind: 'deleteRange', start: bytes(req.start ?? '', 'start'), end: bytes(req.end ?? '', 'end') })
      if (!r.ok) return { error: wireError(r.error) }
      return r.resume === undefined ? { deleted: r.deleted } : { deleted: r.deleted, resume: toWire(r.resume) }
    },
    batch: async (req: BatchRequest) => {
      if (!Array.isArray(req.writes) || req.writes.length === 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'writes must be a non-empty array')
      const writes = req.writes.map((w) => ({ key: key(w?.key), value: w.value === undefined ? undefined : bytes(w.value, 'value') }))
      return writeResult(await store.write(rangeId(req), { kind: 'batch', writes }))
    },
    prewrite: async (req: PrewriteRequest) => {
      if (!Array.isArray(req.mutations) || req.mutations.length === 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'mutations must be a non-empty array')
      const mutations = req.mutations.map((m): TxnMutation => {
        if (m?.kind !== 'put' && m?.kind !== 'delete' && m?.kind !== 'lock') throw new KvError(KvErrorCode.INVALID_ARGUMENT, `a mutation's kind must be put, delete or lock, got ${String(m?.kind)}`)
        return { key: key(m.key), kind: m.kind, value: m.value === undefined ? undefined : bytes(m.value, 'value'), assertAbsent: m.assertAbsent === true }
      })
      return writeResult(await store.write(rangeId(req), { kind: 'prewrite', startTs: ts(req.startTs), primary: key(req.primary), ttlMs: ttl(req.ttlMs), mutations }))
    },
    commit: async (req: CommitRequest) =>
      writeResult(await store.write(rangeId(req), { kind: 'commit', startTs: ts(req.startTs), commitTs: ts(req.commitTs), keys: keys(req.keys) })),
    rollback: async (req: RollbackRequest) => writeResult(await store.write(rangeId(req), { kind: 'rollback', startTs: ts(req.startTs), keys: keys(req.keys) })),
    heartbeat: async (req: HeartbeatRequest) =>
      writeResult(await store.write(rangeId(req), { kind: 'heartbeat', primary: key(req.primary), startTs: ts(req.startTs), ttlMs: ttl(req.ttlMs) })),
    checkTxn: async (req: CheckTxnRequest): Promise<CheckTxnResponse> => {
      const r = await store.write(rangeId(req), { kind: 'checkTxn', primary: key(req.primary), startTs: ts(req.startTs), nowTs: ts(req.nowTs) })
      if (!r.ok) return { error: wireError(r.error) }
      const txn = r.txn!
      return txn.state === 'committed' ? { state: txn.state, commitTs: txn.commitTs.toString() } : txn.state === 'locked' ? { state: txn.state, ttlMs: txn.ttlMs } : { state: txn.state }
    },
  }
  for (const op of Object.keys(ops) as CommandOp[]) ops[op] = withRange(store, ops[op])
  return ops
}

/**
 * `op`, with the request's `generation` checked (absent, or a non-negative integer) and a
 * successful answer to a request routed by another generation than the range's current one
 * carrying the current descriptor, so the sender's cache catches up.
 */
function withRange(store: Store, op: (req: never) => Promise<WireResponse>): (req: never) => Promise<WireResponse> {
  return async (req: never) => {
    const r = req as { rangeId?: unknown; generation?: unknown }
    const planned = generation(r.generation)
    const res = await op(req)
    if (planned === undefined || res.error || res.descriptor) return res
    const d = store.localReplica(rangeId(r))?.descriptor
    return d && d.generation !== planned ? { ...res, descriptor: descriptorToJson(d) } : res
  }
}

/** Serves one command stream: runs every request as it arrives, answers each in the next batch out. */
function serveCommands(call: ServerDuplexStream<CommandRequest[], CommandResponse[]>, ops: Record<CommandOp, (req: never) => Promise<WireResponse>>): void {
  let out: CommandResponse[] = []
  let flushScheduled = false
  const flush = () => {
    flushScheduled = false
    if (out.length === 0 || call.destroyed) return
    const batch = out
    out = []
    call.write(batch)
  }
  const answer = (id: number, body: WireResponse) => {
    out.push({ id, body })
    if (!flushScheduled) {
      flushScheduled = true
      setImmediate(flush)
    }
  }
  call.on('data', (requests: unknown) => {
    if (!Array.isArray(requests)) return
    for (const r of requests as Array<Partial<CommandRequest> | null>) {
      const id = r?.id
      if (typeof id !== 'number') continue
      const op = typeof r?.op === 'string' && Object.hasOwn(ops, r.op) ? ops[r.op as CommandOp] : undefined
      if (!op) {
        answer(id, { error: { code: KvErrorCode.INVALID_ARGUMENT, message: `unknown operation ${String(r?.op)}` } })
        continue
      }
      void runOperation(op, r?.body).then((body) => answer(id, body))
    }
  })
  call.on('error', () => {
    // the client went away; its requests' outcomes are unknown to it, as with any dropped call
  })
  call.on('end', () => call.end())
}

/** Runs an operation on a request body; every failure becomes an error body. */
async function runOperation(fn: (req: never) => Promise<WireResponse>, request: unknown): Promise<WireResponse> {
  try {
    if (request instanceof KvError) throw request // the body did not decode
    if (request === null || typeof request !== 'object' || Array.isArray(request)) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'request body must be an object')
    return await fn(request as never)
  } catch (err) {
    return { error: wireError(toKvError(err)) }
  }
}
/** A unary handler running `fn` on the request; failures become error bodies, never gRPC errors. */
function handle(fn: (req: never) => Promise<WireResponse>) {
  return (call: ServerUnaryCall<unknown, WireResponse>, callback: sendUnaryData<WireResponse>): void => {
    void runOperation(fn, call.request).then((res) => callback(null, res))
  }
}

function writeResult(r: CommandResult): WireResponse {
  return r.ok ? {} : { error: wireError(r.error) }
}

function wireError(e: KvError): WireError {
  const out: WireError = { code: e.code, message: e.message }
  if (e.leaderHint !== undefined) out.leaderHint = e.leaderHint
  const lock = (l: LockInfo): WireLock => ({ key: toWire(l.key), primary: toWire(l.primary), startTs: l.startTs.toString(), ttlMs: l.ttlMs })
  if (e.lock) out.lock = lock(e.lock)
  if (e.locks) out.locks = e.locks.map(lock)
  if (e.key) out.key = toWire(e.key)
  if (e.descriptor) out.descriptor = descriptorToJson(e.descriptor)
  return out
}

function rangeId(req: { rangeId?: unknown }): number {
  if (typeof req.rangeId !== 'number' || !Number.isSafeInteger(req.rangeId) || req.rangeId <= 0) {
    throw new KvError(KvErrorCode.INVALID_ARGUMENT, `rangeId must be a positive integer, got ${String(req.rangeId)}`)
  }
  return req.rangeId
}

/** A request's descriptor generation: absent, or a non-negative integer. */
function generation(v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `generation must be a non-negative integer, got ${String(v)}`)
  return v
}

function bytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw new KvError(KvErrorCode.INVALID_ARGUMENT, `${what} must be a base64 string`)
  return fromWire(v)
}

function key(v: unknown): Uint8Array {
  const k = bytes(v, 'key')
  if (k.length === 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'key must not be empty')
  return k
}

function keys(v: unknown): Uint8Array[] {
  if (!Array.isArray(v) || v.length === 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'keys must be a non-empty array')
  return v.map(key)
}

/** A timestamp sent as a decimal string. */
function ts(v: unknown): bigint {
  if (typeof v !== 'string' || !/^[0-9]{1,20}$/.test(v)) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `a timestamp must be a decimal string, got ${String(v)}`)
  return BigInt(v)
}

function readTs(v: unknown): bigint {
  if (v === undefined) return MAX_TIMESTAMP
  const t = ts(v)
  if (t > MAX_TIMESTAMP) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `a read timestamp must be below 2^64, got ${t}`)
  return t
}

function ttl(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `ttlMs must be a 32-bit count of ms, got ${String(v)}`)
  return v
}

function limit(v: unknown): number {
  if (v === undefined) return 1000
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `limit must be a positive integer, got ${String(v)}`)
  return v
}

// The KV service a node serves: each call is routed to the local replica of the range it
// names, which must lead the range. Bad requests get INVALID_ARGUMENT; nothing is thrown
// past this boundary.

import type { Server, ServerDuplexStream, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js'
import { KvError, KvErrorCode } from '../errors.js'
import { descriptorToJson, rangesOverlap, type RangeDescriptor } from '../range-descriptor.js'
import { toKvError, type CommandResult } from '../replica.js'
import type { Store } from '../store.js'
import {
  KV_SERVICE,
  fromWire,
  toWire,
  type BatchRequest,
  type CasRequest,
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
  type WireResponse,
} from './protocol.js'

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

/** The data operations, shared by the unary methods and the command stream. */
function dataOperations(store: Store): Record<CommandOp, (req: never) => Promise<WireResponse>> {
  return {
    get: async (req: KeyRequest): Promise<GetResponse> => {
      const value = await store.get(rangeId(req), key(req.key))
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
      const rows = await store.scan(rangeId(req), bytes(req.start ?? '', 'start'), bytes(req.end ?? '', 'end'), limit(req.limit))
      return { pairs: rows.map(([k, v]) => [toWire(k), toWire(v)] as [string, string]) }
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
    if (request === null || typeof request !== 'object') throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'request body must be an object')
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
  return e.leaderHint === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, leaderHint: e.leaderHint }
}

function rangeId(req: { rangeId?: unknown }): number {
  if (typeof req.rangeId !== 'number' || !Number.isSafeInteger(req.rangeId) || req.rangeId <= 0) {
    throw new KvError(KvErrorCode.INVALID_ARGUMENT, `rangeId must be a positive integer, got ${String(req.rangeId)}`)
  }
  return req.rangeId
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

function limit(v: unknown): number {
  if (v === undefined) return 1000
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `limit must be a positive integer, got ${String(v)}`)
  return v
}

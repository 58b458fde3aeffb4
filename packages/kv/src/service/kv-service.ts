// The KV service a node serves: each call is routed to the local replica of the range it
// names, which must lead the range. Bad requests get INVALID_ARGUMENT; nothing is thrown
// past this boundary.

import type { Server, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js'
import { KvError, KvErrorCode } from '../errors.js'
import { descriptorToJson, type RangeDescriptor } from '../range-descriptor.js'
import { toKvError, type CommandResult } from '../replica.js'
import type { Store } from '../store.js'
import {
  KV_SERVICE,
  fromWire,
  toWire,
  type BatchRequest,
  type CasRequest,
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
  /** Every range of the cluster (this node's replicas and the others). */
  ranges(): RangeDescriptor[]
}

/** Adds the KV service for `store` to a gRPC server. */
export function addKvService(server: Server, store: Store, cluster: ClusterView): void {
  const impl: UntypedServiceImplementation = {
    get: handle(async (req: KeyRequest) => {
      const value = await store.get(rangeId(req), key(req.key))
      return value === undefined ? {} : { value: toWire(value) }
    }),
    put: handle(async (req: PutRequest) => writeResult(await store.write(rangeId(req), { kind: 'put', key: key(req.key), value: bytes(req.value, 'value') }))),
    delete: handle(async (req: KeyRequest) => writeResult(await store.write(rangeId(req), { kind: 'delete', key: key(req.key) }))),
    cas: handle(async (req: CasRequest) => {
      const r = await store.write(rangeId(req), {
        kind: 'cas',
        key: key(req.key),
        expected: req.expected === undefined ? undefined : bytes(req.expected, 'expected'),
        value: req.value === undefined ? undefined : bytes(req.value, 'value'),
      })
      if (!r.ok) return { error: wireError(r.error) }
      return { succeeded: r.succeeded, current: r.current === undefined ? undefined : toWire(r.current) }
    }),
    scan: handle(async (req: SpanRequest) => {
      const rows = await store.scan(rangeId(req), bytes(req.start ?? '', 'start'), bytes(req.end ?? '', 'end'), limit(req.limit))
      return { pairs: rows.map(([k, v]) => [toWire(k), toWire(v)] as [string, string]) }
    }),
    deleteRange: handle(async (req: SpanRequest) => {
      const r = await store.write(rangeId(req), { kind: 'deleteRange', start: bytes(req.start ?? '', 'start'), end: bytes(req.end ?? '', 'end') })
      return r.ok ? { deleted: r.deleted } : { error: wireError(r.error) }
    }),
    batch: handle(async (req: BatchRequest) => {
      if (!Array.isArray(req.writes) || req.writes.length === 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'writes must be a non-empty array')
      const writes = req.writes.map((w) => ({ key: key(w?.key), value: w.value === undefined ? undefined : bytes(w.value, 'value') }))
      return writeResult(await store.write(rangeId(req), { kind: 'batch', writes }))
    }),
    ranges: handle(async () => ({
      ranges: cluster.ranges().map((d) => {
        const local = store.raft.hasGroup(d.rangeId)
        const leaderNodeId = local ? (store.raft.nodeOf(d.rangeId, store.raft.leaderOf(d.rangeId)) ?? 0) : 0
        return { descriptor: descriptorToJson(local ? store.replica(d.rangeId).descriptor : d), leaderNodeId }
      }),
      nodes: cluster.nodes(),
    })),
    checksum: handle(async (req: RangeRequest) => store.replica(rangeId(req)).checksum()),
  }
  server.addService(KV_SERVICE, impl)
}

function handle<Req, Res>(fn: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    let request: Req
    try {
      request = call.request
      if (request === null || typeof request !== 'object') throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'request body must be an object')
    } catch (err) {
      callback(null, { error: wireError(toKvError(err)) } as unknown as Res)
      return
    }
    fn(request).then(
      (res) => callback(null, res),
      (err) => callback(null, { error: wireError(toKvError(err)) } as unknown as Res),
    )
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

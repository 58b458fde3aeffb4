// Typed requests and responses (requests.ts) to and from the JSON bodies of the KV service
// (protocol.ts): bytes in base64, timestamps as decimal strings, descriptors with hex keys.
// The client encodes requests and decodes responses; the server decodes requests — checking
// that each field has its type, so that a body from the network becomes a well-typed request
// or INVALID_ARGUMENT — and encodes responses. What a well-typed request may still get wrong
// (an empty key, a timestamp out of range) the server's request handler checks, on both
// paths. Pure: no I/O.

import { KvError, KvErrorCode, type LockInfo } from './errors.js'
import { descriptorFromJson, descriptorToJson, type RangeDescriptor, type RangeDescriptorJson } from './range-descriptor.js'
import type { TxnMutation, TxnState } from './types.js'
import { fromWire, toWire, type WireError, type WireLock, type WireResponse } from './protocol.js'
import type { KvOp, KvRequest, KvRequestOf, KvResponseBase, KvResponses } from './requests.js'

/** A JSON body as it arrived: fields of unknown type. */
type Body = Record<string, unknown>

interface Codec<Op extends KvOp> {
  /** The request's body (its `op` travels beside it). */
  encodeRequest(req: KvRequestOf<Op>): Body
  /** A request from a body; throws KvError INVALID_ARGUMENT if a field has the wrong type. */
  decodeRequest(body: Body): KvRequestOf<Op>
  /** The fields of a response beyond its error and descriptor. */
  encodeResponse(res: KvResponses[Op]): Body
  /** A response's fields beyond its error and descriptor; trusts the node that sent them. */
  decodeResponse(wire: Body): KvResponses[Op]
}

const noFields = { encodeResponse: () => ({}), decodeResponse: () => ({}) }

const CODECS: { [Op in KvOp]: Codec<Op> } = {
  get: {
    encodeRequest: (r) => ({ ...range(r), key: toWire(r.key), ts: r.ts?.toString() }),
    decodeRequest: (b) => ({ op: 'get', ...rangeOf(b), key: bytes(b.key, 'key'), ts: optional(b.ts, timestamp) }),
    encodeResponse: (r) => ({ value: r.value && toWire(r.value) }),
    decodeResponse: (w) => ({ value: optionalBytes(w.value) }),
  },
  put: {
    encodeRequest: (r) => ({ ...range(r), key: toWire(r.key), value: toWire(r.value) }),
    decodeRequest: (b) => ({ op: 'put', ...rangeOf(b), key: bytes(b.key, 'key'), value: bytes(b.value, 'value') }),
    ...noFields,
  },
  delete: {
    encodeRequest: (r) => ({ ...range(r), key: toWire(r.key) }),
    decodeRequest: (b) => ({ op: 'delete', ...rangeOf(b), key: bytes(b.key, 'key') }),
    ...noFields,
  },
  cas: {
    encodeRequest: (r) => ({ ...range(r), key: toWire(r.key), expected: r.expected && toWire(r.expected), value: r.value && toWire(r.value) }),
    decodeRequest: (b) => ({ op: 'cas', ...rangeOf(b), key: bytes(b.key, 'key'), expected: optional(b.expected, (v) => bytes(v, 'expected')), value: optional(b.value, (v) => bytes(v, 'value')) }),
    encodeResponse: (r) => ({ succeeded: r.succeeded, current: r.current && toWire(r.current) }),
    decodeResponse: (w) => ({ succeeded: w.succeeded === true, current: optionalBytes(w.current) }),
  },
  scan: {
    encodeRequest: (r) => ({ ...range(r), start: toWire(r.start), end: toWire(r.end), limit: r.limit, ts: r.ts?.toString() }),
    decodeRequest: (b) => ({
      op: 'scan',
      ...rangeOf(b),
      start: bytes(b.start ?? '', 'start'),
      end: bytes(b.end ?? '', 'end'),
      limit: optional(b.limit, (v) => integer(v, 'limit', 'a positive integer')),
      ts: optional(b.ts, timestamp),
    }),
    encodeResponse: (r) => ({ pairs: r.pairs?.map(([k, v]) => [toWire(k), toWire(v)]), rangeEnd: r.rangeEnd && toWire(r.rangeEnd), resume: r.resume && toWire(r.resume) }),
    decodeResponse: (w) => ({
      pairs: (w.pairs as Array<[string, string]> | undefined)?.map(([k, v]) => [fromWire(k), fromWire(v)]),
      rangeEnd: optionalBytes(w.rangeEnd),
      resume: optionalBytes(w.resume),
    }),
  },
  deleteRange: {
    encodeRequest: (r) => ({ ...range(r), start: toWire(r.start), end: toWire(r.end) }),
    decodeRequest: (b) => ({ op: 'deleteRange', ...rangeOf(b), start: bytes(b.start ?? '', 'start'), end: bytes(b.end ?? '', 'end') }),
    encodeResponse: (r) => ({ deleted: r.deleted, resume: r.resume && toWire(r.resume) }),
    decodeResponse: (w) => ({ deleted: w.deleted as number | undefined, resume: optionalBytes(w.resume) }),
  },
  batch: {
    encodeRequest: (r) => ({ ...range(r), writes: r.writes.map((w) => ({ key: toWire(w.key), value: w.value && toWire(w.value) })) }),
    decodeRequest: (b) => ({
      op: 'batch',
      ...rangeOf(b),
      writes: array(b.writes, 'writes').map((w) => {
        const o = object(w, 'a write')
        return { key: bytes(o.key, 'key'), value: optional(o.value, (v) => bytes(v, 'value')) }
      }),
    }),
    ...noFields,
  },
  prewrite: {
    encodeRequest: (r) => ({
      ...range(r),
      startTs: r.startTs.toString(),
      primary: toWire(r.primary),
      ttlMs: r.ttlMs,
      mutations: r.mutations.map(encodeMutation),
    }),
    decodeRequest: (b) => ({
      op: 'prewrite',
      ...rangeOf(b),
      startTs: timestamp(b.startTs),
      primary: bytes(b.primary, 'primary'),
      ttlMs: ttl(b.ttlMs),
      mutations: array(b.mutations, 'mutations').map(decodeMutation),
    }),
    ...noFields,
  },
  onePhaseCommit: {
    encodeRequest: (r) => ({ ...range(r), startTs: r.startTs.toString(), mutations: r.mutations.map(encodeMutation), maxCommitTs: r.maxCommitTs?.toString() }),
    decodeRequest: (b) => ({
      op: 'onePhaseCommit',
      ...rangeOf(b),
      startTs: timestamp(b.startTs),
      mutations: array(b.mutations, 'mutations').map(decodeMutation),
      maxCommitTs: optional(b.maxCommitTs, timestamp),
    }),
    encodeResponse: (r) => ({ commitTs: r.commitTs?.toString() }),
    decodeResponse: (w) => ({ commitTs: typeof w.commitTs === 'string' ? BigInt(w.commitTs) : undefined }),
  },
  commit: {
    encodeRequest: (r) => ({ ...range(r), startTs: r.startTs.toString(), commitTs: r.commitTs.toString(), keys: r.keys.map(toWire) }),
    decodeRequest: (b) => ({ op: 'commit', ...rangeOf(b), startTs: timestamp(b.startTs), commitTs: timestamp(b.commitTs), keys: keyList(b.keys) }),
    ...noFields,
  },
  rollback: {
    encodeRequest: (r) => ({ ...range(r), startTs: r.startTs.toString(), keys: r.keys.map(toWire) }),
    decodeRequest: (b) => ({ op: 'rollback', ...rangeOf(b), startTs: timestamp(b.startTs), keys: keyList(b.keys) }),
    ...noFields,
  },
  checkTxn: {
    encodeRequest: (r) => ({ ...range(r), primary: toWire(r.primary), startTs: r.startTs.toString(), nowTs: r.nowTs.toString() }),
    decodeRequest: (b) => ({ op: 'checkTxn', ...rangeOf(b), primary: bytes(b.primary, 'primary'), startTs: timestamp(b.startTs), nowTs: timestamp(b.nowTs) }),
    encodeResponse: (r) => (r.txn === undefined ? {} : { state: r.txn.state, commitTs: r.txn.state === 'committed' ? r.txn.commitTs.toString() : undefined, ttlMs: r.txn.state === 'locked' ? r.txn.ttlMs : undefined }),
    decodeResponse: (w) => ({ txn: txnState(w) }),
  },
  heartbeat: {
    encodeRequest: (r) => ({ ...range(r), primary: toWire(r.primary), startTs: r.startTs.toString(), ttlMs: r.ttlMs }),
    decodeRequest: (b) => ({ op: 'heartbeat', ...rangeOf(b), primary: bytes(b.primary, 'primary'), startTs: timestamp(b.startTs), ttlMs: ttl(b.ttlMs) }),
    ...noFields,
  },
  checksum: {
    encodeRequest: (r) => ({ rangeId: r.rangeId }),
    decodeRequest: (b) => ({ op: 'checksum', rangeId: integer(b.rangeId, 'rangeId', 'a positive integer') }),
    encodeResponse: (r) => ({ appliedIndex: r.appliedIndex, checksum: r.checksum, keys: r.keys }),
    decodeResponse: (w) => ({ appliedIndex: w.appliedIndex as number | undefined, checksum: w.checksum as string | undefined, keys: w.keys as number | undefined }),
  },
  ranges: {
    encodeRequest: () => ({}),
    decodeRequest: () => ({ op: 'ranges' }),
    encodeResponse: (r) => ({ ranges: r.ranges?.map((x) => ({ descriptor: descriptorToJson(x.descriptor), leaderNodeId: x.leaderNodeId })), nodes: r.nodes }),
    decodeResponse: (w) => ({
      ranges: (w.ranges as Array<{ descriptor: RangeDescriptorJson; leaderNodeId: number }> | undefined)?.flatMap((x) => {
        const descriptor = parseDescriptor(x.descriptor)
        return descriptor ? [{ descriptor, leaderNodeId: x.leaderNodeId }] : []
      }),
      nodes: w.nodes as Array<{ nodeId: number; address: string }> | undefined,
    }),
  },
}

/** Whether `op` names a request kind. */
export function isKvOp(op: unknown): op is KvOp {
  return typeof op === 'string' && Object.hasOwn(CODECS, op)
}

/** A request's JSON body (its kind travels beside it, as the command's `op` or the method). */
export function encodeRequestBody(req: KvRequest): object {
  return (CODECS[req.op] as Codec<KvOp>).encodeRequest(req)
}

/**
 * The request of kind `op` in `body` as it arrived (decoded JSON, or the error it failed to
 * decode with). Throws KvError INVALID_ARGUMENT if the body is no object or a field has the
 * wrong type; range bounds, key lengths and timestamps' ranges are the handler's to check.
 */
export function decodeRequestFromBody(op: KvOp, body: unknown): KvRequest {
  if (body instanceof KvError) throw body
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('request body must be an object')
  return (CODECS[op] as Codec<KvOp>).decodeRequest(body as Body)
}

/** A response's JSON body. */
export function encodeResponseBody(op: KvOp, res: KvResponseBase): WireResponse {
  const out = (CODECS[op] as Codec<KvOp>).encodeResponse(res) as WireResponse
  if (res.error) out.error = encodeError(res.error)
  if (res.descriptor) out.descriptor = descriptorToJson(res.descriptor)
  return out
}

/** A response from its JSON body, as a node sent it; a malformed descriptor in it is dropped (it teaches nothing). */
export function decodeResponseBody<Op extends KvOp>(op: Op, wire: WireResponse): KvResponses[Op] {
  const res = (CODECS[op] as Codec<KvOp>).decodeResponse(wire as Body) as KvResponses[Op]
  if (wire.error) res.error = decodeError(wire.error)
  const d = wire.descriptor && parseDescriptor(wire.descriptor)
  if (d) res.descriptor = d
  return res
}

/** An error as it travels in a response body. */
export function encodeError(e: KvError): WireError {
  const out: WireError = { code: e.code, message: e.message }
  if (e.leaderHint !== undefined) out.leaderHint = e.leaderHint
  const lock = (l: LockInfo): WireLock => ({ key: toWire(l.key), primary: toWire(l.primary), startTs: l.startTs.toString(), ttlMs: l.ttlMs })
  if (e.lock) out.lock = lock(e.lock)
  if (e.locks) out.locks = e.locks.map(lock)
  if (e.key) out.key = toWire(e.key)
  if (e.descriptor) out.descriptor = descriptorToJson(e.descriptor)
  return out
}

/** The KvError a response body carries. */
export function decodeError(e: WireError): KvError {
  const lock = (l: WireLock): LockInfo => ({ key: fromWire(l.key), primary: fromWire(l.primary), startTs: BigInt(l.startTs), ttlMs: l.ttlMs })
  return new KvError(e.code, e.message, e.leaderHint, {
    lock: e.lock && lock(e.lock),
    locks: e.locks?.map(lock),
    key: e.key === undefined ? undefined : fromWire(e.key),
    descriptor: e.descriptor && parseDescriptor(e.descriptor),
  })
}

/** A descriptor from a node's answer; undefined if it is malformed (then it teaches nothing). */
function parseDescriptor(j: RangeDescriptorJson): RangeDescriptor | undefined {
  try {
    const d = descriptorFromJson(j)
    return Number.isSafeInteger(d.rangeId) && Number.isSafeInteger(d.generation) && Array.isArray(d.replicas) ? d : undefined
  } catch {
    return undefined
  }
}

function encodeMutation(m: TxnMutation): Body {
  return { key: toWire(m.key), kind: m.kind, value: m.value && toWire(m.value), assertAbsent: m.assertAbsent || undefined }
}

function decodeMutation(m: unknown): TxnMutation {
  const o = object(m, 'a mutation')
  if (o.kind !== 'put' && o.kind !== 'delete' && o.kind !== 'lock') throw invalid(`a mutation's kind must be put, delete or lock, got ${String(o.kind)}`)
  return { key: bytes(o.key, 'key'), kind: o.kind, value: optional(o.value, (v) => bytes(v, 'value')), assertAbsent: o.assertAbsent === true }
}

function txnState(w: Body): TxnState | undefined {
  if (w.state === 'committed') return { state: 'committed', commitTs: BigInt((w.commitTs as string | undefined) ?? '0') }
  if (w.state === 'locked') return { state: 'locked', ttlMs: (w.ttlMs as number | undefined) ?? 0 }
  if (w.state === 'rolled-back') return { state: 'rolled-back' }
  return undefined
}

function range(r: { rangeId: number; generation?: number }): Body {
  return { rangeId: r.rangeId, generation: r.generation }
}

function rangeOf(b: Body): { rangeId: number; generation?: number } {
  return { rangeId: integer(b.rangeId, 'rangeId', 'a positive integer'), generation: optional(b.generation, (v) => integer(v, 'generation', 'a non-negative integer')) }
}

function optional<T>(v: unknown, decode: (v: unknown) => T): T | undefined {
  return v === undefined ? undefined : decode(v)
}

function optionalBytes(v: unknown): Uint8Array | undefined {
  return typeof v === 'string' ? fromWire(v) : undefined
}

function bytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw invalid(`${what} must be a base64 string`)
  return fromWire(v)
}

function keyList(v: unknown): Uint8Array[] {
  return array(v, 'keys').map((k) => bytes(k, 'key'))
}

function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(`${what} must be a non-empty array`)
  return v
}

function object(v: unknown, what: string): Body {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${what} must be an object`)
  return v as Body
}

function integer(v: unknown, what: string, expected: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(`${what} must be ${expected}, got ${String(v)}`)
  return v
}

function ttl(v: unknown): number {
  return integer(v, 'ttlMs', 'a 32-bit count of ms')
}

/** A timestamp sent as a decimal string. */
function timestamp(v: unknown): bigint {
  if (typeof v !== 'string' || !/^[0-9]{1,20}$/.test(v)) throw invalid(`a timestamp must be a decimal string, got ${String(v)}`)
  return BigInt(v)
}

function invalid(message: string): KvError {
  return new KvError(KvErrorCode.INVALID_ARGUMENT, message)
}

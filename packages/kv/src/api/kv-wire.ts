// Typed requests and answers (requests.ts) to and from the KV service's binary messages
// (proto/kv.proto, protobufjs reflection over its JSON descriptor kv-schema.ts). The client
// encodes requests and decodes answers; the server decodes requests and encodes answers.
// A message from the network is checked for structure before it is decoded (frame-check.ts),
// and a decoded request for fields it needs (a missing one is INVALID_ARGUMENT, never a
// zero); its invariants are request-check.ts's. protobufjs loads on first use, so a process
// that never speaks to a node over gRPC (most CLI commands) does not pay for it. Pure: no I/O.

import { createRequire } from 'node:module'
import type { Type } from 'protobufjs'
import { KvError, KvErrorCode, type LockInfo } from './errors.js'
import { checkFrame } from './frame-check.js'
import { KV_SCHEMA } from './kv-schema.js'
import type { RangeDescriptor, ReplicaRole } from './range-descriptor.js'
import type { KvOp, KvRequest, KvResponse, KvResponseBase, KvResponses, RangeRoute } from './requests.js'
import type { KeyValue, TxnMutation, TxnState } from './types.js'

/** A request as the command stream carries it: `id` pairs it with its answer. */
export interface NumberedRequest {
  id: number
  request: KvRequest
}

/** A request decoded from the wire: the typed request, or why it was refused (INVALID_ARGUMENT). */
export type DecodedRequest = { id: number; request: KvRequest; error?: undefined } | { id: number; request?: undefined; error: KvError }

/** An answer as the command stream carries it. */
export interface NumberedResponse {
  id: number
  response: KvResponse
}

/** An answer as it arrived, to be read as the answer of its request's kind ({@link responseFromWire}). */
export interface WireResponse {
  readonly id: number
  /** The decoded message; opaque outside this module. */
  readonly message: unknown
}

/** What protobufjs gives back for a decoded message: fields by name, read with care. */
type Fields = Record<string, unknown>

interface Schema {
  requests: Type
  request: Type
  responses: Type
  response: Type
}

let schema: Schema | undefined

/** The message types, loaded on first use (see the file comment). */
function types(): Schema {
  if (schema) return schema
  const protobuf = createRequire(import.meta.url)('protobufjs/light') as typeof import('protobufjs')
  const root = protobuf.Root.fromJSON(KV_SCHEMA).resolveAll()
  const t = (name: string) => root.lookupType(`mrdb.kv.${name}`)
  schema = { requests: t('Requests'), request: t('Request'), responses: t('Responses'), response: t('Response') }
  return schema
}

// ---- requests ----

/** One command-stream message carrying `requests`. */
export function encodeRequests(requests: readonly NumberedRequest[]): Uint8Array {
  return types().requests.encode({ requests: requests.map((r) => requestMessage(r.id, r.request)) }).finish()
}

/** One request, as a unary call carries it. */
export function encodeRequest(request: KvRequest): Uint8Array {
  return types().request.encode(requestMessage(0, request)).finish()
}

/**
 * The requests of a command-stream message from the network, each typed or refused with
 * INVALID_ARGUMENT and its id; or, for bytes that are no well-formed message (nothing in
 * them can be answered), the INVALID_ARGUMENT error itself. Never throws.
 */
export function decodeRequests(bytes: Uint8Array): DecodedRequest[] | KvError {
  const { requests } = types()
  let decoded: Fields
  try {
    checkFrame(bytes, requests)
    decoded = requests.decode(bytes) as unknown as Fields
  } catch (err) {
    return asInvalid(err)
  }
  return (decoded.requests as Fields[]).map((m) => {
    const id = m.id as number
    try {
      return { id, request: requestFromMessage(m) }
    } catch (err) {
      return { id, error: asInvalid(err) }
    }
  })
}

/** The request a unary call carries, or why it is refused (INVALID_ARGUMENT). Never throws. */
export function decodeRequest(bytes: Uint8Array): KvRequest | KvError {
  const { request } = types()
  try {
    checkFrame(bytes, request)
    return requestFromMessage(request.decode(bytes) as unknown as Fields)
  } catch (err) {
    return asInvalid(err)
  }
}

function requestMessage(id: number, r: KvRequest): Fields {
  const m: Fields = { id }
  if (r.op === 'ranges') {
    m.ranges = {}
    return m
  }
  m.rangeId = r.rangeId
  if (r.op === 'checksum') {
    m.checksum = {}
    return m
  }
  if (r.generation !== undefined) m.generation = r.generation
  switch (r.op) {
    case 'get':
      m.get = { key: r.key, ts: u64(r.ts) }
      break
    case 'put':
      m.put = { key: r.key, value: r.value }
      break
    case 'delete':
      m.delete = { key: r.key }
      break
    case 'cas':
      m.cas = { key: r.key, expected: r.expected, value: r.value }
      break
    case 'scan':
      m.scan = { start: r.start, end: r.end, limit: r.limit, ts: u64(r.ts) }
      break
    case 'deleteRange':
      m.deleteRange = { start: r.start, end: r.end }
      break
    case 'batch':
      m.batch = { writes: r.writes.map((w) => ({ key: w.key, value: w.value })) }
      break
    case 'prewrite':
      m.prewrite = { startTs: u64(r.startTs), primary: r.primary, ttlMs: r.ttlMs, mutations: r.mutations.map(mutationMessage) }
      break
    case 'onePhaseCommit':
      m.onePhaseCommit = { startTs: u64(r.startTs), mutations: r.mutations.map(mutationMessage), maxCommitTs: u64(r.maxCommitTs) }
      break
    case 'commit':
      m.commit = { startTs: u64(r.startTs), commitTs: u64(r.commitTs), keys: r.keys }
      break
    case 'rollback':
      m.rollback = { startTs: u64(r.startTs), keys: r.keys }
      break
    case 'checkTxn':
      m.checkTxn = { primary: r.primary, startTs: u64(r.startTs), nowTs: u64(r.nowTs) }
      break
    case 'heartbeat':
      m.heartbeat = { primary: r.primary, startTs: u64(r.startTs), ttlMs: r.ttlMs }
      break
  }
  return m
}

/** The typed request in a decoded message; throws INVALID_ARGUMENT if it names no kind or lacks a field its kind needs. */
function requestFromMessage(m: Fields): KvRequest {
  const op = m.op as string | undefined
  if (op === 'ranges') return { op: 'ranges' }
  const rangeId = has(m, 'rangeId') ? toNumber(m.rangeId) : undefined
  if (op === 'checksum') return { op: 'checksum', rangeId: rangeId as number }
  const at = { rangeId: rangeId as number, generation: has(m, 'generation') ? toNumber(m.generation) : undefined }
  const b = m[op ?? ''] as Fields | undefined
  if (op === undefined || b === undefined) throw invalid('the request names no operation')
  switch (op) {
    case 'get':
      return { op, ...at, key: bytesOf(b.key), ts: optionalTs(b, 'ts') }
    case 'put':
      return { op, ...at, key: bytesOf(b.key), value: required(b, 'value') as Uint8Array }
    case 'delete':
      return { op, ...at, key: bytesOf(b.key) }
    case 'cas':
      return { op, ...at, key: bytesOf(b.key), expected: optionalBytes(b, 'expected'), value: optionalBytes(b, 'value') }
    case 'scan':
      return { op, ...at, start: bytesOf(b.start), end: bytesOf(b.end), limit: has(b, 'limit') ? (b.limit as number) : undefined, ts: optionalTs(b, 'ts') }
    case 'deleteRange':
      return { op, ...at, start: bytesOf(b.start), end: bytesOf(b.end) }
    case 'batch':
      return { op, ...at, writes: (b.writes as Fields[]).map((w) => ({ key: bytesOf(w.key), value: optionalBytes(w, 'value') })) }
    case 'prewrite':
      return { op, ...at, startTs: requiredTs(b, 'startTs'), primary: bytesOf(b.primary), ttlMs: required(b, 'ttlMs') as number, mutations: (b.mutations as Fields[]).map(mutationFromMessage) }
    case 'onePhaseCommit':
      return { op, ...at, startTs: requiredTs(b, 'startTs'), mutations: (b.mutations as Fields[]).map(mutationFromMessage), maxCommitTs: optionalTs(b, 'maxCommitTs') }
    case 'commit':
      return { op, ...at, startTs: requiredTs(b, 'startTs'), commitTs: requiredTs(b, 'commitTs'), keys: b.keys as Uint8Array[] }
    case 'rollback':
      return { op, ...at, startTs: requiredTs(b, 'startTs'), keys: b.keys as Uint8Array[] }
    case 'checkTxn':
      return { op, ...at, primary: bytesOf(b.primary), startTs: requiredTs(b, 'startTs'), nowTs: requiredTs(b, 'nowTs') }
    case 'heartbeat':
      return { op, ...at, primary: bytesOf(b.primary), startTs: requiredTs(b, 'startTs'), ttlMs: required(b, 'ttlMs') as number }
    default:
      throw invalid(`unknown operation ${op}`)
  }
}

/** Mutation kinds by their number in the schema (0: unspecified). */
const MUTATION_KINDS = [undefined, 'put', 'delete', 'lock'] as const

function mutationMessage(m: TxnMutation): Fields {
  return { key: m.key, kind: MUTATION_KINDS.indexOf(m.kind), value: m.value, assertAbsent: m.assertAbsent }
}

function mutationFromMessage(m: Fields): TxnMutation {
  const kind = MUTATION_KINDS[m.kind as number]
  if (kind === undefined) throw invalid(`a mutation's kind must be put, delete or lock, got ${String(m.kind)}`)
  return { key: bytesOf(m.key), kind, value: optionalBytes(m, 'value'), assertAbsent: m.assertAbsent === true }
}

// ---- answers ----

/** One command-stream message carrying `responses`. */
export function encodeResponses(responses: readonly NumberedResponse[]): Uint8Array {
  return types().responses.encode({ responses: responses.map((r) => responseMessage(r.id, r.response)) }).finish()
}

/** One answer, as a unary call carries it. */
export function encodeResponse(response: KvResponse): Uint8Array {
  return types().response.encode(responseMessage(0, response)).finish()
}

/** The answers in a command-stream message from a node. Throws if it does not decode (the stream is then broken). */
export function decodeResponses(bytes: Uint8Array): WireResponse[] {
  const decoded = types().responses.decode(bytes) as unknown as Fields
  return (decoded.responses as Fields[]).map((message) => ({ id: message.id as number, message }))
}

/** The answer a unary call of kind `op` carried. Throws if it does not decode. */
export function decodeResponse<Op extends KvOp>(op: Op, bytes: Uint8Array): KvResponses[Op] {
  return responseFromWire(op, { id: 0, message: types().response.decode(bytes) })
}

/** An answer as that of a request of kind `op`: its error and descriptor, and the fields of the kind's result. */
export function responseFromWire<Op extends KvOp>(op: Op, wire: WireResponse): KvResponses[Op] {
  const m = wire.message as Fields
  const res: Record<string, unknown> = {}
  const set = (name: string, value: unknown) => {
    if (value !== undefined) res[name] = value
  }
  if (m.error) res.error = errorFromMessage(m.error as Fields)
  if (m.descriptor) res.descriptor = descriptorFromMessage(m.descriptor as Fields)
  const failed = res.error !== undefined
  switch (op) {
    case 'get':
      set('value', optionalBytes(m, 'value'))
      break
    case 'cas':
      if (has(m, 'succeeded')) res.succeeded = m.succeeded === true
      set('current', optionalBytes(m, 'current'))
      break
    case 'scan':
      if (!failed) res.pairs = (m.pairs as Fields[]).map((p): KeyValue => [bytesOf(p.key), bytesOf(p.value)])
      set('rangeEnd', optionalBytes(m, 'rangeEnd'))
      set('resume', optionalBytes(m, 'resume'))
      break
    case 'deleteRange':
      if (has(m, 'deleted')) res.deleted = toNumber(m.deleted)
      set('resume', optionalBytes(m, 'resume'))
      break
    case 'onePhaseCommit':
      set('commitTs', optionalTs(m, 'commitTs'))
      break
    case 'checkTxn':
      if (m.txn) set('txn', txnFromMessage(m.txn as Fields))
      break
    case 'checksum':
      if (has(m, 'appliedIndex')) res.appliedIndex = toNumber(m.appliedIndex)
      if (has(m, 'checksum')) res.checksum = m.checksum as string
      if (has(m, 'keys')) res.keys = toNumber(m.keys)
      break
    case 'ranges':
      if (!failed) {
        res.ranges = (m.ranges as Fields[]).map((r): RangeRoute => ({ descriptor: descriptorFromMessage(r.descriptor as Fields), leaderNodeId: toNumber(r.leaderNodeId) }))
        res.nodes = (m.nodes as Fields[]).map((n) => ({ nodeId: toNumber(n.nodeId), address: n.address as string }))
      }
      break
  }
  return res as KvResponses[Op]
}

/** Every field any answer may have. */
type AnyResponse = KvResponseBase & {
  value?: Uint8Array
  succeeded?: boolean
  current?: Uint8Array
  pairs?: KeyValue[]
  rangeEnd?: Uint8Array
  resume?: Uint8Array
  deleted?: number
  commitTs?: bigint
  txn?: TxnState
  appliedIndex?: number
  checksum?: string
  keys?: number
  ranges?: RangeRoute[]
  nodes?: Array<{ nodeId: number; address: string }>
}

function responseMessage(id: number, response: KvResponse): Fields {
  const r = response as AnyResponse
  return {
    id,
    error: r.error && errorMessage(r.error),
    descriptor: r.descriptor && descriptorMessage(r.descriptor),
    value: r.value,
    succeeded: r.succeeded,
    current: r.current,
    pairs: r.pairs?.map(([key, value]) => ({ key, value })),
    rangeEnd: r.rangeEnd,
    resume: r.resume,
    deleted: r.deleted,
    commitTs: u64(r.commitTs),
    txn: r.txn && txnMessage(r.txn),
    appliedIndex: r.appliedIndex,
    checksum: r.checksum,
    keys: r.keys,
    ranges: r.ranges?.map((x) => ({ descriptor: descriptorMessage(x.descriptor), leaderNodeId: x.leaderNodeId })),
    nodes: r.nodes,
  }
}

/** Transaction states by their number in the schema (0: unspecified). */
const TXN_STATES = [undefined, 'committed', 'rolled-back', 'locked'] as const

function txnMessage(t: TxnState): Fields {
  const state = TXN_STATES.indexOf(t.state)
  if (t.state === 'committed') return { state, commitTs: u64(t.commitTs) }
  if (t.state === 'locked') return { state, ttlMs: t.ttlMs }
  return { state }
}

function txnFromMessage(m: Fields): TxnState | undefined {
  switch (TXN_STATES[m.state as number]) {
    case 'committed':
      return { state: 'committed', commitTs: toBigInt(m.commitTs) }
    case 'locked':
      return { state: 'locked', ttlMs: m.ttlMs as number }
    case 'rolled-back':
      return { state: 'rolled-back' }
    default:
      return undefined
  }
}

function errorMessage(e: KvError): Fields {
  return { code: e.code, message: e.message, leaderHint: e.leaderHint, lock: e.lock && lockMessage(e.lock), locks: e.locks?.map(lockMessage), key: e.key, descriptor: e.descriptor && descriptorMessage(e.descriptor) }
}

function errorFromMessage(m: Fields): KvError {
  const locks = (m.locks as Fields[]).map(lockFromMessage)
  return new KvError(m.code as KvErrorCode, m.message as string, has(m, 'leaderHint') ? toNumber(m.leaderHint) : undefined, {
    lock: m.lock ? lockFromMessage(m.lock as Fields) : undefined,
    locks: locks.length > 0 ? locks : undefined,
    key: optionalBytes(m, 'key'),
    descriptor: m.descriptor ? descriptorFromMessage(m.descriptor as Fields) : undefined,
  })
}

function lockMessage(l: LockInfo): Fields {
  return { key: l.key, primary: l.primary, startTs: u64(l.startTs), ttlMs: l.ttlMs }
}

function lockFromMessage(m: Fields): LockInfo {
  return { key: bytesOf(m.key), primary: bytesOf(m.primary), startTs: toBigInt(m.startTs), ttlMs: m.ttlMs as number }
}

/** Replica roles by their number in the schema. */
const ROLES: readonly ReplicaRole[] = ['voter', 'learner']

function descriptorMessage(d: RangeDescriptor): Fields {
  return {
    rangeId: d.rangeId,
    startKey: d.startKey,
    endKey: d.endKey,
    generation: d.generation,
    replicas: d.replicas.map((r) => ({ replicaId: r.replicaId, nodeId: r.nodeId, role: ROLES.indexOf(r.role) })),
    nextReplicaId: d.nextReplicaId,
  }
}

function descriptorFromMessage(m: Fields): RangeDescriptor {
  const d: RangeDescriptor = {
    rangeId: toNumber(m.rangeId),
    startKey: bytesOf(m.startKey),
    endKey: bytesOf(m.endKey),
    generation: toNumber(m.generation),
    replicas: (m.replicas as Fields[]).map((r) => ({ replicaId: toNumber(r.replicaId), nodeId: toNumber(r.nodeId), role: ROLES[r.role as number] ?? 'voter' })),
  }
  if (has(m, 'nextReplicaId')) d.nextReplicaId = toNumber(m.nextReplicaId)
  return d
}

// ---- fields ----

/** A 64-bit unsigned value as protobufjs's writer takes it (its two 32-bit halves). */
interface LongBits {
  low: number
  high: number
}

/** A timestamp as the writer takes it; absent stays absent. */
function u64(t: bigint | undefined): LongBits | undefined {
  return t === undefined ? undefined : { low: Number(t & 0xffff_ffffn), high: Number((t >> 32n) & 0xffff_ffffn) }
}

/** A decoded 64-bit field as a number; above 2^53 it is no safe integer, which request-check.ts refuses. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return v
  const l = v as LongBits
  return (l.high >>> 0) * 2 ** 32 + (l.low >>> 0)
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v)
  const l = v as LongBits
  return l.high === 0 ? BigInt(l.low >>> 0) : (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0)
}

/** Whether a decoded message carries field `name` (an absent field reads as its default). */
function has(m: Fields, name: string): boolean {
  return Object.hasOwn(m, name) && m[name] !== null && m[name] !== undefined
}

function required(m: Fields, name: string): unknown {
  if (!has(m, name)) throw invalid(`${name} is missing`)
  return m[name]
}

function requiredTs(m: Fields, name: string): bigint {
  return toBigInt(required(m, name))
}

function optionalTs(m: Fields, name: string): bigint | undefined {
  return has(m, name) ? toBigInt(m[name]) : undefined
}

const EMPTY = new Uint8Array(0)

/** A bytes field (absent, protobufjs reads it as an empty array, not bytes). */
function bytesOf(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY
}

function optionalBytes(m: Fields, name: string): Uint8Array | undefined {
  return has(m, name) ? (m[name] as Uint8Array) : undefined
}

function asInvalid(err: unknown): KvError {
  if (err instanceof KvError) return err
  return invalid(`malformed message: ${err instanceof Error ? err.message : String(err)}`)
}

function invalid(message: string): KvError {
  return new KvError(KvErrorCode.INVALID_ARGUMENT, message)
}

// The KV service's wire format: one gRPC method per operation, bodies as JSON with byte
// strings in base64. Errors travel in the body with their KV code, so clients can branch
// on NOT_LEADER and friends without parsing gRPC status text.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js'
import { KvError, type KvErrorCode } from './errors.js'
import type { RangeDescriptorJson } from './range-descriptor.js'
import { decodeJsonBody } from './json-body.js'
import type { KvOp } from './requests.js'

/** An error as it travels in a response body. */
export interface WireError {
  code: KvErrorCode
  message: string
  leaderHint?: number
  /** KEY_LOCKED: the lock in the way (timestamps as decimal strings). */
  lock?: WireLock
  /** KEY_LOCKED from a scan: every lock it met. */
  locks?: WireLock[]
  /** KEY_EXISTS: the key found present. */
  key?: string
  /** KEY_NOT_IN_RANGE: the range as the refusing replica held it then. */
  descriptor?: RangeDescriptorJson
}

/** A transaction's lock as it travels: keys in base64, the start timestamp as a decimal string. */
export interface WireLock {
  key: string
  primary: string
  startTs: string
  ttlMs: number
}

/** Every response may carry an error instead of its result. */
export interface WireResponse {
  error?: WireError
  /**
   * Present when the request named another {@link WireRangeRequest.generation} than the range's
   * current one (the sender's cache is stale): the range as the replica holds it now.
   */
  descriptor?: RangeDescriptorJson
}

/** What every request on a range carries: the range, and the generation the sender routed by. */
export interface WireRangeRequest {
  rangeId: number
  /**
   * The generation of the range's descriptor the sender planned the request against (absent:
   * unknown). Not a precondition: a replica serves only what lies in its current bounds,
   * whatever the generation, and answers a stale one with its current descriptor.
   */
  generation?: number
}

export interface WireKeyRequest extends WireRangeRequest {
  key: string
  /** Read as of this timestamp (a decimal bigint); absent: the latest. */
  ts?: string
}
export interface WirePutRequest extends WireKeyRequest {
  value: string
}
export interface WireCasRequest extends WireKeyRequest {
  /** Absent: the key must not exist. */
  expected?: string
  /** Absent: delete on success. */
  value?: string
}
/** A span [start, end) to read or delete; `start` must lie in the range (else KEY_NOT_IN_RANGE), `end` may lie beyond it. */
export interface WireSpanRequest extends WireRangeRequest {
  start: string
  /** Empty: no bound (the range's end bounds the answer). */
  end: string
  limit?: number
  /** Read as of this timestamp (a decimal bigint); absent: the latest. */
  ts?: string
}
/** Writes applied atomically in one range: a value puts, no value deletes. */
export interface WireBatchRequest extends WireRangeRequest {
  writes: Array<{ key: string; value?: string }>
}
/** Percolator prewrite of some keys of one range; timestamps are decimal bigints. */
export interface WirePrewriteRequest extends WireRangeRequest {
  startTs: string
  primary: string
  ttlMs: number
  mutations: Array<{ key: string; kind: 'put' | 'delete' | 'lock'; value?: string; assertAbsent?: boolean }>
}
/** A one-phase commit of some keys of one range; the answer carries the commit timestamp. */
export interface WireOnePhaseCommitRequest extends WireRangeRequest {
  startTs: string
  mutations: WirePrewriteRequest['mutations']
  maxCommitTs?: string
}
export interface WireOnePhaseCommitResponse extends WireResponse {
  commitTs?: string
}
export interface WireCommitRequest extends WireRangeRequest {
  startTs: string
  commitTs: string
  keys: string[]
}
export interface WireRollbackRequest extends WireRangeRequest {
  startTs: string
  keys: string[]
}
export interface WireCheckTxnRequest extends WireRangeRequest {
  primary: string
  startTs: string
  /** The caller's current timestamp: locks whose TTL ran out by then are rolled back. */
  nowTs: string
}
export interface WireHeartbeatRequest extends WireRangeRequest {
  primary: string
  startTs: string
  ttlMs: number
}

export interface WireGetResponse extends WireResponse {
  value?: string
}
export interface WireCasResponse extends WireResponse {
  succeeded?: boolean
  current?: string
}
export interface WireScanResponse extends WireResponse {
  pairs?: Array<[string, string]>
  /**
   * The end key of the range as the scan read it (empty: no bound), always past the request's
   * start; a scan continues into the next range from here. Every pair is below it.
   */
  rangeEnd?: string
  /** Present when the scan stopped at its byte budget inside the range: it continues here. */
  resume?: string
}
export interface WireDeleteRangeResponse extends WireResponse {
  deleted?: number
  /** Present when the command stopped early (range end or key limit): the rest of the span starts here. */
  resume?: string
}
export interface WireCheckTxnResponse extends WireResponse {
  state?: 'committed' | 'rolled-back' | 'locked'
  commitTs?: string
  ttlMs?: number
}
export interface WireChecksumResponse extends WireResponse {
  appliedIndex?: number
  checksum?: string
  keys?: number
}
/** What a node knows of the cluster: ranges with their leaders, and node addresses. */
export interface WireRangesResponse extends WireResponse {
  ranges?: Array<{ descriptor: RangeDescriptorJson; leaderNodeId: number }>
  nodes?: Array<{ nodeId: number; address: string }>
}

/**
 * The server side of a JSON request: the body, decoded but unchecked (see
 * {@link decodeJsonBody}), or — for bytes that are no acceptable body — the INVALID_ARGUMENT
 * error to answer with. Never throws: grpc-js answers a throwing deserializer with INTERNAL,
 * and ends a whole stream over one bad message.
 */
export function decodeRequestBody(bytes: Buffer): object | KvError {
  try {
    return decodeJsonBody(bytes)
  } catch (err) {
    if (err instanceof KvError) return err
    throw err
  }
}

/**
 * A unary gRPC method of `service` whose bodies are JSON. `Req` types what clients send; a
 * server handler gets whatever arrived, through {@link decodeRequestBody}, and must check it.
 */
export function jsonMethod<Req, Res>(service: string, name: string): MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Req) => Buffer.from(JSON.stringify(v)),
    requestDeserialize: (b: Buffer) => decodeRequestBody(b) as Req,
    responseSerialize: (v: Res) => Buffer.from(JSON.stringify(v)),
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as Res,
  }
}

const method = <Req, Res>(name: string) => jsonMethod<Req, Res>('mrdb.kv.Kv', name)

/**
 * One request on a command stream; `id` matches it with its response. Every request kind
 * travels on the stream, its body that of the unary method of the same name (wire-codec.ts).
 */
export interface CommandRequest {
  id: number
  op: KvOp
  body: unknown
}

/** One response on a command stream. */
export interface CommandResponse {
  id: number
  body: WireResponse
}

/**
 * The command stream (TiKV calls its twin BatchCommands): one long-lived bidirectional
 * stream per client and node; each message carries many requests, or many responses, so the
 * per-call cost of gRPC is paid once per batch instead of once per request. Responses go out
 * as soon as they are ready, in any order. A message that is not an array of requests is
 * dropped: it names no request to answer.
 */
const commands: MethodDefinition<CommandRequest[], CommandResponse[]> = {
  path: '/mrdb.kv.Kv/Commands',
  requestStream: true,
  responseStream: true,
  requestSerialize: (v) => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b) => decodeRequestBody(b) as CommandRequest[],
  responseSerialize: (v) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b) => JSON.parse(b.toString('utf8')) as CommandResponse[],
}

/** The KV service's methods. */
export const KV_SERVICE = {
  get: method<WireKeyRequest, WireGetResponse>('Get'),
  put: method<WirePutRequest, WireResponse>('Put'),
  delete: method<WireKeyRequest, WireResponse>('Delete'),
  cas: method<WireCasRequest, WireCasResponse>('CompareAndSwap'),
  scan: method<WireSpanRequest, WireScanResponse>('Scan'),
  deleteRange: method<WireSpanRequest, WireDeleteRangeResponse>('DeleteRange'),
  batch: method<WireBatchRequest, WireResponse>('Batch'),
  prewrite: method<WirePrewriteRequest, WireResponse>('Prewrite'),
  onePhaseCommit: method<WireOnePhaseCommitRequest, WireOnePhaseCommitResponse>('OnePhaseCommit'),
  commit: method<WireCommitRequest, WireResponse>('Commit'),
  rollback: method<WireRollbackRequest, WireResponse>('Rollback'),
  checkTxn: method<WireCheckTxnRequest, WireCheckTxnResponse>('CheckTxnStatus'),
  heartbeat: method<WireHeartbeatRequest, WireResponse>('TxnHeartbeat'),
  ranges: method<Record<string, never>, WireRangesResponse>('Ranges'),
  checksum: method<WireRangeRequest, WireChecksumResponse>('RangeChecksum'),
  commands,
} satisfies ServiceDefinition

/** Bytes to the wire. */
export const toWire = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
/** Bytes from the wire. */
export const fromWire = (s: string): Uint8Array => Buffer.from(s, 'base64')

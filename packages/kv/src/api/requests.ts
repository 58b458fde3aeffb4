// The KV API as typed values: what a client asks of a node and what the node answers, with
// bytes as Uint8Array, timestamps as bigint and errors as KvError. A sender carries them —
// in-process to the node's own store, or encoded for gRPC (wire-codec.ts) to another node.

import type { KvError } from './errors.js'
import type { RangeDescriptor } from './range-descriptor.js'
import type { KeyValue, TxnMutation, TxnState } from './types.js'

/** What every request on a range carries: the range, and the generation the sender routed by. */
export interface RangeAddress {
  rangeId: number
  /**
   * The generation of the range's descriptor the sender planned the request against (absent:
   * unknown). Not a precondition: a replica serves only what lies in its current bounds,
   * whatever the generation, and answers a stale one with its current descriptor.
   */
  generation?: number
}

/** Reads the value of `key`, as of `ts` (absent: the latest). */
export interface GetRequest extends RangeAddress {
  op: 'get'
  key: Uint8Array
  ts?: bigint
}
/** Stores `value` at `key`. */
export interface PutRequest extends RangeAddress {
  op: 'put'
  key: Uint8Array
  value: Uint8Array
}
/** Deletes `key`. */
export interface DeleteRequest extends RangeAddress {
  op: 'delete'
  key: Uint8Array
}
/** Sets `key` to `value` (absent: deletes it) only if it holds `expected` (absent: the key must not exist). */
export interface CasRequest extends RangeAddress {
  op: 'cas'
  key: Uint8Array
  expected?: Uint8Array
  value?: Uint8Array
}
/**
 * Reads [start, end) ∩ the range (empty end: no bound), at most `limit` pairs (absent: 1000),
 * as of `ts` (absent: the latest); `start` must lie in the range, else KEY_NOT_IN_RANGE.
 */
export interface ScanRequest extends RangeAddress {
  op: 'scan'
  start: Uint8Array
  end: Uint8Array
  limit?: number
  ts?: bigint
}
/** Deletes [start, end) ∩ the range (empty end: no bound), in commands of bounded size. */
export interface DeleteRangeRequest extends RangeAddress {
  op: 'deleteRange'
  start: Uint8Array
  end: Uint8Array
}
/** Writes applied atomically in one range: a value puts, no value deletes. */
export interface BatchRequest extends RangeAddress {
  op: 'batch'
  writes: Array<{ key: Uint8Array; value?: Uint8Array }>
}
/** Percolator prewrite of some keys of one range for the transaction at `startTs`. */
export interface PrewriteRequest extends RangeAddress {
  op: 'prewrite'
  startTs: bigint
  primary: Uint8Array
  ttlMs: number
  mutations: TxnMutation[]
}
/**
 * Commits the transaction at `startTs` in one phase: `mutations`, all in the range, checked as
 * a prewrite checks them and written at a commit timestamp the range's leader chooses, in one
 * command. ONE_PHASE_REFUSED: nothing was written, commit in two phases.
 */
export interface OnePhaseCommitRequest extends RangeAddress {
  op: 'onePhaseCommit'
  startTs: bigint
  mutations: TxnMutation[]
  /** The commit timestamp must not be above this (else ONE_PHASE_REFUSED); absent: no bound. */
  maxCommitTs?: bigint
}
/** Commits the transaction at `startTs` on `keys` at `commitTs`. */
export interface CommitRequest extends RangeAddress {
  op: 'commit'
  startTs: bigint
  commitTs: bigint
  keys: Uint8Array[]
}
/** Rolls back the transaction at `startTs` on `keys`. */
export interface RollbackRequest extends RangeAddress {
  op: 'rollback'
  startTs: bigint
  keys: Uint8Array[]
}
/** The fate of the transaction at `startTs` from its primary; a lock whose TTL ran out by `nowTs` is rolled back. */
export interface CheckTxnRequest extends RangeAddress {
  op: 'checkTxn'
  primary: Uint8Array
  startTs: bigint
  nowTs: bigint
}
/** Raises the TTL of the transaction's primary lock to `ttlMs`. */
export interface HeartbeatRequest extends RangeAddress {
  op: 'heartbeat'
  primary: Uint8Array
  startTs: bigint
  ttlMs: number
}
/** A replica's checksum of its range (any replica answers; no leader needed). */
export interface ChecksumRequest {
  op: 'checksum'
  rangeId: number
}
/** What the node knows of the cluster: ranges with their leaders, and node addresses. */
export interface RangesRequest {
  op: 'ranges'
}

/** The requests on data of one range, which the range's leader serves. */
export type KvDataRequest =
  | GetRequest
  | PutRequest
  | DeleteRequest
  | CasRequest
  | ScanRequest
  | DeleteRangeRequest
  | BatchRequest
  | PrewriteRequest
  | OnePhaseCommitRequest
  | CommitRequest
  | RollbackRequest
  | CheckTxnRequest
  | HeartbeatRequest

/** Every request a sender carries to a node. */
export type KvRequest = KvDataRequest | ChecksumRequest | RangesRequest

/** The name of a request kind. */
export type KvOp = KvRequest['op']

/** Every answer may carry an error instead of its result, and the range's current descriptor. */
export interface KvResponseBase {
  error?: KvError
  /**
   * Present when the request named another generation than the range's current one (the
   * sender's cache is stale): the range as the replica holds it now.
   */
  descriptor?: RangeDescriptor
}
/** The answer to a get: the value, absent if the key holds none. */
export interface GetResponse extends KvResponseBase {
  value?: Uint8Array
}
/** The answer to a compare-and-swap. */
export interface CasResponse extends KvResponseBase {
  succeeded?: boolean
  /** The value found, when the swap did not happen. */
  current?: Uint8Array
}
/** One page of a scan. */
export interface ScanResponse extends KvResponseBase {
  pairs?: KeyValue[]
  /**
   * The end key of the range as the scan read it (empty: no bound), always past the request's
   * start; a scan continues into the next range from here. Every pair is below it.
   */
  rangeEnd?: Uint8Array
  /** Present when the scan stopped at its byte budget inside the range: it continues here. */
  resume?: Uint8Array
}
/** The answer to a deleteRange. */
export interface DeleteRangeResponse extends KvResponseBase {
  deleted?: number
  /** Present when the command stopped early (range end or key limit): the rest of the span starts here. */
  resume?: Uint8Array
}
/** The answer to a one-phase commit: the transaction's commit timestamp. */
export interface OnePhaseCommitResponse extends KvResponseBase {
  commitTs?: bigint
}
/** The answer to a checkTxn. */
export interface CheckTxnResponse extends KvResponseBase {
  txn?: TxnState
}
/** A replica's checksum of its range's data. */
export interface ChecksumResponse extends KvResponseBase {
  appliedIndex?: number
  checksum?: string
  keys?: number
}
/** A range and the node its leader is on (0: unknown). */
export interface RangeRoute {
  descriptor: RangeDescriptor
  leaderNodeId: number
}
/** A node of the cluster and its address. */
export interface NodeAddress {
  nodeId: number
  address: string
}
/** What a node knows of the cluster. */
export interface RangesResponse extends KvResponseBase {
  ranges?: RangeRoute[]
  nodes?: NodeAddress[]
}

/** The answer each request kind gets. */
export interface KvResponses {
  get: GetResponse
  put: KvResponseBase
  delete: KvResponseBase
  cas: CasResponse
  scan: ScanResponse
  deleteRange: DeleteRangeResponse
  batch: KvResponseBase
  prewrite: KvResponseBase
  onePhaseCommit: OnePhaseCommitResponse
  commit: KvResponseBase
  rollback: KvResponseBase
  checkTxn: CheckTxnResponse
  heartbeat: KvResponseBase
  checksum: ChecksumResponse
  ranges: RangesResponse
}

/** Any answer; the i-th answer of a batch belongs to the i-th request. */
export type KvResponse = KvResponses[KvOp]

/** The request of kind `Op`. */
export type KvRequestOf<Op extends KvOp> = Extract<KvRequest, { op: Op }>

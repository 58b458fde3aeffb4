// The KV service's gRPC methods. Bodies are the binary messages of proto/kv.proto
// (kv-wire.ts): one unary method per request kind, for tools and simple clients, and the
// command stream that clients use. Errors travel in the answer with their KV code, so
// clients can branch on NOT_LEADER and friends without parsing gRPC status text.
// Deserializing a request never throws (grpc-js answers a throwing deserializer with INTERNAL
// and ends a whole stream over one bad message): a body that does not decode arrives as the
// KvError to answer with.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js'
import type { KvError } from './errors.js'
import {
  decodeRequest,
  decodeRequests,
  decodeResponse,
  decodeResponses,
  encodeRequest,
  encodeRequests,
  encodeResponse,
  encodeResponses,
  type DecodedRequest,
  type NumberedRequest,
  type NumberedResponse,
  type WireResponse,
} from './kv-wire.js'
import type { KvOp, KvRequestOf, KvResponses } from './requests.js'

/** Bytes as the Buffer grpc-js wants, without a copy. */
const buffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength))

/**
 * The unary method for requests of kind `op`. A server handler receives the typed request,
 * or the KvError its body failed to decode with, typed as the request: check it.
 */
function unary<Op extends KvOp>(op: Op, name: string): MethodDefinition<KvRequestOf<Op>, KvResponses[Op]> {
  return {
    path: `/mrdb.kv.Kv/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (r) => buffer(encodeRequest(r)),
    requestDeserialize: (b) => decodeRequest(b) as KvRequestOf<Op>,
    responseSerialize: (r) => buffer(encodeResponse(r)),
    responseDeserialize: (b) => decodeResponse(op, b),
  }
}

/**
 * The command stream (TiKV calls its twin BatchCommands): one long-lived bidirectional
 * stream per client and node; each message carries many requests, or many answers, so the
 * per-call cost of gRPC is paid once per batch instead of once per request. Answers go out
 * as soon as they are ready, in any order, paired with requests by id. A client writes
 * numbered requests; the server reads each message as decoded requests (one that lacks what
 * its kind needs comes refused, with its id), or as the KvError of a message that is no
 * well-formed frame; it writes numbered answers, which the client reads as wire answers to
 * decode by the kind of the request of that id.
 */
const commands = {
  path: '/mrdb.kv.Kv/Commands',
  requestStream: true,
  responseStream: true,
  requestSerialize: (v: readonly NumberedRequest[]): Buffer => buffer(encodeRequests(v)),
  requestDeserialize: (b: Buffer): DecodedRequest[] | KvError => decodeRequests(b),
  responseSerialize: (v: readonly NumberedResponse[]): Buffer => buffer(encodeResponses(v)),
  responseDeserialize: (b: Buffer): WireResponse[] => decodeResponses(b),
} as const

/** The KV service's methods. */
export const KV_SERVICE = {
  get: unary('get', 'Get'),
  put: unary('put', 'Put'),
  delete: unary('delete', 'Delete'),
  cas: unary('cas', 'CompareAndSwap'),
  scan: unary('scan', 'Scan'),
  deleteRange: unary('deleteRange', 'DeleteRange'),
  batch: unary('batch', 'Batch'),
  prewrite: unary('prewrite', 'Prewrite'),
  onePhaseCommit: unary('onePhaseCommit', 'OnePhaseCommit'),
  commit: unary('commit', 'Commit'),
  rollback: unary('rollback', 'Rollback'),
  checkTxn: unary('checkTxn', 'CheckTxnStatus'),
  heartbeat: unary('heartbeat', 'TxnHeartbeat'),
  ranges: unary('ranges', 'Ranges'),
  checksum: unary('checksum', 'RangeChecksum'),
  commands,
} satisfies ServiceDefinition

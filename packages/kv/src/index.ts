// @mrdb/kv — split by role: `api/` (what client and server share), `client/` (routing,
// retries, transactions) and `server/` (range replicas, the per-node store, the KV service).

// api
export { KvError, KvErrorCode, RETRYABLE_CODES } from './api/errors.js'
export type { LockInfo } from './api/errors.js'
export { rangeContains, rangesOverlap, replicaOnNode, nextReplicaId, descriptorToJson, descriptorFromJson } from './api/range-descriptor.js'
export type { RangeDescriptor, ReplicaDescriptor, ReplicaRole, RangeDescriptorJson } from './api/range-descriptor.js'
export { MAX_COMMAND_SIZE } from './api/types.js'
export type { KeyValue, TxnMutation, TxnState } from './api/types.js'
export { KV_SERVICE } from './api/protocol.js'
export { responseFromWire } from './api/kv-wire.js'
export type { NumberedRequest, NumberedResponse, DecodedRequest, WireResponse } from './api/kv-wire.js'
export { decodeRequestBody, jsonMethod, toWire, fromWire } from './api/json-body.js'
export type {
  KvRequest,
  KvDataRequest,
  KvRequestOf,
  KvOp,
  KvResponse,
  KvResponses,
  KvResponseBase,
  NodeAddress,
  RangeRoute,
  RangeAddress,
  GetRequest,
  PutRequest,
  DeleteRequest,
  CasRequest,
  ScanRequest,
  DeleteRangeRequest,
  BatchRequest,
  PrewriteRequest,
  CommitRequest,
  RollbackRequest,
  CheckTxnRequest,
  HeartbeatRequest,
  ChecksumRequest,
  RangesRequest,
  GetResponse,
  CasResponse,
  ScanResponse,
  DeleteRangeResponse,
  CheckTxnResponse,
  ChecksumResponse,
  RangesResponse,
} from './api/requests.js'
export { unaryCall } from './api/unary-call.js'

// client
export { KvClient } from './client/kv-client.js'
export type { KvClientOptions, KeyLike, RangeSpan, ReadOptions } from './client/kv-client.js'
export { TransactionalKv, Transaction, LOCK_TTL_MS, TXN_IDLE_MS, resolveLocks } from './client/transaction.js'
export type { TimestampSource } from './client/transaction.js'
export { RoutingSender, SendError } from './client/sender.js'
export type { KvSender, SendFailure } from './client/sender.js'
export { GrpcSender } from './client/grpc-sender.js'
export type { GrpcSenderOptions } from './client/grpc-sender.js'

// server
export { Store } from './server/store.js'
export { ChangedRanges } from './server/changed-ranges.js'
export type { QuarantinedReplica, StoreOptions, SystemGroup } from './server/store.js'
export { Replica, toKvError, GC_MAX_DELETES } from './server/replica.js'
export { GcQueue } from './server/gc-queue.js'
export type { GcQueueOptions, GcTargets } from './server/gc-queue.js'
export type { CommandResult, RangeStats, ReplicaChange, ScanResult } from './server/replica.js'
export { addReplica, removeReplica, moveReplica } from './server/replica-changes.js'
export type { CreateReplica } from './server/replica-changes.js'
export type { Command, CommandEnvelope } from './server/command.js'
export { encodeCommand, decodeCommand } from './server/command.js'
export { EngineLogWriter } from './server/engine-log-writer.js'
export { addKvService } from './server/kv-service.js'
export { KvRequestHandler } from './server/request-handler.js'
export type { ClusterView } from './server/request-handler.js'
export { LocalSender } from './server/local-sender.js'

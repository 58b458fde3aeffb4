// @mrdb/kv — range replicas, the per-node store, and (soon) the KV service and client.

export { Store } from './store.js'
export type { StoreOptions } from './store.js'
export { Replica, toKvError } from './replica.js'
export type { CommandResult, KeyValue } from './replica.js'
export type { Command, CommandEnvelope } from './command.js'
export { encodeCommand, decodeCommand } from './command.js'
export { KvError, KvErrorCode, RETRYABLE_CODES } from './errors.js'
export { rangeContains, replicaOnNode, descriptorToJson, descriptorFromJson } from './range-descriptor.js'
export type { RangeDescriptor, ReplicaDescriptor, ReplicaRole, RangeDescriptorJson } from './range-descriptor.js'
export { EngineLogWriter } from './engine-log-writer.js'

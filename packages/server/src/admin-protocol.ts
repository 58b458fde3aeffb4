// The node administration service: peers exchange addresses (Hello), an operator
// initialises the cluster once (Init), and the initialising node hands every node the
// range layout (Bootstrap). JSON bodies; errors travel in the body with a code.

import type { ServiceDefinition } from '@grpc/grpc-js'
import { jsonMethod, type KvErrorCode, type RangeDescriptorJson } from '@mrdb/kv'
import type { PdErrorCode } from '@mrdb/placement'
import type { NodeErrorCode } from './errors.js'

/** An error in a response body: a node code, a KV code (NOT_LEADER, TIMEOUT, …) from a range action, or a PD code. */
export interface AdminError {
  code: NodeErrorCode | KvErrorCode | PdErrorCode
  message: string
  /** For NOT_LEADER codes: the node that may lead. */
  leaderHint?: number
}

export interface HelloRequest {
  nodeId: number
  address: string
  nodes: Array<[number, string]>
}
export interface HelloResponse {
  nodes?: Array<[number, string]>
  /** The cluster this node belongs to, once bootstrapped, and where its PD group lives. */
  clusterId?: string
  pdNodes?: number[]
  error?: AdminError
}
export interface InitRequest {
  /** How many ranges to pre-split the keyspace into (on the first two key bytes); default 1. */
  ranges?: number
  /** The SCRAM-SHA-256 verifier of the `root` user's password (computed by the client: the password never travels); none: root has no password. */
  rootVerifier?: string
}
export interface InitResponse {
  clusterId?: string
  ranges?: number
  replicaNodes?: number[]
  pdNodes?: number[]
  error?: AdminError
}
export interface BootstrapRequest {
  clusterId: string
  ranges: RangeDescriptorJson[]
  /** Every node known at bootstrap, with its address: the PD's first stores. */
  nodes: Array<[number, string]>
  /** The stores that hold the PD group. */
  pdNodes: number[]
  /** The first ranges' GC fence and threshold, a decimal timestamp (absent: 0); the same on every node. */
  gcFloor?: string
}
export interface BootstrapResponse {
  error?: AdminError
}
export interface NodeStatusResponse {
  nodeId?: number
  address?: string
  /** Where this node serves SQL clients (the PostgreSQL wire protocol), if it does. */
  sqlAddress?: string
  clusterId?: string
  ranges?: Array<{ rangeId: number; leader: boolean; appliedIndex: number; quiesced: boolean; role: string; term: number; leaderReplica: number; commit: number; descriptor: RangeDescriptorJson }>
  /** This node's replica of the PD group, if it holds one. */
  pd?: { role: string; term: number; commit: number; applied: number; quiesced: boolean }
  /** Replicas this node keeps out of their ranges because their Raft log is damaged (`index`: the first damaged entry). */
  quarantined?: Array<{ rangeId: number; replicaId: number; index?: number; reason: string }>
  metrics?: Record<string, number>
  /** How late this node's event loop ran timers since the last reset (or its start), in ms. */
  loopDelay?: { p50Ms: number; p99Ms: number; maxMs: number; sinceMs: number }
  error?: AdminError
}
/** A status request; `resetLoopDelay` starts a new event-loop delay measurement after this answer. */
export interface NodeStatusRequest {
  resetLoopDelay?: boolean
}

/** Split the range holding `key` (base64) at `key`, or range `rangeId` at its middle key. */
export interface SplitRequest {
  key?: string
  rangeId?: number
  /** Id of the new right-hand range; default: allocated by the placement driver. */
  newRangeId?: number
  /** Set on a call forwarded to the range's leader (forwarded at most once). */
  forwarded?: boolean
}
/** A membership action on a range: `storeId` is the replica's node (for `move`, the one that leaves). */
export interface MemberRequest {
  rangeId: number
  op: 'add' | 'addLearner' | 'remove' | 'move' | 'transferLeader'
  storeId: number
  /** For `move`: the node that gets the replica. */
  toStoreId?: number
  forwarded?: boolean
}
/** Merge range `rangeId` with its right-hand neighbour (which must sit on the same stores). */
export interface MergeRequest {
  rangeId: number
  forwarded?: boolean
}
/** Freeze range `rangeId` ahead of its merge into its left neighbour (on its leader). */
export interface FreezeRequest {
  rangeId: number
  forwarded?: boolean
}

/** Create an empty replica on the receiving node, which joins the range. */
export interface CreateReplicaRequest {
  descriptor: RangeDescriptorJson
}
export interface RangeAdminResponse {
  /** The range's descriptor after the action. */
  descriptor?: RangeDescriptorJson
  /** For a split: the new right-hand range. */
  created?: RangeDescriptorJson
  /** For a freeze: the freeze's Raft index and the range's last write timestamp (a decimal bigint). */
  frozenAt?: number
  lastTs?: string
  error?: AdminError
}

/** The PD leader asks the receiving node to host a replica of the PD group it added there (as a learner). */
export interface JoinPdRequest {
  /** The group's replicas (their stores) as the leader has them, the new one included. */
  members: number[]
}
/** The PD leader tells the receiving node that the PD group removed its replica. */
export type LeavePdRequest = Record<never, never>
export interface PdMembershipResponse {
  error?: AdminError
}

/** Sets the peer addresses a node cannot reach (fault injection; empty heals); without `blocked`, only reads them. */
export interface NetworkFaultsRequest {
  blocked?: string[]
}
export interface NetworkFaultsResponse {
  /** The addresses the node cannot reach now. */
  blocked?: string[]
  error?: AdminError
}

/**
 * Flips a bit of one stored Raft log entry of a range on the node, through its engine, while
 * the node runs (fault injection): the entry then fails its checksum when next read. The
 * engine's own block checksums stay valid, as for damage that got past the disk layer.
 */
export interface DamageLogEntryRequest {
  rangeId: number
  /** The entry; absent: the range's last stored entry, the one the node reads before its next append. */
  index?: number
}
export interface DamageLogEntryResponse {
  /** The entry damaged. */
  index?: number
  error?: AdminError
}

const method = <Req, Res>(name: string) => jsonMethod<Req, Res>('mrdb.node.Node', name)

/** The node administration service's methods. */
export const NODE_SERVICE = {
  hello: method<HelloRequest, HelloResponse>('Hello'),
  init: method<InitRequest, InitResponse>('Init'),
  bootstrap: method<BootstrapRequest, BootstrapResponse>('Bootstrap'),
  status: method<NodeStatusRequest, NodeStatusResponse>('Status'),
  split: method<SplitRequest, RangeAdminResponse>('SplitRange'),
  member: method<MemberRequest, RangeAdminResponse>('ChangeMember'),
  createReplica: method<CreateReplicaRequest, RangeAdminResponse>('CreateReplica'),
  merge: method<MergeRequest, RangeAdminResponse>('MergeRanges'),
  freeze: method<FreezeRequest, RangeAdminResponse>('FreezeRange'),
  networkFaults: method<NetworkFaultsRequest, NetworkFaultsResponse>('NetworkFaults'),
  damageLogEntry: method<DamageLogEntryRequest, DamageLogEntryResponse>('DamageLogEntry'),
  joinPd: method<JoinPdRequest, PdMembershipResponse>('JoinPd'),
  leavePd: method<LeavePdRequest, PdMembershipResponse>('LeavePd'),
} satisfies ServiceDefinition

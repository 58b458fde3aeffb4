// The placement driver's service, served by every node: calls are answered by the PD leader
// (a node forwards them there once). JSON bodies; errors travel in the body with a code.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js'
import { jsonMethod, type RangeDescriptorJson } from '@mrdb/kv'
import type { ClusterHealth, StoreState } from '@mrdb/placement'
import type { AdminError } from './admin-protocol.js'

/** Set on a call a node forwarded to the PD leader (forwarded at most once). */
interface Forwardable {
  forwarded?: boolean
}

export interface PdHeartbeatRequest extends Forwardable {
  storeId: number
  address: string
  capacityBytes: number
  usedBytes: number
  replicaCount: number
  /**
   * The ranges whose leader is on this store, with their approximate size: all of them when
   * `leadingComplete`, else those whose report changed since the previous heartbeat.
   */
  leading: Array<{
    descriptor: RangeDescriptorJson
    approximateBytes: number
    approximateKeys: number
    readsPerSecond: number
    writesPerSecond: number
    /** Bytes of latest versions holding values. */
    liveBytes?: number
    /** Bytes only reads in the past need (partly estimated). */
    garbageBytes?: number
    /** The GC fence (a decimal timestamp) below which this leader found no lock in the range; absent: not yet. */
    gcLocksClearBelow?: string
  }>
  /** Whether `leading` lists every range this store leads (absent: true, as older nodes send). */
  leadingComplete?: boolean
  /** Replicas this store quarantined (damaged Raft log): the PD replaces them. Absent: none. */
  quarantined?: Array<{ rangeId: number; replicaId: number }>
  /** At or below the start of every transaction running on this node's gateway (a decimal timestamp); absent: not known. */
  oldestTxnTs?: string
}
/** The PD's answer to a heartbeat: the GC targets (decimal timestamps) every range is to reach, and where the PD group is. */
export interface PdHeartbeatResponse {
  gcFence?: string
  gcSafePoint?: string
  /** The stores of the PD group's replicas, as its leader applied them. */
  pdMembers?: number[]
  /** The PD leader asks for every led range in the next heartbeat (it does not know them all). */
  wantLeadingComplete?: boolean
  error?: AdminError
}
export interface PdEmptyResponse {
  error?: AdminError
}
export type PdRoutingRequest = Forwardable
export interface PdRoutingResponse {
  /** Every range, with its leader's store and its size and load as last reported (zeros until then). */
  ranges?: Array<{ descriptor: RangeDescriptorJson; leaderNodeId: number; approximateBytes: number; approximateKeys: number; queriesPerSecond: number; liveBytes: number; garbageBytes: number }>
  stores?: Array<{ storeId: number; address: string; state: StoreState }>
  error?: AdminError
}
export interface PdTsoRequest extends Forwardable {
  count: number
}
export interface PdTsoResponse {
  /** The first timestamp (a decimal bigint) of `count` consecutive ones. */
  first?: string
  count?: number
  error?: AdminError
}
/** One request on a timestamp stream ({@link PD_SERVICE}.tsoStream): `count` fresh timestamps, answered under `id`. */
export interface PdTsoStreamRequest {
  id: number
  count: number
}
/** The answer to the timestamp stream's request `id`: its timestamps, or the error a `tso` call would have answered. */
export interface PdTsoStreamResponse extends PdTsoResponse {
  id: number
}
export type PdAllocRequest = Forwardable
export interface PdAllocResponse {
  rangeId?: number
  error?: AdminError
}
export type PdStoresRequest = Forwardable
/** A store as the PD leader sees it. */
export interface StoreViewJson {
  storeId: number
  address: string
  state: StoreState
  live: boolean
  lastHeartbeatMs: number
  capacityBytes: number
  usedBytes: number
  /** Counts its replica of the PD group too. */
  replicaCount: number
  leaderCount: number
  /** Its replica of the PD group, if it holds one. */
  pdRole?: 'voter' | 'learner'
}
export interface PdStoresResponse {
  stores?: StoreViewJson[]
  error?: AdminError
}
export interface PdHealthResponse {
  health?: ClusterHealth
  stores?: StoreViewJson[]
  error?: AdminError
}
export interface PdReportRangesRequest extends Forwardable {
  /** Ranges that just changed, by the node that led the change (which leads them, as far as it knows). */
  ranges: RangeDescriptorJson[]
  leaderNodeId: number
}
export interface PdSetStoreStateRequest extends Forwardable {
  storeId: number
  state: StoreState
}

/** A replica move an operator asked for (`mrdb range move`), run by the PD leader as its own operator. */
export interface PdMoveReplicaRequest extends Forwardable {
  rangeId: number
  fromStoreId: number
  toStoreId: number
}

const method = <Req, Res>(name: string) => jsonMethod<Req, Res>('mrdb.pd.Pd', name)
/** A method whose calls carry JSON messages both ways, as many as they like. */
const stream = <Req, Res>(name: string): MethodDefinition<Req, Res> => ({ ...method<Req, Res>(name), requestStream: true, responseStream: true })

/** The PD service's methods. */
export const PD_SERVICE = {
  heartbeat: method<PdHeartbeatRequest, PdHeartbeatResponse>('Heartbeat'),
  routing: method<PdRoutingRequest, PdRoutingResponse>('Routing'),
  reportRanges: method<PdReportRangesRequest, PdEmptyResponse>('ReportRanges'),
  tso: method<PdTsoRequest, PdTsoResponse>('Tso'),
  /**
   * Timestamp requests between nodes, on one long-lived call per pair: answered by the PD
   * leader's oracle like `tso`, without forwarding (a node that does not lead answers
   * NOT_LEADER). A unary call per fetch cost a gateway more CPU than the rest of a point SELECT's gRPC.
   */
  tsoStream: stream<PdTsoStreamRequest, PdTsoStreamResponse>('TsoStream'),
  health: method<Forwardable, PdHealthResponse>('Health'),
  allocRangeId: method<PdAllocRequest, PdAllocResponse>('AllocRangeId'),
  stores: method<PdStoresRequest, PdStoresResponse>('Stores'),
  setStoreState: method<PdSetStoreStateRequest, PdEmptyResponse>('SetStoreState'),
  moveReplica: method<PdMoveReplicaRequest, PdEmptyResponse>('MoveReplica'),
} satisfies ServiceDefinition

// The node administration service: peers exchange addresses (Hello), an operator
// initialises the cluster once (Init), and the initialising node hands every node the
// range layout (Bootstrap). JSON bodies; errors travel in the body with a code.

import type { ServiceDefinition } from '@grpc/grpc-js'
import { jsonMethod, type RangeDescriptorJson } from '@mrdb/kv'
import type { NodeErrorCode } from './errors.js'

/** An error in a response body. */
export interface AdminError {
  code: NodeErrorCode
  message: string
}

export interface HelloRequest {
  nodeId: number
  address: string
  nodes: Array<[number, string]>
}
export interface HelloResponse {
  nodes?: Array<[number, string]>
  error?: AdminError
}
export interface InitRequest {
  /** How many ranges to pre-split the keyspace into (on the first key byte). */
  ranges?: number
}
export interface InitResponse {
  clusterId?: string
  ranges?: number
  replicaNodes?: number[]
  error?: AdminError
}
export interface BootstrapRequest {
  clusterId: string
  ranges: RangeDescriptorJson[]
}
export interface BootstrapResponse {
  error?: AdminError
}
export interface NodeStatusResponse {
  nodeId?: number
  address?: string
  clusterId?: string
  ranges?: Array<{ rangeId: number; leader: boolean; appliedIndex: number; quiesced: boolean; role: string; term: number; leaderReplica: number; commit: number }>
  metrics?: Record<string, number>
  error?: AdminError
}

const method = <Req, Res>(name: string) => jsonMethod<Req, Res>('mrdb.node.Node', name)

/** The node administration service's methods. */
export const NODE_SERVICE = {
  hello: method<HelloRequest, HelloResponse>('Hello'),
  init: method<InitRequest, InitResponse>('Init'),
  bootstrap: method<BootstrapRequest, BootstrapResponse>('Bootstrap'),
  status: method<Record<string, never>, NodeStatusResponse>('Status'),
} satisfies ServiceDefinition

// What the web console's JSON endpoint (GET /api/cluster) answers: the placement driver
// leader's view of the stores and ranges, shaped for the page. This file imports nothing on
// purpose: the browser script (packages/server/console/) type-checks against it too.

/** How the console judges a store: the PD's liveness, refined by how long its heartbeats have been missing. */
export type ConsoleLiveness = 'live' | 'suspect' | 'dead' | 'removed'

/** One store as the console shows it. */
export interface ConsoleStore {
  storeId: number
  address: string
  /** The PD's record of it: up, decommissioning or removed. */
  state: string
  /**
   * `dead` when the PD counts it dead (no heartbeat for its --store-dead-ms); `suspect` when
   * the PD still counts it live but its last heartbeat is older than a few heartbeat periods.
   */
  liveness: ConsoleLiveness
  /** Milliseconds since the PD leader last heard from it, by this node's clock (off by the clocks' skew when the PD leader is another node). */
  heartbeatAgeMs: number
  capacityBytes: number
  usedBytes: number
  /** Replicas it holds, its PD replica included. */
  replicaCount: number
  leaderCount: number
  /** Its replica of the PD group, if it holds one. */
  pdRole?: 'voter' | 'learner'
}

/** How the console judges a range: whether it can serve, and whether it has all its replicas. */
export type ConsoleRangeStatus = 'ok' | 'under-replicated' | 'unavailable'

/** One replica of a range. */
export interface ConsoleReplica {
  storeId: number
  replicaId: number
  role: 'voter' | 'learner'
}

/** One range as the console shows it. */
export interface ConsoleRange {
  rangeId: number
  /** Bounds in hex, as `mrdb range list --json` prints them; an empty end is the end of the keyspace. */
  startKey: string
  endKey: string
  generation: number
  replicas: ConsoleReplica[]
  /** The store its leader was last reported on; 0 when none is known. */
  leaderStoreId: number
  /** Size and load as its leader last reported them (zeros until it has). */
  queriesPerSecond: number
  approximateBytes: number
  approximateKeys: number
  status: ConsoleRangeStatus
}

/** The PD's own Raft group. */
export interface ConsolePdGroup {
  voters: number[]
  learners: number[]
  /** 0 when none is known. */
  leaderStoreId: number
}

/** The answer of GET /api/cluster. */
export interface ConsoleClusterView {
  /** The node that answered (the one serving the page). */
  nodeId: number
  /** When it answered, by its clock (ms since the epoch). */
  atMs: number
  /** The cluster's health as `mrdb status` reports it. */
  status: 'healthy' | 'degraded' | 'unavailable'
  pd: ConsolePdGroup | undefined
  stores: ConsoleStore[]
  /** Ranges in key order, at most `limit` of them. */
  ranges: ConsoleRange[]
  /** Every range in the cluster (more than `ranges.length` when the limit cut the list). */
  rangeCount: number
  /** Ranges that cannot serve: no quorum of live voters, or no live leader. */
  unavailableRanges: number
  /** Ranges that serve with fewer live voters than the replication factor. */
  underReplicatedRanges: number
}

/** The body of every error answer of the console's endpoints (and of the router's 404 and 405). */
export interface ConsoleError {
  code: string
  error: string
}

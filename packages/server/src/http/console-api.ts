// GET /api/cluster, the JSON the web console polls every second: stores with liveness and
// load, ranges with replicas, leader, load and status, the PD group. It is read from the
// placement driver's leader through the node's PD endpoint (here when this node leads the PD
// group, else forwarded to the leader), so every node's console shows the same cluster.
// One read is in flight per node at a time: polls that arrive meanwhile share its answer.

import { PdErrorCode } from '@mrdb/placement'
import { NodeErrorCode } from '../errors.js'
import type { PdHealthResponse, PdRoutingResponse } from '../pd-protocol.js'
import type { ConsoleClusterView, ConsoleError, ConsoleLiveness, ConsoleRange, ConsoleRangeStatus } from './console-view.js'
import { jsonReply, type HttpHandler, type HttpReply } from './router.js'

/** What the endpoint reads the cluster from: the node's way to the PD leader. */
export interface ConsolePdSource {
  health(): Promise<PdHealthResponse>
  routing(): Promise<PdRoutingResponse>
}

/** Options of {@link clusterApiHandler}. */
export interface ClusterApiOptions {
  nodeId: number
  pd: ConsolePdSource
  /** The node's clock; default Date.now. */
  now?: () => number
}

/** Ranges an answer carries unless `?limit=` says otherwise. */
export const DEFAULT_RANGE_LIMIT = 5000
/** The most ranges one answer carries. */
export const MAX_RANGE_LIMIT = 100_000
/** A live store whose last heartbeat is older than this is shown as suspect (nodes heartbeat every second by default). */
export const SUSPECT_AFTER_MS = 3000

/** Error codes that mean "no PD leader to ask now, or no cluster yet": 503, try again. */
const UNAVAILABLE_CODES = new Set<string>([PdErrorCode.UNAVAILABLE, PdErrorCode.NOT_LEADER, PdErrorCode.TIMEOUT, PdErrorCode.NOT_BOOTSTRAPPED, NodeErrorCode.UNAVAILABLE])

/** A reply with a {@link ConsoleError} body. */
export function errorReply(status: number, code: string, message: string): HttpReply {
  const body: ConsoleError = { code, error: message }
  return jsonReply(status, body)
}

/** The /api/cluster handler; see the file comment. */
export function clusterApiHandler(o: ClusterApiOptions): HttpHandler {
  const now = o.now ?? Date.now
  let inFlight: Promise<ConsoleClusterView | HttpReply> | undefined
  /** The view, or the error reply that stands for it. */
  const read = async (): Promise<ConsoleClusterView | HttpReply> => {
    try {
      const [health, routing] = await Promise.all([o.pd.health(), o.pd.routing()])
      const failed = health.error ?? routing.error
      if (failed) return errorReply(UNAVAILABLE_CODES.has(failed.code) ? 503 : 500, failed.code, failed.message)
      return clusterView(o.nodeId, now(), health, routing)
    } catch (err) {
      const coded = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined
      const code = typeof coded === 'string' ? coded : 'INTERNAL'
      const message = err instanceof Error ? err.message : String(err)
      return errorReply(UNAVAILABLE_CODES.has(code) ? 503 : 500, code, `the placement driver did not answer: ${message}`)
    }
  }
  return async ({ url }) => {
    const limit = rangeLimit(url.searchParams)
    if (typeof limit === 'string') return errorReply(400, 'INVALID_ARGUMENT', limit)
    const view = await (inFlight ??= read().finally(() => (inFlight = undefined)))
    if (!('ranges' in view)) return view
    return jsonReply(200, { ...view, ranges: view.ranges.slice(0, limit) })
  }
}

/** The `limit` query parameter (default {@link DEFAULT_RANGE_LIMIT}), or what is wrong with the query. */
function rangeLimit(params: URLSearchParams): number | string {
  for (const name of params.keys()) if (name !== 'limit') return `unknown query parameter "${name}" (GET /api/cluster takes only limit)`
  const raw = params.get('limit')
  if (raw === null) return DEFAULT_RANGE_LIMIT
  const limit = Number(raw)
  if (!/^\d+$/.test(raw) || limit > MAX_RANGE_LIMIT) return `limit must be an integer from 0 to ${MAX_RANGE_LIMIT}, got "${raw}"`
  return limit
}

/** The console's view of the PD leader's answers, every range, in key order. */
export function clusterView(nodeId: number, atMs: number, health: PdHealthResponse, routing: PdRoutingResponse): ConsoleClusterView {
  const h = health.health
  const rangeStatus = new Map<number, ConsoleRangeStatus>()
  for (const r of h?.underReplicated ?? []) rangeStatus.set(r.rangeId, 'under-replicated')
  for (const r of h?.unavailable ?? []) rangeStatus.set(r.rangeId, 'unavailable')
  const ranges: ConsoleRange[] = (routing.ranges ?? [])
    .map(({ descriptor: d, leaderNodeId, queriesPerSecond, approximateBytes, approximateKeys }) => ({
      rangeId: d.rangeId,
      startKey: d.startKey,
      endKey: d.endKey,
      generation: d.generation,
      replicas: d.replicas.map((r) => ({ storeId: r.nodeId, replicaId: r.replicaId, role: r.role })),
      leaderStoreId: leaderNodeId,
      queriesPerSecond,
      approximateBytes,
      approximateKeys,
      status: rangeStatus.get(d.rangeId) ?? 'ok',
    }))
    // Hex of bytes sorts as the bytes do; the empty start key is the first.
    .sort((a, b) => (a.startKey < b.startKey ? -1 : a.startKey > b.startKey ? 1 : 0))
  return {
    nodeId,
    atMs,
    status: h?.status ?? 'unavailable',
    pd: h?.pd && { voters: h.pd.voters, learners: h.pd.learners, leaderStoreId: h.pd.leaderNodeId },
    stores: (health.stores ?? [])
      .map((s) => {
        const heartbeatAgeMs = Math.max(0, atMs - s.lastHeartbeatMs)
        const liveness: ConsoleLiveness = s.state === 'removed' ? 'removed' : !s.live ? 'dead' : heartbeatAgeMs > SUSPECT_AFTER_MS ? 'suspect' : 'live'
        return {
          storeId: s.storeId,
          address: s.address,
          state: s.state,
          liveness,
          heartbeatAgeMs,
          capacityBytes: s.capacityBytes,
          usedBytes: s.usedBytes,
          replicaCount: s.replicaCount,
          leaderCount: s.leaderCount,
          ...(s.pdRole === undefined ? {} : { pdRole: s.pdRole }),
        }
      })
      .sort((a, b) => a.storeId - b.storeId),
    ranges,
    rangeCount: ranges.length,
    unavailableRanges: h?.unavailable.length ?? 0,
    underReplicatedRanges: h?.underReplicated.length ?? 0,
  }
}

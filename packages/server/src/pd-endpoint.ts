// Where a node's PD calls go: to its own PlacementDriver when it leads the PD group,
// otherwise once to the PD leader (named by the NOT_LEADER hint, else found among the PD
// group's members as this node last learned them, else among every node it knows: the group
// may have moved entirely while it was away). The node's own calls (heartbeats, routing,
// ids) and the PD service it serves to clients both come through here. Timestamp fetches,
// once a forwarded one found the leader, go to it on a stream (tso-stream.ts).

import { status, type ClientDuplexStream, type MethodDefinition, type Server, type ServerDuplexStream } from '@grpc/grpc-js'
import { descriptorFromJson, descriptorToJson, KvError } from '@mrdb/kv'
import { PdError, PdErrorCode, type PlacementDriver, type StoreState } from '@mrdb/placement'
import type { AdminError } from './admin-protocol.js'
import { adminError, fromAdminError } from './errors.js'
import { admin } from './admin-handler.js'
import { PD_REQUESTS } from './request-check.js'
import { TsoStream } from './tso-stream.js'
import {
  PD_SERVICE,
  type PdAllocResponse,
  type PdEmptyResponse,
  type PdHeartbeatResponse,
  type PdHealthResponse,
  type PdHeartbeatRequest,
  type PdMoveReplicaRequest,
  type PdReportRangesRequest,
  type PdRoutingResponse,
  type PdSetStoreStateRequest,
  type PdStoresResponse,
  type PdTsoRequest,
  type PdTsoResponse,
  type PdTsoStreamRequest,
  type PdTsoStreamResponse,
} from './pd-protocol.js'

/** What the endpoint needs from its node. */
export interface PdEndpointOptions {
  nodeId: number
  /** This node's placement driver, if it holds a PD replica. */
  driver: () => PlacementDriver | undefined
  /** The PD group's members, as this node last learned them. */
  pdNodes: () => readonly number[]
  /** Every node this node knows (tried after the PD members). */
  nodes: () => readonly number[]
  /** Calls a PD method on another node. */
  call: <Req, Res>(nodeId: number, method: MethodDefinition<Req, Res>, req: Req) => Promise<Res>
  /** Opens a call of a streaming PD method on another node (the timestamp stream). */
  openStream: <Req, Res>(nodeId: number, method: MethodDefinition<Req, Res>) => ClientDuplexStream<Req, Res>
}

/** How long a timestamp request on a stream waits for its answer before it is asked again the unary way. */
const TSO_STREAM_TIMEOUT_MS = 5000

/** See the file comment. */
export class PdEndpoint {
  /**
   * The node that last answered this node's forwarded timestamp request: later ones go there
   * on its timestamp stream, until that fails or answers an error (then the unary way again).
   */
  private tsoLeader: number | undefined
  private readonly tsoStreams = new Map<number, TsoStream>()

  constructor(private readonly o: PdEndpointOptions) {}

  /** Reports this store's liveness, load and leaderships. */
  heartbeat(req: PdHeartbeatRequest): Promise<PdHeartbeatResponse> {
    return this.run(PD_SERVICE.heartbeat, req, async (d) => {
      const gc = await d.heartbeat({
        storeId: req.storeId,
        address: req.address,
        capacityBytes: req.capacityBytes,
        usedBytes: req.usedBytes,
        replicaCount: req.replicaCount,
        complete: req.leadingComplete !== false,
        leading: req.leading.map((r) => ({
          range: descriptorFromJson(r.descriptor),
          approximateBytes: r.approximateBytes,
          approximateKeys: r.approximateKeys,
          readsPerSecond: r.readsPerSecond,
          writesPerSecond: r.writesPerSecond,
          liveBytes: r.liveBytes,
          garbageBytes: r.garbageBytes,
          gcLocksClearBelow: r.gcLocksClearBelow === undefined ? undefined : BigInt(r.gcLocksClearBelow),
        })),
        quarantined: Array.isArray(req.quarantined) ? req.quarantined.map((q) => ({ rangeId: q.rangeId, replicaId: q.replicaId })) : undefined,
        oldestTxnTs: req.oldestTxnTs === undefined ? undefined : BigInt(req.oldestTxnTs),
      })
      const res: PdHeartbeatResponse = { gcFence: gc.fence.toString(), gcSafePoint: gc.safePoint.toString(), pdMembers: d.pdMembers() }
      if (d.wantsCompleteReport(req.storeId)) res.wantLeadingComplete = true
      return res
    })
  }

  /** The range table with leaders, and the stores. */
  routing(req: { forwarded?: boolean } = {}): Promise<PdRoutingResponse> {
    return this.run(PD_SERVICE.routing, req, async (d) => {
      const { ranges, stores } = await d.routing()
      return { ranges: ranges.map(({ range, ...rest }) => ({ descriptor: descriptorToJson(range), ...rest })), stores }
    })
  }

  /** Records ranges that just changed (split, membership). */
  reportRanges(req: PdReportRangesRequest): Promise<PdEmptyResponse> {
    return this.run(PD_SERVICE.reportRanges, req, async (d) => {
      await d.reportRanges(req.ranges.map(descriptorFromJson), req.leaderNodeId)
      return {}
    })
  }

  /** `count` fresh timestamps. */
  async tso(req: PdTsoRequest): Promise<PdTsoResponse> {
    const via = req.forwarded ? undefined : this.tsoLeader
    if (via !== undefined) {
      try {
        const res = await this.tsoStream(via).fetch(req.count)
        if (!res.error) return res
      } catch {
        // the stream broke or timed out: asked again below, as any first request is
      }
      this.tsoLeader = undefined
    }
    const local = async (d: PlacementDriver): Promise<PdTsoResponse> => {
      const batch = await d.timestamps(req.count)
      return { first: batch.first.toString(), count: batch.count }
    }
    return this.run(PD_SERVICE.tso, req, local, (nodeId) => (this.tsoLeader = nodeId))
  }

  /** Ends this node's timestamp streams. */
  close(): void {
    for (const s of this.tsoStreams.values()) s.close()
    this.tsoStreams.clear()
  }

  private tsoStream(nodeId: number): TsoStream {
    let s = this.tsoStreams.get(nodeId)
    if (!s) this.tsoStreams.set(nodeId, (s = new TsoStream(() => this.o.openStream(nodeId, PD_SERVICE.tsoStream), TSO_STREAM_TIMEOUT_MS)))
    return s
  }

  /**
   * Serves one timestamp stream from another node: each request is answered as a forwarded
   * `tso` call is (here, or NOT_LEADER); a message that is no request ends the call with
   * INVALID_ARGUMENT (it names no request to answer).
   */
  private serveTsoStream(call: ServerDuplexStream<unknown, PdTsoStreamResponse>): void {
    let refused = false
    // Requests still being answered, and whether the other side has sent its last: the call ends once both are done.
    let answering = 0
    let ended = false
    const endIfDone = () => {
      if (ended && answering === 0 && !refused && !call.destroyed) call.end()
    }
    call.on('data', (body: unknown) => {
      if (refused) return
      let req: PdTsoStreamRequest
      try {
        // A KvError in place of the body: it did not decode (see decodeRequestBody).
        if (body instanceof KvError) throw body
        req = PD_REQUESTS.tsoStream(body)
      } catch (err) {
        refused = true
        call.emit('error', { code: status.INVALID_ARGUMENT, details: err instanceof Error ? err.message : String(err) })
        return
      }
      answering++
      this.tso({ count: req.count, forwarded: true })
        .then(
          (res) => !call.destroyed && call.write({ id: req.id, ...res }),
          (err: unknown) => !call.destroyed && call.write({ id: req.id, error: adminError(err) }),
        )
        .finally(() => {
          answering--
          endIfDone()
        })
    })
    call.on('error', () => {
      // the other node went away; its requests fail there and are asked again
    })
    call.on('end', () => {
      ended = true
      endIfDone()
    })
  }

  /** A fresh range id. */
  allocRangeId(req: { forwarded?: boolean } = {}): Promise<PdAllocResponse> {
    return this.run(PD_SERVICE.allocRangeId, req, async (d) => ({ rangeId: await d.allocateRangeId() }))
  }

  /** Every store with its liveness and load. */
  stores(req: { forwarded?: boolean } = {}): Promise<PdStoresResponse> {
    return this.run(PD_SERVICE.stores, req, async (d) => ({ stores: await d.stores() }))
  }

  /** The cluster's health, and every store. */
  health(req: { forwarded?: boolean } = {}): Promise<PdHealthResponse> {
    return this.run(PD_SERVICE.health, req, async (d) => ({ health: await d.health(), stores: await d.stores() }))
  }

  /** Moves a store to another state (decommission). */
  setStoreState(req: PdSetStoreStateRequest): Promise<PdEmptyResponse> {
    return this.run(PD_SERVICE.setStoreState, req, async (d) => {
      await d.setStoreState(req.storeId, req.state as StoreState)
      return {}
    })
  }

  /** Moves a replica as an operator asked, on the PD leader, which keeps its scheduler off the range meanwhile. */
  moveReplica(req: PdMoveReplicaRequest): Promise<PdEmptyResponse> {
    return this.run(PD_SERVICE.moveReplica, req, async (d) => {
      await d.runRequested({ kind: 'moveReplica', rangeId: req.rangeId, fromNodeId: req.fromStoreId, toNodeId: req.toStoreId, reason: 'asked by an operator' })
      return {}
    })
  }

  /** Adds the PD service, answered through this endpoint, to a gRPC server. */
  serve(server: Server): void {
    const check = PD_REQUESTS
    server.addService(PD_SERVICE, {
      heartbeat: admin(check.heartbeat, (req) => this.heartbeat(req)),
      routing: admin(check.routing, (req) => this.routing(req)),
      reportRanges: admin(check.reportRanges, (req) => this.reportRanges(req)),
      tso: admin(check.tso, (req) => this.tso(req)),
      tsoStream: (call: ServerDuplexStream<unknown, PdTsoStreamResponse>) => this.serveTsoStream(call),
      allocRangeId: admin(check.allocRangeId, (req) => this.allocRangeId(req)),
      stores: admin(check.stores, (req) => this.stores(req)),
      health: admin(check.health, (req) => this.health(req)),
      setStoreState: admin(check.setStoreState, (req) => this.setStoreState(req)),
      moveReplica: admin(check.moveReplica, (req) => this.moveReplica(req)),
    })
  }

  /** Runs `local` on the PD leader: here if this node leads the PD group, else there (forwarded once). */
  private async run<Req extends { forwarded?: boolean }, Res extends object>(
    method: MethodDefinition<Req, Res>,
    req: Req,
    local: (d: PlacementDriver) => Promise<Res>,
    /** Told which node answered, when another node did. */
    answeredBy?: (nodeId: number) => void,
  ): Promise<Res> {
    const d = this.o.driver()
    let hint: number | undefined
    if (d) {
      try {
        return await local(d)
      } catch (err) {
        if (!(err instanceof PdError) || err.code !== PdErrorCode.NOT_LEADER || req.forwarded) throw err
        hint = err.leaderHint
      }
    }
    if (req.forwarded) throw new PdError(PdErrorCode.NOT_LEADER, `node ${this.o.nodeId} holds no PD replica`)
    const candidates = [...new Set([...(hint === undefined ? [] : [hint]), ...this.o.pdNodes(), ...this.o.nodes()])].filter((n) => n !== this.o.nodeId)
    let last: unknown
    for (const nodeId of candidates) {
      try {
        const res = await this.o.call(nodeId, method, { ...req, forwarded: true })
        const error = (res as { error?: AdminError }).error
        if (!error) {
          answeredBy?.(nodeId)
          return res
        }
        last = fromAdminError(error)
        if (error.code !== PdErrorCode.NOT_LEADER && error.code !== PdErrorCode.UNAVAILABLE) throw last
      } catch (err) {
        if (err instanceof PdError && err.code !== PdErrorCode.NOT_LEADER && err.code !== PdErrorCode.UNAVAILABLE) throw err
        last = err
      }
    }
    throw new PdError(PdErrorCode.UNAVAILABLE, `no PD leader answered: ${last instanceof Error ? last.message : 'the PD group has no members known here'}`)
  }
}

// Operator and placement actions on ranges, served by every node: each runs on the range's
// leader, found as KV requests find it — through the node's KV client (its range cache,
// NOT_LEADER hints, retries with backoff). The node runs the action itself when it leads the
// range, else forwards it to the node the client names; a forwarded action runs only on the
// leader, and elsewhere answers NOT_LEADER with the leader it knows, for the client to try next.

import { status as GrpcStatus, type MethodDefinition, type ServiceError } from '@grpc/grpc-js'
import { KvError, KvErrorCode, addReplica, descriptorFromJson, descriptorToJson, fromWire, moveReplica, removeReplica, type KvClient, type RangeDescriptor, type Store } from '@mrdb/kv'
import { NODE_SERVICE, type CreateReplicaRequest, type FreezeRequest, type MergeRequest, type MemberRequest, type RangeAdminResponse, type SplitRequest } from './admin-protocol.js'
import { NodeError, NodeErrorCode, fromAdminError } from './errors.js'
import type { NodeLogger } from './log/node-log.js'

/** How this node reaches its peers' admin service. */
export interface PeerCalls {
  /** Calls `method` on node `nodeId`; rejects if it is unknown or unreachable. */
  call<Req, Res>(nodeId: number, method: MethodDefinition<Req, Res>, req: Req): Promise<Res>
}

/** How this node finds a range's leader: its KV client's routing. */
export type LeaderRouting = Pick<KvClient, 'onLeader'>

/** What range actions need from the placement driver. */
export interface PlacementCalls {
  /** A fresh range id. */
  allocateRangeId(): Promise<number>
  /** Tells the PD of ranges that just changed here (best effort: heartbeats catch up anyway). */
  report(ranges: RangeDescriptor[]): Promise<void>
}

/** Range actions for the node's admin service; see the file comment. */
export class RangeAdmin {
  constructor(
    private readonly store: Store,
    private readonly peers: PeerCalls,
    private readonly routing: LeaderRouting,
    private readonly placement: PlacementCalls,
    /** Where the changes made here (splits, merges, replica moves) are logged. */
    private readonly log: NodeLogger,
  ) {}

  /** Splits the range holding `key` at `key`, or range `rangeId` at its middle key (found by its leader). */
  async split(req: SplitRequest): Promise<RangeAdminResponse> {
    const key = req.key === undefined ? undefined : fromWire(req.key)
    if (key === undefined && req.rangeId === undefined) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, 'a split needs a key or a range id')
    if (key?.length === 0) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, 'a split key must not be empty')
    const target = key === undefined ? { rangeId: positive(req.rangeId, 'rangeId') } : { key }
    return this.onLeader(target, req, NODE_SERVICE.split, async (rangeId) => {
      const splitKey = key ?? (await this.store.replica(rangeId).approximateStats()).middleKey
      if (!splitKey) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `range ${rangeId} holds too few keys to split`)
      const newRangeId = req.newRangeId ?? (await this.placement.allocateRangeId())
      const result = await this.store.write(rangeId, { kind: 'split', splitKey, newRangeId })
      if (!result.ok) throw result.error
      const left = this.store.replica(rangeId).descriptor
      const right = this.store.replica(newRangeId).descriptor
      this.log.info({ rangeId, term: this.termOf(rangeId), newRangeId, splitKey: Buffer.from(splitKey).toString('hex') }, `range ${rangeId}: split off range ${newRangeId}`)
      await this.report(left, right)
      return { descriptor: descriptorToJson(left), created: descriptorToJson(right) }
    })
  }

  /** Adds, removes or moves a replica, or transfers leadership, on the range's leader. */
  async member(req: MemberRequest): Promise<RangeAdminResponse> {
    const rangeId = positive(req.rangeId, 'rangeId')
    const storeId = positive(req.storeId, 'storeId')
    return this.onLeader({ rangeId }, req, NODE_SERVICE.member, async () => {
      const create = (nodeId: number, d: RangeDescriptor) => this.createOn(nodeId, d)
      let d: RangeDescriptor
      switch (req.op) {
        case 'add':
        case 'addLearner':
          d = await addReplica(this.store, rangeId, storeId, req.op === 'addLearner', create)
          break
        case 'remove':
          d = await removeReplica(this.store, rangeId, storeId)
          break
        case 'move':
          d = await moveReplica(this.store, rangeId, storeId, positive(req.toStoreId, 'toStoreId'), create)
          break
        case 'transferLeader':
          this.store.replica(rangeId).transferLeader(storeId)
          d = this.store.replica(rangeId).descriptor
          break
        default:
          throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `unknown member operation ${String(req.op)}`)
      }
      const replicas = d.replicas.map((r) => `${r.replicaId}@${r.nodeId}${r.role === 'voter' ? '' : `:${r.role}`}`).join(' ')
      const what = req.op === 'move' ? `${req.op} from store ${storeId} to store ${req.toStoreId}` : `${req.op} store ${storeId}`
      this.log.info({ rangeId, term: this.termOf(rangeId), op: req.op, storeId, toStoreId: req.toStoreId, replicas }, `range ${rangeId}: ${what}; replicas now ${replicas}`)
      await this.report(d)
      return { descriptor: descriptorToJson(d) }
    })
  }

  /** The Raft term of this node's replica of `rangeId`, for log lines (none once the replica left). */
  private termOf(rangeId: number): number | undefined {
    return this.store.raft.hasGroup(rangeId) ? this.store.raft.status(rangeId).term : undefined
  }

  private async report(...ranges: RangeDescriptor[]): Promise<void> {
    try {
      await this.placement.report(ranges)
    } catch {
      // the next heartbeat of the ranges' leaders tells the PD the same
    }
  }

  /**
   * Merges range `rangeId` with its right-hand neighbour: freezes the neighbour on its
   * leader, waits until every replica of it has applied the freeze, then has this range take
   * it in. Both must sit on the same stores. A merge that stops halfway leaves the neighbour
   * frozen; running the merge again finishes it.
   */
  async merge(req: MergeRequest): Promise<RangeAdminResponse> {
    const rangeId = positive(req.rangeId, 'rangeId')
    return this.onLeader({ rangeId }, req, NODE_SERVICE.merge, async () => {
      const left = this.store.replica(rangeId).descriptor
      if (left.endKey.length === 0) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `range ${rangeId} is the last range: it has no right-hand neighbour`)
      const right = this.localForKey(left.endKey)
      const nodes = (d: RangeDescriptor) => d.replicas.map((r) => `${r.nodeId}:${r.role}`).sort().join(',')
      if (!right || nodes(right) !== nodes(left)) {
        throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `range ${rangeId} and its right-hand neighbour are not on the same stores; move replicas first`)
      }
      const frozen = await this.freeze({ rangeId: right.rangeId })
      const at = frozen.frozenAt ?? 0
      await this.waitApplied(right, at)
      const descriptor = frozen.descriptor ?? descriptorToJson(right)
      const command = { kind: 'merge' as const, right: new TextEncoder().encode(JSON.stringify(descriptor)), rightLastTs: BigInt(frozen.lastTs ?? '0') }
      const result = await this.store.write(rangeId, command)
      if (!result.ok) throw result.error
      const merged = this.store.replica(rangeId).descriptor
      this.log.info({ rangeId, term: this.termOf(rangeId), absorbedRangeId: right.rangeId }, `range ${rangeId}: merged range ${right.rangeId} into it`)
      await this.report(merged)
      return { descriptor: descriptorToJson(merged) }
    })
  }

  /** Freezes a range ahead of its merge, on its leader; says where, if it already is. */
  async freeze(req: FreezeRequest): Promise<RangeAdminResponse> {
    const rangeId = positive(req.rangeId, 'rangeId')
    return this.onLeader({ rangeId }, req, NODE_SERVICE.freeze, async () => {
      const replica = this.store.replica(rangeId)
      let frozenAt = replica.frozenAt
      if (frozenAt === undefined) {
        const result = await this.store.write(rangeId, { kind: 'freeze' })
        if (!result.ok) throw result.error
        frozenAt = result.frozen?.index
      }
      return { descriptor: descriptorToJson(replica.descriptor), frozenAt, lastTs: replica.lastTs.toString() }
    })
  }

  /** Waits until every replica of `d` has applied index `at` (asking each node). */
  private async waitApplied(d: RangeDescriptor, at: number): Promise<void> {
    const deadline = Date.now() + 30_000
    for (const r of d.replicas) {
      for (;;) {
        const applied =
          r.nodeId === this.store.nodeId
            ? this.store.replica(d.rangeId).appliedIndex
            : ((await this.peers.call(r.nodeId, NODE_SERVICE.status, {}).catch(() => undefined))?.ranges?.find((x) => x.rangeId === d.rangeId)?.appliedIndex ?? 0)
        if (applied >= at) break
        if (Date.now() > deadline) throw new KvError(KvErrorCode.TIMEOUT, `the replica of range ${d.rangeId} on node ${r.nodeId} has not applied its freeze; run the merge again`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  /** Creates an empty replica here for a range this node joins. */
  async createReplica(req: CreateReplicaRequest): Promise<RangeAdminResponse> {
    const d = descriptorFromJson(req.descriptor)
    await this.store.createReplica(d)
    return { descriptor: req.descriptor }
  }

  private async createOn(nodeId: number, d: RangeDescriptor): Promise<void> {
    if (nodeId === this.store.nodeId) return this.store.createReplica(d)
    const res = await this.peers.call<CreateReplicaRequest, RangeAdminResponse>(nodeId, NODE_SERVICE.createReplica, { descriptor: descriptorToJson(d) })
    if (res.error) throw fromAdminError(res.error)
  }

  /**
   * Runs `act` on the leader of the range (by id, or holding the key), routed as the file
   * comment says; a forwarded request runs here or is refused with NOT_LEADER.
   */
  private onLeader<Req extends { forwarded?: boolean }>(
    target: { rangeId: number } | { key: Uint8Array },
    req: Req,
    method: MethodDefinition<Req, RangeAdminResponse>,
    act: (rangeId: number) => Promise<RangeAdminResponse>,
  ): Promise<RangeAdminResponse> {
    if (req.forwarded) return this.onLeaderHere(target, act)
    return this.routing.onLeader(target, async (node) => {
      if (node.nodeId === this.store.nodeId) return this.onLeaderHere(target, act)
      const res = await this.peers.call<Req, RangeAdminResponse>(node.nodeId, method, { ...req, forwarded: true }).catch((err: unknown) => {
        throw peerFailure(node.nodeId, err)
      })
      if (res.error) throw fromAdminError(res.error)
      return res
    })
  }

  /** Runs `act` if this node leads the range; else NOT_LEADER (with the leader it knows) or RANGE_NOT_FOUND. */
  private onLeaderHere(target: { rangeId: number } | { key: Uint8Array }, act: (rangeId: number) => Promise<RangeAdminResponse>): Promise<RangeAdminResponse> {
    const rangeId = 'rangeId' in target ? target.rangeId : this.localForKey(target.key)?.rangeId
    if (rangeId === undefined || !this.store.raft.hasGroup(rangeId)) {
      throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `node ${this.store.nodeId} has no replica of range ${rangeId ?? '(for that key)'}`)
    }
    this.store.replica(rangeId).checkLeader()
    return act(rangeId)
  }

  private localForKey(key: Uint8Array): RangeDescriptor | undefined {
    try {
      return this.store.replicaForKey(key).descriptor
    } catch {
      return undefined
    }
  }
}

/**
 * A failed call to a peer as the KV client's routing reads it: a peer that could not be
 * reached is UNAVAILABLE (the client tries another node); any other failure left the action's
 * outcome unknown (TIMEOUT: not retried).
 */
function peerFailure(nodeId: number, err: unknown): KvError {
  if (err instanceof KvError) return err
  const e = err as Partial<Omit<ServiceError, 'code'>> & { code?: unknown }
  const unreachable = e.code === GrpcStatus.UNAVAILABLE || e.code === NodeErrorCode.UNAVAILABLE
  const code = unreachable ? KvErrorCode.UNAVAILABLE : KvErrorCode.TIMEOUT
  return new KvError(code, `node ${nodeId}: ${e.details ?? (err instanceof Error ? err.message : String(err))}`, undefined, { cause: err })
}

function positive(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `${what} must be a positive integer, got ${String(v)}`)
  return v
}

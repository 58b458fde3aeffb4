// Checks of untrusted request bodies, one per method of the node admin and placement driver
// services. A body is whatever a peer or a client sent; no handler sees one unchecked. Each
// check returns a fresh copy holding only the fields its method reads, or throws
// INVALID_ARGUMENT naming the first thing wrong: a NodeError for node admin, a PdError for
// the placement driver.

import { descriptorToJson, type RangeDescriptorJson } from '@mrdb/kv'
import { MAX_CLUSTER_ID_LENGTH, PdError, PdErrorCode, parseRange, parseStoreState } from '@mrdb/placement'
import type { BootstrapRequest, CreateReplicaRequest, DamageLogEntryRequest, FreezeRequest, HelloRequest, InitRequest, JoinPdRequest, LeavePdRequest, MemberRequest, MergeRequest, NetworkFaultsRequest, NODE_SERVICE, NodeStatusRequest, SplitRequest } from './admin-protocol.js'
import { NodeError, NodeErrorCode } from './errors.js'
import type { PD_SERVICE, PdHeartbeatRequest, PdMoveReplicaRequest, PdReportRangesRequest, PdSetStoreStateRequest, PdTsoRequest, PdTsoStreamRequest } from './pd-protocol.js'

/** Longest node address accepted (as the placement driver's store records allow). */
const MAX_ADDRESS_LENGTH = 1024
const MEMBER_OPS: ReadonlyArray<MemberRequest['op']> = ['add', 'addLearner', 'remove', 'move', 'transferLeader']

type Json = Record<string, unknown>

/** The field checks, raising the error type of one service. */
class Checks {
  constructor(
    /** The error for a body that fails a check. */
    readonly invalid: (message: string) => Error,
  ) {}

  object(j: unknown, what: string): Json {
    if (j === null || typeof j !== 'object' || Array.isArray(j)) throw this.invalid(`${what} must be an object`)
    return j as Json
  }

  array(j: unknown, what: string): unknown[] {
    if (!Array.isArray(j)) throw this.invalid(`${what} must be an array`)
    return j
  }

  id(j: unknown, what: string): number {
    if (typeof j !== 'number' || !Number.isSafeInteger(j) || j < 1) throw this.invalid(`${what} must be a positive integer, got ${describe(j)}`)
    return j
  }

  optionalId(j: unknown, what: string): number | undefined {
    return j === undefined ? undefined : this.id(j, what)
  }

  /** A count of bytes, keys or replicas. */
  count(j: unknown, what: string): number {
    if (typeof j !== 'number' || !Number.isSafeInteger(j) || j < 0) throw this.invalid(`${what} must be a non-negative integer, got ${describe(j)}`)
    return j
  }

  /** A rate, such as requests per second. */
  rate(j: unknown, what: string): number {
    if (typeof j !== 'number' || !Number.isFinite(j) || j < 0) throw this.invalid(`${what} must be a non-negative number, got ${describe(j)}`)
    return j
  }

  /** An optional timestamp as a decimal string (a 64-bit TSO timestamp). */
  optionalTimestamp(j: unknown, what: string): string | undefined {
    if (j === undefined) return undefined
    if (typeof j !== 'string' || !/^\d{1,20}$/.test(j) || BigInt(j) >= 2n ** 64n) throw this.invalid(`${what} must be a timestamp (a decimal string), got ${describe(j)}`)
    return j
  }

  optionalCount(j: unknown, what: string): number | undefined {
    return j === undefined ? undefined : this.count(j, what)
  }

  optionalBoolean(j: unknown, what: string): boolean | undefined {
    if (j !== undefined && typeof j !== 'boolean') throw this.invalid(`${what} must be true or false, got ${describe(j)}`)
    return j as boolean | undefined
  }

  string(j: unknown, what: string, maxLength: number): string {
    if (typeof j !== 'string' || j.length === 0 || j.length > maxLength) throw this.invalid(`${what} must be a non-empty string of at most ${maxLength} characters`)
    return j
  }

  /** A node address, host:port. */
  address(j: unknown, what: string): string {
    const s = this.string(j, what, MAX_ADDRESS_LENGTH)
    const colon = s.lastIndexOf(':')
    const port = Number(s.slice(colon + 1))
    if (colon < 1 || !/^\d{1,5}$/.test(s.slice(colon + 1)) || port < 1 || port > 65535 || /\s/.test(s)) throw this.invalid(`${what} must be host:port, got ${describe(s)}`)
    return s
  }

  /** A list of (node id, address) pairs. */
  nodes(j: unknown, what: string): Array<[number, string]> {
    return this.array(j, what).map((pair, i) => {
      const [id, address, ...rest] = this.array(pair, `${what}[${i}]`)
      if (rest.length > 0) throw this.invalid(`${what}[${i}] must be a pair of a node id and an address`)
      return [this.id(id, `${what}[${i}] node id`), this.address(address, `${what}[${i}] address`)]
    })
  }

  /** A range descriptor as JSON, checked as the placement driver checks a range record. */
  descriptor(j: unknown, what: string): RangeDescriptorJson {
    let checked: RangeDescriptorJson
    try {
      checked = descriptorToJson(parseRange(j))
    } catch (err) {
      if (err instanceof PdError) throw this.invalid(`${what}: ${err.message}`)
      throw err
    }
    const next = this.optionalId((j as Json).nextReplicaId, `${what}: next replica id`)
    return next === undefined ? checked : { ...checked, nextReplicaId: next }
  }
}

const node = new Checks((message) => new NodeError(NodeErrorCode.INVALID_ARGUMENT, message))
const pd = new Checks((message) => new PdError(PdErrorCode.INVALID_ARGUMENT, message))

/** The check of each node admin method's request. */
export const NODE_REQUESTS = {
  hello: (j: unknown): HelloRequest => {
    const o = node.object(j, 'a hello')
    return { nodeId: node.id(o.nodeId, 'nodeId'), address: node.address(o.address, 'address'), nodes: o.nodes === undefined ? [] : node.nodes(o.nodes, 'nodes') }
  },
  init: (j: unknown): InitRequest => {
    const o = node.object(j, 'an init')
    return { ranges: node.optionalId(o.ranges, 'ranges'), rootVerifier: o.rootVerifier === undefined ? undefined : node.string(o.rootVerifier, 'rootVerifier', 512) }
  },
  bootstrap: (j: unknown): BootstrapRequest => {
    const o = node.object(j, 'a bootstrap')
    return {
      clusterId: node.string(o.clusterId, 'clusterId', MAX_CLUSTER_ID_LENGTH),
      ranges: node.array(o.ranges, 'ranges').map((d, i) => node.descriptor(d, `ranges[${i}]`)),
      nodes: node.nodes(o.nodes, 'nodes'),
      pdNodes: node.array(o.pdNodes, 'pdNodes').map((id, i) => node.id(id, `pdNodes[${i}]`)),
      ...present({ gcFloor: node.optionalTimestamp(o.gcFloor, 'gcFloor') }),
    }
  },
  status: (j: unknown): NodeStatusRequest => ({ resetLoopDelay: node.optionalBoolean(node.object(j, 'a status request').resetLoopDelay, 'resetLoopDelay') }),
  split: (j: unknown): SplitRequest => {
    const o = node.object(j, 'a split')
    if (o.key !== undefined && typeof o.key !== 'string') throw node.invalid(`key must be a base64 string, got ${describe(o.key)}`)
    return { key: o.key, rangeId: node.optionalId(o.rangeId, 'rangeId'), newRangeId: node.optionalId(o.newRangeId, 'newRangeId'), forwarded: node.optionalBoolean(o.forwarded, 'forwarded') }
  },
  member: (j: unknown): MemberRequest => {
    const o = node.object(j, 'a member change')
    const op = MEMBER_OPS.find((x) => x === o.op)
    if (op === undefined) throw node.invalid(`op must be one of ${MEMBER_OPS.join(', ')}, got ${describe(o.op)}`)
    return {
      rangeId: node.id(o.rangeId, 'rangeId'),
      op,
      storeId: node.id(o.storeId, 'storeId'),
      toStoreId: node.optionalId(o.toStoreId, 'toStoreId'),
      forwarded: node.optionalBoolean(o.forwarded, 'forwarded'),
    }
  },
  createReplica: (j: unknown): CreateReplicaRequest => ({ descriptor: node.descriptor(node.object(j, 'a create-replica request').descriptor, 'descriptor') }),
  merge: (j: unknown): MergeRequest => rangeAction(j, 'a merge'),
  freeze: (j: unknown): FreezeRequest => rangeAction(j, 'a freeze'),
  damageLogEntry: (j: unknown): DamageLogEntryRequest => {
    const o = node.object(j, 'a damage-log-entry request')
    return { rangeId: node.id(o.rangeId, 'rangeId'), index: node.optionalId(o.index, 'index') }
  },
  joinPd: (j: unknown): JoinPdRequest => ({ members: node.array(node.object(j, 'a join-PD request').members, 'members').map((id, i) => node.id(id, `members[${i}]`)) }),
  leavePd: (j: unknown): LeavePdRequest => (node.object(j, 'a leave-PD request'), {}),
  networkFaults: (j: unknown): NetworkFaultsRequest => {
    const o = node.object(j, 'a network-faults request')
    return { blocked: o.blocked === undefined ? undefined : node.array(o.blocked, 'blocked').map((a, i) => node.address(a, `blocked[${i}]`)) }
  },
} satisfies Record<keyof typeof NODE_SERVICE, (j: unknown) => unknown>

function rangeAction(j: unknown, what: string): { rangeId: number; forwarded?: boolean } {
  const o = node.object(j, what)
  return { rangeId: node.id(o.rangeId, 'rangeId'), forwarded: node.optionalBoolean(o.forwarded, 'forwarded') }
}

/** `fields` without the ones that are undefined (optional fields a request left out stay out). */
function present<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** A PD request that carries nothing but the forwarding mark. */
function forwardable(j: unknown): { forwarded?: boolean } {
  return { forwarded: pd.optionalBoolean(pd.object(j, 'a PD request').forwarded, 'forwarded') }
}

/** The check of each placement driver method's request. */
export const PD_REQUESTS = {
  heartbeat: (j: unknown): PdHeartbeatRequest => {
    const o = pd.object(j, 'a heartbeat')
    return {
      storeId: pd.id(o.storeId, 'storeId'),
      address: pd.address(o.address, 'address'),
      capacityBytes: pd.count(o.capacityBytes, 'capacityBytes'),
      usedBytes: pd.count(o.usedBytes, 'usedBytes'),
      replicaCount: pd.count(o.replicaCount, 'replicaCount'),
      leading: pd.array(o.leading, 'leading').map((x, i) => {
        const r = pd.object(x, `leading[${i}]`)
        return {
          descriptor: pd.descriptor(r.descriptor, `leading[${i}].descriptor`),
          approximateBytes: pd.count(r.approximateBytes, `leading[${i}].approximateBytes`),
          approximateKeys: pd.count(r.approximateKeys, `leading[${i}].approximateKeys`),
          readsPerSecond: pd.rate(r.readsPerSecond, `leading[${i}].readsPerSecond`),
          writesPerSecond: pd.rate(r.writesPerSecond, `leading[${i}].writesPerSecond`),
          ...present({
            liveBytes: pd.optionalCount(r.liveBytes, `leading[${i}].liveBytes`),
            garbageBytes: pd.optionalCount(r.garbageBytes, `leading[${i}].garbageBytes`),
            gcLocksClearBelow: pd.optionalTimestamp(r.gcLocksClearBelow, `leading[${i}].gcLocksClearBelow`),
          }),
        }
      }),
      quarantined:
        o.quarantined === undefined
          ? undefined
          : pd.array(o.quarantined, 'quarantined').map((x, i) => {
              const q = pd.object(x, `quarantined[${i}]`)
              return { rangeId: pd.id(q.rangeId, `quarantined[${i}].rangeId`), replicaId: pd.id(q.replicaId, `quarantined[${i}].replicaId`) }
            }),
      ...present({ oldestTxnTs: pd.optionalTimestamp(o.oldestTxnTs, 'oldestTxnTs'), leadingComplete: pd.optionalBoolean(o.leadingComplete, 'leadingComplete') }),
      forwarded: pd.optionalBoolean(o.forwarded, 'forwarded'),
    }
  },
  routing: forwardable,
  reportRanges: (j: unknown): PdReportRangesRequest => {
    const o = pd.object(j, 'a range report')
    return {
      ranges: pd.array(o.ranges, 'ranges').map((d, i) => pd.descriptor(d, `ranges[${i}]`)),
      leaderNodeId: pd.id(o.leaderNodeId, 'leaderNodeId'),
      forwarded: pd.optionalBoolean(o.forwarded, 'forwarded'),
    }
  },
  tso: (j: unknown): PdTsoRequest => {
    const o = pd.object(j, 'a timestamp request')
    return { count: pd.id(o.count, 'count'), forwarded: pd.optionalBoolean(o.forwarded, 'forwarded') }
  },
  tsoStream: (j: unknown): PdTsoStreamRequest => {
    const o = pd.object(j, 'a timestamp stream request')
    return { id: pd.id(o.id, 'id'), count: pd.id(o.count, 'count') }
  },
  health: forwardable,
  allocRangeId: forwardable,
  stores: forwardable,
  setStoreState: (j: unknown): PdSetStoreStateRequest => {
    const o = pd.object(j, 'a store state change')
    return { storeId: pd.id(o.storeId, 'storeId'), state: parseStoreState(o.state), forwarded: pd.optionalBoolean(o.forwarded, 'forwarded') }
  },
  moveReplica: (j: unknown): PdMoveReplicaRequest => {
    const o = pd.object(j, 'a replica move')
    return { rangeId: pd.id(o.rangeId, 'rangeId'), fromStoreId: pd.id(o.fromStoreId, 'fromStoreId'), toStoreId: pd.id(o.toStoreId, 'toStoreId'), forwarded: pd.optionalBoolean(o.forwarded, 'forwarded') }
  },
} satisfies Record<keyof typeof PD_SERVICE, (j: unknown) => unknown>

/** A value for an error message: short, whatever it is. */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (v === null || typeof v !== 'object') return String(v)
  return Array.isArray(v) ? 'an array' : 'an object'
}

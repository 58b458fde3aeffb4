// The PD's replicated commands as they travel in Raft entries: JSON, in an envelope that
// names the proposer so it can be told of the outcome. Decoding checks the shape of every
// field; what a command means for the state is checked when it applies (pd-apply.ts).

import { MAX_TIMESTAMP } from '@mrdb/storage'
import { PdError, PdErrorCode } from './errors.js'
import { parseId, parseRange, parseStore, parseStoreState, rangeToJson, type RangeRecord, type StoreRecord, type StoreState } from './pd-state.js'

/** The id spaces allocIds hands out from. */
export type IdKind = 'range' | 'replica'

/** A change to the PD state, replicated through the PD's Raft group. */
export type PdCommand =
  /** Sets the cluster's identity, first stores and ranges, once. `nextRangeId` must be above every range id. */
  | { kind: 'bootstrap'; clusterId: string; stores: readonly StoreRecord[]; ranges: readonly RangeRecord[]; nextRangeId: number }
  /** Registers a store or updates its record. A removed store stays removed. */
  | { kind: 'putStore'; store: StoreRecord }
  /** Moves a known store to `state` (a removed store cannot leave that state). */
  | { kind: 'setStoreState'; storeId: number; state: StoreState }
  /**
   * Records a range as its replicas reported it, unless the PD knows a newer one: a stored
   * record of the same id with a higher generation, or an overlapping range whose generation
   * is not lower, make it stale (a no-op). Overlapping ranges of lower generations are
   * replaced (removed), as after a split or merge.
   */
  | { kind: 'putRange'; range: RangeRecord }
  /** Forgets a range (merged away), unless its stored generation is above `generation` (stale). */
  | { kind: 'removeRange'; rangeId: number; generation: number }
  /** Hands out `count` consecutive ids of a kind (1 to {@link MAX_ALLOC_COUNT}); the result is the first. */
  | { kind: 'allocIds'; idKind: IdKind; count: number }
  /** Raises the TSO's persisted upper bound to `limit` if it is higher; the result is the bound now. */
  | { kind: 'raiseTsoLimit'; limit: bigint }
  /** Raises the cluster's GC safe point to `safePoint` if it is higher; the result is the safe point now. */
  | { kind: 'raiseGcSafePoint'; safePoint: bigint }

/** The kind of a {@link PdCommand}. */
export type PdCommandKind = PdCommand['kind']

/** What each kind of command returns when it applies. */
export interface PdResultValues {
  bootstrap: Record<never, never>
  putStore: Record<never, never>
  setStoreState: Record<never, never>
  /** `stale`: nothing changed, a newer record is known. `replaced`: ids of overlapping ranges removed. */
  putRange: { stale: boolean; replaced: number[] }
  /** `stale`: nothing changed, the stored record is newer. */
  removeRange: { stale: boolean }
  allocIds: { first: number }
  raiseTsoLimit: { limit: bigint }
  raiseGcSafePoint: { safePoint: bigint }
}

/** The outcome of a command: its values, or why it did not apply (a {@link PdError} with a code). */
export type PdResult<K extends PdCommandKind = PdCommandKind> = ({ ok: true } & PdResultValues[K]) | { ok: false; error: PdError }

/** A command with the proposer's identity. */
export interface PdCommandEnvelope {
  /** Unique per proposal on the proposing node, across its restarts too; 0 when nobody waits. */
  proposalId: number
  /** The node that proposed it. */
  nodeId: number
  command: PdCommand
}

/** A decoded entry: the command, or the error that makes it a rejection. */
export interface DecodedPdEntry {
  proposalId: number
  nodeId: number
  command: PdCommand | PdError
}

/** Most ids one allocIds command hands out. */
export const MAX_ALLOC_COUNT = 10_000
/** Longest cluster id accepted. */
export const MAX_CLUSTER_ID_LENGTH = 128

const ID_KINDS: readonly IdKind[] = ['range', 'replica']

/** Encodes a command envelope for a Raft entry. */
export function encodePdCommand(env: PdCommandEnvelope): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ proposalId: env.proposalId, nodeId: env.nodeId, command: commandToJson(env.command) }))
}

/**
 * Decodes an entry. Undefined when not even the envelope can be read (nobody to tell, and
 * every replica skips it alike); a malformed command decodes to its INVALID_ARGUMENT error.
 */
export function decodePdEntry(bytes: Uint8Array): DecodedPdEntry | undefined {
  let j: unknown
  try {
    j = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return undefined
  }
  if (j === null || typeof j !== 'object') return undefined
  const { proposalId, nodeId, command } = j as Record<string, unknown>
  if (!Number.isSafeInteger(proposalId) || !Number.isSafeInteger(nodeId)) return undefined
  try {
    return { proposalId: proposalId as number, nodeId: nodeId as number, command: parseCommand(command) }
  } catch (err) {
    if (err instanceof PdError) return { proposalId: proposalId as number, nodeId: nodeId as number, command: err }
    throw err
  }
}

/** A command as JSON-safe data. Values of the wrong type become null, so they fail decoding rather than encoding. */
function commandToJson(c: PdCommand): unknown {
  switch (c.kind) {
    case 'bootstrap':
      return { ...c, ranges: Array.isArray(c.ranges) ? c.ranges.map(rangeJson) : null }
    case 'putRange':
      return { ...c, range: rangeJson(c.range) }
    case 'raiseTsoLimit':
      return { kind: c.kind, limit: typeof c.limit === 'bigint' ? c.limit.toString() : null }
    case 'raiseGcSafePoint':
      return { kind: c.kind, safePoint: typeof c.safePoint === 'bigint' ? c.safePoint.toString() : null }
    default:
      return c
  }
}

function rangeJson(r: RangeRecord): unknown {
  return r?.startKey instanceof Uint8Array && r.endKey instanceof Uint8Array && Array.isArray(r.replicas) ? rangeToJson(r) : null
}

function parseCommand(j: unknown): PdCommand {
  if (j === null || typeof j !== 'object') throw invalid('command must be an object')
  const o = j as Record<string, unknown>
  switch (o.kind) {
    case 'bootstrap': {
      if (typeof o.clusterId !== 'string' || o.clusterId.length === 0 || o.clusterId.length > MAX_CLUSTER_ID_LENGTH) {
        throw invalid(`cluster id must be a non-empty string of at most ${MAX_CLUSTER_ID_LENGTH} characters`)
      }
      if (!Array.isArray(o.stores) || !Array.isArray(o.ranges)) throw invalid('bootstrap needs arrays of stores and ranges')
      return { kind: o.kind, clusterId: o.clusterId, stores: o.stores.map(parseStore), ranges: o.ranges.map(parseRange), nextRangeId: parseId(o.nextRangeId, 'next range id') }
    }
    case 'putStore':
      return { kind: o.kind, store: parseStore(o.store) }
    case 'setStoreState':
      return { kind: o.kind, storeId: parseId(o.storeId, 'store id'), state: parseStoreState(o.state) }
    case 'putRange':
      return { kind: o.kind, range: parseRange(o.range) }
    case 'removeRange': {
      if (!Number.isSafeInteger(o.generation) || (o.generation as number) < 0) throw invalid('generation must be a non-negative integer')
      return { kind: o.kind, rangeId: parseId(o.rangeId, 'range id'), generation: o.generation as number }
    }
    case 'allocIds': {
      if (!ID_KINDS.includes(o.idKind as IdKind)) throw invalid(`id kind must be one of ${ID_KINDS.join(', ')}`)
      if (!Number.isSafeInteger(o.count) || (o.count as number) < 1 || (o.count as number) > MAX_ALLOC_COUNT) {
        throw invalid(`count must be an integer in [1, ${MAX_ALLOC_COUNT}], got ${String(o.count)}`)
      }
      return { kind: o.kind, idKind: o.idKind as IdKind, count: o.count as number }
    }
    case 'raiseTsoLimit': {
      const limit = typeof o.limit === 'string' && /^\d{1,20}$/.test(o.limit) ? BigInt(o.limit) : -1n
      if (limit < 0n || limit > MAX_TIMESTAMP) throw invalid('TSO limit must be a timestamp in [0, 2^64)')
      return { kind: o.kind, limit }
    }
    case 'raiseGcSafePoint': {
      const safePoint = typeof o.safePoint === 'string' && /^\d{1,20}$/.test(o.safePoint) ? BigInt(o.safePoint) : -1n
      if (safePoint < 0n || safePoint > MAX_TIMESTAMP) throw invalid('GC safe point must be a timestamp in [0, 2^64)')
      return { kind: o.kind, safePoint }
    }
    default:
      throw invalid(`unknown command kind ${String(o.kind)}`)
  }
}

function invalid(message: string): PdError {
  return new PdError(PdErrorCode.INVALID_ARGUMENT, message)
}

// What a replica persists beside its data, written in the same engine batch as the effects
// of the entries it applied, so that replay after a crash starts exactly where it stopped.

import type { ConfState } from '@mrdb/raft'
import { StorageError, StorageErrorCode } from '@mrdb/storage'
import { descriptorFromJson, descriptorToJson, type RangeDescriptor, type RangeDescriptorJson } from '../api/range-descriptor.js'

/** A replica's applied position and the range metadata as of it. */
export interface ReplicaState {
  appliedIndex: number
  appliedTerm: number
  /** The last MVCC timestamp applied; every later write gets a larger one. */
  lastTs: bigint
  confState: ConfState
  descriptor: RangeDescriptor
  /** The index of the freeze command, once the range is frozen ahead of a merge: nothing applies after it. */
  frozenAt?: number
  /** Reads below this timestamp are refused: GC may have collected what they need (absent: 0). */
  gcThreshold?: bigint
  /** Transactions that started below this timestamp may not prewrite here (absent: 0); never below {@link gcThreshold}. */
  gcFence?: bigint
}

/** Range-local, unreplicated: `01 02 <range id u64>` → the replica state. */
const REPLICA_STATE_PREFIX = Uint8Array.of(0x01, 0x02)

/** The engine key of a range's replica state. */
export function replicaStateKey(rangeId: number): Uint8Array {
  const key = new Uint8Array(REPLICA_STATE_PREFIX.length + 8)
  key.set(REPLICA_STATE_PREFIX)
  new DataView(key.buffer).setBigUint64(REPLICA_STATE_PREFIX.length, BigInt(rangeId))
  return key
}

/** The span of every replica state key: [gte, lt). */
export const REPLICA_STATE_SPAN: [Uint8Array, Uint8Array] = [REPLICA_STATE_PREFIX, Uint8Array.of(0x01, 0x03)]

interface Json {
  appliedIndex: number
  appliedTerm: number
  lastTs: string
  confState: ConfState
  descriptor: RangeDescriptorJson
  frozenAt?: number
  gcThreshold?: string
  gcFence?: string
}

/** Encodes a replica state. */
export function encodeReplicaState(s: ReplicaState): Uint8Array {
  const json: Json = { appliedIndex: s.appliedIndex, appliedTerm: s.appliedTerm, lastTs: s.lastTs.toString(), confState: s.confState, descriptor: descriptorToJson(s.descriptor), frozenAt: s.frozenAt }
  if (s.gcThreshold) json.gcThreshold = s.gcThreshold.toString()
  if (s.gcFence) json.gcFence = s.gcFence.toString()
  return new TextEncoder().encode(JSON.stringify(json))
}

/** Decodes a replica state; damaged bytes raise ERR_CORRUPTION. */
export function decodeReplicaState(bytes: Uint8Array): ReplicaState {
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes)) as Json
    const state: ReplicaState = { appliedIndex: j.appliedIndex, appliedTerm: j.appliedTerm, lastTs: BigInt(j.lastTs), confState: j.confState, descriptor: descriptorFromJson(j.descriptor) }
    if (j.frozenAt !== undefined) state.frozenAt = j.frozenAt
    if (j.gcThreshold !== undefined) state.gcThreshold = BigInt(j.gcThreshold)
    if (j.gcFence !== undefined) state.gcFence = BigInt(j.gcFence)
    return state
  } catch (cause) {
    throw new StorageError(StorageErrorCode.CORRUPTION, 'replica state is damaged', { cause })
  }
}

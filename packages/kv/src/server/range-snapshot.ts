// The data of a Raft snapshot of a range: the replica state at the snapshot's index and
// every engine pair of the range's MVCC data, length-prefixed.

import { StorageError, StorageErrorCode } from '@mrdb/storage'
import { decodeReplicaState, encodeReplicaState, type ReplicaState } from './replica-state.js'

/** A decoded range snapshot. */
export interface RangeSnapshot {
  state: ReplicaState
  pairs: Array<[Uint8Array, Uint8Array]>
}

/** Encodes a range snapshot into one buffer. */
export function encodeRangeSnapshot(snap: RangeSnapshot): Uint8Array {
  const state = encodeReplicaState(snap.state)
  let size = 4 + state.length
  for (const [k, v] of snap.pairs) size += 8 + k.length + v.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, state.length)
  out.set(state, 4)
  let at = 4 + state.length
  for (const [k, v] of snap.pairs) {
    view.setUint32(at, k.length)
    out.set(k, at + 4)
    at += 4 + k.length
    view.setUint32(at, v.length)
    out.set(v, at + 4)
    at += 4 + v.length
  }
  return out
}

/** Decodes a range snapshot; damaged bytes raise ERR_CORRUPTION. */
export function decodeRangeSnapshot(bytes: Uint8Array): RangeSnapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const take = (at: number): [Uint8Array, number] => {
    if (at + 4 > bytes.length) throw corrupt()
    const len = view.getUint32(at)
    if (at + 4 + len > bytes.length) throw corrupt()
    return [bytes.subarray(at + 4, at + 4 + len), at + 4 + len]
  }
  const [stateBytes, first] = take(0)
  const pairs: Array<[Uint8Array, Uint8Array]> = []
  for (let at = first; at < bytes.length; ) {
    const [k, afterKey] = take(at)
    const [v, afterValue] = take(afterKey)
    pairs.push([k, v])
    at = afterValue
  }
  return { state: decodeReplicaState(stateBytes), pairs }
}

function corrupt(): StorageError {
  return new StorageError(StorageErrorCode.CORRUPTION, 'range snapshot is damaged')
}

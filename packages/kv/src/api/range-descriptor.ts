import { compareBytes } from '@mrdb/storage'

/** How a replica takes part in its range's Raft group. */
export type ReplicaRole = 'voter' | 'learner'

/** One replica of a range: which node holds it, under which Raft replica id. */
export interface ReplicaDescriptor {
  replicaId: number
  nodeId: number
  role: ReplicaRole
}

/**
 * A range: the keys in [startKey, endKey) (an empty endKey means "to the end of the
 * keyspace"), replicated by the listed replicas. `generation` grows with every split, merge
 * or membership change, so stale copies can be told from fresh ones.
 */
export interface RangeDescriptor {
  rangeId: number
  startKey: Uint8Array
  endKey: Uint8Array
  generation: number
  replicas: ReplicaDescriptor[]
  /** The replica id the next added replica gets; ids are never reused. Absent: one above the highest. */
  nextReplicaId?: number
}

/** The replica id a replica added to `d` gets. */
export function nextReplicaId(d: RangeDescriptor): number {
  return Math.max(d.nextReplicaId ?? 0, ...d.replicas.map((r) => r.replicaId + 1), 1)
}

/** Whether two ranges' key spans overlap. */
export function rangesOverlap(a: RangeDescriptor, b: RangeDescriptor): boolean {
  const aBeforeB = a.endKey.length > 0 && compareBytes(a.endKey, b.startKey) <= 0
  const bBeforeA = b.endKey.length > 0 && compareBytes(b.endKey, a.startKey) <= 0
  return !aBeforeB && !bBeforeA
}

/** Whether `key` falls inside the range. */
export function rangeContains(d: RangeDescriptor, key: Uint8Array): boolean {
  return compareBytes(key, d.startKey) >= 0 && (d.endKey.length === 0 || compareBytes(key, d.endKey) < 0)
}

/** The replica on `nodeId`, if the range has one there. */
export function replicaOnNode(d: RangeDescriptor, nodeId: number): ReplicaDescriptor | undefined {
  return d.replicas.find((r) => r.nodeId === nodeId)
}

/** A descriptor as JSON-safe data (keys in hex). */
export interface RangeDescriptorJson {
  rangeId: number
  startKey: string
  endKey: string
  generation: number
  replicas: ReplicaDescriptor[]
  nextReplicaId?: number
}

/** Converts a descriptor to JSON-safe data. */
export function descriptorToJson(d: RangeDescriptor): RangeDescriptorJson {
  return { ...d, startKey: Buffer.from(d.startKey).toString('hex'), endKey: Buffer.from(d.endKey).toString('hex'), replicas: d.replicas.map((r) => ({ ...r })) }
}

/** Converts JSON-safe data back to a descriptor. */
export function descriptorFromJson(j: RangeDescriptorJson): RangeDescriptor {
  return { ...j, startKey: Buffer.from(j.startKey, 'hex'), endKey: Buffer.from(j.endKey, 'hex'), replicas: j.replicas.map((r) => ({ ...r })) }
}

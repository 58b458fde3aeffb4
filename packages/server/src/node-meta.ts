// What a node remembers about itself and the cluster across restarts, in its engine
// (range-local keyspace): its store id, the cluster it joined, peers' addresses, and which
// stores hold the placement driver's group.

import { StorageError, StorageErrorCode, type Engine } from '@mrdb/storage'

/** A node's persistent metadata. */
export interface NodeMeta {
  storeId: number
  /** Set once the cluster is bootstrapped. */
  clusterId: string | undefined
  /** Node id → address, this node's included. */
  nodes: Map<number, string>
  /** The stores that hold replicas of the PD group, as of bootstrap. */
  pdNodes: number[]
  /** The cluster's GC safe point as this node last learned it (reads below it are refused, restarts included). */
  gcSafePoint?: bigint
}

const META_KEY = Uint8Array.of(0x01, 0x03, 0x6d, 0x65, 0x74, 0x61) // 01 03 "meta"

interface Json {
  storeId: number
  clusterId?: string
  nodes: Array<[number, string]>
  pdNodes?: number[]
  gcSafePoint?: string
}

/** Loads the metadata, or undefined on a fresh data directory. */
export async function loadNodeMeta(engine: Engine): Promise<NodeMeta | undefined> {
  const raw = await engine.get(META_KEY)
  if (!raw) return undefined
  try {
    const j = JSON.parse(Buffer.from(raw).toString('utf8')) as Json
    const meta: NodeMeta = { storeId: j.storeId, clusterId: j.clusterId, nodes: new Map(j.nodes), pdNodes: j.pdNodes ?? [] }
    if (j.gcSafePoint !== undefined) meta.gcSafePoint = BigInt(j.gcSafePoint)
    return meta
  } catch (cause) {
    throw new StorageError(StorageErrorCode.CORRUPTION, 'node metadata is damaged', { cause })
  }
}

/** Saves the metadata durably. */
export async function saveNodeMeta(engine: Engine, meta: NodeMeta): Promise<void> {
  const j: Json = { storeId: meta.storeId, clusterId: meta.clusterId, nodes: [...meta.nodes], pdNodes: meta.pdNodes }
  if (meta.gcSafePoint !== undefined) j.gcSafePoint = meta.gcSafePoint.toString()
  await engine.put(META_KEY, JSON.stringify(j), { sync: true })
}

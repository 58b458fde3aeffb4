// What a node tells the placement driver about itself every heartbeat: its address, disk
// capacity and use, how many replicas it holds, the ranges it leads with their size and
// load (reads and writes served per second), its live and garbage bytes and how far its
// garbage collection got, the replicas it quarantined, and the oldest running transaction
// of its SQL gateway.

import { statfs } from 'node:fs/promises'
import { descriptorToJson, type GcQueue, type Store } from '@mrdb/kv'
import type { PdHeartbeatRequest } from './pd-protocol.js'

/**
 * Builds this node's heartbeat; `elapsedMs` since the last one turns served requests into
 * rates. `oldestTxnTs` is asked for last, right before the heartbeat goes out.
 */
export async function storeHeartbeat(
  store: Store,
  address: string,
  dataDir: string,
  elapsedMs: number,
  gc?: { queue: GcQueue; oldestTxnTs: () => Promise<bigint> },
): Promise<PdHeartbeatRequest> {
  const fs = await statfs(dataDir)
  const leading: PdHeartbeatRequest['leading'] = []
  const held = store.descriptors()
  for (const d of held) {
    const replica = store.replica(d.rangeId)
    const served = replica.takeLoad()
    if (store.raft.leaderOf(d.rangeId) !== replica.replicaId) continue
    const stats = await replica.approximateStats()
    const perSecond = (n: number) => (elapsedMs > 0 ? (n * 1000) / elapsedMs : 0)
    leading.push({
      descriptor: descriptorToJson(replica.descriptor),
      approximateBytes: stats.bytes,
      approximateKeys: stats.keys,
      readsPerSecond: perSecond(served.reads),
      writesPerSecond: perSecond(served.writes),
      liveBytes: stats.liveBytes,
      garbageBytes: stats.garbageBytes,
      gcLocksClearBelow: gc?.queue.locksClearBelow(d.rangeId, replica.descriptor.generation)?.toString(),
    })
  }
  const oldestTxnTs = gc ? (await gc.oldestTxnTs()).toString() : undefined
  return {
    storeId: store.nodeId,
    address,
    capacityBytes: fs.blocks * fs.bsize,
    usedBytes: (fs.blocks - fs.bavail) * fs.bsize,
    replicaCount: held.length,
    leading,
    quarantined: store.quarantined().map((q) => ({ rangeId: q.rangeId, replicaId: q.replicaId })),
    oldestTxnTs,
  }
}

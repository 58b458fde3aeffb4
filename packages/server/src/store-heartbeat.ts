// What a node tells the placement driver about itself every heartbeat: its address, disk
// capacity and use, how many replicas it holds, the ranges it leads with their size and
// load (reads and writes served per second), its live and garbage bytes and how far its
// garbage collection got, the replicas it quarantined, and the oldest running transaction
// of its SQL gateway. A heartbeat lists only the led ranges whose report changed since the
// last one the PD took (LeadReports), and all of them when the PD asks or every
// COMPLETE_EVERY heartbeats: with thousands of idle ranges, an unchanged list sent every
// second cost the node and the PD leader more than everything else an idle cluster does.

import { statfs } from 'node:fs/promises'
import { descriptorToJson, type GcQueue, type Store } from '@mrdb/kv'
import type { PdHeartbeatRequest } from './pd-protocol.js'

/** Every this many heartbeats the list of led ranges is complete even if the PD did not ask. */
export const COMPLETE_EVERY = 60

/** What this node last told the PD about the ranges it leads; see the file comment. */
export class LeadReports {
  /** Per led range, the report the PD last took (a signature of its fields). */
  private taken = new Map<number, string>()
  /** Complete lists are due: at start, when the PD asked, and every COMPLETE_EVERY heartbeats. */
  private completeDue = true
  private sinceComplete = 0

  /** Whether the next heartbeat lists every led range. */
  get complete(): boolean {
    return this.completeDue || this.sinceComplete + 1 >= COMPLETE_EVERY
  }

  /** Whether a range's report with this signature must go out (it changed, or the list is complete). */
  changed(rangeId: number, signature: string): boolean {
    return this.complete || this.taken.get(rangeId) !== signature
  }

  /**
   * The PD took a heartbeat whose led ranges had the signatures `sent` (every led range,
   * listed or not); `wantComplete`: it asks for a complete list next time. After a failed
   * heartbeat nothing is acknowledged, so what changed is listed again.
   */
  acknowledge(sent: ReadonlyMap<number, string>, complete: boolean, wantComplete: boolean): void {
    this.taken = new Map(sent)
    this.sinceComplete = complete ? 0 : this.sinceComplete + 1
    this.completeDue = wantComplete
  }
}

/**
 * Builds this node's heartbeat, the signatures of its led ranges' reports (for
 * {@link LeadReports.acknowledge}) and the load of every range it leads; `elapsedMs` since the last one turns served requests into
 * rates. `oldestTxnTs` is asked for last, right before the heartbeat goes out.
 */
export async function storeHeartbeat(
  store: Store,
  address: string,
  dataDir: string,
  elapsedMs: number,
  gc: { queue: GcQueue; oldestTxnTs: () => Promise<bigint> } | undefined,
  reports: LeadReports,
): Promise<{ request: PdHeartbeatRequest; signatures: Map<number, string>; load: Array<{ rangeId: number; queriesPerSecond: number }> }> {
  const fs = await statfs(dataDir)
  const leading: PdHeartbeatRequest['leading'] = []
  const signatures = new Map<number, string>()
  const load: Array<{ rangeId: number; queriesPerSecond: number }> = []
  const held = store.hostedReplicas()
  for (const replica of held) {
    const d = replica.descriptor
    const served = replica.takeLoad()
    if (!replica.leads()) continue
    const stats = replica.freshStats() ?? (await replica.approximateStats())
    // Removed while its stats were counted (or an earlier range's were): its group is gone.
    if (!store.raft.hasGroup(d.rangeId)) continue
    const perSecond = (n: number) => (elapsedMs > 0 ? (n * 1000) / elapsedMs : 0)
    const locksClear = gc?.queue.locksClearBelow(d.rangeId, replica.descriptor.generation)?.toString()
    // A range that served requests is always listed: its rates are news.
    const busy = served.reads > 0 || served.writes > 0
    // The term: a leadership that left and came back between two heartbeats is news too.
    const signature = busy ? '' : `${store.raft.termOf(d.rangeId)}/${replica.descriptor.generation}/${stats.bytes}/${stats.keys}/${stats.liveBytes}/${stats.garbageBytes}/${locksClear ?? ''}`
    signatures.set(d.rangeId, signature)
    load.push({ rangeId: d.rangeId, queriesPerSecond: perSecond(served.reads + served.writes) })
    if (!busy && !reports.changed(d.rangeId, signature)) continue
    leading.push({
      descriptor: descriptorToJson(replica.descriptor),
      approximateBytes: stats.bytes,
      approximateKeys: stats.keys,
      readsPerSecond: perSecond(served.reads),
      writesPerSecond: perSecond(served.writes),
      liveBytes: stats.liveBytes,
      garbageBytes: stats.garbageBytes,
      gcLocksClearBelow: locksClear,
    })
  }
  const oldestTxnTs = gc ? (await gc.oldestTxnTs()).toString() : undefined
  const request: PdHeartbeatRequest = {
    storeId: store.nodeId,
    address,
    capacityBytes: fs.blocks * fs.bsize,
    usedBytes: (fs.blocks - fs.bavail) * fs.bsize,
    replicaCount: held.length,
    leading,
    quarantined: store.quarantined().map((q) => ({ rangeId: q.rangeId, replicaId: q.replicaId })),
    oldestTxnTs,
  }
  if (!reports.complete) request.leadingComplete = false
  return { request, signatures, load }
}

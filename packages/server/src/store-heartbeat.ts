// What a node tells the placement driver about itself every heartbeat: its address, disk
// capacity and use, how many replicas it holds, the ranges it leads with their size and
// load (reads and writes served per second), its live and garbage bytes and how far its
// garbage collection got, the replicas it quarantined, and the oldest running transaction
// of its SQL gateway. A heartbeat lists only the led ranges whose report changed since the
// last one the PD took (LeadReports), and all of them when the PD asks or every
// COMPLETE_EVERY heartbeats: with thousands of idle ranges, an unchanged list sent every
// second cost the node and the PD leader more than everything else an idle cluster does.
// Nor does it look at every led range: only at those the store marked changed since
// (Store.watchChanges: an apply, a leader change, a count of stats, a first request served,
// a new lock report of the GC queue), and at those the last one left to look at again.

import { statfs } from 'node:fs/promises'
import { descriptorToJson, type ChangedRanges, type GcQueue, type Store } from '@mrdb/kv'
import type { PdHeartbeatRequest } from './pd-protocol.js'

/** Every this many heartbeats the list of led ranges is complete even if the PD did not ask. */
export const COMPLETE_EVERY = 60

/** One heartbeat's look at the ranges; see {@link LeadReports.begin}. */
export class ReportRound {
  /** Per range looked at: the signature of its report if it is led here, else undefined. */
  readonly seen = new Map<number, string | undefined>()
  /**
   * Ranges the next heartbeat looks at even if nothing marks them: they served requests (the
   * next report has their new rates, zeros if they served none since), or their stats are
   * older than what they applied (a count is due when those expire).
   */
  readonly again: number[] = []

  constructor(
    /** Whether this heartbeat lists every led range (and looks at every hosted one). */
    readonly complete: boolean,
    /** The ranges marked changed since the last heartbeat the PD took. */
    readonly marked: ReadonlySet<number>,
  ) {}
}

/** What this node last told the PD about the ranges it leads; see the file comment. */
export class LeadReports {
  /** Per led range, the report the PD last took (a signature of its fields). */
  private taken = new Map<number, string>()
  /** Complete lists are due: at start, when the PD asked, and every COMPLETE_EVERY heartbeats. */
  private completeDue = true
  private sinceComplete = 0

  constructor(
    /** The store's feed of changed ranges (Store.watchChanges), taken by each heartbeat. */
    private readonly changes: ChangedRanges,
  ) {}

  /** Whether the next heartbeat lists every led range. */
  get complete(): boolean {
    return this.completeDue || this.sinceComplete + 1 >= COMPLETE_EVERY
  }

  /**
   * Starts a heartbeat: it looks at every hosted range if {@link complete}, else at the
   * ranges marked changed since the last heartbeat the PD took (taken from the feed now).
   * End it with {@link acknowledge} or {@link failed}.
   */
  begin(): ReportRound {
    return new ReportRound(this.complete, this.changes.take())
  }

  /** Whether a range's report with this signature must go out (it changed, or the list is complete). */
  changed(rangeId: number, signature: string): boolean {
    return this.complete || this.taken.get(rangeId) !== signature
  }

  /** The PD took the heartbeat of `round`; `wantComplete`: it asks for a complete list next time. */
  acknowledge(round: ReportRound, wantComplete: boolean): void {
    if (round.complete) this.taken = new Map()
    for (const [id, signature] of round.seen) {
      if (signature === undefined) this.taken.delete(id)
      else this.taken.set(id, signature)
    }
    for (const id of round.again) this.changes.mark(id)
    this.sinceComplete = round.complete ? 0 : this.sinceComplete + 1
    this.completeDue = wantComplete
  }

  /** The heartbeat of `round` failed: nothing is acknowledged, and what it looked at is marked again, to be listed next time. */
  failed(round: ReportRound): void {
    for (const id of round.marked) this.changes.mark(id)
    for (const id of round.seen.keys()) this.changes.mark(id)
  }
}

/**
 * Builds this node's heartbeat for `round` (begun with {@link LeadReports.begin}; the caller
 * ends it with {@link LeadReports.acknowledge} or {@link LeadReports.failed}) and the load of the
 * ranges it leads that served requests; `elapsedMs` since the last one turns served requests
 * into rates. `oldestTxnTs` is asked for last, right before the heartbeat goes out.
 */
export async function storeHeartbeat(
  store: Store,
  address: string,
  dataDir: string,
  elapsedMs: number,
  gc: { queue: GcQueue; oldestTxnTs: () => Promise<bigint> } | undefined,
  reports: LeadReports,
  round: ReportRound,
): Promise<{ request: PdHeartbeatRequest; load: Array<{ rangeId: number; queriesPerSecond: number }> }> {
  const fs = await statfs(dataDir)
  const leading: PdHeartbeatRequest['leading'] = []
  const load: Array<{ rangeId: number; queriesPerSecond: number }> = []
  const perSecond = (n: number) => (elapsedMs > 0 ? (n * 1000) / elapsedMs : 0)
  if (!round.complete) for (const id of round.marked) if (!store.localReplica(id)) round.seen.set(id, undefined)
  const visit = round.complete ? store.hostedReplicas() : store.hostedReplicasOf(round.marked)
  for (const replica of visit) {
    const d = replica.descriptor
    const served = replica.takeLoad()
    if (!replica.leads()) {
      round.seen.set(d.rangeId, undefined)
      continue
    }
    const stats = replica.freshStats() ?? (await replica.approximateStats())
    // Removed while its stats were counted (or an earlier range's were): its group is gone.
    if (!store.raft.hasGroup(d.rangeId)) {
      round.seen.set(d.rangeId, undefined)
      continue
    }
    const locksClear = gc?.queue.locksClearBelow(d.rangeId, replica.descriptor.generation)?.toString()
    // A range that served requests is always listed: its rates are news.
    const busy = served.reads > 0 || served.writes > 0
    if (busy || !replica.statsCurrent()) round.again.push(d.rangeId)
    // The term: a leadership that left and came back between two heartbeats is news too.
    const signature = busy ? '' : `${store.raft.termOf(d.rangeId)}/${replica.descriptor.generation}/${stats.bytes}/${stats.keys}/${stats.liveBytes}/${stats.garbageBytes}/${locksClear ?? ''}`
    round.seen.set(d.rangeId, signature)
    if (busy) load.push({ rangeId: d.rangeId, queriesPerSecond: perSecond(served.reads + served.writes) })
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
    replicaCount: store.hostedCount,
    leading,
    quarantined: store.quarantined().map((q) => ({ rangeId: q.rangeId, replicaId: q.replicaId })),
    oldestTxnTs,
  }
  if (!round.complete) request.leadingComplete = false
  return { request, load }
}

// MVCC garbage collection on a node: for every range this node leads, raise the range's GC
// fence and threshold to the targets the placement driver publishes, settle the locks of
// transactions that started below the fence (through their primaries, as readers do), and
// collect what no read at or above the threshold can see — in small steps, each a Raft
// command (so every replica deletes the same and their checksums agree), one at a time,
// with a pause between steps so foreground traffic keeps the loop and the disk.
//
// Why two timestamps: a version may only be collected once no lock of a transaction below
// the threshold is left anywhere in the cluster. A reader settling such a lock asks the
// transaction's primary, and if the primary's range had already collected the commit record
// (shadowed by a newer version), the transaction would look rolled back and its secondary
// would be lost. So the PD first publishes a fence; every range refuses prewrites below it
// and settles its locks below it; only once every range reports that does the PD raise the
// safe point (the threshold) to it.

import { KvError, KvErrorCode, type LockInfo } from '../api/errors.js'
import type { ChangedRanges } from './changed-ranges.js'
import { GC_MAX_DELETES, type Replica } from './replica.js'
import type { Store } from './store.js'

/** What the placement driver asks of every range, from its heartbeat response. */
export interface GcTargets {
  /** Raise every range's GC fence to this and settle the locks below it. */
  fence: bigint
  /** Raise every range's GC threshold to this and collect below it (never above `fence`). */
  safePoint: bigint
}

/** Options of {@link GcQueue}. */
export interface GcQueueOptions {
  store: Store
  /** Settles locks through their transactions' primaries; true when all of them are settled (none alive). */
  resolveLocks: (locks: LockInfo[]) => Promise<boolean>
  /** Latest records one step looks at; default 256. */
  keysPerStep?: number
  /** Pause between two steps, so GC never holds the loop or the disk for long; default 10 ms. */
  pauseMs?: number
  /** How often the queue looks at the ranges; default 1000 ms. */
  intervalMs?: number
  logger?: { debug?(msg: string): void; warn(msg: string): void }
}

/** A range's progress at one generation (a split or merge changes what the range holds: start again). */
interface Progress {
  generation: number
  ts: bigint
}

/** The node's MVCC garbage collector; see the file comment. */
export class GcQueue {
  private targets: GcTargets = { fence: 0n, safePoint: 0n }
  /** Per range: the fence below which a full pass found no lock left. */
  private readonly clear = new Map<number, Progress>()
  /** Per range: the threshold a full pass collected at. */
  private readonly collected = new Map<number, Progress>()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false
  /** The store's ranges changed since the last pass: the only ones a pass looks at while the targets stay. */
  private readonly changes: ChangedRanges
  /** The next pass looks at every range: the first one, and the first after the targets rose. */
  private lookAtAll = true

  constructor(private readonly o: GcQueueOptions) {
    this.changes = o.store.watchChanges()
  }

  /** Takes the PD's latest targets (they only rise); the store refuses reads below the safe point from now on. */
  setTargets(t: GcTargets): void {
    const fence = t.fence > this.targets.fence ? t.fence : this.targets.fence
    const sp = t.safePoint > this.targets.safePoint ? t.safePoint : this.targets.safePoint
    const next = { fence, safePoint: sp > fence ? fence : sp }
    if (next.fence !== this.targets.fence || next.safePoint !== this.targets.safePoint) this.lookAtAll = true
    this.targets = next
    this.o.store.learnGcSafePoint(this.targets.safePoint)
  }

  /** The targets as last taken. */
  get current(): GcTargets {
    return this.targets
  }

  /**
   * The fence below which the range at `generation` holds no lock, as this node's last full
   * pass over it (as its leader) found; undefined if none did.
   */
  locksClearBelow(rangeId: number, generation: number): bigint | undefined {
    const p = this.clear.get(rangeId)
    return p?.generation === generation ? p.ts : undefined
  }

  /** Looks at the ranges every interval. */
  start(): void {
    // A pass that fails must not end the process (an unhandled rejection does): logged, retried next time.
    this.timer = setInterval(() => void this.runOnce().catch((err: unknown) => this.o.logger?.warn(`gc: pass failed: ${err instanceof Error ? err.stack : String(err)}`)), this.o.intervalMs ?? 1000)
    this.timer.unref()
  }

  /** Stops; a pass under way ends after its current step. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.running
  }

  /** One pass over the ranges this node leads (a pass still running is joined, not doubled). */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined))
    return this.running
  }

  /**
   * Brings the ranges led here to the targets. While the targets stay, a range has something
   * due only after it changed (an apply moves its fence, threshold or generation; a leader
   * change makes it led here) or when an earlier pass left it unfinished: a pass looks at
   * the ranges the store marked changed since the last one (Store.watchChanges), not at
   * every range, and marks again those it leaves due.
   */
  private async pass(): Promise<void> {
    const all = this.lookAtAll
    this.lookAtAll = false
    const marked = this.changes.take()
    const store = this.o.store
    if (!all) {
      for (const id of marked) {
        if (store.localReplica(id)) continue
        this.clear.delete(id)
        this.collected.delete(id)
      }
    }
    const visit = all ? store.hostedReplicas() : store.hostedReplicasOf(marked)
    for (const r of visit) {
      if (this.stopped) return
      // Removed while this pass awaited another range: its group is gone.
      if (store.localReplica(r.rangeId) !== r) continue
      // Most ranges are led elsewhere: passed over without an error built for each, and most
      // of those led here have nothing due: passed over without an await each.
      if (!r.leads() || !this.due(r)) continue
      try {
        await this.collectRange(r)
      } catch (err) {
        // Lost leadership, a split or merge under way, a timeout: the next pass tries again.
        const quiet = err instanceof KvError && (err.code === KvErrorCode.NOT_LEADER || err.code === KvErrorCode.KEY_NOT_IN_RANGE || err.code === KvErrorCode.RANGE_NOT_FOUND)
        if (!quiet) this.o.logger?.warn(`gc: range ${r.rangeId}: ${err instanceof Error ? err.message : String(err)}`)
      }
      // Locks left unsettled, a failed step, a pass stopped halfway: looked at again next pass.
      if (store.localReplica(r.rangeId) === r && r.leads() && this.due(r)) this.changes.mark(r.rangeId)
    }
    if (all) {
      for (const id of this.clear.keys()) if (!store.localReplica(id)) this.clear.delete(id)
      for (const id of this.collected.keys()) if (!store.localReplica(id)) this.collected.delete(id)
    }
  }

  /**
   * Brings one range (led here) to the targets. Only the fence's rise is a command of its own
   * (on every range, a wave per step of the fence). The range's threshold rises to the safe
   * point only with a command that collects something: reads below the safe point are refused
   * by the store anyway (Store.gcSafePoint), and a range with nothing to collect is left idle.
   */
  private async collectRange(r: Replica): Promise<void> {
    const { fence, safePoint } = this.targets
    const generation = r.descriptor.generation
    if (fence > r.gcFence) await this.propose(r, [], fence, safePoint > r.gcThreshold ? safePoint : r.gcThreshold)
    const { fenceNow, threshold, needLocks, needCollect } = this.needs(r)
    if (!needLocks && !needCollect) return
    // A range that never applied a command (every range of a new cluster, bootstrapped at the
    // GC floor) holds no lock and no version: nothing to scan. A cluster's first targets
    // otherwise had each node scan every range it leads.
    if (r.lastTs === 0n) {
      this.done(r, generation, fenceNow, threshold)
      return
    }
    let allClear = true
    let start = r.descriptor.startKey
    for (;;) {
      if (this.stopped) return
      r.checkLeader()
      const plan = await r.gcPlan(start, threshold, fenceNow, this.o.keysPerStep ?? 256)
      if (plan.locks.length > 0) {
        const locks = plan.locks.map((l) => ({ key: l.key, primary: l.lock.primary, startTs: l.lock.startTs, ttlMs: l.lock.ttlMs }))
        if (!(await this.o.resolveLocks(locks))) allClear = false
        // Settled locks may have left versions to collect: look at the same keys again.
        else if (plan.keys.length === 0) {
          await this.pause()
          continue
        }
      }
      let redo = false
      if (plan.keys.length > 0) {
        const result = await this.propose(r, plan.keys, fenceNow, threshold)
        // A command that used its whole delete budget left some of these keys half done.
        redo = result.collected !== undefined && result.collected >= GC_MAX_DELETES
      }
      await this.pause()
      if (redo) continue
      if (plan.next === undefined) break
      start = plan.next
    }
    if (allClear) this.done(r, generation, fenceNow, threshold)
    else this.collected.set(r.rangeId, { generation, ts: threshold })
  }

  /** Records a full pass over `r` at `generation` that left no lock below `fence` and collected at `threshold`. */
  private done(r: Replica, generation: number, fence: bigint, threshold: bigint): void {
    const was = this.clear.get(r.rangeId)
    this.clear.set(r.rangeId, { generation, ts: fence })
    this.collected.set(r.rangeId, { generation, ts: threshold })
    // Its lock report (locksClearBelow) changed: the heartbeat's next report lists it.
    if (was?.generation !== generation || was.ts !== fence) this.o.store.markChanged(r.rangeId)
  }

  /** Whether {@link collectRange} has anything to do on `r`. */
  private due(r: Replica): boolean {
    if (this.targets.fence > r.gcFence) return true
    const { needLocks, needCollect } = this.needs(r)
    return needLocks || needCollect
  }

  /** With the range's fence as it is: the threshold to collect at, and whether a look for locks or a collection is due. */
  private needs(r: Replica): { fenceNow: bigint; threshold: bigint; needLocks: boolean; needCollect: boolean } {
    const generation = r.descriptor.generation
    const fenceNow = r.gcFence
    // Never above the range's fence (a command refuses that): the fence's command may have failed.
    const target = this.targets.safePoint > fenceNow ? fenceNow : this.targets.safePoint
    const threshold = target > r.gcThreshold ? target : r.gcThreshold
    const clearDone = this.clear.get(r.rangeId)
    const collectDone = this.collected.get(r.rangeId)
    const needLocks = fenceNow > 0n && !(clearDone?.generation === generation && clearDone.ts >= fenceNow)
    const needCollect = threshold > 0n && !(collectDone?.generation === generation && collectDone.ts >= threshold)
    return { fenceNow, threshold, needLocks, needCollect }
  }

  private async propose(r: Replica, keys: Uint8Array[], fence: bigint, threshold: bigint): Promise<{ collected?: number }> {
    const result = await this.o.store.write(r.rangeId, { kind: 'gc', fence, threshold, keys })
    if (!result.ok) throw result.error
    return result
  }

  private pause(): Promise<void> {
    const ms = this.o.pauseMs ?? 10
    return new Promise((resolve) => setTimeout(resolve, ms))
  }
}

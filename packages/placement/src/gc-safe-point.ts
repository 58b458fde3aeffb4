// The cluster's MVCC garbage-collection targets, as a pure function of what the placement
// driver knows: a fence (ranges refuse prewrites of transactions that started below it and
// settle their locks below it) and a safe point (ranges collect what no read at or above it
// sees). See docs/decisions.md, "MVCC garbage collection".

import { composeTimestamp, physicalMs } from '@mrdb/storage'

/** The default GC TTL: CockroachDB's gc.ttlseconds, 25 hours. */
export const DEFAULT_GC_TTL_MS = 25 * 3600 * 1000

/** What ranges are asked to reach. Invariant: safePoint ≤ fence; neither ever falls. */
export interface GcTargets {
  fence: bigint
  safePoint: bigint
}

/** What {@link gcTargets} decides from. */
export interface GcInput {
  nowMs: number
  ttlMs: number
  /** Every live store, with the oldest start timestamp of a transaction running on it (undefined: not reported to this PD leader yet). */
  stores: ReadonlyArray<{ storeId: number; oldestTxnTs: bigint | undefined }>
  /** Every range, with the fence below which its leader found no lock left at its current generation (undefined: not reported). */
  ranges: ReadonlyArray<{ rangeId: number; locksClearBelow: bigint | undefined }>
  previous: GcTargets
}

/**
 * How far the fence moves at a time: a tenth of the TTL, between 1 s and 10 min. Every rise
 * of the fence makes each range look for locks again, so it moves in steps, not every second.
 */
export function gcStepMs(ttlMs: number): number {
  return Math.min(600_000, Math.max(1000, Math.floor(ttlMs / 10)))
}

/** `boundMs` rounded down to whole milliseconds and {@link gcStepMs} steps, as a timestamp (0 for a bound at or before the epoch). */
function fenceAtOrBelow(boundMs: number, ttlMs: number): bigint {
  const step = gcStepMs(ttlMs)
  return boundMs <= 0 ? 0n : composeTimestamp(Math.floor(boundMs / step) * step)
}

/**
 * The GC fence and threshold a cluster bootstrapped at `nowMs` gives its first ranges: the
 * fence {@link gcTargets} will publish one step later with no transaction running (now
 * minus the TTL plus a step, rounded down to a step; never above now), so that neither the
 * first targets nor the next step's cost a Raft command per range — computed at now, a
 * step boundary passed before the PD's first targets would cost one. Sound because no
 * transaction can have started before the cluster existed, and nothing was written below it
 * to be read.
 */
export function bootstrapGcFloor(nowMs: number, ttlMs: number): bigint {
  return fenceAtOrBelow(nowMs - ttlMs + Math.min(gcStepMs(ttlMs), ttlMs), ttlMs)
}

/**
 * The next targets. The fence is now minus the TTL, never above the start of a running
 * transaction, rounded down to a {@link gcStepMs} step; it waits while a live store has not
 * reported its transactions. The safe point follows the fence once every range reported no
 * lock below it. Both only rise.
 */
export function gcTargets(i: GcInput): GcTargets {
  let fence = i.previous.fence
  if (i.stores.every((s) => s.oldestTxnTs !== undefined)) {
    let bound = i.nowMs - i.ttlMs
    for (const s of i.stores) bound = Math.min(bound, physicalMs(s.oldestTxnTs!))
    const below = fenceAtOrBelow(bound, i.ttlMs)
    if (below > fence) fence = below
  }
  let safePoint = fence
  for (const r of i.ranges) {
    const clear = r.locksClearBelow ?? 0n
    if (clear < safePoint) safePoint = clear
  }
  if (safePoint < i.previous.safePoint) safePoint = i.previous.safePoint
  if (safePoint > fence) safePoint = fence
  return { fence, safePoint }
}

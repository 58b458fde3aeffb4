// Automatic statistics: a gateway counts the rows each committed statement wrote to a table
// and, once they reach 20% of the table's rows (as its statistics say) plus 500 since those
// statistics were collected, collects them again in the background (ANALYZE) — CockroachDB's
// rule and defaults. A gateway counts only the writes made through it; statistics collected
// by any gateway reset every gateway's count once it reads them, so with writes spread over
// k gateways a table is re-analysed after at most k times the threshold. Each collection reads
// the table once, after at least a fifth of its rows were written: at most 5 rows read per row
// written, however the table grows. The count is deterministic (no sampling), so a gateway's
// plans do not change by chance.

import type { StatsCache } from './stats.js'

/** The fraction of a table's rows that must change before its statistics are collected again. */
export const STALE_FRACTION = 0.2

/** Rows that must change on top of {@link STALE_FRACTION}: a small table is not analysed after every write. */
export const MIN_STALE_ROWS = 500

/** What a {@link StatsRefresher} works with. */
export interface StatsRefresherOptions {
  /** The gateway's statistics (the row count the threshold is based on). */
  readonly stats: StatsCache
  /** Collects and stores the statistics of a table (ANALYZE); a failed collection is tried again after another threshold's worth of writes. */
  readonly collect: (tableId: number) => Promise<void>
  /** Told of a collection that failed (it is tried again after another threshold's worth of writes). */
  readonly logger?: { warn(msg: string): void }
}

/**
 * Keeps a gateway's tables' statistics fresh as they are written (see the file comment). At
 * most one collection runs at a time on a gateway; rows written meanwhile are still counted.
 */
export class StatsRefresher {
  /** Rows written through this gateway per table since the statistics collected at `since` (0: none). */
  private readonly written = new Map<number, { rows: number; since: number }>()
  private collecting: Promise<void> | null = null

  constructor(private readonly o: StatsRefresherOptions) {}

  /** Hears that a committed statement wrote (inserted, updated or deleted) `rows` rows of table `tableId`. */
  noteWrites(tableId: number, rows: number): void {
    if (rows <= 0) return
    const count = this.written.get(tableId) ?? { rows: 0, since: 0 }
    count.rows += rows
    this.written.set(tableId, count)
    if (this.collecting === null) this.collecting = this.maybeCollect(tableId).finally(() => (this.collecting = null))
  }

  /** Resolves once the collection (or the decision) running now, if any, has ended. */
  async idle(): Promise<void> {
    await this.collecting
  }

  private async maybeCollect(tableId: number): Promise<void> {
    try {
      const stats = await this.o.stats.current(tableId)
      const count = this.written.get(tableId)!
      const since = stats?.collectedAt ?? 0
      if (since !== count.since) {
        // Newer statistics (collected here or by another gateway): they cover what was written
        // before them. Writes that raced with their collection are dropped; the error is bounded by one threshold.
        count.rows = 0
        count.since = since
        return
      }
      if (count.rows < Math.round((stats?.rowCount ?? 0) * STALE_FRACTION) + MIN_STALE_ROWS) return
      // The count starts again whether the collection succeeds or not: a table whose ANALYZE
      // fails (a conflict, a timeout) is tried again after as many writes, not after every one.
      count.rows = 0
      await this.o.collect(tableId).catch((err: unknown) => this.o.logger?.warn(`statistics: the automatic collection of table ${tableId} failed: ${err instanceof Error ? err.message : String(err)}`))
      count.since = (await this.o.stats.current(tableId))?.collectedAt ?? since
    } catch {
      // The statistics could not be read: the count stands and the next write decides again.
    }
  }
}

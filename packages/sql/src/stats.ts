// Table statistics: a table's row count and, per column, its distinct count, NULL fraction and
// an equi-depth histogram — collected by ANALYZE from a sample of the rows, stored as JSON
// under /sys/stats/<tableId>, and kept by each gateway in a cache the planner reads without
// waiting (a missing or old entry is re-read in the background).

import { encodeKey } from '@mrdb/storage'
import type { TableDesc } from './catalog.js'
import type { KvDatabase } from './kv-port.js'
import { fullSpan } from './planner.js'
import { decodeAndFilter } from './row-ops.js'
import type { StatementContext } from './statement-context.js'
import { keyPartOf, rowLayout } from './table-codec.js'
import { compareValues, valueKey, type SqlValue } from './values.js'
import { spanChunks } from './access.js'

/** What ANALYZE learned about one column. */
export interface ColumnStats {
  /** Estimated distinct non-NULL values. */
  readonly distinct: number
  /** The fraction of rows where the column is NULL. */
  readonly nullFraction: number
  /**
   * Bucket boundaries of an equi-depth histogram of the non-NULL values, ascending, each the
   * hex of the value's order-preserving key encoding (so bounds compare as keys do); empty when
   * the column's values cannot be key-encoded.
   */
  readonly bounds: readonly string[]
}

/** What ANALYZE learned about one table. */
export interface TableStats {
  readonly tableId: number
  readonly rowCount: number
  /** By column name (names survive columns being added and dropped around them). */
  readonly columns: Readonly<Record<string, ColumnStats>>
  /** When they were collected (ms since 1970). */
  readonly collectedAt: number
}

/** Rows kept in ANALYZE's reservoir sample. */
export const SAMPLE_SIZE = 10_000

/** Buckets of a column's histogram. */
const BUCKETS = 32

/** Where a table's statistics are stored. */
export function statsKey(tableId: number): Uint8Array {
  return encodeKey(['/sys', 'stats', BigInt(tableId)])
}

/** The hex of `v`'s key encoding (the histograms' unit), or null when it has none. */
export function keyHex(v: SqlValue): string | null {
  try {
    return Buffer.from(encodeKey([keyPartOf(v)])).toString('hex')
  } catch {
    return null
  }
}

/**
 * Reads every row of `table` at the statement's snapshot (range by range) and returns its statistics: the
 * exact row count, and per column figures from a reservoir sample of {@link SAMPLE_SIZE} rows
 * (distinct counts by the Duj1 estimator of Haas and Stokes when the sample is not the table).
 */
export async function collectStats(ctx: StatementContext, table: TableDesc, now = Date.now()): Promise<TableStats> {
  const layout = rowLayout(table)
  const sample: SqlValue[][] = []
  let rowCount = 0
  // A fixed-seed generator: the same table gives the same statistics.
  let seed = 0x2545f491
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed % n
  }
  // One range at a time, one chunk ahead: slower than reading every range at once, but the
  // gateway decodes one chunk at a time between other work — ANALYZE also runs automatically,
  // in the background of a busy gateway (stats-refresh.ts).
  for await (const pairs of spanChunks(ctx, fullSpan(table))) {
    for (const row of decodeAndFilter(layout, pairs, null)) {
      rowCount++
      if (sample.length < SAMPLE_SIZE) sample.push(row)
      else {
        const at = random(rowCount)
        if (at < SAMPLE_SIZE) sample[at] = row
      }
    }
  }
  const columns: Record<string, ColumnStats> = {}
  table.columns.forEach((c, i) => {
    columns[c.name] = columnStats(sample.map((r) => r[i] ?? null), rowCount)
  })
  return { tableId: table.id, rowCount, columns, collectedAt: now }
}

function columnStats(values: readonly SqlValue[], rowCount: number): ColumnStats {
  const nonNull = values.filter((v): v is Exclude<SqlValue, null> => v !== null)
  const n = values.length
  const counts = new Map<string, number>()
  for (const v of nonNull) counts.set(valueKey(v), (counts.get(valueKey(v)) ?? 0) + 1)
  const d = counts.size
  let distinct = d
  if (n < rowCount && nonNull.length > 0) {
    let f1 = 0
    for (const c of counts.values()) if (c === 1) f1++
    const m = nonNull.length
    const total = rowCount * (m / n)
    distinct = Math.min(total, (m * d) / (m - f1 + (f1 * m) / total))
  }
  let bounds: string[] = []
  if (nonNull.length > 0) {
    const sorted = [...nonNull].sort(compareValues)
    const picks = new Set<number>()
    for (let b = 0; b <= BUCKETS; b++) picks.add(Math.min(sorted.length - 1, Math.round((b * (sorted.length - 1)) / BUCKETS)))
    const hexes = [...picks].map((i) => keyHex(sorted[i]!))
    bounds = hexes.every((h): h is string => h !== null) ? hexes : []
  }
  return { distinct: Math.max(1, Math.round(distinct)), nullFraction: n === 0 ? 0 : (n - nonNull.length) / n, bounds }
}

/**
 * ANALYZE [table]: collects the statistics of one table (or of every table), stores them in
 * the statement's transaction and hands them to the gateway's cache.
 */
export async function analyze(ctx: StatementContext, tableName: string | null): Promise<void> {
  const tables = tableName === null ? [...ctx.catalog.tables.values()] : [ctx.catalog.table(tableName)]
  for (const table of tables) {
    const stats = await collectStats(ctx, table)
    ctx.buffer.put(statsKey(table.id), encodeStats(stats))
    ctx.options.stats?.put(stats)
  }
}

/** Encodes statistics for storage. */
export function encodeStats(stats: TableStats): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(stats))
}

/** Decodes stored statistics (null for a value that is not theirs). */
export function decodeStats(bytes: Uint8Array): TableStats | null {
  try {
    const s = JSON.parse(new TextDecoder().decode(bytes)) as TableStats
    return typeof s.rowCount === 'number' && typeof s.columns === 'object' ? s : null
  } catch {
    return null
  }
}

/** How long a gateway plans with cached statistics before it reads them again. */
const REFRESH_MS = 10_000

/**
 * A gateway's statistics, by table id. {@link get} answers at once from memory; an entry
 * missing or older than {@link REFRESH_MS} is read again in the background, so the planner
 * never waits for statistics and another gateway's ANALYZE is seen within seconds.
 */
export class StatsCache {
  private readonly entries = new Map<number, { stats: TableStats | null; readAt: number; reading: Promise<void> | null }>()

  constructor(
    private readonly db: KvDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  /** The statistics of `tableId` known here (null: none yet), refreshing them in the background when old. */
  get(tableId: number): TableStats | null {
    const entry = this.entries.get(tableId)
    if (entry === undefined || (entry.reading === null && this.now() - entry.readAt > REFRESH_MS)) this.refresh(tableId)
    return entry?.stats ?? null
  }

  /** The statistics of `tableId`, read first if this gateway has not read them yet (null: there are none). */
  async current(tableId: number): Promise<TableStats | null> {
    const known = this.get(tableId)
    const entry = this.entries.get(tableId)
    if (entry?.reading != null && entry.stats === null) await entry.reading
    return this.entries.get(tableId)?.stats ?? known
  }

  /** Records statistics this gateway just collected (or found stored). */
  put(stats: TableStats): void {
    this.entries.set(stats.tableId, { stats, readAt: this.now(), reading: null })
  }

  private refresh(tableId: number): void {
    const prior = this.entries.get(tableId)
    const entry: { stats: TableStats | null; readAt: number; reading: Promise<void> | null } = { stats: prior?.stats ?? null, readAt: prior?.readAt ?? this.now(), reading: null }
    this.entries.set(tableId, entry)
    entry.reading = (async () => {
      try {
        const txn = await this.db.begin()
        const value = await txn.get(statsKey(tableId))
        await txn.rollback()
        const stats = value === undefined ? null : decodeStats(value)
        const current = this.entries.get(tableId)
        if (current === entry) this.entries.set(tableId, { stats: stats ?? entry.stats, readAt: this.now(), reading: null })
      } catch {
        // Unreachable now: the old entry stands and is read again later.
        if (this.entries.get(tableId) === entry) this.entries.set(tableId, { ...entry, readAt: this.now(), reading: null })
      }
    })()
  }
}

import { compareBytes, concatBytes, keySuccessor, prefixEnd, toHex, type BytesLike } from './bytes.js'
import { checkKey, checkValue, MAX_KEY_SIZE, MAX_VALUE_SIZE, type BatchOp, type Engine, type Entry } from './engine.js'
import { StorageError, StorageErrorCode, fromLevelError } from './errors.js'
import { decodeBytesPart, encodeBytesPart } from './key-codec.js'
import {
  decodeHistoric,
  decodeLatest,
  decodeTrailingTs,
  readLatestAt,
  encodeHistoric,
  encodeLatest,
  encodeTs,
  type LatestRecord,
  type Lock,
  type MutationKind,
  type Version,
} from './mvcc-record.js'
import { checkTimestamp, MAX_TIMESTAMP, physicalMs, type Timestamp } from './timestamp.js'
import { pushAll } from './arrays.js'

/** The key prefix MVCC data lives under by default, apart from the Raft log's 0x01. */
export const DEFAULT_MVCC_PREFIX = Uint8Array.of(0x02)

/** Longest MVCC prefix a store accepts. */
const MAX_PREFIX_SIZE = 16
/** Engine bytes a history or rollback key adds to its user key, beyond the prefix and the escaping. */
const KEY_FRAMING = 1 + 2 + 8
/**
 * Largest user key MVCC accepts: its history key (prefix, tag, the key escaped to at most
 * twice its length, a timestamp) must still fit the engine's {@link MAX_KEY_SIZE}.
 */
export const MAX_MVCC_KEY_SIZE = Math.floor((MAX_KEY_SIZE - MAX_PREFIX_SIZE - KEY_FRAMING) / 2 / 64) * 64
/**
 * Largest value MVCC accepts: a key's record may hold a committed value and a lock's value
 * at once, and must fit the engine's {@link MAX_VALUE_SIZE}.
 */
export const MAX_MVCC_VALUE_SIZE = MAX_VALUE_SIZE / 4

/** Validates an MVCC user key (non-empty, at most {@link MAX_MVCC_KEY_SIZE} bytes). */
export function checkMvccKey(key: unknown): Uint8Array {
  return checkKey(key, MAX_MVCC_KEY_SIZE)
}

/** Validates an MVCC value (at most {@link MAX_MVCC_VALUE_SIZE} bytes). */
export function checkMvccValue(value: unknown): Uint8Array {
  return checkValue(value, MAX_MVCC_VALUE_SIZE)
}

const LATEST = 0x6d // 'm'
const HISTORY = 0x68 // 'h'
const ROLLBACK = 0x72 // 'r'

/** Raised by reads and writes that meet another transaction's lock; resolve it and retry. */
export class KeyLockedError extends StorageError {
  override readonly name = 'KeyLockedError'

  constructor(
    /** The locked user key. */
    readonly key: Uint8Array,
    /** The lock found there. */
    readonly lock: Lock,
  ) {
    super(StorageErrorCode.KEY_LOCKED, `key ${toHex(key)} is locked by the transaction at ${lock.startTs}`)
  }
}

/** One change a transaction prewrites. */
export interface Mutation {
  key: BytesLike
  kind: MutationKind
  /** Required for 'put'. */
  value?: BytesLike
  /** The prewrite fails with KEY_EXISTS if the key's newest committed version is a live value (an SQL insert). */
  assertAbsent?: boolean
}

/** What is known of a transaction from its primary key. */
export type TxnStatus =
  | { state: 'committed'; commitTs: Timestamp }
  | { state: 'rolled-back' }
  | { state: 'locked'; lock: Lock; expired: boolean }
  /** No lock, commit or rollback record: the prewrite never arrived (or was garbage collected). */
  | { state: 'missing' }

/** Bounds of an MVCC scan: user keys in [start, end) as of `ts`. */
export interface MvccScanOptions {
  start?: BytesLike
  end?: BytesLike
  ts: Timestamp
  limit?: number
  reverse?: boolean
}

/** Counts of what a garbage collection pass removed. */
export interface GcStats {
  versionsRemoved: number
  tombstonesRemoved: number
  rollbacksRemoved: number
}

/** What {@link MvccStore.approximateStats} counts. */
export interface MvccStats {
  /** User keys with a latest record (deleted ones not yet collected and locked ones included). */
  keys: number
  /** Bytes of the latest records. */
  bytes: number
  /** The key in the middle, if there are two keys or more. */
  middleKey: Uint8Array | undefined
  /** Bytes of latest records holding a value: what a read at the newest timestamp needs. */
  liveBytes: number
  /** Bytes only reads in the past need: deletions, older versions, rollback markers (partly estimated). */
  garbageBytes: number
}

/** One step of garbage collection as {@link MvccStore.gcPlan} planned it. */
export interface GcPlan {
  /** Keys with something to collect, in order. */
  keys: Uint8Array[]
  /** Locks of transactions that started before the plan's `lockBelow`, met on the way. */
  locks: Array<{ key: Uint8Array; lock: Lock }>
  /** Where the next step starts; absent when the span is done. */
  next?: Uint8Array
}

/** Options of {@link MvccStore.write}. */
export interface MvccWriteOptions {
  sync?: boolean
  /** Engine operations written in the same atomic batch (e.g. a replica's applied index). */
  extraOps?: BatchOp[]
  /**
   * May share one engine batch with other queued writers that set it too (group commit: one
   * engine write for the applies of many ranges). Such writers must touch disjoint keys, as
   * replicas of different ranges do: a writer does not see what another wrote in the same
   * batch. Without it a writer is written on its own.
   */
  shareBatch?: boolean
  /**
   * Records read ahead with {@link MvccStore.readRecords}, so the writer does not wait for
   * reads inside the write queue. Only for writers whose keys no other writer touches in the
   * meantime (the contract of `shareBatch`).
   */
  prefetched?: PrefetchedRecords
}

/** Latest records of some keys (and whether some transactions were rolled back on them), read ahead of a write; see {@link MvccStore.readRecords}. */
export class PrefetchedRecords {
  /** @internal */
  constructor(
    readonly records: ReadonlyMap<string, LatestRecord | undefined>,
    /** Rollback markers looked up, by (user key, start timestamp) id: whether each exists. */
    readonly rollbacks: ReadonlyMap<string, boolean> = new Map(),
  ) {}
}

interface QueuedWrite {
  fn: (w: MvccWriter) => Promise<void>
  options: MvccWriteOptions
  resolve: () => void
  reject: (err: unknown) => void
}

/** Most engine operations one group commit carries before it is written. */
const GROUP_OPS_LIMIT = 10_000
/** Most bytes (keys and values) one group commit carries, well inside the engine's batch limit. */
const GROUP_BYTES_LIMIT = 64 * 1024 * 1024

/** {@link MvccStore.approximateStats} keeps every this many keys as a middle-key candidate. */
const STATS_SAMPLE_EVERY = 64
/** {@link MvccStore.approximateStats} yields to the event loop after this many records. */
const STATS_YIELD_EVERY = 1000
/** History entries a batched history lookup reads per key before it seeks the keys it did not settle one by one. */
const HISTORY_SPAN_FACTOR = 4

/** How many keys a GC pass handles per batch before it yields to writers. */
const GC_CHUNK = 512

/**
 * Multi-version storage over an {@link Engine}: every write is a version at a timestamp,
 * reads see the newest version at or below their timestamp, and Percolator-style locks
 * (prewrite, commit, rollback) make multi-key transactions atomic.
 * Writes through one store are serialized; other writers must not touch its keys.
 */
export class MvccStore {
  private readonly prefix: Uint8Array
  private readonly queue: QueuedWrite[] = []
  private pumping = false

  constructor(
    private readonly engine: Engine,
    options: { prefix?: Uint8Array } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_MVCC_PREFIX
    if (this.prefix.length > MAX_PREFIX_SIZE) {
      throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `MVCC prefix must be at most ${MAX_PREFIX_SIZE} bytes, got ${this.prefix.length}`)
    }
  }

  /** The value of `key` as of `ts`: its newest version with commitTs ≤ ts. Meets a lock → KeyLockedError. */
  get(key: BytesLike, ts: Timestamp): Promise<Uint8Array | undefined> {
    // Not `async`: a read of a current version settles with one promise beyond the engine's.
    let k: Uint8Array
    try {
      k = checkMvccKey(key)
      checkTimestamp(ts, 'read timestamp')
    } catch (err) {
      return Promise.reject(err)
    }
    return this.engine.getUnchecked(this.latestKey(k)).then((raw) => {
      if (raw === undefined) return undefined
      const fast = readLatestAt(raw, ts)
      if (fast !== 'lock' && fast !== 'history') return fast
      const rec = decodeLatest(raw)
      checkReadLock(k, rec.lock, ts)
      return this.versionAt(k, rec, ts).then((version) => version?.value)
    }, rethrowLevelError)
  }

  /**
   * The size of the user keys in [start, end), cheaply: every key's latest record counts
   * (deletions not yet collected and locked keys too), bytes are the records' stored sizes,
   * and the middle key is taken from a sample of every {@link STATS_SAMPLE_EVERY}th key. Nothing
   * is decoded and no lock stops it; it yields to the event loop every {@link STATS_YIELD_EVERY}
   * records, so a big range does not hold up the node.
   *
   * `liveBytes` are the latest records that hold a value; `garbageBytes` what only reads in the
   * past need: deletions not yet collected, plus the engine's estimate of the older versions'
   * and rollback markers' bytes on disk (not read: LevelDB's table index says).
   */
  async approximateStats(start?: BytesLike, end?: BytesLike): Promise<MvccStats> {
    const { base, gte, lt } = this.latestSpan(start, end)
    let keys = 0
    let bytes = 0
    let liveBytes = 0
    let deletedBytes = 0
    const samples: Uint8Array[] = []
    for await (const [k, v] of this.engine.scan({ gte, lt })) {
      if (keys % STATS_SAMPLE_EVERY === 0) samples.push(k.slice(base.length))
      keys++
      const size = k.length - base.length + v.length
      bytes += size
      if (holdsValue(v)) liveBytes += size
      else deletedBytes += size
      if (keys % STATS_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    let olderBytes = 0
    const [, ...older] = this.engineSpans(start === undefined ? new Uint8Array(0) : toBytesChecked(start), end === undefined ? new Uint8Array(0) : toBytesChecked(end))
    for (const [from, to] of older) olderBytes += await this.engine.approximateSize(from, to)
    return { keys, bytes, middleKey: keys >= 2 ? samples[samples.length >> 1] : undefined, liveBytes, garbageBytes: deletedBytes + olderBytes }
  }

  /**
   * Plans one bounded step of garbage collection in [start, end) (no bound where undefined),
   * reading only: walks at most `maxKeys` latest records from `start` and the older versions and
   * rollback markers of the same keys, and returns the keys that hold something no read at or
   * above `threshold` can see (give them to {@link MvccWriter.gcKey}), the locks of
   * transactions that started before `lockBelow`, and where the next step starts (undefined:
   * the span is done). Yields to the event loop as it goes.
   */
  async gcPlan(o: { start?: BytesLike; end?: BytesLike; threshold: Timestamp; lockBelow: Timestamp; maxKeys: number }): Promise<GcPlan> {
    const threshold = checkTimestamp(o.threshold, 'GC threshold')
    const { base, gte, lt } = this.latestSpan(o.start, o.end)
    const start = gte.subarray(base.length)
    const records = new Map<string, LatestRecord>()
    const candidates = new Map<string, Uint8Array>()
    const locks: Array<{ key: Uint8Array; lock: Lock }> = []
    let last: Uint8Array | undefined
    let seen = 0
    for await (const [k, v] of this.engine.scan({ gte, lt, limit: o.maxKeys })) {
      const userKey = k.slice(base.length)
      const rec = decodeLatest(v)
      records.set(toHex(userKey), rec)
      last = userKey
      if (rec.lock && rec.lock.startTs < o.lockBelow) locks.push({ key: userKey, lock: rec.lock })
      if (!rec.lock && rec.version && rec.version.value === undefined && rec.version.commitTs <= threshold) candidates.set(toHex(userKey), userKey)
      if (++seen % STATS_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const next = seen === o.maxKeys && last !== undefined ? keySuccessor(last) : undefined
    const to = next ?? lt.subarray(base.length)
    const endless = next === undefined && o.end === undefined
    // Older versions, grouped by key (newest first within a key).
    const historyBase = Uint8Array.of(...this.prefix, HISTORY)
    const historyEnd = endless ? prefixEnd(historyBase)! : concatBytes(historyBase, encodeBytesPart(to))
    let current: string | undefined
    let below = 0
    let newestBelowDeleted = false
    const judge = () => {
      if (current === undefined || below === 0) return
      const rec = records.get(current)
      const latestVisible = rec?.version !== undefined && rec.version.commitTs <= threshold
      if (below >= 2 || latestVisible || newestBelowDeleted || rec === undefined) candidates.set(current, fromHex(current))
    }
    for await (const [k, v] of this.engine.scan({ gte: concatBytes(historyBase, encodeBytesPart(start)), lt: historyEnd })) {
      const id = toHex(decodeBytesPart(k.subarray(historyBase.length, k.length - 8), 0).value)
      if (id !== current) {
        judge()
        current = id
        below = 0
        newestBelowDeleted = false
      }
      const commitTs = decodeTrailingTs(k, true)
      if (commitTs <= threshold) {
        if (below === 0) newestBelowDeleted = v[0] === 1
        below++
      }
      if (++seen % STATS_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    judge()
    const rollbackBase = Uint8Array.of(...this.prefix, ROLLBACK)
    const rollbackEnd = endless ? prefixEnd(rollbackBase)! : concatBytes(rollbackBase, encodeBytesPart(to))
    for await (const [k] of this.engine.scan({ gte: concatBytes(rollbackBase, encodeBytesPart(start)), lt: rollbackEnd })) {
      if (decodeTrailingTs(k, false) < threshold) {
        const userKey = decodeBytesPart(k.subarray(rollbackBase.length, k.length - 8), 0).value
        candidates.set(toHex(userKey), userKey)
      }
      if (++seen % STATS_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const keys = [...candidates.values()].sort(compareBytes)
    return next === undefined ? { keys, locks } : { keys, locks, next }
  }

  /**
   * Like {@link scan}, but a lock does not stop it: it goes on past locks, collecting up to
   * `maxLocks` of them (then stops), so that a reader can resolve a page's locks at once.
   * The rows are complete only when no lock was met. It also stops once its rows reach
   * `maxBytes` (keys and values), saying so in `full`.
   */
  async scanPage(options: MvccScanOptions & { maxLocks: number; maxBytes?: number }): Promise<{ rows: Entry[]; locks: KeyLockedError[]; full: boolean }> {
    const ts = checkTimestamp(options.ts, 'read timestamp')
    const { base, gte, lt } = this.latestSpan(options.start, options.end)
    const limit = options.limit ?? Infinity
    const maxBytes = options.maxBytes ?? Infinity
    const rows: Entry[] = []
    const locks: KeyLockedError[] = []
    let bytes = 0
    if (limit <= 0) return { rows, locks, full: false }
    // Past the first lock, only `limit` more records are looked at, for their locks.
    let afterLock = 0
    // A batch of records at a time; a current unlocked version is read without building its
    // record, and the batch's rows whose latest version is newer than `ts` have their history
    // read together: a page is a few awaits, not two or three per row.
    for await (const batch of this.engine.scanBatches({ gte, lt, reverse: options.reverse })) {
      const fast = locks.length === 0 ? batch.map(([, v]) => readLatestAtOrUndefined(v, ts)) : []
      // Only as many rows as the page can still take have their history read together (a row
      // past them is reached only if an earlier one turned out deleted: it seeks on its own).
      const room = limit - rows.length
      const older = await this.historyOfBatch(batch, base.length, fast.length > room ? fast.slice(0, room) : fast, ts)
      for (let i = 0; i < batch.length; i++) {
        const [k, v] = batch[i]!
        const userKey = k.subarray(base.length)
        let value = locks.length === 0 ? fast[i] : undefined
        if (!(value instanceof Uint8Array)) {
          const rec = decodeLatest(v)
          if (locks.length > 0 && ++afterLock > limit) return { rows, locks, full: false }
          if (blocksRead(rec.lock, ts)) {
            locks.push(new KeyLockedError(userKey, rec.lock))
            if (locks.length >= options.maxLocks) return { rows, locks, full: false }
            continue
          }
          if (locks.length > 0) continue // the rows will be read again once the locks are resolved
          value = (older.has(i) ? older.get(i) : await this.versionAt(userKey, rec, ts))?.value
          if (value === undefined) continue
        }
        rows.push([userKey, value])
        bytes += userKey.length + value.length
        if (bytes >= maxBytes) return { rows, locks, full: true }
        if (rows.length >= limit) return { rows, locks, full: false }
      }
    }
    return { rows, locks, full: false }
  }

  /** Live keys and values in [start, end) as of `ts`, in key order. Meets a lock → KeyLockedError. */
  async *scan(options: MvccScanOptions): AsyncGenerator<Entry> {
    const ts = checkTimestamp(options.ts, 'read timestamp')
    const { base, gte, lt } = this.latestSpan(options.start, options.end)
    const limit = options.limit ?? Infinity
    if (limit <= 0) return
    let yielded = 0
    for await (const [k, v] of this.engine.scan({ gte, lt, reverse: options.reverse })) {
      const userKey = k.subarray(base.length)
      const rec = decodeLatest(v)
      checkReadLock(userKey, rec.lock, ts)
      const value = (await this.versionAt(userKey, rec, ts))?.value
      if (value === undefined) continue
      yield [userKey, value]
      if (++yielded >= limit) return
    }
  }

  /** The engine span [gte, lt) of the latest records of user keys in [start, end) (no bound where undefined), and its prefix. */
  private latestSpan(start: BytesLike | undefined, end: BytesLike | undefined): { base: Uint8Array; gte: Uint8Array; lt: Uint8Array } {
    const base = Uint8Array.of(...this.prefix, LATEST)
    const gte = start === undefined ? base : concatBytes(base, checkMvccKey(start))
    const lt = end === undefined ? prefixEnd(base)! : concatBytes(base, checkMvccKey(end))
    return { base, gte, lt }
  }

  /**
   * The engine key spans, [gte, lt) each, that hold every MVCC record (versions, locks,
   * rollback markers) of user keys in [start, end); an empty `end` means no upper bound.
   * A range snapshot copies exactly these.
   */
  engineSpans(start: Uint8Array, end: Uint8Array): Array<[Uint8Array, Uint8Array]> {
    const span = (tag: number, encode: (k: Uint8Array) => Uint8Array): [Uint8Array, Uint8Array] => {
      const base = Uint8Array.of(...this.prefix, tag)
      return [concatBytes(base, encode(start)), end.length === 0 ? prefixEnd(base)! : concatBytes(base, encode(end))]
    }
    return [span(LATEST, (k) => k), span(HISTORY, encodeBytesPart), span(ROLLBACK, encodeBytesPart)]
  }

  /** The lock on `key`, if any. */
  async lockOf(key: BytesLike): Promise<Lock | undefined> {
    const raw = await this.engine.get(this.latestKey(checkMvccKey(key)))
    return raw === undefined ? undefined : decodeLatest(raw).lock
  }

  /** Writes `value` at `key` as a version committed at `ts` (no transaction). */
  async put(key: BytesLike, value: BytesLike, ts: Timestamp, options?: MvccWriteOptions): Promise<void> {
    await this.write((w) => w.put(key, value, ts), options)
  }

  /** Deletes `key` as of `ts` (no transaction). */
  async delete(key: BytesLike, ts: Timestamp, options?: MvccWriteOptions): Promise<void> {
    await this.write((w) => w.delete(key, ts), options)
  }

  /**
   * Runs `fn` with a writer whose changes (with `extraOps`) are written atomically when it
   * returns; if it throws, nothing of it is written. Calls run one at a time, in order;
   * queued calls with `shareBatch` are written together in one engine batch.
   */
  write(fn: (w: MvccWriter) => Promise<void>, options: MvccWriteOptions = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ fn, options, resolve, reject })
      void this.pump()
    })
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.queue.length > 0) await this.commitGroup()
    } finally {
      this.pumping = false
    }
  }

  /** Runs the next writer, and the sharing writers queued after it if it shares, then writes them in one batch. */
  private async commitGroup(): Promise<void> {
    const ops: BatchOp[] = []
    const done: QueuedWrite[] = []
    let sync = false
    let sharing = true
    let bytes = 0
    while (this.queue.length > 0 && ops.length < GROUP_OPS_LIMIT && bytes < GROUP_BYTES_LIMIT && sharing) {
      const item = this.queue[0]!
      if (!item.options.shareBatch && done.length > 0) break
      this.queue.shift()
      sharing = item.options.shareBatch === true
      const writer = new MvccWriter(this.engine, this.prefix, item.options.prefetched)
      try {
        await item.fn(writer)
      } catch (err) {
        item.reject(err)
        continue
      }
      const itemOps = [...writer.ops, ...(item.options.extraOps ?? [])]
      for (const op of itemOps) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0)
      pushAll(ops, itemOps)
      sync ||= item.options.sync === true
      done.push(item)
    }
    if (done.length === 0) return
    try {
      await this.engine.batch(ops, { sync })
    } catch (err) {
      for (const item of done) item.reject(err)
      return
    }
    for (const item of done) item.resolve()
  }

  /**
   * Reads the latest records of `keys` in one engine call, for a later {@link write}; with
   * `rollbackChecks`, also whether each (key, start timestamp) has a rollback marker (what a
   * prewrite checks), in one more.
   */
  async readRecords(keys: readonly Uint8Array[], rollbackChecks: ReadonlyArray<readonly [Uint8Array, Timestamp]> = []): Promise<PrefetchedRecords> {
    const records = new Map<string, LatestRecord | undefined>()
    const rollbacks = new Map<string, boolean>()
    const markers = rollbackChecks.map(([k, ts]) => rollbackKey(this.prefix, checkMvccKey(k), ts))
    const [raws, found] = await Promise.all([
      keys.length > 0 ? this.engine.getMany(keys.map((k) => latestKey(this.prefix, checkMvccKey(k)))) : [],
      markers.length > 0 ? this.engine.getMany(markers) : [],
    ])
    keys.forEach((k, i) => {
      const raw = raws[i]
      records.set(toHex(k), raw === undefined ? undefined : decodeLatest(raw))
    })
    rollbackChecks.forEach(([k, ts], i) => rollbacks.set(rollbackId(k, ts), found[i] !== undefined))
    return new PrefetchedRecords(records, rollbacks)
  }

  /** The state of the transaction at `startTs`, read from its primary key; `nowTs` decides lock expiry. */
  async checkTxnStatus(primary: BytesLike, startTs: Timestamp, nowTs: Timestamp): Promise<TxnStatus> {
    const k = checkMvccKey(primary)
    const reader = new MvccWriter(this.engine, this.prefix)
    const rec = await reader.record(k)
    if (rec?.lock?.startTs === startTs) {
      const expired = physicalMs(nowTs) >= physicalMs(startTs) + rec.lock.ttlMs
      return { state: 'locked', lock: rec.lock, expired }
    }
    const committed = await reader.findCommit(k, rec, startTs)
    if (committed) return { state: 'committed', commitTs: committed.commitTs }
    if (await reader.isRolledBack(k, startTs)) return { state: 'rolled-back' }
    return { state: 'missing' }
  }

  /**
   * Removes what no read at or above `safePoint` can see: versions shadowed by a newer version
   * at or below it, deletions at or below it, and rollback markers older than it.
   * Callers promise that no read or transaction below `safePoint` will come.
   */
  async gc(safePoint: Timestamp): Promise<GcStats> {
    checkTimestamp(safePoint, 'safe point')
    const stats: GcStats = { versionsRemoved: 0, tombstonesRemoved: 0, rollbacksRemoved: 0 }
    await this.gcHistory(safePoint, stats)
    await this.gcTombstones(safePoint, stats)
    await this.gcRollbacks(safePoint, stats)
    return stats
  }

  private async gcHistory(safePoint: Timestamp, stats: GcStats): Promise<void> {
    const base = Uint8Array.of(...this.prefix, HISTORY)
    // A key's history entries are adjacent, newest first, and may straddle chunks. Per key,
    // keep versions above the safe point and the newest one at or below it (unless a deletion,
    // or unless the latest record itself is at or below it).
    let currentKey: Uint8Array | undefined
    let visibleSeen = false
    await this.gcPass(base, async (w, entries) => {
      for (const [k, v] of entries) {
        const escapedKey = k.subarray(base.length, k.length - 8)
        if (currentKey === undefined || compareBytes(currentKey, escapedKey) !== 0) {
          currentKey = escapedKey.slice()
          const latestCommit = (await w.record(decodeBytesPart(escapedKey, 0).value))?.version?.commitTs
          visibleSeen = latestCommit !== undefined && latestCommit <= safePoint
        }
        const commitTs = decodeTrailingTs(k, true)
        if (commitTs > safePoint) continue
        if (!visibleSeen) {
          visibleSeen = true
          if (decodeHistoric(v, commitTs).value !== undefined) continue
        }
        w.ops.push({ type: 'del', key: k })
        stats.versionsRemoved++
      }
    })
  }

  private async gcTombstones(safePoint: Timestamp, stats: GcStats): Promise<void> {
    const base = Uint8Array.of(...this.prefix, LATEST)
    await this.gcPass(base, async (w, entries) => {
      for (const [k, v] of entries) {
        const rec = decodeLatest(v)
        if (!rec.lock && rec.version && rec.version.value === undefined && rec.version.commitTs <= safePoint) {
          w.ops.push({ type: 'del', key: k })
          stats.tombstonesRemoved++
        }
      }
    })
  }

  private async gcRollbacks(safePoint: Timestamp, stats: GcStats): Promise<void> {
    await this.gcPass(Uint8Array.of(...this.prefix, ROLLBACK), async (w, entries) => {
      for (const [k] of entries) {
        if (decodeTrailingTs(k, false) < safePoint) {
          w.ops.push({ type: 'del', key: k })
          stats.rollbacksRemoved++
        }
      }
    })
  }

  /** Walks every key under `base` in chunks; each chunk is judged and deleted under the write lock. */
  private async gcPass(base: Uint8Array, judge: (w: MvccWriter, entries: Entry[]) => Promise<void>): Promise<void> {
    let after: Uint8Array | undefined
    for (;;) {
      let done = false
      await this.write(async (w) => {
        const entries: Entry[] = []
        for await (const e of this.engine.scan({ gte: after === undefined ? base : undefined, gt: after, lt: prefixEnd(base)!, limit: GC_CHUNK })) {
          entries.push(e)
        }
        done = entries.length < GC_CHUNK
        after = entries.at(-1)?.[0]
        await judge(w, entries)
      })
      if (done) return
    }
  }

  private latestKey(userKey: Uint8Array): Uint8Array {
    return latestKey(this.prefix, userKey)
  }

  /** The version visible at `ts`: the latest one if old enough, else the newest in history ≤ ts. */
  private async versionAt(userKey: Uint8Array, rec: LatestRecord, ts: Timestamp): Promise<Version | undefined> {
    if (rec.version === undefined || rec.version.commitTs <= ts) return rec.version
    return this.historicAt(userKey, ts)
  }

  /**
   * The versions visible at `ts` of the records of `batch` (latest records; user keys after
   * `baseLength` bytes) whose `fast` reading was 'history' (an unlocked latest version newer than
   * `ts`), by their index in the batch — when there are several: see {@link historicAtMany}.
   */
  private async historyOfBatch(batch: readonly Entry[], baseLength: number, fast: ReadonlyArray<ReturnType<typeof readLatestAt> | undefined>, ts: Timestamp): Promise<Map<number, Version | undefined>> {
    const older = new Map<number, Version | undefined>()
    const needed: number[] = []
    fast.forEach((f, i) => {
      if (f === 'history') needed.push(i)
    })
    if (needed.length < 2) return older
    const keyOf = (i: number) => batch[i]![0].subarray(baseLength)
    needed.sort((a, b) => compareBytes(keyOf(a), keyOf(b)))
    const versions = await this.historicAtMany(needed.map(keyOf), ts)
    needed.forEach((i, n) => older.set(i, versions[n]))
    return older
  }

  /**
   * {@link historicAt} of each of `userKeys` (ascending, no duplicates): one engine scan over
   * their history span, at most {@link HISTORY_SPAN_FACTOR} entries a key — a freshly written
   * key has no history at all, so for new rows read at an older snapshot the span is empty —
   * then a seek of its own for each key that scan did not settle.
   */
  private async historicAtMany(userKeys: readonly Uint8Array[], ts: Timestamp): Promise<Array<Version | undefined>> {
    const bases = userKeys.map((k) => historyBase(this.prefix, k))
    const found: Array<Version | undefined> = new Array<Version | undefined>(userKeys.length).fill(undefined)
    const settled: boolean[] = new Array<boolean>(userKeys.length).fill(false)
    const limit = HISTORY_SPAN_FACTOR * userKeys.length
    let seen = 0
    let j = 0
    for await (const batch of this.engine.scanBatches({ gte: bases[0]!, lt: prefixEnd(bases[bases.length - 1]!)!, limit })) {
      for (const [k, v] of batch) {
        seen++
        // Past key j's versions (each key's lie together, newest first): its answer is final.
        while (j < bases.length && !startsWith(k, bases[j]!) && compareBytes(k, bases[j]!) > 0) settled[j++] = true
        if (j === bases.length || settled[j] || !startsWith(k, bases[j]!)) continue
        const commitTs = decodeTrailingTs(k, true)
        if (commitTs <= ts) {
          found[j] = decodeHistoric(v, commitTs)
          settled[j] = true
        }
      }
    }
    // Below the limit, the scan read the whole span: every key's versions were seen.
    if (seen < limit) settled.fill(true)
    for (let i = 0; i < userKeys.length; i++) if (!settled[i]) found[i] = await this.historicAt(userKeys[i]!, ts)
    return found
  }

  /** The newest version in history committed at or before `ts`. */
  private async historicAt(userKey: Uint8Array, ts: Timestamp): Promise<Version | undefined> {
    const base = historyBase(this.prefix, userKey)
    for await (const [k, v] of this.engine.scan({ gte: concatBytes(base, encodeTs(ts, true)), lt: prefixEnd(base)!, limit: 1 })) {
      return decodeHistoric(v, decodeTrailingTs(k, true))
    }
    return undefined
  }
}

/**
 * Collects the changes of one atomic MVCC write. Reads see the writer's own earlier changes.
 * Obtain one through {@link MvccStore.write}.
 */
export class MvccWriter {
  /** Engine operations accumulated so far, written by {@link MvccStore.write}. */
  readonly ops: BatchOp[] = []
  private readonly pending = new Map<string, LatestRecord | undefined>()
  /** While {@link atomic} runs: how to restore `pending` (key, had an entry, its value), oldest first. */
  private undo: Array<[string, boolean, LatestRecord | undefined]> | undefined
  /** Records read ahead of this write, as stored before it changed them. */
  private readonly prefetched: ReadonlyMap<string, LatestRecord | undefined>
  /** Rollback markers looked up ahead of this write. */
  private readonly prefetchedRollbacks: ReadonlyMap<string, boolean>
  /** Rollback markers this writer added, by (user key, start timestamp) id: their index in `ops` and the key object there. */
  private readonly ownRollbacks = new Map<string, { at: number; key: Uint8Array }>()

  /** @internal */
  constructor(
    private readonly engine: Engine,
    private readonly prefix: Uint8Array,
    prefetched?: PrefetchedRecords,
  ) {
    this.prefetched = prefetched?.records ?? new Map()
    this.prefetchedRollbacks = prefetched?.rollbacks ?? new Map()
  }

  /**
   * Runs `fn` against this writer all or nothing: if it throws, every change it made is
   * undone before the error propagates, and the writer stays usable. Calls do not nest.
   */
  async atomic<T>(fn: () => Promise<T>): Promise<T> {
    if (this.undo) throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, 'MvccWriter.atomic calls do not nest')
    const opsBefore = this.ops.length
    const undo: Array<[string, boolean, LatestRecord | undefined]> = []
    this.undo = undo
    try {
      return await fn()
    } catch (err) {
      this.ops.length = opsBefore
      for (let i = undo.length - 1; i >= 0; i--) {
        const [id, had, rec] = undo[i]!
        if (had) this.pending.set(id, rec)
        else this.pending.delete(id)
      }
      throw err
    } finally {
      this.undo = undefined
    }
  }

  /** Writes a version committed at `ts`. Fails on a lock (KEY_LOCKED) or a version at or after ts (WRITE_CONFLICT). */
  async put(key: BytesLike, value: BytesLike, ts: Timestamp): Promise<void> {
    await this.writeCommitted(checkMvccKey(key), checkMvccValue(value), ts)
  }

  /** Deletes as of `ts`; same conflicts as {@link put}. */
  async delete(key: BytesLike, ts: Timestamp): Promise<void> {
    await this.writeCommitted(checkMvccKey(key), undefined, ts)
  }

  /**
   * Percolator prewrite: locks the key for the transaction at `startTs` with `primary` as its
   * primary key. Idempotent for the same transaction. Fails with KEY_LOCKED on another
   * transaction's lock and WRITE_CONFLICT on a version committed after startTs or when the
   * transaction was already rolled back here. A version committed exactly at startTs is in
   * the transaction's snapshot (visible at ts iff commitTs ≤ ts), so it is no conflict: a
   * one-phase commit's timestamp is chosen by a range leader and may equal a start timestamp
   * the oracle hands out.
   */
  async prewrite(mutation: Mutation, primary: BytesLike, startTs: Timestamp, ttlMs: number): Promise<void> {
    const k = checkMvccKey(mutation.key)
    const primaryKey = checkMvccKey(primary)
    checkTimestamp(startTs, 'start timestamp')
    checkTtl(ttlMs)
    if (mutation.kind !== 'put' && mutation.kind !== 'delete' && mutation.kind !== 'lock') {
      throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `mutation kind must be put, delete or lock, got ${String(mutation.kind)}`)
    }
    const value = mutation.kind === 'put' ? checkMvccValue(mutation.value) : undefined
    const rec = await this.record(k)
    if (rec?.lock) {
      if (rec.lock.startTs === startTs) return
      throw new KeyLockedError(k, rec.lock)
    }
    if (rec?.version && rec.version.commitTs > startTs) {
      throw new StorageError(StorageErrorCode.WRITE_CONFLICT, `write conflict on ${toHex(k)}: committed at ${rec.version.commitTs} > start ${startTs}`)
    }
    if (await this.isRolledBack(k, startTs)) {
      throw new StorageError(StorageErrorCode.WRITE_CONFLICT, `transaction at ${startTs} was already rolled back on ${toHex(k)}`)
    }
    if (mutation.assertAbsent && rec?.version?.value !== undefined) {
      throw new StorageError(StorageErrorCode.KEY_EXISTS, `key ${toHex(k)} already exists`)
    }
    this.setRecord(k, { version: rec?.version, lock: { startTs, ttlMs, kind: mutation.kind, primary: primaryKey, value } })
  }

  /**
   * Commits the transaction at `startTs` on `key` at `commitTs`. Idempotent once committed.
   * Fails with TXN_NOT_FOUND when its lock is gone without a commit (rolled back or never written).
   */
  async commit(key: BytesLike, startTs: Timestamp, commitTs: Timestamp): Promise<void> {
    const k = checkMvccKey(key)
    checkTimestamp(startTs, 'start timestamp')
    checkTimestamp(commitTs, 'commit timestamp')
    if (commitTs <= startTs) {
      throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `commit timestamp ${commitTs} must be after start ${startTs}`)
    }
    const rec = await this.record(k)
    const lock = rec?.lock
    if (lock?.startTs !== startTs) {
      if (await this.findCommit(k, rec, startTs)) return
      throw new StorageError(StorageErrorCode.TXN_NOT_FOUND, `no lock of the transaction at ${startTs} on ${toHex(k)}`)
    }
    if (lock.kind === 'lock') {
      this.setRecord(k, { version: rec?.version, lock: undefined })
      return
    }
    this.pushHistory(k, rec?.version)
    this.setRecord(k, { version: { commitTs, startTs, value: lock.value }, lock: undefined })
  }

  /**
   * Keeps the transaction at `startTs` alive: raises the TTL of its lock on `primary` to
   * `ttlMs` (never lowers it). Fails with TXN_NOT_FOUND when that lock is gone.
   */
  async heartbeat(primary: BytesLike, startTs: Timestamp, ttlMs: number): Promise<void> {
    const k = checkMvccKey(primary)
    checkTimestamp(startTs, 'start timestamp')
    checkTtl(ttlMs)
    const rec = await this.record(k)
    if (rec?.lock?.startTs !== startTs) throw new StorageError(StorageErrorCode.TXN_NOT_FOUND, `no lock of the transaction at ${startTs} on ${toHex(k)}`)
    if (ttlMs > rec.lock.ttlMs) this.setRecord(k, { version: rec.version, lock: { ...rec.lock, ttlMs } })
  }

  /**
   * Rolls back the transaction at `startTs` on `key`: removes its lock and leaves a marker so a
   * late prewrite cannot succeed. Fails with ALREADY_COMMITTED if it committed here.
   */
  async rollback(key: BytesLike, startTs: Timestamp): Promise<void> {
    const k = checkMvccKey(key)
    checkTimestamp(startTs, 'start timestamp')
    const rec = await this.record(k)
    if (rec?.lock?.startTs === startTs) {
      this.setRecord(k, { version: rec.version, lock: undefined })
    } else if (await this.findCommit(k, rec, startTs)) {
      throw new StorageError(StorageErrorCode.ALREADY_COMMITTED, `the transaction at ${startTs} already committed on ${toHex(k)}`)
    }
    const marker = rollbackKey(this.prefix, k, startTs)
    this.ownRollbacks.set(rollbackId(k, startTs), { at: this.ops.length, key: marker })
    this.ops.push({ type: 'put', key: marker, value: new Uint8Array(0) })
  }

  /**
   * Removes what no read at or above `threshold` can see of `key`: older versions shadowed by
   * a newer one at or below it (the newest at or below it stays, unless it is a deletion), the
   * key's deletion itself when it is at or below it and no lock sits there (with all its
   * history, then), and its rollback markers of transactions that started before it. Deletes
   * at most `budget` engine entries (history first, newest-shadowed first), so one call stays
   * bounded; the counts say what went. Callers promise that nothing reads, and no transaction
   * starts, below `threshold` any more. Reads the stored history: run it alone, not after
   * other changes to the same key in this writer.
   */
  async gcKey(key: BytesLike, threshold: Timestamp, budget = Infinity): Promise<GcStats> {
    const k = checkMvccKey(key)
    checkTimestamp(threshold, 'GC threshold')
    const stats: GcStats = { versionsRemoved: 0, tombstonesRemoved: 0, rollbacksRemoved: 0 }
    const rec = await this.record(k)
    // The version reads at the threshold see stays: the latest record's, or else the newest in
    // history at or below the threshold, unless it is a deletion. Everything older goes, oldest
    // first, so that a call cut short by its budget never uncovers an older version.
    const base = historyBase(this.prefix, k)
    const boundary = concatBytes(base, encodeTs(threshold, true))
    let keep: Uint8Array | undefined
    if (rec?.version === undefined || rec.version.commitTs > threshold) {
      for await (const [hk, v] of this.engine.scan({ gte: boundary, lt: prefixEnd(base)!, limit: 1 })) if (v[0] !== 1) keep = hk
    }
    let removed = 0
    const older = keep === undefined ? { gte: boundary } : { gt: keep }
    if (budget > 0) {
      for await (const [hk] of this.engine.scan({ ...older, lt: prefixEnd(base)!, reverse: true, limit: budget === Infinity ? undefined : budget })) {
        this.ops.push({ type: 'del', key: hk })
        stats.versionsRemoved++
        removed++
      }
    }
    if (rec && !rec.lock && rec.version && rec.version.value === undefined && rec.version.commitTs <= threshold && removed < budget) {
      this.setRecord(k, { version: undefined, lock: undefined })
      stats.tombstonesRemoved++
      removed++
    }
    const markers = concatBytes(Uint8Array.of(...this.prefix, ROLLBACK), encodeBytesPart(k))
    for await (const [mk] of this.engine.scan({ gte: markers, lt: concatBytes(markers, encodeTs(threshold, false)) })) {
      if (removed >= budget) break
      this.ops.push({ type: 'del', key: mk })
      stats.rollbacksRemoved++
      removed++
    }
    return stats
  }

  /** The newest committed value of `key` as this writer sees it (its own changes included). Meets a lock → KeyLockedError. */
  async latest(key: BytesLike): Promise<Uint8Array | undefined> {
    const k = checkMvccKey(key)
    const rec = await this.record(k)
    if (rec?.lock && rec.lock.kind !== 'lock') throw new KeyLockedError(k, rec.lock)
    return rec?.version?.value
  }

  /** @internal The key's latest record as this writer sees it. */
  async record(userKey: Uint8Array): Promise<LatestRecord | undefined> {
    const id = toHex(userKey)
    if (this.pending.has(id)) return this.pending.get(id)
    if (this.prefetched.has(id)) return this.prefetched.get(id)
    const raw = await this.engine.get(latestKey(this.prefix, userKey))
    return raw === undefined ? undefined : decodeLatest(raw)
  }

  /** @internal The version committed by the transaction at `startTs`, if any. */
  async findCommit(userKey: Uint8Array, rec: LatestRecord | undefined, startTs: Timestamp): Promise<Version | undefined> {
    if (rec?.version?.startTs === startTs) return rec.version
    // Only versions committed after startTs can belong to it: scan history from newest down to startTs.
    const base = historyBase(this.prefix, userKey)
    for await (const [k, v] of this.engine.scan({ gte: base, lte: concatBytes(base, encodeTs(startTs, true)) })) {
      const version = decodeHistoric(v, decodeTrailingTs(k, true))
      if (version.startTs === startTs) return version
    }
    return undefined
  }

  /** @internal Whether a rollback marker exists for the transaction at `startTs`. */
  async isRolledBack(userKey: Uint8Array, startTs: Timestamp): Promise<boolean> {
    const id = rollbackId(userKey, startTs)
    const known = this.prefetchedRollbacks.get(id)
    if (known === true) return true
    // A marker this writer added itself is not in the engine yet (and is gone if `atomic` undid it).
    const own = this.ownRollbacks.get(id)
    if (own !== undefined && this.ops[own.at]?.key === own.key) return true
    if (known === false) return false
    return (await this.engine.get(rollbackKey(this.prefix, userKey, startTs))) !== undefined
  }

  private async writeCommitted(k: Uint8Array, value: Uint8Array | undefined, ts: Timestamp): Promise<void> {
    checkTimestamp(ts, 'write timestamp')
    if (ts === MAX_TIMESTAMP) throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, 'write timestamp must be below the maximum')
    const rec = await this.record(k)
    if (rec?.lock) throw new KeyLockedError(k, rec.lock)
    if (rec?.version && rec.version.commitTs >= ts) {
      throw new StorageError(StorageErrorCode.WRITE_CONFLICT, `write conflict on ${toHex(k)}: committed at ${rec.version.commitTs} ≥ ${ts}`)
    }
    this.pushHistory(k, rec?.version)
    this.setRecord(k, { version: { commitTs: ts, startTs: ts, value }, lock: undefined })
  }

  private pushHistory(k: Uint8Array, version: Version | undefined): void {
    if (version === undefined) return
    const key = concatBytes(historyBase(this.prefix, k), encodeTs(version.commitTs, true))
    this.ops.push({ type: 'put', key, value: encodeHistoric(version) })
  }

  private setRecord(k: Uint8Array, rec: LatestRecord): void {
    const empty = rec.version === undefined && rec.lock === undefined
    const id = toHex(k)
    this.undo?.push([id, this.pending.has(id), this.pending.get(id)])
    this.pending.set(id, empty ? undefined : rec)
    const key = latestKey(this.prefix, k)
    this.ops.push(empty ? { type: 'del', key } : { type: 'put', key, value: encodeLatest(rec) })
  }
}

function rethrowLevelError(err: unknown): never {
  throw fromLevelError(err, 'MVCC get')
}

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 0 || ttlMs > 0xffff_ffff) {
    throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `lock TTL must be a 32-bit count of ms, got ${ttlMs}`)
  }
}

/** Whether `lock` stops a read at `ts`: a write lock of a transaction that started at or before it. */
function blocksRead(lock: Lock | undefined, ts: Timestamp): lock is Lock {
  return lock !== undefined && lock.kind !== 'lock' && lock.startTs <= ts
}

function checkReadLock(key: Uint8Array, lock: Lock | undefined, ts: Timestamp): void {
  if (blocksRead(lock, ts)) throw new KeyLockedError(key, lock)
}

/** How a (user key, start timestamp) rollback check is named in maps, without building its engine key. */
function rollbackId(userKey: Uint8Array, startTs: Timestamp): string {
  return `${toHex(userKey)}@${startTs}`
}

/** {@link readLatestAt}, or undefined where it throws (a damaged record: decoding it in full reports it, in its turn). */
function readLatestAtOrUndefined(bytes: Uint8Array, ts: Timestamp): ReturnType<typeof readLatestAt> {
  try {
    return readLatestAt(bytes, ts)
  } catch {
    return undefined
  }
}

/** Whether `bytes` begins with `prefix`. */
function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

function latestKey(prefix: Uint8Array, userKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + 1 + userKey.length)
  out.set(prefix)
  out[prefix.length] = LATEST
  out.set(userKey, prefix.length + 1)
  return out
}

function historyBase(prefix: Uint8Array, userKey: Uint8Array): Uint8Array {
  return concatBytes(prefix, Uint8Array.of(HISTORY), encodeBytesPart(userKey))
}

function rollbackKey(prefix: Uint8Array, userKey: Uint8Array, startTs: Timestamp): Uint8Array {
  return concatBytes(prefix, Uint8Array.of(ROLLBACK), encodeBytesPart(userKey), encodeTs(startTs, false))
}

/** Whether an encoded latest record holds a committed value (not a deletion, not only a lock). */
function holdsValue(raw: Uint8Array): boolean {
  const flags = raw[0]!
  return (flags & 1) !== 0 && (flags & 2) === 0
}

function toBytesChecked(key: BytesLike): Uint8Array {
  return typeof key === 'string' ? new TextEncoder().encode(key) : key
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

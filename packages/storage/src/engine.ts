import { mkdir } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { toBytes, type BytesLike } from './bytes.js'
import { StorageError, StorageErrorCode, fromLevelError } from './errors.js'

/** Largest key the engine accepts, in bytes. */
export const MAX_KEY_SIZE = 16 * 1024
/** Largest value the engine accepts, in bytes. */
export const MAX_VALUE_SIZE = 64 * 1024 * 1024
/** Largest total of keys and values in one batch, in bytes. */
export const MAX_BATCH_SIZE = 256 * 1024 * 1024

/** Options of {@link open}. */
export interface OpenOptions {
  /** Default for every write: wait for fsync before resolving. Default false. */
  sync?: boolean
  /** LevelDB block cache in bytes. Default 8 MiB. */
  cacheSize?: number
  /** LevelDB memtable size in bytes before it is flushed to a table file. Default 4 MiB. */
  writeBufferSize?: number
  /** Told how long each write that waited for fsync took, in milliseconds (metrics, slow-disk warnings). */
  onSyncedWrite?: (durationMs: number) => void
}

/** Options of a single write. */
export interface WriteOptions {
  /** Wait for fsync before resolving; overrides the engine's default. */
  sync?: boolean
}

/** One operation of an atomic {@link Engine.batch}. */
export type BatchOp = { type: 'put'; key: BytesLike; value: BytesLike } | { type: 'del'; key: BytesLike }

/** Bounds and shape of an ordered scan. Bounds are keys; `gte`/`lte` win over `gt`/`lt`. */
export interface ScanOptions {
  gt?: BytesLike
  gte?: BytesLike
  lt?: BytesLike
  lte?: BytesLike
  /** Stop after this many entries (default: no limit). */
  limit?: number
  /** Descending key order instead of ascending. */
  reverse?: boolean
}

/** A key/value pair as a scan yields it. Returned bytes are Node Buffers (a Uint8Array subclass). */
export type Entry = [key: Uint8Array, value: Uint8Array]

/** Read operations shared by the engine and its snapshots. */
export interface Reader {
  /** The value stored at `key`, or undefined. */
  get(key: BytesLike): Promise<Uint8Array | undefined>
  /** Entries in key order within the bounds of `options`. */
  scan(options?: ScanOptions): AsyncIterableIterator<Entry>
}

type Db = ClassicLevel<Uint8Array, Uint8Array>
type LevelSnapshot = ReturnType<Db['snapshot']>
type LevelBatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

const SYNC = { sync: true } as const

/** How many entries a scan reads from LevelDB per native call. */
const SCAN_CHUNK = 256

/**
 * Opens (creating if missing) the engine in directory `dir`.
 * Only one engine may have a directory open at a time; a second open raises ERR_LOCKED.
 */
export async function open(dir: string, options: OpenOptions = {}): Promise<Engine> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, 'open: dir must be a non-empty path')
  }
  await mkdir(dir, { recursive: true })
  const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: true,
    cacheSize: options.cacheSize ?? 8 * 1024 * 1024,
    writeBufferSize: options.writeBufferSize ?? 4 * 1024 * 1024,
  })
  try {
    await db.open()
  } catch (err) {
    throw fromLevelError(unwrapOpenError(err), `open ${dir}`)
  }
  return new Engine(db, options.sync ?? false, options.onSyncedWrite)
}

/** classic-level reports open failures as LEVEL_DATABASE_NOT_OPEN with the real reason as cause. */
function unwrapOpenError(err: unknown): unknown {
  const cause = (err as { cause?: unknown } | null)?.cause
  return cause !== undefined ? cause : err
}

/**
 * An open storage engine: an ordered map of byte keys to byte values on disk.
 * Writes are atomic per call; a batch is atomic as a whole and costs one fsync when synced.
 */
export class Engine implements Reader {
  private closed = false

  /** @internal Use {@link open}. */
  constructor(
    private readonly db: Db,
    private readonly syncByDefault: boolean,
    private readonly onSyncedWrite?: (durationMs: number) => void,
  ) {}

  /** The value at `key` (a Node Buffer, which is a Uint8Array), or undefined when absent. */
  get(key: BytesLike): Promise<Uint8Array | undefined> {
    // Not `async`: one promise less per call on the hottest path.
    try {
      this.checkOpen('get')
      return this.db.get(checkKey(key)).catch(rethrowAs('get'))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The values at many keys in one call (undefined where absent), in the order asked. */
  async getMany(keys: readonly BytesLike[]): Promise<Array<Uint8Array | undefined>> {
    this.checkOpen('getMany')
    const ks = keys.map((k) => checkKey(k))
    try {
      return await this.db.getMany(ks)
    } catch (err) {
      throw fromLevelError(err, 'getMany')
    }
  }

  /**
   * `get` for internal layers that built `key` themselves: no validation, and classic-level
   * errors are not converted (pass them to {@link fromLevelError}).
   * @internal
   */
  getUnchecked(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.closed) return Promise.reject(new StorageError(StorageErrorCode.CLOSED, 'get: engine is closed'))
    return this.db.get(key)
  }

  /**
   * The value at `key`, read without yielding to the event loop. For callers that must be
   * synchronous (the Raft log); the data is usually in LevelDB's cache or the page cache.
   */
  getSync(key: BytesLike): Uint8Array | undefined {
    this.checkOpen('getSync')
    try {
      return this.db.getSync(checkKey(key))
    } catch (err) {
      throw fromLevelError(err, 'getSync')
    }
  }

  /** Stores `value` at `key`. */
  put(key: BytesLike, value: BytesLike, options?: WriteOptions): Promise<void> {
    try {
      this.checkOpen('put')
      const k = checkKey(key)
      const v = checkValue(value)
      // An options object costs abstract-level a merge per call: pass one only to sync.
      const put = (options?.sync ?? this.syncByDefault) ? this.timedSync(this.db.put(k, v, SYNC)) : this.db.put(k, v)
      return put.catch(rethrowAs('put'))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** `write`, a synced write under way, timed for {@link OpenOptions.onSyncedWrite}. */
  private timedSync(write: Promise<void>): Promise<void> {
    const observe = this.onSyncedWrite
    if (observe === undefined) return write
    const started = performance.now()
    return write.then(() => observe(performance.now() - started))
  }

  /** Removes `key` (no error if absent). */
  async del(key: BytesLike, options?: WriteOptions): Promise<void> {
    await this.batch([{ type: 'del', key }], options)
  }

  /** Applies every operation or none; with `sync` it is durable on return at the cost of one fsync. */
  async batch(ops: readonly BatchOp[], options?: WriteOptions): Promise<void> {
    this.checkOpen('batch')
    if (!Array.isArray(ops)) throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, 'batch: ops must be an array')
    const levelOps: LevelBatchOp[] = new Array(ops.length)
    let size = 0
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]
      const key = checkKey(op?.key)
      size += key.length
      if (op?.type === 'put') {
        const value = checkValue(op.value)
        size += value.length
        levelOps[i] = { type: 'put', key, value }
      } else if (op?.type === 'del') {
        levelOps[i] = { type: 'del', key }
      } else {
        throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `batch: op ${i} has type ${String(op?.type)}, want 'put' or 'del'`)
      }
    }
    if (size > MAX_BATCH_SIZE) {
      throw new StorageError(StorageErrorCode.TOO_LARGE, `batch: ${size} bytes is over the ${MAX_BATCH_SIZE}-byte limit`)
    }
    if (levelOps.length === 0) return
    try {
      await ((options?.sync ?? this.syncByDefault) ? this.timedSync(this.db.batch(levelOps, SYNC)) : this.db.batch(levelOps))
    } catch (err) {
      throw fromLevelError(err, 'batch')
    }
  }

  /** Entries in key order within the bounds; stops early if the loop breaks. */
  scan(options: ScanOptions = {}): AsyncIterableIterator<Entry> {
    this.checkOpen('scan')
    return scanLevel(this.db, levelRange(options), undefined)
  }

  /**
   * Like {@link scan}, a batch of entries at a time (as LevelDB's iterator hands them over):
   * for a caller walking many entries, one await per batch instead of one per entry.
   */
  scanBatches(options: ScanOptions = {}): AsyncIterableIterator<Entry[]> {
    this.checkOpen('scan')
    return scanLevelBatches(this.db, levelRange(options), undefined)
  }

  /**
   * About how many bytes the keys in [gte, lt) take on disk (LevelDB's estimate: what was
   * written to table files, compressed; recent writes still in memory do not count). Cheap:
   * no data is read.
   */
  async approximateSize(gte: BytesLike, lt: BytesLike): Promise<number> {
    this.checkOpen('approximateSize')
    try {
      return await this.db.approximateSize(checkKey(gte), checkKey(lt))
    } catch (err) {
      throw fromLevelError(err, 'approximateSize')
    }
  }

  /**
   * Compacts the table files holding [gte, lt), so that the space of deleted entries there is
   * given back now rather than whenever LevelDB would get to it. Runs off the event loop.
   */
  async compactRange(gte: BytesLike, lt: BytesLike): Promise<void> {
    this.checkOpen('compactRange')
    try {
      await this.db.compactRange(checkKey(gte), checkKey(lt))
    } catch (err) {
      throw fromLevelError(err, 'compactRange')
    }
  }

  /** A consistent read-only view of the engine as of now; release it when done. */
  snapshot(): Snapshot {
    this.checkOpen('snapshot')
    return new Snapshot(this.db, this.db.snapshot())
  }

  /** Closes the engine; later calls raise ERR_CLOSED. Closing twice is allowed. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.db.close()
    } catch (err) {
      throw fromLevelError(err, 'close')
    }
  }

  /** Whether {@link close} has been called. */
  get isClosed(): boolean {
    return this.closed
  }

  private checkOpen(what: string): void {
    if (this.closed) throw new StorageError(StorageErrorCode.CLOSED, `${what}: engine is closed`)
  }
}

/** A consistent read-only view of the engine at the moment it was taken. */
export class Snapshot implements Reader {
  private released = false

  /** @internal Use {@link Engine.snapshot}. */
  constructor(
    private readonly db: Db,
    private readonly snap: LevelSnapshot,
  ) {}

  /** The value at `key` as of the snapshot. */
  get(key: BytesLike): Promise<Uint8Array | undefined> {
    try {
      this.checkLive('get')
      return this.db.get(checkKey(key), { snapshot: this.snap }).catch(rethrowAs('snapshot get'))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Entries as of the snapshot, in key order within the bounds. */
  scan(options: ScanOptions = {}): AsyncIterableIterator<Entry> {
    this.checkLive('scan')
    return scanLevel(this.db, levelRange(options), this.snap)
  }

  /** Frees the snapshot; later reads raise ERR_CLOSED. Releasing twice is allowed. */
  release(): void {
    if (this.released) return
    this.released = true
    void this.snap.close().catch(() => {
      // closing an already-closed database's snapshot is harmless
    })
  }

  private checkLive(what: string): void {
    if (this.released) throw new StorageError(StorageErrorCode.CLOSED, `snapshot ${what}: snapshot is released`)
  }
}

/** A rejection handler that converts classic-level errors for `what`. */
function rethrowAs(what: string): (err: unknown) => never {
  return (err) => {
    throw fromLevelError(err, what)
  }
}

async function* scanLevel(db: Db, range: Record<string, unknown>, snapshot: LevelSnapshot | undefined): AsyncGenerator<Entry> {
  for await (const chunk of scanLevelBatches(db, range, snapshot)) yield* chunk
}

async function* scanLevelBatches(db: Db, range: Record<string, unknown>, snapshot: LevelSnapshot | undefined): AsyncGenerator<Entry[]> {
  const it = db.iterator({ ...range, snapshot })
  try {
    for (;;) {
      let chunk: Entry[]
      try {
        chunk = (await it.nextv(SCAN_CHUNK)) as Entry[]
      } catch (err) {
        throw fromLevelError(err, 'scan')
      }
      if (chunk.length === 0) return
      yield chunk
    }
  } finally {
    await it.close().catch(() => {})
  }
}

function levelRange(options: ScanOptions): Record<string, unknown> {
  if (options === null || typeof options !== 'object') {
    throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, 'scan: options must be an object')
  }
  const range: Record<string, unknown> = { reverse: options.reverse === true }
  if (options.gte !== undefined) range.gte = checkKey(options.gte)
  else if (options.gt !== undefined) range.gt = checkKey(options.gt)
  if (options.lte !== undefined) range.lte = checkKey(options.lte)
  else if (options.lt !== undefined) range.lt = checkKey(options.lt)
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 0) {
      throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `scan: limit must be a non-negative integer, got ${options.limit}`)
    }
    range.limit = options.limit
  }
  return range
}

/** Validates a key: bytes or string, non-empty, at most `max` bytes (default {@link MAX_KEY_SIZE}). */
export function checkKey(key: unknown, max = MAX_KEY_SIZE): Uint8Array {
  const bytes = toBytes(key, StorageErrorCode.INVALID_KEY, 'key')
  if (bytes.length === 0) throw new StorageError(StorageErrorCode.INVALID_KEY, 'key must not be empty')
  if (bytes.length > max) {
    throw new StorageError(StorageErrorCode.TOO_LARGE, `key of ${bytes.length} bytes is over the ${max}-byte limit`)
  }
  return bytes
}

/** Validates a value: bytes or string, at most `max` bytes (default {@link MAX_VALUE_SIZE}). */
export function checkValue(value: unknown, max = MAX_VALUE_SIZE): Uint8Array {
  const bytes = toBytes(value, StorageErrorCode.INVALID_VALUE, 'value')
  if (bytes.length > max) {
    throw new StorageError(StorageErrorCode.TOO_LARGE, `value of ${bytes.length} bytes is over the ${max}-byte limit`)
  }
  return bytes
}

import { concatBytes, prefixEnd } from './bytes.js'
import type { BatchOp, Engine, WriteOptions } from './engine.js'
import { StorageError, StorageErrorCode } from './errors.js'
import { crc32c } from './crc32c.js'

/** A Raft log entry as stored: the same shape `@mrdb/raft` uses. */
export interface RaftLogEntry {
  index: number
  term: number
  type: 'normal' | 'confChange'
  data: Uint8Array
}

/** Raft's durable vote state. */
export interface RaftHardState {
  term: number
  vote: number
  commit: number
}

/** Where the log was cut by a snapshot: the last index and term it covers, and opaque metadata (e.g. the conf state). */
export interface RaftSnapshotMeta {
  index: number
  term: number
  data: Uint8Array
}

/**
 * Keys under 0x01 (range-local, unreplicated):
 * - `01 00 <group u64> <kind>`: per-group metadata (00 exists, 01 hard state, 02 truncated point, 03 snapshot meta)
 * - `01 01 <group u64> <index u64>`: log entries, each `[crc32c u32][term u64][type u8][data]`,
 *   the CRC covering the index and everything after the CRC field.
 */
const META = Uint8Array.of(0x01, 0x00)
const LOG = Uint8Array.of(0x01, 0x01)
const KIND_EXISTS = 0
const KIND_HARD_STATE = 1
const KIND_TRUNCATED = 2
const KIND_SNAPSHOT = 3
const TYPE_CODES = { normal: 0, confChange: 1 } as const
const EMPTY = new Uint8Array(0)
/** Entries {@link RaftLogStore.verify} checks between two turns of the event loop. */
const VERIFY_YIELD_EVERY = 1024

/**
 * ERR_CORRUPTION from a read of one group's stored Raft state: it names the group and, when
 * a log entry (not the group's metadata) is damaged, the entry. Other groups are unaffected.
 */
export class RaftLogCorruptionError extends StorageError {
  override readonly name: string = 'RaftLogCorruptionError'

  constructor(
    readonly groupId: number,
    /** The damaged (or missing) entry; undefined when the group's metadata is damaged. */
    readonly index: number | undefined,
    message: string,
  ) {
    super(StorageErrorCode.CORRUPTION, message)
  }
}

/** Damage {@link RaftLogStore.verify} found in one group's stored Raft state. */
export interface RaftLogDamage {
  groupId: number
  /** The first damaged (or missing) log index; absent when the group's metadata (hard state, truncated point, snapshot record) is damaged. */
  index?: number
  /** What is wrong, for people. */
  reason: string
}

interface GroupState {
  /** Index and term of the last entry removed by compaction or covered by a snapshot (0/0 at first). */
  truncatedIndex: number
  truncatedTerm: number
  /** Invariant: truncatedIndex <= lastIndex; entries (truncatedIndex, lastIndex] are all stored. */
  lastIndex: number
  hardState: RaftHardState
  snapshot: RaftSnapshotMeta | undefined
  /** Set when the group's metadata failed its checks at open: every read of the group then fails with ERR_CORRUPTION. */
  damage?: string
}

/**
 * The durable Raft log of many groups in one engine. Reads are synchronous (from LevelDB's
 * cache or the page cache) so the Raft core can call them; writes of any number of groups
 * go through one {@link RaftLogBatch}, one engine batch and, when synced, one fsync. Every
 * read of a group whose metadata was found damaged at open, and every read of a damaged
 * entry, fails with a {@link RaftLogCorruptionError} (ERR_CORRUPTION).
 */
export class RaftLogStore {
  private constructor(
    private readonly engine: Engine,
    private readonly groups: Map<number, GroupState>,
  ) {}

  /**
   * Loads the metadata of every group stored in `engine`. A group whose metadata is damaged
   * is loaded as damaged (see {@link verify}) rather than failing the whole store: the other
   * groups stay usable.
   */
  static async open(engine: Engine): Promise<RaftLogStore> {
    const groups = new Map<number, GroupState>()
    for await (const [key, value] of engine.scan({ gte: META, lt: prefixEnd(META)! })) {
      const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
      const groupId = getU64(view, META.length)
      let group = groups.get(groupId)
      if (!group) groups.set(groupId, (group = emptyGroup()))
      try {
        switch (key[META.length + 8]) {
          case KIND_HARD_STATE:
            group.hardState = decodeHardState(value, groupId)
            break
          case KIND_TRUNCATED: {
            const [index, term] = decodeIndexTerm(value, groupId)
            group.truncatedIndex = index
            group.truncatedTerm = term
            break
          }
          case KIND_SNAPSHOT:
            group.snapshot = decodeSnapshotMeta(value, groupId)
            break
        }
      } catch (err) {
        if (!(err instanceof StorageError) || err.code !== StorageErrorCode.CORRUPTION) throw err
        group.damage ??= err.message
      }
    }
    for (const [groupId, group] of groups) {
      const base = concatBytes(LOG, u64(groupId))
      if (group.damage !== undefined) {
        // Nothing reads a damaged group; its stored entries only bound what destroying it deletes.
        for await (const [key] of engine.scan({ gt: base, lt: prefixEnd(base)!, limit: 1 })) {
          group.truncatedIndex = getU64(new DataView(key.buffer, key.byteOffset, key.byteLength), base.length) - 1
        }
      }
      group.lastIndex = group.truncatedIndex
      for await (const [key] of engine.scan({ gt: base, lt: prefixEnd(base)!, reverse: true, limit: 1 })) {
        group.lastIndex = getU64(new DataView(key.buffer, key.byteOffset, key.byteLength), base.length)
      }
    }
    return new RaftLogStore(engine, groups)
  }

  /**
   * Reads every stored entry of every group and checks it: its CRC (over index and bytes),
   * its type, and that no index between a group's first and last is missing. Yields to the
   * event loop every {@link VERIFY_YIELD_EVERY} entries, so a big log does not stall timers.
   * Returns the first damage of each damaged group (metadata damage found at open included),
   * by group id; an empty list when every group is intact.
   */
  async verify(): Promise<RaftLogDamage[]> {
    const found = new Map<number, RaftLogDamage>()
    for (const [groupId, g] of this.groups) if (g.damage !== undefined) found.set(groupId, { groupId, reason: g.damage })
    // The group being scanned and the next index it must have.
    let current: { groupId: number; g: GroupState; next: number } | undefined
    const finish = () => {
      if (current && !found.has(current.groupId) && current.next <= current.g.lastIndex) {
        found.set(current.groupId, { groupId: current.groupId, index: current.next, reason: `raft log of group ${current.groupId}: entry ${current.next} is missing inside the log` })
      }
    }
    let seen = 0
    for await (const [key, value] of this.engine.scan({ gte: LOG, lt: prefixEnd(LOG)! })) {
      if (++seen % VERIFY_YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve))
      if (key.length !== LOG.length + 16) continue
      const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
      const groupId = getU64(view, LOG.length)
      const index = getU64(view, LOG.length + 8)
      if (current?.groupId !== groupId) {
        finish()
        const g = this.groups.get(groupId)
        // Entries of a group without metadata are no group's log: nothing reads them.
        current = g ? { groupId, g, next: g.truncatedIndex + 1 } : undefined
      }
      if (!current || found.has(groupId) || index < current.next) continue
      if (index > current.next) {
        found.set(groupId, { groupId, index: current.next, reason: `raft log of group ${groupId}: entry ${current.next} is missing inside the log` })
        continue
      }
      try {
        decodeEntry(value, groupId, index)
      } catch (err) {
        if (!(err instanceof StorageError) || err.code !== StorageErrorCode.CORRUPTION) throw err
        found.set(groupId, { groupId, index, reason: err.message })
      }
      current.next = index + 1
    }
    finish()
    return [...found.values()].sort((a, b) => a.groupId - b.groupId)
  }

  /** Ids of every group with stored state. */
  groupIds(): number[] {
    return [...this.groups.keys()].sort((a, b) => a - b)
  }

  /** Whether the group has stored state. */
  hasGroup(groupId: number): boolean {
    return this.groups.has(groupId)
  }

  /** The first index still in the log (truncated index + 1). */
  firstIndex(groupId: number): number {
    return this.group(groupId).truncatedIndex + 1
  }

  /** The last index in the log (the truncated index when the log is empty). */
  lastIndex(groupId: number): number {
    return this.group(groupId).lastIndex
  }

  /** The durable hard state (zeros for a new group). */
  hardState(groupId: number): RaftHardState {
    return { ...this.group(groupId).hardState }
  }

  /** The metadata of the last installed or created snapshot, if any. */
  snapshotMeta(groupId: number): RaftSnapshotMeta | undefined {
    return this.group(groupId).snapshot
  }

  /**
   * The term of entry `index`; valid for [truncated index, last index]. Below: ERR_COMPACTED;
   * above: ERR_UNAVAILABLE; a damaged entry: a {@link RaftLogCorruptionError}.
   */
  term(groupId: number, index: number): number {
    const g = this.group(groupId)
    if (index === g.truncatedIndex) return g.truncatedTerm
    return this.readEntry(groupId, g, index).term
  }

  /**
   * Entries [lo, hi), stopping once their data passes `maxBytes` (at least one entry is
   * always returned). Same errors as {@link term}.
   */
  entries(groupId: number, lo: number, hi: number, maxBytes = Infinity): RaftLogEntry[] {
    const g = this.group(groupId)
    if (lo > hi) throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `entries: lo ${lo} > hi ${hi}`)
    const out: RaftLogEntry[] = []
    let bytes = 0
    for (let i = lo; i < hi; i++) {
      const e = this.readEntry(groupId, g, i)
      bytes += e.data.length
      if (out.length > 0 && bytes > maxBytes) break
      out.push(e)
    }
    return out
  }

  /** A new batch of writes to any number of groups. */
  batch(): RaftLogBatch {
    return new RaftLogBatch(this.engine, this.groups)
  }

  private group(groupId: number): GroupState {
    const g = this.groups.get(groupId) ?? emptyGroup()
    if (g.damage !== undefined) throw new RaftLogCorruptionError(groupId, undefined, g.damage)
    return g
  }

  private readEntry(groupId: number, g: GroupState, index: number): RaftLogEntry {
    if (index <= g.truncatedIndex) {
      throw new StorageError(StorageErrorCode.COMPACTED, `group ${groupId}: entry ${index} is compacted (first is ${g.truncatedIndex + 1})`)
    }
    if (index > g.lastIndex) {
      throw new StorageError(StorageErrorCode.UNAVAILABLE, `group ${groupId}: entry ${index} is past the last index ${g.lastIndex}`)
    }
    const raw = this.engine.getSync(raftLogEntryKey(groupId, index))
    if (raw === undefined) {
      throw corrupt(groupId, `entry ${index} is missing inside the log`, index)
    }
    return decodeEntry(raw, groupId, index)
  }
}

/**
 * Writes to the Raft logs of many groups, applied atomically by {@link write}. Later calls
 * see the effect of earlier ones in the same batch.
 */
export class RaftLogBatch {
  private readonly ops: BatchOp[] = []
  private readonly pending = new Map<number, GroupState>()

  /** @internal Use {@link RaftLogStore.batch}. */
  constructor(
    private readonly engine: Engine,
    private readonly groups: Map<number, GroupState>,
  ) {}

  /**
   * Appends entries with consecutive indexes; an existing entry at or after the first new
   * index is replaced and every entry past the new last one is removed (a conflicting suffix).
   */
  append(groupId: number, entries: readonly RaftLogEntry[]): this {
    if (entries.length === 0) return this
    const g = this.state(groupId)
    const first = entries[0]!.index
    if (first <= g.truncatedIndex) {
      throw new StorageError(StorageErrorCode.COMPACTED, `group ${groupId}: append at ${first} is at or below the truncated index ${g.truncatedIndex}`)
    }
    if (first > g.lastIndex + 1) {
      throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `group ${groupId}: append at ${first} leaves a gap after ${g.lastIndex}`)
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      if (e.index !== first + i) throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `group ${groupId}: entry indexes are not consecutive at ${e.index}`)
      this.ops.push({ type: 'put', key: raftLogEntryKey(groupId, e.index), value: encodeEntry(e) })
    }
    const newLast = first + entries.length - 1
    for (let i = newLast + 1; i <= g.lastIndex; i++) this.ops.push({ type: 'del', key: raftLogEntryKey(groupId, i) })
    g.lastIndex = newLast
    return this
  }

  /** Stores the hard state. */
  setHardState(groupId: number, hs: RaftHardState): this {
    const g = this.state(groupId)
    g.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit }
    this.ops.push({ type: 'put', key: metaKey(groupId, KIND_HARD_STATE), value: encodeHardState(g.hardState) })
    return this
  }

  /** Removes entries up to and including `index`, which must be in the log. */
  compact(groupId: number, index: number, termAtIndex: number): this {
    const g = this.state(groupId)
    if (index <= g.truncatedIndex) return this
    if (index > g.lastIndex) {
      throw new StorageError(StorageErrorCode.UNAVAILABLE, `group ${groupId}: cannot compact to ${index} past the last index ${g.lastIndex}`)
    }
    for (let i = g.truncatedIndex + 1; i <= index; i++) this.ops.push({ type: 'del', key: raftLogEntryKey(groupId, i) })
    this.setTruncated(groupId, g, index, termAtIndex)
    return this
  }

  /** Records an installed snapshot: the whole log is replaced by the point it covers. */
  installSnapshot(groupId: number, meta: RaftSnapshotMeta): this {
    const g = this.state(groupId)
    for (let i = g.truncatedIndex + 1; i <= g.lastIndex; i++) this.ops.push({ type: 'del', key: raftLogEntryKey(groupId, i) })
    this.setTruncated(groupId, g, meta.index, meta.term)
    g.lastIndex = meta.index
    this.setSnapshotMeta(groupId, meta)
    return this
  }

  /** Records a snapshot taken locally, without touching the log. */
  setSnapshotMeta(groupId: number, meta: RaftSnapshotMeta): this {
    const g = this.state(groupId)
    g.snapshot = { index: meta.index, term: meta.term, data: meta.data.slice() }
    this.ops.push({ type: 'put', key: metaKey(groupId, KIND_SNAPSHOT), value: encodeSnapshotMeta(g.snapshot) })
    return this
  }

  /** Removes every trace of the group (a replica that left). */
  destroyGroup(groupId: number): this {
    const g = this.state(groupId)
    for (let i = g.truncatedIndex + 1; i <= g.lastIndex; i++) this.ops.push({ type: 'del', key: raftLogEntryKey(groupId, i) })
    for (const kind of [KIND_EXISTS, KIND_HARD_STATE, KIND_TRUNCATED, KIND_SNAPSHOT]) this.ops.push({ type: 'del', key: metaKey(groupId, kind) })
    this.pending.set(groupId, DESTROYED)
    return this
  }

  /** Engine operations of this batch, to be written together with other data in one engine batch. */
  get operations(): readonly BatchOp[] {
    return this.ops
  }

  /** Writes every change in one engine batch (one fsync with `sync`), then makes them visible to reads. */
  async write(options?: WriteOptions): Promise<void> {
    await this.engine.batch(this.ops, options)
    this.committed()
  }

  /**
   * Makes the changes visible to reads after the caller wrote {@link operations} itself.
   * @internal
   */
  committed(): void {
    for (const [groupId, g] of this.pending) {
      if (g === DESTROYED) this.groups.delete(groupId)
      else this.groups.set(groupId, g)
    }
    this.pending.clear()
  }

  private state(groupId: number): GroupState {
    if (!Number.isSafeInteger(groupId) || groupId < 0) {
      throw new StorageError(StorageErrorCode.INVALID_ARGUMENT, `group id must be a non-negative safe integer, got ${groupId}`)
    }
    let g = this.pending.get(groupId)
    if (g === DESTROYED) g = undefined
    if (g) return g
    const stored = this.groups.get(groupId)
    if (!stored) this.ops.push({ type: 'put', key: metaKey(groupId, KIND_EXISTS), value: EMPTY })
    g = stored ? { ...stored, hardState: { ...stored.hardState } } : emptyGroup()
    this.pending.set(groupId, g)
    return g
  }

  private setTruncated(groupId: number, g: GroupState, index: number, term: number): void {
    g.truncatedIndex = index
    g.truncatedTerm = term
    const value = new Uint8Array(16)
    const view = new DataView(value.buffer)
    setU64(view, 0, index)
    setU64(view, 8, term)
    this.ops.push({ type: 'put', key: metaKey(groupId, KIND_TRUNCATED), value })
  }
}

const DESTROYED: GroupState = emptyGroup()

function emptyGroup(): GroupState {
  return { truncatedIndex: 0, truncatedTerm: 0, lastIndex: 0, hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined }
}

/** Writes a non-negative safe integer as 8 bytes big-endian. */
function setU64(view: DataView, offset: number, n: number): void {
  view.setUint32(offset, Math.floor(n / 0x1_0000_0000))
  view.setUint32(offset + 4, n >>> 0)
}

function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset) * 0x1_0000_0000 + view.getUint32(offset + 4)
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8)
  setU64(new DataView(out.buffer), 0, n)
  return out
}

function metaKey(groupId: number, kind: number): Uint8Array {
  const key = new Uint8Array(META.length + 9)
  key.set(META)
  setU64(new DataView(key.buffer), META.length, groupId)
  key[META.length + 8] = kind
  return key
}

/** The engine key of a group's log entry, for tools that inspect or repair a data directory. */
export function raftLogEntryKey(groupId: number, index: number): Uint8Array {
  const key = new Uint8Array(LOG.length + 16)
  key.set(LOG)
  const view = new DataView(key.buffer)
  setU64(view, LOG.length, groupId)
  setU64(view, LOG.length + 8, index)
  return key
}

/** Encodes an entry; its CRC32C covers the index (kept in the key, not the value) and every stored byte after the CRC. */
function encodeEntry(e: RaftLogEntry): Uint8Array {
  const out = new Uint8Array(13 + e.data.length)
  const view = new DataView(out.buffer)
  setU64(view, 4, e.term)
  out[12] = TYPE_CODES[e.type]
  out.set(e.data, 13)
  view.setUint32(0, crc32c(out.subarray(4), crc32c(u64(e.index))))
  return out
}

function decodeEntry(raw: Uint8Array, groupId: number, index: number): RaftLogEntry {
  if (raw.length < 13) throw corrupt(groupId, `entry ${index} is truncated`, index)
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const want = view.getUint32(0)
  const got = crc32c(raw.subarray(4), crc32c(u64(index)))
  if (want !== got) throw corrupt(groupId, `entry ${index} fails its checksum`, index)
  const type = raw[12] === 0 ? 'normal' : raw[12] === 1 ? 'confChange' : undefined
  if (type === undefined) throw corrupt(groupId, `entry ${index} has unknown type ${raw[12]}`, index)
  return { index, term: getU64(view, 4), type, data: raw.subarray(13) }
}

function encodeHardState(hs: RaftHardState): Uint8Array {
  const out = new Uint8Array(28)
  const view = new DataView(out.buffer)
  setU64(view, 4, hs.term)
  setU64(view, 12, hs.vote)
  setU64(view, 20, hs.commit)
  view.setUint32(0, crc32c(out.subarray(4)))
  return out
}

function decodeHardState(raw: Uint8Array, groupId: number): RaftHardState {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  if (raw.length !== 28 || view.getUint32(0) !== crc32c(raw.subarray(4))) throw corrupt(groupId, 'hard state fails its checksum')
  return { term: getU64(view, 4), vote: getU64(view, 12), commit: getU64(view, 20) }
}

function decodeIndexTerm(raw: Uint8Array, groupId: number): [number, number] {
  if (raw.length !== 16) throw corrupt(groupId, 'truncated point is damaged')
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  return [getU64(view, 0), getU64(view, 8)]
}

function encodeSnapshotMeta(meta: RaftSnapshotMeta): Uint8Array {
  const out = new Uint8Array(20 + meta.data.length)
  const view = new DataView(out.buffer)
  setU64(view, 4, meta.index)
  setU64(view, 12, meta.term)
  out.set(meta.data, 20)
  view.setUint32(0, crc32c(out.subarray(4)))
  return out
}

function decodeSnapshotMeta(raw: Uint8Array, groupId: number): RaftSnapshotMeta {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  if (raw.length < 20 || view.getUint32(0) !== crc32c(raw.subarray(4))) throw corrupt(groupId, 'snapshot metadata fails its checksum')
  return { index: getU64(view, 4), term: getU64(view, 12), data: raw.slice(20) }
}

function corrupt(groupId: number, what: string, index?: number): RaftLogCorruptionError {
  return new RaftLogCorruptionError(groupId, index, `raft log of group ${groupId}: ${what}`)
}

// An in-memory KvDatabase for tests: snapshot isolation with first-committer-wins, faithful
// to the contract in kv-port.ts. A test double only: production code never imports it.

import { KvError, KvErrorCode, TransactionalKv } from '@mrdb/kv'
import { compareBytes } from '@mrdb/storage'
import type { CommitOptions, KvDatabase, KvLimits, KvPair, KvTransaction, RangeSpan } from '../kv-port.js'

interface Version {
  readonly ts: bigint
  /** undefined: a deletion. */
  readonly value: Uint8Array | undefined
}

interface Entry {
  readonly key: Uint8Array
  /** Newest first. */
  readonly versions: Version[]
}

/**
 * A buffered write, as @mrdb/kv's Transaction keeps it: a value (put) or none (delete), and
 * whether the key must be absent at commit. An insert's absence check survives later writes
 * of the key (an insert then a delete still asserts that the key was absent).
 */
interface Write {
  readonly key: Uint8Array
  readonly value: Uint8Array | undefined
  readonly assertAbsent: boolean
}

/** Counts of calls, so tests can check how many round trips a statement costs. */
export interface MemoryKvStats {
  begin: number
  get: number
  getMany: number
  scan: number
  commit: number
  rollback: number
  rangesOf: number
}

/** Options of {@link MemoryKv}. */
export interface MemoryKvOptions {
  /** Keys at which the keyspace is split into fake ranges (ids 1, 2, …). */
  readonly splitKeys?: readonly Uint8Array[]
  /** The size limits of one write (default: the real cluster's, `TransactionalKv.LIMITS`). */
  readonly limits?: KvLimits
}

function hex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}

/** A single-process, snapshot-isolated key-value database. */
export class MemoryKv implements KvDatabase {
  private readonly entries = new Map<string, Entry>()
  /** Keys in order, for scans. */
  private sorted: Entry[] = []
  private clock = 0n
  private readonly splits: Uint8Array[]
  /** Call counters. */
  readonly stats: MemoryKvStats = { begin: 0, get: 0, getMany: 0, scan: 0, commit: 0, rollback: 0, rangesOf: 0 }
  /** The size limits of one write; commit refuses bigger writes with INVALID_ARGUMENT, as the real cluster does. */
  readonly limits: KvLimits

  constructor(options: MemoryKvOptions = {}) {
    this.splits = [...(options.splitKeys ?? [])].sort(compareBytes)
    this.limits = options.limits ?? TransactionalKv.LIMITS
  }

  /** Starts a transaction reading at a fresh timestamp. */
  async begin(): Promise<KvTransaction> {
    this.stats.begin++
    return new MemoryTxn(this, ++this.clock)
  }

  /** The fake ranges overlapping [start, end), clipped to it. */
  async rangesOf(start: Uint8Array, end: Uint8Array): Promise<RangeSpan[]> {
    this.stats.rangesOf++
    const bounds = [new Uint8Array(0), ...this.splits]
    const out: RangeSpan[] = []
    for (let i = 0; i < bounds.length; i++) {
      const rs = bounds[i]!
      const re = this.splits[i] ?? new Uint8Array(0)
      const s = compareBytes(rs, start) > 0 ? rs : start
      const e = re.length === 0 ? end : end.length === 0 || compareBytes(re, end) < 0 ? re : end
      if (e.length !== 0 && compareBytes(s, e) >= 0) continue
      out.push({ rangeId: i + 1, start: s, end: e })
    }
    return out
  }

  /** The value visible at `ts`, or undefined. */
  read(key: Uint8Array, ts: bigint): Uint8Array | undefined {
    const entry = this.entries.get(hex(key))
    return entry?.versions.find((v) => v.ts <= ts)?.value
  }

  /** Committed pairs visible at `ts` in [start, end), the first `limit` of them. */
  scanAt(start: Uint8Array, end: Uint8Array, ts: bigint, limit = Infinity): KvPair[] {
    const out: KvPair[] = []
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareBytes(this.sorted[mid]!.key, start) < 0) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < this.sorted.length && out.length < limit; i++) {
      const e = this.sorted[i]!
      if (end.length !== 0 && compareBytes(e.key, end) >= 0) break
      const v = e.versions.find((x) => x.ts <= ts)?.value
      if (v !== undefined) out.push([e.key, v])
    }
    return out
  }

  /**
   * Applies a transaction's writes atomically, or raises (in the real cluster's order)
   * INVALID_ARGUMENT for a write over the size limits, WRITE_CONFLICT, KEY_EXISTS.
   */
  commitWrites(startTs: bigint, writes: readonly Write[], checks: ReadonlyArray<{ key: Uint8Array; accept: (value: Uint8Array | undefined) => boolean }> = []): void {
    for (const w of writes) {
      const size = w.key.length + (w.value?.length ?? 0)
      if (w.key.length > this.limits.maxKeyBytes) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `key of ${w.key.length} bytes is over the ${this.limits.maxKeyBytes}-byte limit`)
      if (size > this.limits.maxWriteBytes) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `a write of ${size} bytes is over the ${this.limits.maxWriteBytes}-byte limit`)
    }
    for (const w of writes) {
      const newest = this.entries.get(hex(w.key))?.versions[0]
      if (newest !== undefined && newest.ts > startTs) {
        throw new KvError(KvErrorCode.WRITE_CONFLICT, `write conflict on key ${hex(w.key)}`)
      }
    }
    for (const w of writes) {
      if (w.assertAbsent && this.entries.get(hex(w.key))?.versions[0]?.value !== undefined) throw keyExists(w.key)
    }
    for (const c of checks) {
      if (!c.accept(this.entries.get(hex(c.key))?.versions[0]?.value)) throw new KvError(KvErrorCode.WRITE_CONFLICT, `key ${hex(c.key)} changed while the transaction ran`)
    }
    const ts = ++this.clock
    for (const w of writes) {
      // Deleting what the transaction inserted leaves only the absence check (a lock in the real cluster): nothing to write.
      if (w.value === undefined && w.assertAbsent) continue
      const h = hex(w.key)
      let entry = this.entries.get(h)
      if (entry === undefined) {
        entry = { key: w.key, versions: [] }
        this.entries.set(h, entry)
        this.insertSorted(entry)
      }
      entry.versions.unshift({ ts, value: w.value })
    }
  }

  private insertSorted(entry: Entry): void {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareBytes(this.sorted[mid]!.key, entry.key) < 0) lo = mid + 1
      else hi = mid
    }
    this.sorted.splice(lo, 0, entry)
  }
}

function keyExists(key: Uint8Array): KvError {
  return Object.assign(new KvError(KvErrorCode.KEY_EXISTS, `key ${hex(key)} exists`), { key })
}

class MemoryTxn implements KvTransaction {
  private readonly writes = new Map<string, Write>()
  private duplicateInsert: Uint8Array | undefined
  private done = false
  private readonly commitChecks = new Map<string, { key: Uint8Array; accept: (value: Uint8Array | undefined) => boolean }>()

  constructor(
    private readonly db: MemoryKv,
    readonly startTs: bigint,
  ) {}

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check()
    this.db.stats.get++
    return this.readOne(key)
  }

  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    this.check()
    this.db.stats.getMany++
    return keys.map((k) => this.readOne(k))
  }

  async scan(start: Uint8Array, end: Uint8Array, limit = 1000): Promise<KvPair[]> {
    this.check()
    this.db.stats.scan++
    const merged = new Map<string, KvPair | undefined>()
    // Enough committed pairs that `limit` remain after this transaction's own deletions.
    for (const pair of this.db.scanAt(start, end, this.startTs, limit + this.writes.size)) merged.set(hex(pair[0]), pair)
    for (const [h, w] of this.writes) {
      if (compareBytes(w.key, start) < 0 || (end.length !== 0 && compareBytes(w.key, end) >= 0)) continue
      merged.set(h, w.value === undefined ? undefined : [w.key, w.value])
    }
    const pairs = [...merged.values()].filter((p): p is KvPair => p !== undefined)
    pairs.sort((a, b) => compareBytes(a[0], b[0]))
    return pairs.slice(0, limit)
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.buffer(key, value, false)
  }

  insert(key: Uint8Array, value: Uint8Array): void {
    const prior = this.writes.get(hex(key))
    // Over this transaction's own deletion it is a plain put (a row replaced); over its own write, a duplicate.
    if (prior?.value !== undefined) this.duplicateInsert ??= key
    this.buffer(key, value, prior === undefined)
  }

  delete(key: Uint8Array): void {
    this.buffer(key, undefined, false)
  }

  checkAtCommit(key: Uint8Array, accept: (value: Uint8Array | undefined) => boolean): void {
    this.check()
    if (!this.commitChecks.has(hex(key))) this.commitChecks.set(hex(key), { key, accept })
  }

  /** Commits at a fresh timestamp of this database's clock, so `timestampFromOracle` always holds. */
  async commit(_options?: CommitOptions): Promise<void> {
    this.check()
    this.done = true
    this.db.stats.commit++
    if (this.duplicateInsert !== undefined) throw keyExists(this.duplicateInsert)
    if (this.writes.size === 0) return
    this.db.commitWrites(this.startTs, [...this.writes.values()], [...this.commitChecks].filter(([h]) => !this.writes.has(h)).map(([, c]) => c))
  }

  async rollback(): Promise<void> {
    this.db.stats.rollback++
    this.done = true
    this.writes.clear()
  }

  private readOne(key: Uint8Array): Uint8Array | undefined {
    const w = this.writes.get(hex(key))
    if (w !== undefined) return w.value
    return this.db.read(key, this.startTs)
  }

  private buffer(key: Uint8Array, value: Uint8Array | undefined, assertAbsent: boolean): void {
    this.check()
    const h = hex(key)
    this.writes.set(h, { key, value, assertAbsent: assertAbsent || (this.writes.get(h)?.assertAbsent ?? false) })
  }

  private check(): void {
    if (this.done) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `the transaction at ${this.startTs} has already committed or rolled back`)
  }
}

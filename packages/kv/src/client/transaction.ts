// Distributed transactions over the KV client, Percolator style: snapshot reads at a start
// timestamp from the timestamp oracle, writes buffered on the client, and a two-phase
// commit. Prewrite locks every key (the primary key's range first); a commit timestamp comes
// from the oracle; committing the primary key is the commit point; the other keys are
// committed afterwards without waiting (readers that meet their locks resolve them through
// the primary). A reader that meets a lock asks the primary's range for the transaction's
// fate, rolling back a transaction whose lock outlived its TTL.
// A transaction whose writes all fall in one range commits in one phase instead: one command
// on that range checks them as a prewrite would and writes them at a commit timestamp its
// leader chooses above every read it served (docs/decisions.md, "One-phase commit"); when the
// range refuses, it commits in two phases.

import { MAX_MVCC_KEY_SIZE, MAX_MVCC_VALUE_SIZE, compareBytes, keySuccessor, physicalMs } from '@mrdb/storage'
import { MAX_COMMAND_SIZE, type TxnMutation } from '../api/types.js'
import { KvError, KvErrorCode, type LockInfo } from '../api/errors.js'
import type { KeyValue, TimestampSource, TxnState } from '../api/types.js'
import type { KvClient, RangeSpan } from './kv-client.js'

export type { TimestampSource } from '../api/types.js'

/** A lock's lifetime past the moment it is written, unless its transaction heartbeats. */
export const LOCK_TTL_MS = 3000
/** How long a committed transaction keeps trying to commit its secondary keys in the background. */
const SECONDARY_COMMIT_MS = 60_000
/** How long a transaction waits, in all, for other transactions' live locks before it gives up. */
const LOCK_WAIT_MS = 10_000

/** A buffered write: a put (value), a delete (no value), or, for an insert that was deleted again, only the absence check. */
interface BufferedWrite {
  key: Uint8Array
  kind: TxnMutation['kind']
  value: Uint8Array | undefined
  assertAbsent: boolean
}

/** Bytes of a prewrite command beside one mutation's key and value: the header, the start timestamp, the TTL, the mutation's kind and the parts' lengths. */
const PREWRITE_FRAMING = 1024

/**
 * How long a transaction that holds no buffered write still counts as running after its
 * last read (see {@link TransactionalKv.oldestRunningTs}). SQL drops a read-only statement's
 * transaction without ending it; an explicit transaction idle longer than this may find its
 * snapshot garbage collected (GC_THRESHOLD) once it is older than the GC TTL.
 */
export const TXN_IDLE_MS = 30_000

/** A transaction between asking for its start timestamp and getting it: every timestamp it can get is above `floor`. */
interface PendingBegin {
  floor: bigint
}

/** Transactions over one cluster: {@link begin} starts one. */
export class TransactionalKv {
  /**
   * The size limits of one write. A key is at most what the MVCC layer stores; a key plus
   * its value must fit one prewrite command (the range's 8 MiB command limit) beside the
   * primary key and the command's framing — a write that big travels in a prewrite of its own.
   */
  static readonly LIMITS = {
    maxKeyBytes: MAX_MVCC_KEY_SIZE,
    maxWriteBytes: Math.min(MAX_MVCC_VALUE_SIZE, MAX_COMMAND_SIZE - MAX_MVCC_KEY_SIZE - PREWRITE_FRAMING),
  } as const

  /** The size limits of one write: {@link TransactionalKv.LIMITS}. */
  readonly limits = TransactionalKv.LIMITS

  /** The transactions begun here, weakly held: one nobody references any more is not running. */
  private readonly open = new Set<WeakRef<Transaction>>()
  private readonly pending = new Set<PendingBegin>()
  /** The highest timestamp the oracle gave this object; any timestamp asked for later is above it. */
  private floor = 0n

  constructor(
    /** The client every transaction uses. */
    readonly client: KvClient,
    private readonly tso: TimestampSource,
  ) {}

  /** Starts a transaction at a fresh timestamp. */
  async begin(): Promise<Transaction> {
    const pending: PendingBegin = { floor: this.floor }
    this.pending.add(pending)
    try {
      const startTs = await this.tso.timestamp()
      if (startTs > this.floor) this.floor = startTs
      const txn = new Transaction(this.client, this.tso, startTs)
      this.open.add(new WeakRef(txn))
      return txn
    } finally {
      this.pending.delete(pending)
    }
  }

  /**
   * A timestamp at or below the start of every transaction begun here that is still running
   * (not committed or rolled back, still referenced, and holding writes or used within
   * {@link TXN_IDLE_MS}), and below the start of every transaction begun later: the garbage
   * collector must keep what reads at or above it see. It asks the oracle for a fresh
   * timestamp first, then looks at the transactions: one that is not among them asked for its
   * start after that timestamp was handed out, so it starts above it.
   */
  async oldestRunningTs(): Promise<bigint> {
    const fresh = await this.tso.timestamp()
    if (fresh > this.floor) this.floor = fresh
    let oldest = fresh
    for (const p of this.pending) if (p.floor < oldest) oldest = p.floor
    const now = Date.now()
    for (const ref of this.open) {
      const txn = ref.deref()
      if (txn === undefined || !txn.isRunning(now)) {
        this.open.delete(ref)
        continue
      }
      if (txn.startTs < oldest) oldest = txn.startTs
    }
    return oldest
  }

  /** The ranges covering [start, end), clipped to it. */
  rangesOf(start: Uint8Array, end: Uint8Array): Promise<RangeSpan[]> {
    return this.client.rangesOf(start, end)
  }
}

/**
 * One snapshot-isolated transaction; see the file comment. Not for concurrent use by
 * several callers: each SQL session has its own.
 */
export class Transaction {
  private readonly writes = new Map<string, BufferedWrite>()
  private finished = false
  /** A key this transaction inserted over its own write: the commit fails with KEY_EXISTS. */
  private duplicateInsert: Uint8Array | undefined
  /** Whether {@link commit} is under way: the transaction holds the GC safe point until it returns (see {@link settleOnePhase}). */
  private committing = false
  /** Other transactions this one has seen decided (committed or rolled back), by start timestamp. */
  private readonly decided = new Map<bigint, Exclude<TxnState, { state: 'locked' }>>()
  /** Keys that may hold this transaction's locks (prewrite was sent), for a rollback. */
  private prewritten: Uint8Array[] = []
  /** When a read or write of this transaction last began or ended (ms). */
  private lastUsedMs = Date.now()
  /** Conditions read again at the commit timestamp ({@link checkAtCommit}), by key. */
  private readonly commitChecks = new Map<string, { key: Uint8Array; accept: (value: Uint8Array | undefined) => boolean }>()
  private committedAt: bigint | undefined

  constructor(
    private readonly client: KvClient,
    private readonly tso: TimestampSource,
    /** The snapshot every read sees. */
    readonly startTs: bigint,
  ) {}

  /** The commit timestamp, once {@link commit} succeeded with writes: the oracle's, or the one a one-phase commit's range chose. */
  get commitTs(): bigint | undefined {
    return this.committedAt
  }

  /**
   * Whether this transaction still counts as running at `nowMs` for garbage collection: not
   * committed or rolled back, and holding buffered writes or used within {@link TXN_IDLE_MS}.
   */
  isRunning(nowMs: number): boolean {
    return (!this.finished || this.committing) && (this.writes.size > 0 || nowMs - this.lastUsedMs < TXN_IDLE_MS)
  }

  /** The value of `key`: this transaction's own write, else the snapshot's. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen()
    const own = this.writes.size === 0 ? undefined : this.writes.get(hex(key))
    if (own) return own.value
    return this.withLockResolution(() => this.client.get(key, { ts: this.startTs }))
  }

  /** The values of many keys, in the order asked. */
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return Promise.all(keys.map((k) => this.get(k)))
  }

  /** Live pairs in [start, end) (empty end: no bound), the snapshot's merged with this transaction's writes, up to `limit`. */
  async scan(start: Uint8Array, end: Uint8Array, limit = 1000): Promise<KeyValue[]> {
    this.checkOpen()
    const out: KeyValue[] = []
    let from = start
    for (;;) {
      const page = await this.withLockResolution(() => this.client.scan(from, end, limit, { ts: this.startTs }))
      const exhausted = page.length < limit
      // Stored rows are complete up to the last one read: merge own writes only that far.
      const upTo = exhausted ? end : keySuccessor(page.at(-1)![0])
      for (const pair of this.mergeOwnWrites(page, from, upTo)) {
        out.push(pair)
        if (out.length === limit) return out
      }
      if (exhausted) return out
      from = upTo
    }
  }

  /** Buffers a put. */
  put(key: Uint8Array, value: Uint8Array): void {
    this.buffer(key, value, false)
  }

  /**
   * Buffers a put that requires the key absent: the commit fails with KEY_EXISTS if it is
   * present in the snapshot, or if this transaction wrote it already. Over this
   * transaction's own deletion it is a plain put (a row replaced).
   */
  insert(key: Uint8Array, value: Uint8Array): void {
    const prior = this.writes.get(hex(key))
    if (prior?.value !== undefined) this.duplicateInsert ??= key
    this.buffer(key, value, prior === undefined)
  }

  /** Buffers a deletion. */
  delete(key: Uint8Array): void {
    this.buffer(key, undefined, false)
  }

  /**
   * Adds a condition on `key` that {@link commit} checks at the commit timestamp, after every
   * write is locked and before the commit point: the newest value committed below the commit
   * timestamp is read (other transactions' locks on it are waited out or resolved) and, if
   * `accept` refuses it, the commit rolls back with WRITE_CONFLICT. A transaction that changed
   * `key` and committed before this one's commit timestamp is always seen: its lock was
   * written before it asked for its commit timestamp. The SQL layer uses it to refuse a
   * commit planned against a schema that changed by more than one step meanwhile. Skipped for
   * a key this transaction writes (the write-write check covers it); the first condition on a key is kept.
   * A one-phase commit reads the conditions first, at a fresh timestamp its commit may not
   * land above: `accept` must then hold at every earlier timestamp the commit may take, after
   * the start, when it holds at that one (the schema check's does: versions only grow).
   */
  checkAtCommit(key: Uint8Array, accept: (value: Uint8Array | undefined) => boolean): void {
    this.checkOpen()
    const id = hex(key)
    if (!this.commitChecks.has(id)) this.commitChecks.set(id, { key, accept })
  }

  /**
   * Commits every buffered write atomically. Throws WRITE_CONFLICT when another
   * transaction committed one of the keys after this one started (or holds it locked too
   * long), KEY_EXISTS for a failed insert, TXN_ABORTED when another transaction's reader
   * rolled this one back (or a one-phase commit whose answer was lost was settled as rolled
   * back), TIMEOUT when the outcome is unknown. On any other outcome than
   * TIMEOUT the transaction left nothing behind. With `timestampFromOracle` it commits in two
   * phases, at a timestamp the oracle hands out after the call began (never one-phase: the
   * range would pick the timestamp from the reads it served).
   */
  async commit(options: { timestampFromOracle?: boolean } = {}): Promise<void> {
    this.checkOpen()
    this.finished = true
    if (this.duplicateInsert) throw new KvError(KvErrorCode.KEY_EXISTS, `key ${hex(this.duplicateInsert)} was inserted twice`, undefined, { key: this.duplicateInsert })
    const mutations = [...this.writes.values()].sort((a, b) => compareBytes(a.key, b.key))
    if (mutations.length === 0) return
    this.committing = true
    try {
      if (options.timestampFromOracle !== true && (await this.commitInOnePhase(mutations))) return
      await this.commitInTwoPhases(mutations)
    } finally {
      this.committing = false
    }
  }

  /** Prewrites `mutations`, takes a commit timestamp and commits the primary (the commit point), then the secondaries in the background. */
  private async commitInTwoPhases(mutations: BufferedWrite[]): Promise<void> {
    const primary = mutations[0]!.key
    const heartbeat = setInterval(() => {
      this.client.heartbeat(primary, this.startTs, this.ttl()).catch(() => {
        // a failed heartbeat only shortens the lock's life; the commit finds out if it was lost
      })
    }, LOCK_TTL_MS / 3)
    heartbeat.unref()
    try {
      try {
        await this.prewrite(primary, mutations)
      } catch (err) {
        await this.rollbackLocks()
        throw err
      }
      const commitTs = await this.tso.timestamp()
      try {
        await this.runCommitChecks(commitTs)
      } catch (err) {
        await this.rollbackLocks()
        throw err
      }
      // From here the primary decides the transaction's fate: locks are rolled back only
      // once it is known not to have committed.
      const locked = this.prewritten
      this.prewritten = []
      const secondaries = locked.filter((k) => k !== primary)
      // The keys prewritten first (the primary's range's) ride in the primary's commit command,
      // as far as that range holds them and one command carries them.
      const [withPrimary = []] = chunks(secondaries, (k) => k.length)
      const carried = await this.commitPrimary(primary, withPrimary, commitTs)
      if (carried === false) {
        await this.rollbackKeys(secondaries)
        throw new KvError(KvErrorCode.TXN_ABORTED, `the transaction at ${this.startTs} was rolled back before it could commit`)
      }
      this.committedAt = commitTs
      const done = new Set(carried)
      const rest = secondaries.filter((k) => !done.has(k))
      for (const group of chunks(rest, (k) => k.length)) void this.commitSecondaries(group, commitTs)
    } finally {
      clearInterval(heartbeat)
    }
  }

  /**
   * Commits in one phase when every write falls in one range (as the range cache has it) and
   * fits one command: true once committed; false when the range refused (ONE_PHASE_REFUSED,
   * nothing written), for a commit in two phases. The {@link checkAtCommit} conditions are read
   * first, at a timestamp Q the commit may not land above (the range refuses otherwise): a
   * change to their keys committed at or below Q is seen there, one committed later lands above
   * the commit. Q is a fresh timestamp, or the start's reserved successor when the source
   * reserves them: no other two-phase commit takes that one, one whose timestamp was fetched
   * before it prewrote before this read, and one fetched later is above it.
   */
  private async commitInOnePhase(mutations: BufferedWrite[]): Promise<boolean> {
    const spans = await this.client.rangesOf(mutations[0]!.key, keySuccessor(mutations.at(-1)!.key))
    if (spans.length !== 1 || chunks(mutations, writeSize).length !== 1) return false
    let maxCommitTs: bigint | undefined
    if ([...this.commitChecks.keys()].some((id) => !this.writes.has(id))) {
      maxCommitTs = this.tso.reservesSuccessors === true ? this.startTs + 1n : await this.tso.timestamp()
      await this.runCommitChecks(maxCommitTs)
    }
    const muts: TxnMutation[] = mutations.map((m) => ({ key: m.key, kind: m.kind, value: m.value, assertAbsent: m.assertAbsent }))
    try {
      this.committedAt = await this.withLockResolution(() => this.client.commitOnePhase(this.startTs, muts, maxCommitTs))
      return true
    } catch (err) {
      if (err instanceof KvError && err.code === KvErrorCode.ONE_PHASE_REFUSED) return false
      if (err instanceof KvError && err.code === KvErrorCode.TIMEOUT) {
        this.committedAt = await this.settleOnePhase(muts, err)
        return true
      }
      throw err
    }
  }

  /**
   * Settles a one-phase commit whose answer was lost (`lost`, TIMEOUT): asks the range for the
   * transaction's fate on its first written key. With no version of this transaction there, the
   * range leaves a rollback marker, which refuses the command should it still apply (its prewrite
   * checks the marker, and Raft orders the two). Resolves with the commit timestamp if it
   * committed; throws TXN_ABORTED once it is known rolled back (nothing written: it may be run
   * again), and `lost` if even the question gets no answer, or the commit wrote only locks (no
   * version tells). Sound because the transaction counts as running until its commit returns
   * ({@link isRunning}): the GC safe point stays at or below its start, so a version it committed
   * is never collected before it is looked for.
   */
  private async settleOnePhase(mutations: readonly TxnMutation[], lost: KvError): Promise<bigint> {
    const written = mutations.find((m) => m.kind !== 'lock')
    if (written === undefined) throw lost
    let fate: TxnState
    try {
      // A one-phase commit leaves no lock, so the "now" that would expire one does not matter.
      fate = await this.client.checkTxn(written.key, this.startTs, this.startTs)
    } catch {
      throw lost
    }
    if (fate.state === 'committed') return fate.commitTs
    if (fate.state === 'rolled-back') throw new KvError(KvErrorCode.TXN_ABORTED, `the one-phase commit of the transaction at ${this.startTs} got no answer and was rolled back: nothing was written`)
    throw lost
  }

  /** Reads every {@link checkAtCommit} key at `commitTs`; throws WRITE_CONFLICT if a condition refuses its value. */
  private async runCommitChecks(commitTs: bigint): Promise<void> {
    const checks = [...this.commitChecks].filter(([id]) => !this.writes.has(id)).map(([, c]) => c)
    await Promise.all(
      checks.map(async ({ key, accept }) => {
        const value = await this.withLockResolution(() => this.client.get(key, { ts: commitTs }))
        if (!accept(value)) throw new KvError(KvErrorCode.WRITE_CONFLICT, `key ${hex(key)} changed while the transaction at ${this.startTs} ran (checked at its commit timestamp ${commitTs})`)
      }),
    )
  }

  /**
   * Commits secondary keys in the background, trying again for up to
   * {@link SECONDARY_COMMIT_MS}: the transaction committed already (the primary decides), but
   * every lock left behind costs each reader that meets it a resolution round.
   */
  private async commitSecondaries(keys: Uint8Array[], commitTs: bigint): Promise<void> {
    const deadline = Date.now() + SECONDARY_COMMIT_MS
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.commitKeys(keys, this.startTs, commitTs)
        return
      } catch {
        if (Date.now() >= deadline) return // readers resolve what is left
        // Unref'd: a stopping node does not wait for this; readers resolve the locks left behind.
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)).unref())
      }
    }
  }

  /**
   * Commits the primary key, with those of `others` its range holds in the same command (one
   * command: all or none): the keys of `others` committed with it once it committed (none
   * known when the answer was lost: commit them all again, a commit is idempotent), false once
   * it is known rolled back. When the answer is lost, the transaction is settled by rolling
   * the primary back, which fails if it did commit; if even that gets no answer, the outcome
   * is unknown (TIMEOUT).
   */
  private async commitPrimary(primary: Uint8Array, others: readonly Uint8Array[], commitTs: bigint): Promise<Uint8Array[] | false> {
    try {
      return await this.client.commitWithPrimary(primary, others, this.startTs, commitTs)
    } catch (err) {
      if (err instanceof KvError && err.code === KvErrorCode.TXN_ABORTED) return false
      try {
        await this.client.rollbackKeys([primary], this.startTs)
        return false
      } catch (settle) {
        if (settle instanceof KvError && settle.code === KvErrorCode.ALREADY_COMMITTED) return []
        throw new KvError(KvErrorCode.TIMEOUT, `the commit of the transaction at ${this.startTs} has an unknown outcome: ${String(err)}`, undefined, { cause: err })
      }
    }
  }

  /** Drops the buffered writes, and the locks of a commit that failed. */
  async rollback(): Promise<void> {
    this.finished = true
    this.writes.clear()
    await this.rollbackLocks()
  }

  /** Prewrites the primary key's range first, then the other ranges in parallel; waits out (or resolves) others' locks. */
  private async prewrite(primary: Uint8Array, mutations: BufferedWrite[]): Promise<void> {
    // The ranges of the whole (sorted) span: the first is the primary's, clipped only to the span.
    const primaryRange = (await this.client.rangesOf(primary, keySuccessor(mutations.at(-1)!.key)))[0]
    const inPrimaryRange = new Set(primaryRange ? mutations.filter((m) => inSpan(m.key, primaryRange)) : [mutations[0]!])
    // Sorted, so the primary key is in the first chunk, which goes first.
    const [head, ...tail] = chunks([...inPrimaryRange], writeSize)
    const rest = chunks(
      mutations.filter((m) => !inPrimaryRange.has(m)),
      writeSize,
    )
    const send = (group: BufferedWrite[]) => {
      this.prewritten.push(...group.map((m) => m.key))
      return this.withLockResolution(() => this.client.prewrite(primary, this.startTs, this.ttl(), group))
    }
    await send(head!)
    await settleAll([...tail, ...rest].map(send))
  }

  private async rollbackLocks(): Promise<void> {
    const keys = this.prewritten
    this.prewritten = []
    await this.rollbackKeys(keys)
  }

  /** Rolls back this transaction on `keys`, as far as it can: what is left expires and is rolled back by the readers that meet it. */
  private async rollbackKeys(keys: Uint8Array[]): Promise<void> {
    await Promise.allSettled(chunks(keys, (k) => k.length).map((group) => this.client.rollbackKeys(group, this.startTs)))
  }

  /** Runs `op`, resolving the locks it meets and running it again, until it passes or {@link LOCK_WAIT_MS} runs out. */
  private async withLockResolution<T>(op: () => Promise<T>): Promise<T> {
    this.lastUsedMs = Date.now()
    try {
      return await this.resolvingLocks(op)
    } finally {
      this.lastUsedMs = Date.now()
    }
  }

  private async resolvingLocks<T>(op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + LOCK_WAIT_MS
    for (let attempt = 0; ; attempt++) {
      try {
        return await op()
      } catch (err) {
        if (!(err instanceof KvError) || err.code !== KvErrorCode.KEY_LOCKED || !err.lock) throw err
        const locks = err.locks ?? [err.lock]
        if (locks.some((l) => l.startTs === this.startTs)) throw err // our own lock: a retried prewrite meets itself only through a bug
        if (await this.resolve(locks)) continue
        if (Date.now() >= deadline) {
          throw new KvError(KvErrorCode.WRITE_CONFLICT, `key ${hex(err.lock.key)} stayed locked by the transaction at ${err.lock.startTs}`, undefined, { cause: err })
        }
        await sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2))
      }
    }
  }

  /**
   * Settles `locks` through their transactions' primaries: one decision per transaction,
   * then one commit or rollback of all its keys here. False if one of them is still alive.
   */
  private resolve(locks: readonly LockInfo[]): Promise<boolean> {
    return resolveLocks(this.client, this.tso, locks, this.decided)
  }

  /** A lock TTL counted from the start timestamp (which lock expiry is judged against): elapsed time plus {@link LOCK_TTL_MS}. */
  private ttl(): number {
    return Math.max(0, Date.now() - physicalMs(this.startTs)) + LOCK_TTL_MS
  }

  /** Buffers a put (a value) or a deletion; an earlier insert's absence check survives later writes of the key. */
  private buffer(key: Uint8Array, value: Uint8Array | undefined, assertAbsent: boolean): void {
    this.checkOpen()
    const id = hex(key)
    const asserted = assertAbsent || (this.writes.get(id)?.assertAbsent ?? false)
    // Deleting what this transaction inserted leaves only the check that the key was absent.
    const kind = value !== undefined ? 'put' : asserted ? 'lock' : 'delete'
    this.writes.set(id, { key, kind, value, assertAbsent: asserted })
  }

  /** `page` (stored pairs in [from, upTo)) with this transaction's writes in that span applied. */
  private mergeOwnWrites(page: KeyValue[], from: Uint8Array, upTo: Uint8Array): KeyValue[] {
    const own = [...this.writes.values()]
      .filter((w) => compareBytes(w.key, from) >= 0 && (upTo.length === 0 || compareBytes(w.key, upTo) < 0))
      .sort((a, b) => compareBytes(a.key, b.key))
    if (own.length === 0) return page
    const out: KeyValue[] = []
    let i = 0
    for (const w of own) {
      while (i < page.length && compareBytes(page[i]![0], w.key) < 0) out.push(page[i++]!)
      if (i < page.length && compareBytes(page[i]![0], w.key) === 0) i++
      if (w.value !== undefined) out.push([w.key, w.value])
    }
    while (i < page.length) out.push(page[i++]!)
    return out
  }

  private checkOpen(): void {
    if (this.finished) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `the transaction at ${this.startTs} has already committed or rolled back`)
  }
}

/**
 * Settles `locks` through their transactions' primaries, as a reader that meets them does:
 * one decision per transaction (an expired lock, or no trace of the transaction, is rolled
 * back), then one commit or rollback of all its keys per request. False if one of the
 * transactions is still alive. `decided` remembers decisions across calls.
 */
export async function resolveLocks(
  client: KvClient,
  tso: TimestampSource,
  locks: readonly LockInfo[],
  decided = new Map<bigint, Exclude<TxnState, { state: 'locked' }>>(),
): Promise<boolean> {
  const byTxn = new Map<bigint, LockInfo[]>()
  for (const l of locks) byTxn.set(l.startTs, [...(byTxn.get(l.startTs) ?? []), l])
  const now = await tso.timestamp()
  const settled = await Promise.all(
    [...byTxn.values()].map(async (txnLocks) => {
      const { primary, startTs } = txnLocks[0]!
      const status = decided.get(startTs) ?? (await client.checkTxn(primary, startTs, now))
      if (status.state === 'locked') return false
      decided.set(startTs, status)
      const keys = txnLocks.map((l) => l.key)
      for (const group of chunks(keys, (k) => k.length)) {
        if (status.state === 'committed') await client.commitKeys(group, startTs, status.commitTs)
        else await client.rollbackKeys(group, startTs)
      }
      return true
    }),
  )
  return settled.every(Boolean)
}

/** Most bytes and keys one prewrite, commit or rollback request carries (a range's command limit is 8 MiB). */
const CHUNK_BYTES = 4 * 1024 * 1024
const CHUNK_KEYS = 10_000

/** `items` cut, in order, into runs of at most {@link CHUNK_KEYS} items and about {@link CHUNK_BYTES} bytes. */
function chunks<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const out: T[][] = []
  let current: T[] = []
  let bytes = 0
  for (const item of items) {
    const n = size(item) + 64
    if (current.length > 0 && (current.length >= CHUNK_KEYS || bytes + n > CHUNK_BYTES)) {
      out.push(current)
      current = []
      bytes = 0
    }
    current.push(item)
    bytes += n
  }
  if (current.length > 0) out.push(current)
  return out
}

/** The bytes a buffered write adds to a command. */
function writeSize(m: BufferedWrite): number {
  return m.key.length + (m.value?.length ?? 0)
}

/** Waits for every promise to settle, then throws the first rejection, if any. */
async function settleAll(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((o) => o.status === 'rejected')
  if (failed) throw failed.reason
}

function inSpan(key: Uint8Array, span: RangeSpan): boolean {
  return compareBytes(key, span.start) >= 0 && (span.end.length === 0 || compareBytes(key, span.end) < 0)
}


function hex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

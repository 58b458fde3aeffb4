// The distributed KV client: a cache of range descriptors and leaders, filled from any node,
// routing each request to its range's leader and retrying with backoff on NOT_LEADER,
// RANGE_NOT_FOUND, KEY_NOT_IN_RANGE and UNAVAILABLE until the request's deadline.
// Every request names the descriptor generation it was routed by; a replica serves only
// inside its current bounds and sends back its current descriptor when the generation is
// stale (with the answer, or with KEY_NOT_IN_RANGE), which the cache takes in.

import { compareBytes } from '@mrdb/storage'
import { KvError, KvErrorCode, RETRYABLE_CODES } from '../api/errors.js'
import { rangeContains, rangesOverlap, type RangeDescriptor } from '../api/range-descriptor.js'
import type { KeyValue, TxnMutation, TxnState } from '../api/types.js'
import type { KvDataRequest, KvRequest, KvRequestOf, KvResponses, NodeAddress, RangesResponse, ScanResponse } from '../api/requests.js'
import { GrpcSender } from './grpc-sender.js'
import { SendError, type KvSender } from './sender.js'

/** Options of a {@link KvClient}. */
export interface KvClientOptions {
  /** Addresses (host:port) of one or more nodes to learn the cluster from. */
  hosts: string[]
  /** Deadline of each operation, retries included; default 10 s. */
  timeoutMs?: number
  /** How requests reach the nodes; default a {@link GrpcSender}. The client closes it. */
  sender?: KvSender
}

interface CachedRange {
  descriptor: RangeDescriptor
  leaderNodeId: number
}

/** A span of keys [start, end) held by one range (empty end: no bound). */
export interface RangeSpan {
  rangeId: number
  start: Uint8Array
  end: Uint8Array
}

/** Keys as the client accepts them. */
export type KeyLike = Uint8Array | string

/** The kinds of requests on a range's data. */
type DataOp = KvDataRequest['op']

const toBytes = (k: KeyLike): Uint8Array => (typeof k === 'string' ? Buffer.from(k) : k)
const MAX_BACKOFF_MS = 500
/**
 * Longest wait between tries to find a range's leader: after a leader dies, the survivors elect
 * one within a few hundred ms, and a client backing off toward 500 ms found it late (most of the
 * failover gap in `pnpm bench:failover`).
 */
const MAX_LEADER_BACKOFF_MS = 100
/** How long a node that could not be reached is passed over when picking a replica to try. */
const DOWN_MS = 1000
/** Deadline of a request for the cluster's map to one node. */
const DESCRIBE_TIMEOUT_MS = 2000

/** A client of the whole cluster; see the file comment. */
export class KvClient {
  private ranges: CachedRange[] = []
  private readonly nodes = new Map<number, string>()
  private readonly timeoutMs: number
  private readonly sender: KvSender
  private rotation = 0
  /** When {@link describe} last read the cluster map. */
  private mapReadAt = 0
  /** The {@link describe} under way, if any. */
  private describing: Promise<RangesResponse> | undefined
  /** Nodes that could not be reached, until when they are passed over (see {@link pickReplica}). */
  private readonly downUntil = new Map<number, number>()

  constructor(private readonly o: KvClientOptions) {
    if (o.hosts.length === 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'KvClient needs at least one host')
    this.timeoutMs = o.timeoutMs ?? 10_000
    this.sender = o.sender ?? new GrpcSender()
  }

  /**
   * The value of `key`, read linearizably: the latest, or as of `ts`. A read as of `ts` that
   * meets a transaction's lock throws KEY_LOCKED with the lock, for the caller to resolve; a
   * read of the latest value waits for the lock to go.
   */
  async get(key: KeyLike, options: ReadOptions = {}): Promise<Uint8Array | undefined> {
    const k = toBytes(key)
    const ts = options.ts
    const res = await this.route(k, (rangeId) => ({ op: 'get', rangeId, key: k, ts }), { surfaceLocks: ts !== undefined })
    return res.value
  }

  /**
   * Stores `value` at `key`. Like every write, not retried after an ambiguous failure, which
   * is thrown as TIMEOUT or UNAVAILABLE: the put may or may not have happened. (A put
   * repeated after another client's write would undo that write, and a reader could see the
   * register go back in time.)
   */
  async put(key: KeyLike, value: KeyLike): Promise<void> {
    const k = toBytes(key)
    const v = toBytes(value)
    await this.route(k, (rangeId) => ({ op: 'put', rangeId, key: k, value: v }), { ambiguousFails: true })
  }

  /** Deletes `key`; an ambiguous failure is thrown, as by {@link put}. */
  async delete(key: KeyLike): Promise<void> {
    const k = toBytes(key)
    await this.route(k, (rangeId) => ({ op: 'delete', rangeId, key: k }), { ambiguousFails: true })
  }

  /**
   * Sets `key` to `value` (undefined: deletes it) only if it currently holds `expected`
   * (undefined: absent). Not retried after an ambiguous failure, which is thrown as TIMEOUT
   * or UNAVAILABLE: the swap may or may not have happened.
   */
  async compareAndSwap(key: KeyLike, expected: KeyLike | undefined, value: KeyLike | undefined): Promise<{ succeeded: boolean; current: Uint8Array | undefined }> {
    const k = toBytes(key)
    const req = (rangeId: number): KvRequestOf<'cas'> => ({
      op: 'cas',
      rangeId,
      key: k,
      expected: expected === undefined ? undefined : toBytes(expected),
      value: value === undefined ? undefined : toBytes(value),
    })
    const res = await this.route(k, req, { ambiguousFails: true })
    return { succeeded: res.succeeded === true, current: res.current }
  }

  /**
   * Writes many keys (a value puts, `undefined` deletes). The writes that fall in one range
   * apply atomically, as one Raft command; across ranges each range's part is independent
   * (cross-range atomicity comes with transactions). An ambiguous failure is thrown, as by
   * {@link put}.
   */
  async batch(writes: ReadonlyArray<{ key: KeyLike; value: KeyLike | undefined }>): Promise<void> {
    const items = writes.map((w) => ({ key: toBytes(w.key), value: w.value === undefined ? undefined : toBytes(w.value) }))
    await this.forEachRange(items, (rangeId, group) => ({ op: 'batch', rangeId, writes: group }), { ambiguousFails: true })
  }

  /**
   * Live pairs in [start, end) (empty end: no bound), in key order, across ranges, up to
   * `limit`: the latest, or as of `options.ts` (locks are then thrown, as by {@link get}).
   * Each range answers only inside its bounds as of the read; every page is checked (see
   * {@link scanPageError}), so the scan only moves forward and returns no key outside the span.
   */
  async scan(start: KeyLike, end: KeyLike, limit = 1000, options: ReadOptions = {}): Promise<KeyValue[]> {
    const s = toBytes(start)
    const e = toBytes(end)
    const ts = options.ts
    const rows: KeyValue[] = []
    let from = s
    while (rows.length < limit && (e.length === 0 || compareBytes(from, e) < 0)) {
      const start = from
      const req = (rangeId: number): KvRequestOf<'scan'> => ({ op: 'scan', rangeId, start, end: e, limit: limit - rows.length, ts })
      const res = await this.route(start, req, { surfaceLocks: ts !== undefined, check: (page) => scanPageError(page, start, e) })
      for (const pair of res.pairs ?? []) rows.push(pair)
      // Where the range's answer stopped: at its byte budget, or where the range ended as the
      // replica read it (past `from`: checked).
      const next = res.resume ?? res.rangeEnd ?? new Uint8Array(0)
      if (next.length === 0) break
      from = next
    }
    return rows
  }

  /**
   * Deletes every key in [start, end) (empty end: no bound), across ranges; returns how many.
   * Each range deletes its part in commands of bounded size, so a big span is not atomic.
   */
  async deleteRange(start: KeyLike, end: KeyLike): Promise<number> {
    const e = toBytes(end)
    let from: Uint8Array | undefined = toBytes(start)
    let deleted = 0
    while (from !== undefined) {
      const s: Uint8Array = from
      const res = await this.route(s, (rangeId) => ({ op: 'deleteRange', rangeId, start: s, end: e }))
      deleted += res.deleted ?? 0
      from = res.resume
    }
    return deleted
  }

  /**
   * Percolator prewrite of `mutations` for the transaction at `startTs`, one command per range
   * (each all or none). Throws KEY_LOCKED (with the lock), WRITE_CONFLICT or KEY_EXISTS (with
   * the key) as the first range that refused reports it, once every range has answered.
   */
  async prewrite(primary: Uint8Array, startTs: bigint, ttlMs: number, mutations: readonly TxnMutation[]): Promise<void> {
    await this.forEachRange(mutations, (rangeId, group) => ({ op: 'prewrite', rangeId, startTs, primary, ttlMs, mutations: group }), { surfaceLocks: true })
  }

  /**
   * Commits the transaction at `startTs` in one phase: `mutations`, all in one range, are
   * checked as a prewrite checks them and written at a commit timestamp the range's leader
   * chooses (at most `maxCommitTs`, if given), as one command; resolves with that timestamp.
   * Throws ONE_PHASE_REFUSED when the range will not, or the mutations no longer fall in one
   * range (nothing was written: commit in two phases); KEY_LOCKED (with the lock), WRITE_CONFLICT or KEY_EXISTS as a prewrite
   * does. Not retried when the outcome is unknown (TIMEOUT): the first attempt may still
   * commit, under the next leader too, so falling back to two phases then would be wrong.
   */
  async commitOnePhase(startTs: bigint, mutations: readonly TxnMutation[], maxCommitTs?: bigint): Promise<bigint> {
    const request = (rangeId: number, range: RangeDescriptor): KvRequestOf<'onePhaseCommit'> => {
      if (!mutations.every((m) => rangeContains(range, m.key))) throw new KvError(KvErrorCode.ONE_PHASE_REFUSED, `the transaction at ${startTs} writes keys of more than one range`)
      return { op: 'onePhaseCommit', rangeId, startTs, mutations: [...mutations], maxCommitTs }
    }
    const res = await this.route(mutations[0]!.key, request, { surfaceLocks: true, ambiguousFails: true })
    if (res.commitTs === undefined) throw new KvError(KvErrorCode.UNAVAILABLE, `a one-phase commit of the transaction at ${startTs} was answered without its timestamp`)
    return res.commitTs
  }

  /** Commits the transaction at `startTs` on `keys` at `commitTs` (idempotent, so retried when the outcome is unknown). */
  async commitKeys(keys: readonly Uint8Array[], startTs: bigint, commitTs: bigint): Promise<void> {
    await this.forEachRange(keys.map((key) => ({ key })), (rangeId, group) => ({ op: 'commit', rangeId, startTs, commitTs, keys: group.map((k) => k.key) }))
  }

  /**
   * Commits the transaction at `startTs` on `primary` — its commit point — and, in the same
   * command, on those of `others` that the primary's range holds as the request is routed
   * (one Raft command instead of two on that range). Resolves with the keys of `others` the
   * command carried; a caller commits the rest separately. Retried when the outcome is
   * unknown, as {@link commitKeys} is: a commit is idempotent.
   */
  async commitWithPrimary(primary: Uint8Array, others: readonly Uint8Array[], startTs: bigint, commitTs: bigint): Promise<Uint8Array[]> {
    let carried: Uint8Array[] = []
    await this.route(primary, (rangeId, range) => {
      carried = others.filter((k) => rangeContains(range, k))
      return { op: 'commit', rangeId, startTs, commitTs, keys: [primary, ...carried] }
    })
    return carried
  }

  /** Rolls back the transaction at `startTs` on `keys`. */
  async rollbackKeys(keys: readonly Uint8Array[], startTs: bigint): Promise<void> {
    await this.forEachRange(keys.map((key) => ({ key })), (rangeId, group) => ({ op: 'rollback', rangeId, startTs, keys: group.map((k) => k.key) }))
  }

  /** The fate of the transaction at `startTs`, from its primary key; a lock expired as of `nowTs` is rolled back. */
  async checkTxn(primary: Uint8Array, startTs: bigint, nowTs: bigint): Promise<TxnState> {
    const res = await this.route(primary, (rangeId) => ({ op: 'checkTxn', rangeId, primary, startTs, nowTs }))
    return res.txn ?? { state: 'rolled-back' }
  }

  /** Raises the TTL of the transaction's primary lock to `ttlMs`. */
  async heartbeat(primary: Uint8Array, startTs: bigint, ttlMs: number): Promise<void> {
    await this.route(primary, (rangeId) => ({ op: 'heartbeat', rangeId, primary, startTs, ttlMs }))
  }

  /** The ranges covering [start, end) (empty end: no bound), in key order, each clipped to the span. */
  async rangesOf(start: KeyLike, end: KeyLike): Promise<RangeSpan[]> {
    const s = toBytes(start)
    const e = toBytes(end)
    const deadline = Date.now() + this.timeoutMs
    for (let attempt = 0; ; attempt++) {
      let reason: unknown = 'the range map has a gap: a split or merge is under way'
      try {
        if (this.ranges.length === 0 || attempt > 0) await this.describe()
        const spans = this.spansOf(s, e)
        if (spans) return spans
      } catch (err) {
        reason = err
      }
      if (Date.now() >= deadline) throw reason instanceof KvError ? reason : new KvError(KvErrorCode.UNAVAILABLE, String(reason))
      await sleep(Math.min(MAX_BACKOFF_MS, 10 * 2 ** Math.min(attempt, 6)))
    }
  }

  /** The cached ranges covering [s, e), clipped; undefined if the cache has a gap there. */
  private spansOf(s: Uint8Array, e: Uint8Array): RangeSpan[] | undefined {
    const spans: RangeSpan[] = []
    let from = s
    for (;;) {
      const hit = this.ranges.find((r) => rangeContains(r.descriptor, from))
      if (!hit) return undefined
      const rEnd = hit.descriptor.endKey
      const last = rEnd.length === 0 || (e.length > 0 && compareBytes(rEnd, e) >= 0)
      spans.push({ rangeId: hit.descriptor.rangeId, start: from, end: last ? e : rEnd })
      if (last) return spans
      from = rEnd
    }
  }

  /**
   * The cluster as a node sees it: ranges with leaders, and node addresses. Refreshes the
   * cache, keeping what it knew newer than the node's view (see {@link learn}). Calls made
   * while one is under way share its answer: with 10,000 ranges the map is megabytes, and
   * the many requests that miss at once after leaderships moved each fetched it before.
   */
  describe(): Promise<RangesResponse> {
    this.describing ??= this.describeOnce().finally(() => (this.describing = undefined))
    return this.describing
  }

  private async describeOnce(): Promise<RangesResponse> {
    let last: unknown
    const known = [...this.nodes].map(([nodeId, address]) => ({ nodeId, address }))
    for (const node of [...known, ...this.o.hosts.map((address) => ({ nodeId: 0, address }))]) {
      try {
        const res = await this.sendOne(node, { op: 'ranges' }, Date.now() + DESCRIBE_TIMEOUT_MS)
        if (res.error) throw res.error
        this.mapReadAt = Date.now()
        for (const n of res.nodes ?? []) this.nodes.set(n.nodeId, n.address)
        const previous = this.ranges
        this.ranges = (res.ranges ?? []).map((r) => ({ ...r })).sort((a, b) => compareBytes(a.descriptor.startKey, b.descriptor.startKey))
        // A node's view can lag a split or merge a replica already told this client of.
        const fresh = new Map(this.ranges.map((r) => [r.descriptor.rangeId, r.descriptor.generation]))
        for (const p of previous) if ((fresh.get(p.descriptor.rangeId) ?? -1) < p.descriptor.generation) this.learn(p.descriptor, p.leaderNodeId)
        return res
      } catch (err) {
        last = err
      }
    }
    throw new KvError(KvErrorCode.UNAVAILABLE, `no node answered: ${last instanceof Error ? last.message : String(last)}`)
  }

  /** A range's checksum as one node reports it (an admin call; no leader needed). */
  async checksum(rangeId: number, nodeId: number): Promise<{ appliedIndex: number; checksum: string; keys: number }> {
    if (this.nodes.size === 0) await this.describe()
    const address = this.nodes.get(nodeId)
    if (!address) throw new KvError(KvErrorCode.INVALID_ARGUMENT, `unknown node ${nodeId}`)
    const res = await this.sendOne({ nodeId, address }, { op: 'checksum', rangeId }, Date.now() + this.timeoutMs).catch((err: SendError) => {
      throw new KvError(KvErrorCode.UNAVAILABLE, err.message)
    })
    if (res.error) throw res.error
    return { appliedIndex: res.appliedIndex ?? 0, checksum: res.checksum ?? '', keys: res.keys ?? 0 }
  }

  /** Closes every connection. */
  close(): void {
    this.sender.close()
  }

  /**
   * Sends `items` to the ranges holding their keys, one request per range (built by
   * `request` from the items that fall in it), in parallel; items that a split moved
   * elsewhere meanwhile go in the next round. Waits for every range, then throws the first
   * error if any.
   */
  private async forEachRange<T extends { key: Uint8Array }, Op extends DataOp>(
    items: readonly T[],
    request: (rangeId: number, group: T[]) => KvRequestOf<Op>,
    options: RouteOptions = {},
  ): Promise<void> {
    let pending = [...items]
    while (pending.length > 0) {
      const byRange = new Map<number, T[]>()
      for (const item of pending) {
        const range = (await this.lookupRetrying(item.key)).descriptor.rangeId
        const group = byRange.get(range)
        if (group) group.push(item)
        else byRange.set(range, [item])
      }
      const sent = new Set<T>()
      const outcomes = await Promise.allSettled(
        [...byRange.values()].map((group) =>
          this.route(
            group[0]!.key,
            (rangeId, range) => {
              const inRange = group.filter((item) => rangeContains(range, item.key))
              const kept = new Set(inRange)
              for (const item of group) (kept.has(item) ? sent.add(item) : sent.delete(item))
              return request(rangeId, inRange)
            },
            options,
          ),
        ),
      )
      const failed = outcomes.find((o) => o.status === 'rejected')
      if (failed) throw failed.reason
      pending = pending.filter((item) => !sent.has(item))
    }
  }

  /**
   * Puts a range's descriptor, as a replica reported it, into the cache in place of every
   * cached range it overlaps (or of its own older self); ignored if the cache holds a range as
   * new or newer there. Along the ranges that ever held a key, generations only grow (a split
   * or membership change adds one, a merge one above both halves), so of two overlapping
   * descriptors the higher generation is the later.
   */
  private learn(d: RangeDescriptor, leaderNodeId: number): void {
    const clashing = (r: CachedRange) => r.descriptor.rangeId === d.rangeId || rangesOverlap(r.descriptor, d)
    if (this.ranges.some((r) => clashing(r) && r.descriptor.generation >= d.generation)) return
    const kept = this.ranges.filter((r) => !clashing(r))
    const at = kept.findIndex((r) => compareBytes(r.descriptor.startKey, d.startKey) > 0)
    kept.splice(at === -1 ? kept.length : at, 0, { descriptor: d, leaderNodeId })
    this.ranges = kept
  }

  /**
   * Runs `act` on the node that leads range `rangeId` (or the range holding `key`), found
   * through the range cache and retried as requests are (the file comment): `act` says "not
   * here" by throwing KvError NOT_LEADER (with a hint), RANGE_NOT_FOUND, KEY_NOT_IN_RANGE or
   * UNAVAILABLE, and is then run again on the node the cache names next. Any other error ends
   * it; so does an ambiguous one (TIMEOUT): range administration is not idempotent.
   */
  async onLeader<T>(target: { rangeId: number } | { key: Uint8Array }, act: (node: NodeAddress, range: RangeDescriptor) => Promise<T>): Promise<T> {
    const find = 'key' in target ? () => this.lookup(target.key) : () => this.lookupRange(target.rangeId)
    // A range id the cluster's map does not hold, looked up afresh, is an answer: no range has it.
    return this.routeTo(find, (node, cached) => act(node, cached.descriptor), { ambiguousFails: true, missingRangeFails: 'rangeId' in target })
  }

  /** Sends `request` for `key`'s range to its leader, retrying as the file comment says. */
  private route<Op extends DataOp>(
    key: Uint8Array,
    request: (rangeId: number, range: RangeDescriptor) => KvRequestOf<Op>,
    options: RouteOptions<KvResponses[Op]> = {},
  ): Promise<KvResponses[Op]> {
    return this.routeTo(
      () => this.lookup(key),
      async (node, cached, deadline) => {
        const req: KvRequest = { ...request(cached.descriptor.rangeId, cached.descriptor), generation: cached.descriptor.generation }
        const res = (await this.sendOne(node, req, deadline)) as KvResponses[Op]
        // The range changed since the cache learned of it: the replica says how it is now.
        if (res.descriptor) this.learn(res.descriptor, res.descriptor.rangeId === cached.descriptor.rangeId ? node.nodeId : 0)
        if (res.error) throw res.error
        const wrong = options.check?.(res)
        // A replica answered outside what it was asked (one that predates span checks, say):
        // never passed on; the range is looked up afresh.
        if (wrong !== undefined) throw new KvError(KvErrorCode.KEY_NOT_IN_RANGE, `range ${cached.descriptor.rangeId} on node ${node.nodeId}: ${wrong}`)
        return res
      },
      options,
    )
  }

  /**
   * Runs `attempt` against the leader of the range `find` names (or a voter, when the leader
   * is unknown) until it succeeds, it fails for good, or the deadline passes. A {@link SendError}
   * or a KvError from `attempt` updates the cache as the file comment says.
   */
  private async routeTo<T>(find: () => Promise<CachedRange>, attempt: (node: NodeAddress, cached: CachedRange, deadline: number) => Promise<T>, options: RouteOptions<never>): Promise<T> {
    const retryAmbiguous = options.ambiguousFails !== true
    const deadline = Date.now() + this.timeoutMs
    let lastError: KvError | undefined
    // A NOT_LEADER naming a new leader is followed at once, twice in a row at most (two nodes
    // naming each other must not spin).
    let followHint = false
    let hintsFollowed = 0
    for (let attempts = 0; ; attempts++) {
      if (attempts > 0 && followHint && hintsFollowed < 2) hintsFollowed++
      else if (attempts > 0) {
        hintsFollowed = 0
        // No attempt after the deadline: it could only time out.
        const backoff = Math.min(MAX_LEADER_BACKOFF_MS, 10 * 2 ** Math.min(attempts, 6)) * (0.5 + Math.random() / 2)
        await sleep(Math.min(backoff, deadline - Date.now()))
        if (Date.now() >= deadline) throw new KvError(KvErrorCode.TIMEOUT, `no answer before the deadline; last error: ${lastError?.message ?? 'none'}`)
      }
      followHint = false
      let cached: CachedRange
      try {
        cached = await find()
      } catch (err) {
        lastError = err instanceof KvError ? err : new KvError(KvErrorCode.UNAVAILABLE, String(err))
        if (options.missingRangeFails && lastError.code === KvErrorCode.RANGE_NOT_FOUND) throw lastError
        continue
      }
      const target = cached.leaderNodeId || this.pickReplica(cached.descriptor)
      const address = this.nodes.get(target)
      if (!address) {
        this.ranges = []
        lastError = new KvError(KvErrorCode.UNAVAILABLE, `no address for node ${target}`)
        continue
      }
      try {
        const result = await attempt({ nodeId: target, address }, cached, deadline)
        this.downUntil.delete(target)
        return result
      } catch (err) {
        if (err instanceof SendError) {
          cached.leaderNodeId = 0
          if (err.failure !== 'deadline') this.downUntil.set(target, Date.now() + DOWN_MS)
          // Never reached: the address may be stale (the node moved, see --advertise); the next
          // lookup reads the cluster map, and the nodes' addresses with it, afresh (once a second at most).
          if (err.failure === 'unavailable' && Date.now() - this.mapReadAt > DOWN_MS) this.ranges = []
          if (err.failure === 'deadline') {
            // The deadline cut this attempt short; the last answer before it says more.
            throw new KvError(KvErrorCode.TIMEOUT, `no answer before the deadline; last error: ${lastError?.message ?? 'none'}; the last attempt (${err.message}) got no answer in time`)
          }
          const sent = err.failure === 'ambiguous'
          lastError = new KvError(sent ? KvErrorCode.TIMEOUT : KvErrorCode.UNAVAILABLE, err.message)
          if (sent && !retryAmbiguous) throw lastError
          continue
        }
        if (!(err instanceof KvError)) throw err
        this.downUntil.delete(target) // it answered
        lastError = err
        if (err.code === KvErrorCode.KEY_LOCKED && options.surfaceLocks) throw err
        if (!this.absorb(err, cached, target) || (err.code === KvErrorCode.TIMEOUT && !retryAmbiguous)) throw err
        followHint = err.code === KvErrorCode.NOT_LEADER && cached.leaderNodeId !== 0 && cached.leaderNodeId !== target
      }
    }
  }

  /** Updates the cache from an error a node answered `cached`'s request with; whether the request may be retried. */
  private absorb(e: KvError, cached: CachedRange, target: number): boolean {
    switch (e.code) {
      case KvErrorCode.NOT_LEADER:
        // A hint naming a node just found unreachable is a follower's stale view of a dead leader.
        cached.leaderNodeId = e.leaderHint !== undefined && !this.isDown(e.leaderHint) ? e.leaderHint : 0
        return true
      case KvErrorCode.KEY_NOT_IN_RANGE: {
        // The replica's descriptor replaces the stale one; without one, look everything up again.
        const d = e.descriptor
        if (d) this.learn(d, d.rangeId === cached.descriptor.rangeId ? target : 0)
        if (!d || this.ranges.some((r) => r === cached)) this.ranges = []
        return true
      }
      case KvErrorCode.RANGE_NOT_FOUND:
        this.ranges = []
        return true
      case KvErrorCode.UNAVAILABLE:
      case KvErrorCode.KEY_LOCKED:
        cached.leaderNodeId = 0
        return true
      case KvErrorCode.TIMEOUT:
        return true
      default:
        return false
    }
  }

  /** Sends one request to `node` and resolves with its answer. */
  private async sendOne<R extends KvRequest>(node: NodeAddress, req: R, deadline: number): Promise<KvResponses[R['op']]> {
    const [res] = await this.sender.send(node, [req], deadline)
    return res as KvResponses[R['op']]
  }

  /** {@link lookup}, retried with backoff while the cluster map has no range for the key (a split or merge under way). */
  private async lookupRetrying(key: Uint8Array): Promise<CachedRange> {
    const deadline = Date.now() + this.timeoutMs
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.lookup(key)
      } catch (err) {
        if (Date.now() >= deadline || !(err instanceof KvError) || !RETRYABLE_CODES.has(err.code)) throw err
        this.ranges = []
        await sleep(Math.min(MAX_BACKOFF_MS, 10 * 2 ** Math.min(attempt, 6)))
      }
    }
  }

  private async lookup(key: Uint8Array): Promise<CachedRange> {
    let hit = this.ranges.find((r) => rangeContains(r.descriptor, key))
    if (!hit) {
      await this.describe()
      hit = this.ranges.find((r) => rangeContains(r.descriptor, key))
    }
    if (!hit) throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `no range holds key ${Buffer.from(key).toString('hex')}`)
    return hit
  }

  private async lookupRange(rangeId: number): Promise<CachedRange> {
    let hit = this.ranges.find((r) => r.descriptor.rangeId === rangeId)
    if (!hit) {
      await this.describe()
      hit = this.ranges.find((r) => r.descriptor.rangeId === rangeId)
    }
    if (!hit) throw new KvError(KvErrorCode.RANGE_NOT_FOUND, `no range ${rangeId} in the cluster's map`)
    return hit
  }

  /** A voter to try when the leader is unknown: in turn, passing over nodes found unreachable in the last second while others remain. */
  private pickReplica(d: RangeDescriptor): number {
    const voters = d.replicas.filter((r) => r.role === 'voter')
    const up = voters.filter((r) => !this.isDown(r.nodeId))
    const pool = up.length > 0 ? up : voters
    return pool[this.rotation++ % pool.length]?.nodeId ?? 0
  }

  /** Whether `nodeId` could not be reached within the last {@link DOWN_MS}. */
  private isDown(nodeId: number): boolean {
    const until = this.downUntil.get(nodeId)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.downUntil.delete(nodeId)
    return false
  }
}

/** How a request is retried. */
interface RouteOptions<Res = unknown> {
  /** What is wrong with a successful answer, if anything: it is then retried after a fresh lookup, never returned. */
  check?: (res: Res) => string | undefined
  /** Fail with RANGE_NOT_FOUND at once when the range looked up is not in a freshly read cluster map (a range named by id). */
  missingRangeFails?: boolean
  /** Fail at once, rather than retry, when a sent request's outcome is unknown (not idempotent). */
  ambiguousFails?: boolean
  /** Throw KEY_LOCKED (the caller resolves the lock) instead of waiting for the lock to go. */
  surfaceLocks?: boolean
}

/** Options of reads. */
export interface ReadOptions {
  /** Read as of this timestamp (a transaction's snapshot) instead of the latest. */
  ts?: bigint
}

/**
 * What is wrong with a scan page for [from, end) (empty end: no bound), if anything: a pair
 * outside the span or past the range's end, pairs out of order, or a place to continue from
 * (`resume`, or the range's end) that does not lie past `from` and every pair returned.
 */
function scanPageError(page: ScanResponse, from: Uint8Array, end: Uint8Array): string | undefined {
  const rangeEnd = page.rangeEnd ?? new Uint8Array(0)
  let prev: Uint8Array | undefined
  for (const [key] of page.pairs ?? []) {
    if (compareBytes(key, from) < 0 || (end.length > 0 && compareBytes(key, end) >= 0) || (rangeEnd.length > 0 && compareBytes(key, rangeEnd) >= 0)) {
      return `the scan from ${hex(from)} returned key ${hex(key)}, outside the span asked for or the range`
    }
    if (prev && compareBytes(key, prev) <= 0) return `the scan from ${hex(from)} returned keys out of order`
    prev = key
  }
  const next = page.resume ?? rangeEnd
  if (next.length > 0 && (compareBytes(next, from) <= 0 || (prev && compareBytes(next, prev) <= 0))) {
    return `the scan from ${hex(from)} would continue at ${hex(next)}, which is not past it`
  }
  return undefined
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

// The distributed KV client: a cache of range descriptors and leaders, filled from any node,
// routing each request to its range's leader and retrying with backoff on NOT_LEADER,
// RANGE_NOT_FOUND, KEY_NOT_IN_RANGE and UNAVAILABLE until the request's deadline.
// Every request names the descriptor generation it was routed by; a replica serves only
// inside its current bounds and sends back its current descriptor when the generation is
// stale (with the answer, or with KEY_NOT_IN_RANGE), which the cache takes in.

import { Client, credentials, status as GrpcStatus, type MethodDefinition, type ServiceError } from '@grpc/grpc-js'
import type { NetworkFaults } from '@mrdb/raft'
import { compareBytes } from '@mrdb/storage'
import { KvError, KvErrorCode, RETRYABLE_CODES, type LockInfo } from '../api/errors.js'
import { descriptorFromJson, rangeContains, rangesOverlap, type RangeDescriptor, type RangeDescriptorJson } from '../api/range-descriptor.js'
import type { KeyValue, TxnMutation, TxnState } from '../api/types.js'
import { KV_SERVICE, fromWire, toWire, type CommandOp, type RangesResponse, type ScanResponse, type WireError, type WireLock, type WireResponse } from '../api/protocol.js'
import { CommandStream } from './command-stream.js'
import { unaryCall } from '../api/unary-call.js'

/** Options of a {@link KvClient}. */
export interface KvClientOptions {
  /** Addresses (host:port) of one or more nodes to learn the cluster from. */
  hosts: string[]
  /** Deadline of each operation, retries included; default 10 s. */
  timeoutMs?: number
  /** Injected partitions (a node's own client under fault-injection tests). Default: none. */
  faults?: NetworkFaults
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

/** Request and response bodies of an operation, as its unary method defines them. */
type Bodies<Op extends CommandOp> = (typeof KV_SERVICE)[Op] extends MethodDefinition<infer Req, infer Res> ? [Req, Res] : never
type RequestOf<Op extends CommandOp> = Bodies<Op>[0]
type ResponseOf<Op extends CommandOp> = Bodies<Op>[1]

const toBytes = (k: KeyLike): Uint8Array => (typeof k === 'string' ? Buffer.from(k) : k)
const MAX_BACKOFF_MS = 500
/** Largest response a client accepts (a node accepts requests as large). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/** A client of the whole cluster; see the file comment. */
export class KvClient {
  private ranges: CachedRange[] = []
  private readonly nodes = new Map<number, string>()
  private readonly channels = new Map<string, Client>()
  private readonly streams = new Map<string, CommandStream>()
  private readonly timeoutMs: number
  private rotation = 0

  constructor(private readonly o: KvClientOptions) {
    if (o.hosts.length === 0) throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'KvClient needs at least one host')
    this.timeoutMs = o.timeoutMs ?? 10_000
  }

  /**
   * The value of `key`, read linearizably: the latest, or as of `ts`. A read as of `ts` that
   * meets a transaction's lock throws KEY_LOCKED with the lock, for the caller to resolve; a
   * read of the latest value waits for the lock to go.
   */
  async get(key: KeyLike, options: ReadOptions = {}): Promise<Uint8Array | undefined> {
    const k = toBytes(key)
    const ts = options.ts?.toString()
    const res = await this.route(k, 'get', (rangeId) => ({ rangeId, key: toWire(k), ts }), { surfaceLocks: ts !== undefined })
    return res.value === undefined ? undefined : fromWire(res.value)
  }

  /**
   * Stores `value` at `key`. Like every write, not retried after an ambiguous failure, which
   * is thrown as TIMEOUT or UNAVAILABLE: the put may or may not have happened. (A put
   * repeated after another client's write would undo that write, and a reader could see the
   * register go back in time.)
   */
  async put(key: KeyLike, value: KeyLike): Promise<void> {
    const k = toBytes(key)
    const v = toWire(toBytes(value))
    await this.route(k, 'put', (rangeId) => ({ rangeId, key: toWire(k), value: v }), { ambiguousFails: true })
  }

  /** Deletes `key`; an ambiguous failure is thrown, as by {@link put}. */
  async delete(key: KeyLike): Promise<void> {
    const k = toBytes(key)
    await this.route(k, 'delete', (rangeId) => ({ rangeId, key: toWire(k) }), { ambiguousFails: true })
  }

  /**
   * Sets `key` to `value` (undefined: deletes it) only if it currently holds `expected`
   * (undefined: absent). Not retried after an ambiguous failure, which is thrown as TIMEOUT
   * or UNAVAILABLE: the swap may or may not have happened.
   */
  async compareAndSwap(key: KeyLike, expected: KeyLike | undefined, value: KeyLike | undefined): Promise<{ succeeded: boolean; current: Uint8Array | undefined }> {
    const k = toBytes(key)
    const req = (rangeId: number) => ({
      rangeId,
      key: toWire(k),
      expected: expected === undefined ? undefined : toWire(toBytes(expected)),
      value: value === undefined ? undefined : toWire(toBytes(value)),
    })
    const res = await this.route(k, 'cas', req, { ambiguousFails: true })
    return { succeeded: res.succeeded === true, current: res.current === undefined ? undefined : fromWire(res.current) }
  }

  /**
   * Writes many keys (a value puts, `undefined` deletes). The writes that fall in one range
   * apply atomically, as one Raft command; across ranges each range's part is independent
   * (cross-range atomicity comes with transactions). An ambiguous failure is thrown, as by
   * {@link put}.
   */
  async batch(writes: ReadonlyArray<{ key: KeyLike; value: KeyLike | undefined }>): Promise<void> {
    const items = writes.map((w) => ({ key: toBytes(w.key), value: w.value === undefined ? undefined : toWire(toBytes(w.value)) }))
    await this.forEachRange(items, 'batch', (rangeId, group) => ({ rangeId, writes: group.map((w) => ({ key: toWire(w.key), value: w.value })) }), { ambiguousFails: true })
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
    const ts = options.ts?.toString()
    const rows: KeyValue[] = []
    let from = s
    while (rows.length < limit && (e.length === 0 || compareBytes(from, e) < 0)) {
      const req = (rangeId: number) => ({ rangeId, start: toWire(from), end: toWire(e), limit: limit - rows.length, ts })
      const res = await this.route(from, 'scan', req, { surfaceLocks: ts !== undefined, check: (page) => scanPageError(page, from, e) })
      for (const [k, v] of res.pairs ?? []) rows.push([fromWire(k), fromWire(v)])
      // Where the range's answer stopped: at its byte budget, or where the range ended as the
      // replica read it (past `from`: checked).
      const next = fromWire(res.resume ?? res.rangeEnd ?? '')
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
    const e = toWire(toBytes(end))
    let from: Uint8Array | undefined = toBytes(start)
    let deleted = 0
    while (from !== undefined) {
      const s: Uint8Array = from
      const res = await this.route(s, 'deleteRange', (rangeId) => ({ rangeId, start: toWire(s), end: e }))
      deleted += res.deleted ?? 0
      from = res.resume === undefined ? undefined : fromWire(res.resume)
    }
    return deleted
  }

  /**
   * Percolator prewrite of `mutations` for the transaction at `startTs`, one command per range
   * (each all or none). Throws KEY_LOCKED (with the lock), WRITE_CONFLICT or KEY_EXISTS (with
   * the key) as the first range that refused reports it, once every range has answered.
   */
  async prewrite(primary: Uint8Array, startTs: bigint, ttlMs: number, mutations: readonly TxnMutation[]): Promise<void> {
    const p = toWire(primary)
    const st = startTs.toString()
    await this.forEachRange(
      mutations,
      'prewrite',
      (rangeId, group) => ({
        rangeId,
        startTs: st,
        primary: p,
        ttlMs,
        mutations: group.map((m) => ({ key: toWire(m.key), kind: m.kind, value: m.value && toWire(m.value), assertAbsent: m.assertAbsent })),
      }),
      { surfaceLocks: true },
    )
  }

  /** Commits the transaction at `startTs` on `keys` at `commitTs` (idempotent, so retried when the outcome is unknown). */
  async commitKeys(keys: readonly Uint8Array[], startTs: bigint, commitTs: bigint): Promise<void> {
    const st = startTs.toString()
    const ct = commitTs.toString()
    await this.forEachRange(keys.map((key) => ({ key })), 'commit', (rangeId, group) => ({ rangeId, startTs: st, commitTs: ct, keys: group.map((k) => toWire(k.key)) }))
  }

  /** Rolls back the transaction at `startTs` on `keys`. */
  async rollbackKeys(keys: readonly Uint8Array[], startTs: bigint): Promise<void> {
    const st = startTs.toString()
    await this.forEachRange(keys.map((key) => ({ key })), 'rollback', (rangeId, group) => ({ rangeId, startTs: st, keys: group.map((k) => toWire(k.key)) }))
  }

  /** The fate of the transaction at `startTs`, from its primary key; a lock expired as of `nowTs` is rolled back. */
  async checkTxn(primary: Uint8Array, startTs: bigint, nowTs: bigint): Promise<TxnState> {
    const req = (rangeId: number) => ({ rangeId, primary: toWire(primary), startTs: startTs.toString(), nowTs: nowTs.toString() })
    const res = await this.route(primary, 'checkTxn', req)
    if (res.state === 'committed') return { state: 'committed', commitTs: BigInt(res.commitTs ?? '0') }
    if (res.state === 'locked') return { state: 'locked', ttlMs: res.ttlMs ?? 0 }
    return { state: 'rolled-back' }
  }

  /** Raises the TTL of the transaction's primary lock to `ttlMs`. */
  async heartbeat(primary: Uint8Array, startTs: bigint, ttlMs: number): Promise<void> {
    await this.route(primary, 'heartbeat', (rangeId) => ({ rangeId, primary: toWire(primary), startTs: startTs.toString(), ttlMs }))
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
   * cache, keeping what it knew newer than the node's view (see {@link learn}).
   */
  async describe(): Promise<RangesResponse> {
    let last: unknown
    for (const host of [...this.nodes.values(), ...this.o.hosts]) {
      try {
        const res = await this.call(host, KV_SERVICE.ranges, {}, Date.now() + 2000)
        if (res.error) throw new KvError(res.error.code, res.error.message)
        for (const n of res.nodes ?? []) this.nodes.set(n.nodeId, n.address)
        const previous = this.ranges
        this.ranges = (res.ranges ?? [])
          .map((r) => ({ descriptor: descriptorFromJson(r.descriptor), leaderNodeId: r.leaderNodeId }))
          .sort((a, b) => compareBytes(a.descriptor.startKey, b.descriptor.startKey))
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
    const res = await this.call(address, KV_SERVICE.checksum, { rangeId }, Date.now() + this.timeoutMs)
    if (res.error) throw new KvError(res.error.code, res.error.message)
    return { appliedIndex: res.appliedIndex ?? 0, checksum: res.checksum ?? '', keys: res.keys ?? 0 }
  }

  /** Closes every connection. */
  close(): void {
    for (const s of this.streams.values()) s.close()
    this.streams.clear()
    for (const c of this.channels.values()) c.close()
    this.channels.clear()
  }

  /**
   * Sends `items` to the ranges holding their keys, one request per range (built by
   * `request` from the items that fall in it), in parallel; items that a split moved
   * elsewhere meanwhile go in the next round. Waits for every range, then throws the first
   * error if any.
   */
  private async forEachRange<T extends { key: Uint8Array }, Op extends CommandOp>(
    items: readonly T[],
    op: Op,
    request: (rangeId: number, group: T[]) => RequestOf<Op>,
    options: RouteOptions = {},
  ): Promise<void> {
    let pending = [...items]
    while (pending.length > 0) {
      const byRange = new Map<number, T[]>()
      for (const item of pending) {
        const range = (await this.lookupRetrying(item.key)).descriptor.rangeId
        byRange.set(range, [...(byRange.get(range) ?? []), item])
      }
      const sent = new Set<T>()
      const outcomes = await Promise.allSettled(
        [...byRange.values()].map((group) =>
          this.route(
            group[0]!.key,
            op,
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

  /** Sends `request` for `key`'s range to its leader, retrying as the file comment says. */
  private async route<Op extends CommandOp>(key: Uint8Array, op: Op, request: (rangeId: number, range: RangeDescriptor) => RequestOf<Op>, options: RouteOptions<ResponseOf<Op>> = {}): Promise<ResponseOf<Op>> {
    const retryAmbiguous = options.ambiguousFails !== true
    const deadline = Date.now() + this.timeoutMs
    let lastError: KvError | undefined
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        // No attempt after the deadline: it could only time out.
        const backoff = Math.min(MAX_BACKOFF_MS, 10 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2)
        await sleep(Math.min(backoff, deadline - Date.now()))
        if (Date.now() >= deadline) throw new KvError(KvErrorCode.TIMEOUT, `no answer before the deadline; last error: ${lastError?.message ?? 'none'}`)
      }
      let cached: CachedRange | undefined
      try {
        cached = await this.lookup(key)
      } catch (err) {
        lastError = err instanceof KvError ? err : new KvError(KvErrorCode.UNAVAILABLE, String(err))
        continue
      }
      const target = cached.leaderNodeId || this.pickReplica(cached.descriptor)
      const address = this.nodes.get(target)
      if (!address) {
        this.ranges = []
        lastError = new KvError(KvErrorCode.UNAVAILABLE, `no address for node ${target}`)
        continue
      }
      let res: ResponseOf<Op>
      try {
        const body = { ...(request(cached.descriptor.rangeId, cached.descriptor) as object), generation: cached.descriptor.generation }
        res = (await this.streamTo(address).send(op, body, deadline)) as ResponseOf<Op>
      } catch (err) {
        const grpcCode = (err as ServiceError).code
        const sent = grpcCode !== GrpcStatus.UNAVAILABLE
        cached.leaderNodeId = 0
        if (grpcCode === GrpcStatus.DEADLINE_EXCEEDED) {
          // The deadline cut this attempt short; the last answer before it says more.
          throw new KvError(KvErrorCode.TIMEOUT, `no answer before the deadline; last error: ${lastError?.message ?? 'none'}; the last attempt (node ${target} at ${address}) got no answer in time`)
        }
        lastError = new KvError(sent ? KvErrorCode.TIMEOUT : KvErrorCode.UNAVAILABLE, `node ${target} at ${address}: ${(err as Error).message}`)
        if (sent && !retryAmbiguous) throw lastError
        continue
      }
      const { error: e, descriptor: current } = res as WireResponse
      // The range changed since the cache learned of it: the replica says how it is now.
      const newer = current && parseDescriptor(current)
      if (newer) this.learn(newer, newer.rangeId === cached.descriptor.rangeId ? target : 0)
      if (!e) {
        const wrong = options.check?.(res)
        if (wrong === undefined) return res
        // A replica answered outside what it was asked (one that predates span checks, say):
        // never passed on; the range is looked up afresh.
        lastError = new KvError(KvErrorCode.KEY_NOT_IN_RANGE, `range ${cached.descriptor.rangeId} on node ${target}: ${wrong}`)
        this.ranges = []
        continue
      }
      lastError = fromWireError(e)
      if (e.code === KvErrorCode.KEY_LOCKED && options.surfaceLocks) throw lastError
      switch (e.code) {
        case KvErrorCode.NOT_LEADER:
          cached.leaderNodeId = e.leaderHint ?? 0
          break
        case KvErrorCode.KEY_NOT_IN_RANGE: {
          // The replica's descriptor replaces the stale one; without one, look everything up again.
          const d = e.descriptor && parseDescriptor(e.descriptor)
          if (d) this.learn(d, d.rangeId === cached.descriptor.rangeId ? target : 0)
          if (!d || this.ranges.some((r) => r === cached)) this.ranges = []
          break
        }
        case KvErrorCode.RANGE_NOT_FOUND:
          this.ranges = []
          break
        case KvErrorCode.UNAVAILABLE:
        case KvErrorCode.KEY_LOCKED:
          cached.leaderNodeId = 0
          break
        case KvErrorCode.TIMEOUT:
          if (!retryAmbiguous) throw lastError
          break
        default:
          throw lastError
      }
    }
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

  private pickReplica(d: RangeDescriptor): number {
    const voters = d.replicas.filter((r) => r.role === 'voter')
    return voters[this.rotation++ % voters.length]?.nodeId ?? 0
  }

  private call<Req, Res>(address: string, method: MethodDefinition<Req, Res>, request: Req, deadline: number): Promise<Res> {
    return unaryCall(this.channel(address), method, request, deadline)
  }

  private streamTo(address: string): CommandStream {
    let s = this.streams.get(address)
    if (!s) this.streams.set(address, (s = new CommandStream(this.channel(address))))
    return s
  }

  private channel(address: string): Client {
    let channel = this.channels.get(address)
    if (!channel) {
      const interceptors = this.o.faults ? [this.o.faults.interceptor(address)] : []
      channel = new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, interceptors })
      this.channels.set(address, channel)
    }
    return channel
  }
}

/** How a request is retried. */
interface RouteOptions<Res = unknown> {
  /** What is wrong with a successful answer, if anything: it is then retried after a fresh lookup, never returned. */
  check?: (res: Res) => string | undefined
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

function fromWireError(e: WireError): KvError {
  const lock = (l: WireLock): LockInfo => ({ key: fromWire(l.key), primary: fromWire(l.primary), startTs: BigInt(l.startTs), ttlMs: l.ttlMs })
  return new KvError(e.code, e.message, e.leaderHint, {
    lock: e.lock && lock(e.lock),
    locks: e.locks?.map(lock),
    key: e.key === undefined ? undefined : fromWire(e.key),
    descriptor: e.descriptor && parseDescriptor(e.descriptor),
  })
}

/** A descriptor from a node's answer; undefined if it is malformed (then it teaches nothing). */
function parseDescriptor(j: RangeDescriptorJson): RangeDescriptor | undefined {
  try {
    const d = descriptorFromJson(j)
    return Number.isSafeInteger(d.rangeId) && Number.isSafeInteger(d.generation) && Array.isArray(d.replicas) ? d : undefined
  } catch {
    return undefined
  }
}

/**
 * What is wrong with a scan page for [from, end) (empty end: no bound), if anything: a pair
 * outside the span or past the range's end, pairs out of order, or a place to continue from
 * (`resume`, or the range's end) that does not lie past `from` and every pair returned.
 */
function scanPageError(page: ScanResponse, from: Uint8Array, end: Uint8Array): string | undefined {
  const rangeEnd = fromWire(page.rangeEnd ?? '')
  let prev: Uint8Array | undefined
  for (const [k] of page.pairs ?? []) {
    const key = fromWire(k)
    if (compareBytes(key, from) < 0 || (end.length > 0 && compareBytes(key, end) >= 0) || (rangeEnd.length > 0 && compareBytes(key, rangeEnd) >= 0)) {
      return `the scan from ${hex(from)} returned key ${hex(key)}, outside the span asked for or the range`
    }
    if (prev && compareBytes(key, prev) <= 0) return `the scan from ${hex(from)} returned keys out of order`
    prev = key
  }
  const next = page.resume === undefined ? rangeEnd : fromWire(page.resume)
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

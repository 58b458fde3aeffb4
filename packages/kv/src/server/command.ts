// The replicated commands of a range, as they travel in Raft entries: a small binary
// format, tagged by kind, with the proposer's id so it can be told of the outcome.

import type { MutationKind } from '@mrdb/storage'
import type { TxnMutation } from '../api/types.js'
import { KvError, KvErrorCode } from '../api/errors.js'

/** A write a range applies. `ms` is the proposer's clock; the applied timestamp is derived from it deterministically. */
export type Command =
  | { kind: 'put'; key: Uint8Array; value: Uint8Array }
  | { kind: 'delete'; key: Uint8Array }
  /** Writes `value` (or deletes, if undefined) only if the current value equals `expected` (undefined: absent). */
  | { kind: 'cas'; key: Uint8Array; expected: Uint8Array | undefined; value: Uint8Array | undefined }
  | { kind: 'deleteRange'; start: Uint8Array; end: Uint8Array }
  /** Puts (value present) and deletes (value undefined) applied atomically together. */
  | { kind: 'batch'; writes: BatchWrite[] }
  /** Cuts the range at `splitKey`: it keeps [start, splitKey); range `newRangeId` takes the rest, on the same replicas. */
  | { kind: 'split'; splitKey: Uint8Array; newRangeId: number }
  /** Stops the range for good, ahead of its merge into its left neighbour: no command applies after this one. */
  | { kind: 'freeze' }
  /**
   * Takes in the frozen right-hand neighbour `right` (its descriptor as frozen, JSON) whose
   * writes used timestamps up to `rightLastTs`; every replica of `right` has applied its freeze.
   */
  | { kind: 'merge'; right: Uint8Array; rightLastTs: bigint }
  /** Percolator prewrite: locks every key for the transaction at `startTs`, all or none. */
  | { kind: 'prewrite'; startTs: bigint; primary: Uint8Array; ttlMs: number; mutations: TxnMutation[] }
  /** Commits the transaction at `startTs` on `keys` at `commitTs`. */
  | { kind: 'commit'; startTs: bigint; commitTs: bigint; keys: Uint8Array[] }
  /**
   * One-phase commit of a transaction whose writes all lie in this range: the checks of a
   * prewrite, then the versions written at `commitTs`, all or none. The leader chose
   * `commitTs` at proposal, above every read it served (see Replica.proposeOnePhase).
   */
  | { kind: 'onePhaseCommit'; startTs: bigint; commitTs: bigint; mutations: TxnMutation[] }
  /** Rolls back the transaction at `startTs` on `keys`. */
  | { kind: 'rollback'; startTs: bigint; keys: Uint8Array[] }
  /**
   * Decides the transaction at `startTs` from its primary key: committed, rolled back, or
   * alive. A lock expired as of `nowTs`, or no trace of the transaction at all, is rolled back.
   */
  | { kind: 'checkTxn'; primary: Uint8Array; startTs: bigint; nowTs: bigint }
  /** Raises the TTL of the transaction's primary lock, keeping it alive. */
  | { kind: 'heartbeat'; primary: Uint8Array; startTs: bigint; ttlMs: number }
  /**
   * Garbage collection: raises the range's GC fence to `fence` (no transaction that started
   * below it may prewrite here any more) and its GC threshold to `threshold` (no read below
   * it is served), then collects on `keys` what no read at or above `threshold` can see.
   * `threshold` ≤ `fence`; either only rises (a lower value changes nothing).
   */
  | { kind: 'gc'; fence: bigint; threshold: bigint; keys: Uint8Array[] }


/** One write of a batch command. */
export interface BatchWrite {
  key: Uint8Array
  /** Undefined: delete the key. */
  value: Uint8Array | undefined
}

/** A command with its envelope. */
export interface CommandEnvelope {
  /** Unique per proposal on the proposing replica, across its restarts too; 0 when nobody waits. */
  proposalId: number
  /** Node that proposed it. */
  nodeId: number
  /** Proposer's physical clock in ms. */
  ms: number
  command: Command
}

const KINDS = ['put', 'delete', 'cas', 'deleteRange', 'batch', 'split', 'freeze', 'merge', 'prewrite', 'commit', 'rollback', 'checkTxn', 'heartbeat', 'gc', 'onePhaseCommit'] as const
const MUTATION_KINDS: readonly MutationKind[] = ['put', 'delete', 'lock']
const ASSERT_ABSENT = 0x80
const ABSENT = 0xffff_ffff

/** Fixed bytes of an encoded envelope: kind, proposal id, node id, clock. */
const HEADER_SIZE = 1 + 8 + 4 + 8

/** The size of the Raft entry a command makes, without encoding it. */
export function encodedCommandSize(c: Command): number {
  let size = HEADER_SIZE
  for (const p of commandParts(c)) size += 4 + (p?.length ?? 0)
  return size
}

/** Encodes a command envelope for a Raft entry. */
export function encodeCommand(env: CommandEnvelope): Uint8Array {
  const c = env.command
  const parts = commandParts(c)
  const out = new Uint8Array(encodedCommandSize(c))
  const view = new DataView(out.buffer)
  out[0] = KINDS.indexOf(c.kind)
  view.setFloat64(1, env.proposalId)
  view.setUint32(9, env.nodeId)
  view.setFloat64(13, env.ms)
  let at = HEADER_SIZE
  for (const p of parts) {
    view.setUint32(at, p === undefined ? ABSENT : p.length)
    if (p) out.set(p, at + 4)
    at += 4 + (p?.length ?? 0)
  }
  return out
}

/** Decodes a command envelope; damaged bytes raise CORRUPTION. */
export function decodeCommand(bytes: Uint8Array): CommandEnvelope {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const kind = KINDS[bytes[0] ?? 255]
  if (kind === undefined || bytes.length < HEADER_SIZE) throw corrupt()
  let at = HEADER_SIZE
  const next = (): Uint8Array | undefined => {
    if (at + 4 > bytes.length) throw corrupt()
    const len = view.getUint32(at)
    at += 4
    if (len === ABSENT) return undefined
    if (at + len > bytes.length) throw corrupt()
    const part = bytes.subarray(at, at + len)
    at += len
    return part
  }
  const need = (p: Uint8Array | undefined): Uint8Array => p ?? (() => { throw corrupt() })()
  const rest = (read: typeof next): Uint8Array[] => {
    const out: Uint8Array[] = []
    while (at < bytes.length) out.push(need(read()))
    return out
  }
  let command: Command
  switch (kind) {
    case 'put':
      command = { kind, key: need(next()), value: need(next()) }
      break
    case 'delete':
      command = { kind, key: need(next()) }
      break
    case 'cas':
      command = { kind, key: need(next()), expected: next(), value: next() }
      break
    case 'deleteRange':
      command = { kind, start: need(next()), end: need(next()) }
      break
    case 'split':
      command = { kind, splitKey: need(next()), newRangeId: Number(u64(need(next()))) }
      break
    case 'freeze':
      command = { kind }
      break
    case 'merge': {
      const right = need(next())
      command = { kind, right, rightLastTs: u64(need(next())) }
      break
    }
    case 'prewrite': {
      const startTs = u64(need(next()))
      const primary = need(next())
      const ttlMs = u32(need(next()))
      command = { kind, startTs, primary, ttlMs, mutations: mutationsFrom(next, () => at < bytes.length) }
      break
    }
    case 'onePhaseCommit': {
      const startTs = u64(need(next()))
      const commitTs = u64(need(next()))
      command = { kind, startTs, commitTs, mutations: mutationsFrom(next, () => at < bytes.length) }
      break
    }
    case 'commit': {
      const startTs = u64(need(next()))
      const commitTs = u64(need(next()))
      command = { kind, startTs, commitTs, keys: rest(next) }
      break
    }
    case 'rollback': {
      const startTs = u64(need(next()))
      command = { kind, startTs, keys: rest(next) }
      break
    }
    case 'checkTxn':
      command = { kind, primary: need(next()), startTs: u64(need(next())), nowTs: u64(need(next())) }
      break
    case 'heartbeat':
      command = { kind, primary: need(next()), startTs: u64(need(next())), ttlMs: u32(need(next())) }
      break
    case 'gc': {
      const fence = u64(need(next()))
      const threshold = u64(need(next()))
      command = { kind, fence, threshold, keys: rest(next) }
      break
    }
    case 'batch': {
      const writes: BatchWrite[] = []
      while (at < bytes.length) writes.push({ key: need(next()), value: next() })
      command = { kind, writes }
      break
    }
  }
  if (at !== bytes.length) throw corrupt()
  return { proposalId: view.getFloat64(1), nodeId: view.getUint32(9), ms: view.getFloat64(13), command }
}

/** The length-prefixed byte strings a command is made of, in order (undefined: absent). */
function commandParts(c: Command): Array<Uint8Array | undefined> {
  switch (c.kind) {
    case 'put':
      return [c.key, c.value]
    case 'delete':
      return [c.key]
    case 'cas':
      return [c.key, c.expected, c.value]
    case 'deleteRange':
      return [c.start, c.end]
    case 'batch':
      return c.writes.flatMap((w) => [w.key, w.value])
    case 'split':
      return [c.splitKey, be64(BigInt(c.newRangeId))]
    case 'freeze':
      return []
    case 'merge':
      return [c.right, be64(c.rightLastTs)]
    case 'prewrite':
      return [be64(c.startTs), c.primary, be32(c.ttlMs), ...mutationParts(c.mutations)]
    case 'onePhaseCommit':
      return [be64(c.startTs), be64(c.commitTs), ...mutationParts(c.mutations)]
    case 'commit':
      return [be64(c.startTs), be64(c.commitTs), ...c.keys]
    case 'rollback':
      return [be64(c.startTs), ...c.keys]
    case 'checkTxn':
      return [c.primary, be64(c.startTs), be64(c.nowTs)]
    case 'heartbeat':
      return [c.primary, be64(c.startTs), be32(c.ttlMs)]
    case 'gc':
      return [be64(c.fence), be64(c.threshold), ...c.keys]
  }
}

/** A transaction's mutations as parts: for each, its flags (kind, absence check), key and value. */
function mutationParts(mutations: readonly TxnMutation[]): Array<Uint8Array | undefined> {
  return mutations.flatMap((m) => [Uint8Array.of(MUTATION_KINDS.indexOf(m.kind) | (m.assertAbsent ? ASSERT_ABSENT : 0)), m.key, m.value])
}

/** Reads the mutations {@link mutationParts} wrote, with `next` (the next part), while `more()`. */
function mutationsFrom(next: () => Uint8Array | undefined, more: () => boolean): TxnMutation[] {
  const mutations: TxnMutation[] = []
  while (more()) {
    const flags = next()
    const mutationKind = MUTATION_KINDS[(flags?.[0] ?? 255) & ~ASSERT_ABSENT]
    if (flags?.length !== 1 || mutationKind === undefined) throw corrupt()
    const key = next()
    if (key === undefined) throw corrupt()
    mutations.push({ kind: mutationKind, assertAbsent: (flags[0]! & ASSERT_ABSENT) !== 0, key, value: next() })
  }
  return mutations
}

function be64(n: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}

function be32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

function u64(b: Uint8Array): bigint {
  if (b.length !== 8) throw corrupt()
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0)
}

function u32(b: Uint8Array): number {
  if (b.length !== 4) throw corrupt()
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0)
}

function corrupt(): KvError {
  return new KvError(KvErrorCode.CORRUPTION, 'a replicated command is damaged')
}

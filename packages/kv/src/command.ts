// The replicated commands of a range, as they travel in Raft entries: a small binary
// format, tagged by kind, with the proposer's id so it can be told of the outcome.

import { KvError, KvErrorCode } from './errors.js'

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

const KINDS = ['put', 'delete', 'cas', 'deleteRange', 'batch', 'split', 'freeze', 'merge'] as const
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
    case 'split': {
      const splitKey = need(next())
      const id = need(next())
      if (id.length !== 8) throw corrupt()
      command = { kind, splitKey, newRangeId: Number(new DataView(id.buffer, id.byteOffset, 8).getBigUint64(0)) }
      break
    }
    case 'freeze':
      command = { kind }
      break
    case 'merge': {
      const right = need(next())
      const ts = need(next())
      if (ts.length !== 8) throw corrupt()
      command = { kind, right, rightLastTs: new DataView(ts.buffer, ts.byteOffset, 8).getBigUint64(0) }
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
    case 'split': {
      const id = new Uint8Array(8)
      new DataView(id.buffer).setBigUint64(0, BigInt(c.newRangeId))
      return [c.splitKey, id]
    }
    case 'freeze':
      return []
    case 'merge': {
      const ts = new Uint8Array(8)
      new DataView(ts.buffer).setBigUint64(0, c.rightLastTs)
      return [c.right, ts]
    }
  }
}

function corrupt(): KvError {
  return new KvError(KvErrorCode.CORRUPTION, 'a replicated command is damaged')
}

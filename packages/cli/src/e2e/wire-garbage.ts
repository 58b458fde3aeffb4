// Garbage for a node's wire, drawn from a seeded generator so a failing run replays: random
// bytes, JSON cut short, JSON of the wrong shape for mrdb's JSON request bodies (admin, PD),
// protobuf messages of the wrong shape for the KV service's binary ones, and Raft frames
// with broken headers, counts and lengths. Every "wrong shape" is wrong for every method: ids
// and counts are never positive integers, keys never decode to a byte, a KV request that
// decodes names a range no cluster has, so no body a generator makes is a valid request that
// would change the cluster.

import { KV_SERVICE, type KvRequest } from '@mrdb/kv'
import { encodeFrame, encodeSnapshotHeader, type Message, type SeededRng } from '@mrdb/raft'

/** Random bytes, 0 to `maxLength` - 1 of them. */
export function randomBytes(rng: SeededRng, maxLength: number): Buffer {
  const out = Buffer.alloc(rng.nextInt(maxLength))
  for (let i = 0; i < out.length; i++) out[i] = rng.nextInt(256)
  return out
}

/** One of `items`. */
export function pick<T>(rng: SeededRng, items: readonly T[]): T {
  return items[rng.nextInt(items.length)]!
}

/** The JSON of `value`, cut at a random point (so it never parses). */
export function truncatedJson(rng: SeededRng, value: unknown): Buffer {
  const text = Buffer.from(JSON.stringify(value))
  return text.subarray(0, rng.nextInt(Math.max(1, text.length - 1)))
}

/** Field names of mrdb's request bodies (KV, node admin, placement driver, SQL). */
const FIELDS = [
  'rangeId', 'key', 'value', 'ts', 'expected', 'start', 'end', 'limit', 'writes', 'startTs', 'commitTs', 'primary', 'ttlMs', 'mutations', 'keys', 'nowTs',
  'id', 'op', 'body', 'sql', 'nodeId', 'address', 'nodes', 'clusterId', 'ranges', 'pdNodes', 'resetLoopDelay', 'newRangeId', 'forwarded', 'storeId',
  'toStoreId', 'descriptor', 'capacityBytes', 'usedBytes', 'replicaCount', 'leading', 'count', 'leaderNodeId', 'state', 'startKey', 'endKey',
  'generation', 'replicas', 'replicaId', 'role', 'kind', '__proto__', 'constructor',
] as const

/**
 * Scalars that are wrong wherever mrdb expects a scalar: no positive integer (ids, counts),
 * no string that decodes to a key byte (base64 takes one byte from two of its characters,
 * so none has two) or names a real operation or state.
 */
const BAD_SCALARS: readonly unknown[] = [
  -1, 0, -0.5, 1.5, 2 ** 53, -(2 ** 63), 1e308, -1e308, 5e-324, true, false, null,
  '', 'x', '1', '-', ' ', '\u0000', '\u{1f642}', '=', '{}',
]

/** Arrays nested `depth` deep around `inner`. */
export function nested(depth: number, inner: unknown = 0): unknown {
  let v = inner
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

function badValue(rng: SeededRng, depth: number, deep: boolean): unknown {
  switch (rng.nextInt(depth >= 3 ? 1 : 7)) {
    case 0:
      return pick(rng, BAD_SCALARS)
    case 6:
      return '!'.repeat(70_000)
    case 1:
      return Array.from({ length: rng.nextInt(4) }, () => badValue(rng, depth + 1, deep))
    case 2:
      return badObject(rng, depth + 1, deep)
    case 3:
      return nested(1 + rng.nextInt(deep ? 48 : 8), pick(rng, BAD_SCALARS))
    case 4:
      return [[pick(rng, BAD_SCALARS), pick(rng, BAD_SCALARS)]]
    default:
      return Array.from({ length: 2000 }, () => pick(rng, BAD_SCALARS))
  }
}

function badObject(rng: SeededRng, depth: number, deep: boolean): Record<string, unknown> {
  // No prototype, so "__proto__" is a key like any other and reaches the wire.
  const o = Object.create(null) as Record<string, unknown>
  for (let n = rng.nextInt(6); n > 0; n--) o[pick(rng, FIELDS)] = badValue(rng, depth, deep)
  return o
}

/**
 * A JSON value of the wrong shape for every mrdb request: mostly objects with badly typed
 * fields. Unless `deep`, it nests at most 16 levels (well within what a node decodes).
 */
export function wrongShape(rng: SeededRng, deep = true): unknown {
  return rng.nextInt(5) === 0 ? badValue(rng, 0, deep) : badObject(rng, 0, deep)
}

/** Text a SQL session must refuse (or answer harmlessly): unbalanced, deep, or not SQL at all. */
export function garbageSql(rng: SeededRng): string {
  switch (rng.nextInt(6)) {
    case 0:
      return randomBytes(rng, 200).toString('latin1')
    case 1:
      return `SELECT ${'('.repeat(1 + rng.nextInt(5000))}1`
    case 2:
      return `SELECT ${'('.repeat(3000)}1${')'.repeat(3000)}`
    case 3:
      return `SELECT * FROM ${randomBytes(rng, 40).toString('hex')} WHERE`
    case 4:
      return `INSERT INTO nowhere VALUES (${'1,'.repeat(rng.nextInt(10_000))}`
    default:
      return 'x'.repeat((1 << 20) + 1)
  }
}

/** Group ids of the sample frames: far above any range id, so a frame that survives corruption steps into no group. */
const NO_GROUP = 2 ** 40

/** An encoded Raft frame from node `from` to node `to`, with the offsets of its u32 count and length fields. */
export interface SampleFrame {
  bytes: Uint8Array
  u32Offsets: number[]
}

/**
 * A valid frame carrying one message (one entry of `data`, a context), one heartbeat and one
 * quiesce, all for a group no node has. The offsets follow the layout in frame-codec.ts.
 */
export function sampleFrame(from: number, to: number, data: Uint8Array, context: Uint8Array): SampleFrame {
  const msg: Message = {
    type: 'MsgApp', from: 1, to: 2, term: 7, logTerm: 6, index: 5, commit: 4, reject: false, rejectHint: 0,
    entries: [{ term: 7, index: 6, type: 'normal', data }],
    context,
  }
  const bytes = encodeFrame({ from, to, messages: [{ groupId: NO_GROUP, msg }], heartbeats: [{ groupId: NO_GROUP + 1, from: 1, to: 2, term: 7, commit: 4 }], heartbeatResponses: [], quiesce: [{ groupId: NO_GROUP + 2, term: 7, commit: 4 }] })
  const L = data.byteLength
  const C = context.byteLength
  if (bytes.byteLength !== 194 + L + C) throw new Error(`the frame layout changed: ${bytes.byteLength} bytes, expected ${194 + L + C}`)
  // messages count, entries count, entry data length, context length, heartbeats count, responses count, quiesce count (each notice 24 bytes after it)
  return { bytes, u32Offsets: [18, 88, 109, 113 + L, 117 + L + C, 162 + L + C, 166 + L + C] }
}

/**
 * `frame` with one defect: a bad version or kind, a count or length field set absurdly high or
 * off by one, a number beyond 2^53, bytes cut off or appended, or a few bytes flipped.
 */
export function corruptFrame(rng: SeededRng, frame: SampleFrame): Buffer {
  const out = Buffer.from(frame.bytes)
  switch (rng.nextInt(8)) {
    case 0:
      out[0] = 2 + rng.nextInt(254) // version
      return out
    case 1:
      out[1] = pick(rng, [0, 2, 3, 255]) // kind
      return out
    case 2:
      out.writeUInt32BE(pick(rng, [0xffff_ffff, 0x7fff_ffff, 1 << 20]), pick(rng, frame.u32Offsets))
      return out
    case 3: {
      const at = pick(rng, frame.u32Offsets)
      out.writeUInt32BE(out.readUInt32BE(at) + 1, at)
      return out
    }
    case 4:
      out.writeUInt32BE(0x0020_0000 + rng.nextInt(0xffdf_ffff), 2 + 8 * rng.nextInt(2)) // high half of from or to beyond 2^53
      return out
    case 5:
      return out.subarray(0, rng.nextInt(out.length))
    case 6:
      return Buffer.concat([out, randomBytes(rng, 64)])
    default:
      for (let n = 1 + rng.nextInt(4); n > 0; n--) out[rng.nextInt(out.length)]! ^= 1 + rng.nextInt(255)
      return out
  }
}

/**
 * An encoded snapshot stream header from node `from` to node `to` announcing `dataLength`
 * bytes, for replica `replicaId` of `groupId` (by default a group no node has).
 */
export function sampleSnapshotHeader(from: number, to: number, dataLength: number, groupId = NO_GROUP, replicaId = 2): Uint8Array {
  const message: Message = {
    type: 'MsgSnap', from: 1, to: replicaId, term: 7, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0, entries: [],
    snapshot: { data: new Uint8Array(0), metadata: { index: 9, term: 7, confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
  }
  return encodeSnapshotHeader({ from, to, groupId, message, dataLength })
}

/** A range id no test cluster has: a KV request naming it is answered RANGE_NOT_FOUND at most. */
export const NO_RANGE = 2 ** 40

/** A protobuf varint. */
function varint(n: number): Buffer {
  const out: number[] = []
  for (let v = n; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      out.push(v)
      return Buffer.from(out)
    }
    out.push((v % 128) | 0x80)
  }
}

/** One protobuf field: its tag, then a varint, 8 or 4 bytes, or length-delimited bytes. */
export function protoField(num: number, wire: 0 | 1 | 2 | 5, payload: number | Buffer): Buffer {
  const tag = varint(num * 8 + wire)
  if (wire === 0) return Buffer.concat([tag, varint(payload as number)])
  const bytes = typeof payload === 'number' ? Buffer.alloc(wire === 1 ? 8 : wire === 5 ? 4 : payload) : payload
  return Buffer.concat([tag, wire === 2 ? varint(bytes.length) : Buffer.alloc(0), wire === 2 ? bytes : bytes.subarray(0, wire === 1 ? 8 : 4)])
}

/** Field numbers of the KV schema's Request (id, range, generation, one per kind) and two it lacks. */
const REQUEST_FIELDS = [1, 2, 3, ...Array.from({ length: 15 }, (_, i) => 10 + i), 5, 99]
/** The wire type each Request field has in the schema (unknown ones: any). */
const REQUEST_WIRE = (num: number): 0 | 2 => (num <= 3 ? 0 : 2)

/** A field of a request kind's message (key, value, timestamps, lists…), of a random wire type and value. */
function garbageOpField(rng: SeededRng): Buffer {
  const num = 1 + rng.nextInt(6)
  const wire = pick(rng, [0, 0, 2, 2, 2, 1, 5] as const)
  if (wire === 0) return protoField(num, 0, pick(rng, [0, 1, 2 ** 32, 2 ** 53 - 1, rng.nextInt(1 << 30)]))
  if (wire === 2) return protoField(num, 2, rng.nextInt(3) === 0 ? Buffer.concat(Array.from({ length: 1 + rng.nextInt(3) }, () => garbageOpField(rng))) : randomBytes(rng, 24))
  return protoField(num, wire, 0)
}

/**
 * A KV Request message of the wrong shape: fields of the schema's numbers (and others), each
 * of its declared wire type half the time, with values out of range or missing; a range id
 * sent as a varint is never a real range (see the file comment).
 */
export function garbageKvRequest(rng: SeededRng, id: number): Buffer {
  const fields = [protoField(1, 0, id)]
  for (let n = rng.nextInt(5); n > 0; n--) {
    const num = pick(rng, REQUEST_FIELDS)
    const wire = rng.nextInt(2) === 0 ? REQUEST_WIRE(num) : pick(rng, [0, 1, 2, 5] as const)
    if (wire === 0) fields.push(protoField(num, 0, num === 2 ? NO_RANGE + rng.nextInt(1000) : pick(rng, [0, 2 ** 32, 2 ** 53 - 1, rng.nextInt(1 << 30)])))
    else if (wire === 2) fields.push(protoField(num, 2, Buffer.concat(Array.from({ length: rng.nextInt(4) }, () => garbageOpField(rng)))))
    else fields.push(protoField(num, wire, 0))
  }
  return Buffer.concat(fields)
}

/** A command-stream message of `count` garbage requests (ids from `firstId`). */
export function garbageKvFrame(rng: SeededRng, firstId: number, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => protoField(1, 2, garbageKvRequest(rng, firstId + i))))
}

/**
 * Typed requests that encode but break an invariant or name no real range, with ids from
 * `firstId`: every answer is INVALID_ARGUMENT or RANGE_NOT_FOUND (the cluster map, which
 * takes no arguments, answers).
 */
export function badKvRequests(rng: SeededRng, firstId: number, count: number): Array<{ id: number; request: KvRequest }> {
  const k = () => randomBytes(rng, 8)
  const at = () => ({ rangeId: pick(rng, [0, NO_RANGE]), generation: pick(rng, [undefined, 0, 7]) })
  const makers: Array<() => KvRequest> = [
    () => ({ op: 'get', ...at(), key: Buffer.alloc(0) }),
    () => ({ op: 'get', ...at(), key: k(), ts: 1n }),
    () => ({ op: 'put', ...at(), key: k() }) as unknown as KvRequest, // no value
    () => ({ op: 'scan', ...at(), start: k(), end: k(), limit: 0 }),
    () => ({ op: 'batch', ...at(), writes: [] }),
    () => ({ op: 'prewrite', ...at(), primary: k(), ttlMs: 1, mutations: [{ key: k(), kind: 'put', value: k(), assertAbsent: false }] }) as unknown as KvRequest, // no startTs
    () => ({ op: 'onePhaseCommit', ...at(), startTs: 5n, mutations: [] }),
    () => ({ op: 'commit', ...at(), startTs: 1n, commitTs: 2n, keys: [Buffer.alloc(0)] }),
    () => ({ op: 'rollback', ...at(), startTs: 1n, keys: [] }),
    () => ({ op: 'checkTxn', ...at(), primary: Buffer.alloc(0), startTs: 1n, nowTs: 2n }),
    () => ({ op: 'heartbeat', ...at(), primary: k(), startTs: 1n }) as unknown as KvRequest, // no ttlMs
    () => ({ op: 'deleteRange', rangeId: NO_RANGE, start: k(), end: k() }),
    () => ({ op: 'checksum', rangeId: pick(rng, [0, NO_RANGE]) }),
    () => ({ op: 'ranges' }),
  ]
  return Array.from({ length: count }, (_, i) => ({ id: firstId + i, request: pick(rng, makers)() }))
}

/** A command-stream message of harmless requests (all at {@link NO_RANGE}), cut at a random byte. */
export function truncatedKvFrame(rng: SeededRng): Buffer {
  const requests = Array.from({ length: 1 + rng.nextInt(4) }, (_, i): { id: number; request: KvRequest } => ({
    id: i + 1,
    request: { op: 'prewrite', rangeId: NO_RANGE, startTs: 1n, primary: Buffer.from('p'), ttlMs: 1000, mutations: [{ key: Buffer.from('p'), kind: 'put', value: randomBytes(rng, 64), assertAbsent: false }] },
  }))
  const frame = KV_SERVICE.commands.requestSerialize(requests)
  return frame.subarray(0, 1 + rng.nextInt(frame.length - 1))
}

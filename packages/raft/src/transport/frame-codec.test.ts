import assert from 'node:assert/strict'
import { test } from 'node:test'

import type { Entry, Message, MessageType, Snapshot } from '../core/types.js'
import {
  decodeFrame,
  decodeFrames,
  decodeSnapshotHeader,
  encodeFrame,
  encodedFrameSize,
  encodeSnapshotHeader,
  WIRE_VERSION,
} from './frame-codec.js'
import type { CoalescedHeartbeat, RaftFrame } from './transport.js'
import { TransportError, TransportErrorCode } from './transport-error.js'

const ALL_TYPES: MessageType[] = [
  'MsgHup', 'MsgBeat', 'MsgProp', 'MsgApp', 'MsgAppResp', 'MsgVote', 'MsgVoteResp', 'MsgSnap',
  'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgUnreachable', 'MsgSnapStatus', 'MsgCheckQuorum',
  'MsgTransferLeader', 'MsgTimeoutNow', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgPreVote',
  'MsgPreVoteResp',
]

/** mulberry32: a tiny seeded generator, so a failing case can be replayed from its seed. */
function rngFrom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gen(seed: number) {
  const rnd = rngFrom(seed)
  const int = (max: number) => Math.floor(rnd() * max)
  // Mix small numbers with ones that need both u32 halves, up to 2^53 - 1.
  const num = () => {
    const k = int(4)
    if (k === 0) return 0
    if (k === 1) return int(1000)
    if (k === 2) return int(2 ** 32) + 2 ** 32 * int(2 ** 21)
    return Number.MAX_SAFE_INTEGER - int(10)
  }
  const bytes = (max: number) => {
    const b = new Uint8Array(int(max))
    for (let i = 0; i < b.length; i++) b[i] = int(256)
    return b
  }
  const ids = () => Array.from({ length: int(4) }, num)
  const entry = (): Entry => ({ term: num(), index: num(), type: rnd() < 0.2 ? 'confChange' : 'normal', data: bytes(64) })
  const snapshot = (): Snapshot => ({
    data: bytes(300),
    metadata: {
      index: num(),
      term: num(),
      confState: { voters: ids(), learners: ids(), votersOutgoing: ids(), learnersNext: ids(), autoLeave: rnd() < 0.5 },
    },
  })
  const message = (): Message => {
    const m: Message = {
      type: ALL_TYPES[int(ALL_TYPES.length)]!,
      from: num(),
      to: num(),
      term: num(),
      logTerm: num(),
      index: num(),
      entries: Array.from({ length: int(5) }, entry),
      commit: num(),
      reject: rnd() < 0.5,
      rejectHint: num(),
    }
    if (rnd() < 0.2) m.snapshot = snapshot()
    if (rnd() < 0.3) m.context = bytes(16)
    return m
  }
  const heartbeat = (): CoalescedHeartbeat => {
    const hb: CoalescedHeartbeat = { groupId: num(), from: num(), to: num(), term: num(), commit: num() }
    if (rnd() < 0.3) hb.context = bytes(16)
    return hb
  }
  const frame = (): RaftFrame => ({
    from: num(),
    to: num(),
    messages: Array.from({ length: int(6) }, () => ({ groupId: num(), msg: message() })),
    heartbeats: Array.from({ length: int(6) }, heartbeat),
    heartbeatResponses: Array.from({ length: int(6) }, heartbeat),
    quiesce: Array.from({ length: int(6) }, () => ({ groupId: num(), term: num(), commit: num() })),
  })
  return { frame, int, bytes }
}

function baseMessage(type: MessageType): Message {
  return { type, from: 1, to: 2, term: 7, logTerm: 6, index: 41, entries: [], commit: 40, reject: false, rejectHint: 0 }
}

function frameOf(messages: Message[]): RaftFrame {
  return {
    from: 1,
    to: 2,
    messages: messages.map((msg, i) => ({ groupId: i + 1, msg })),
    heartbeats: [],
    heartbeatResponses: [],
    quiesce: [],
  }
}

function assertCode(fn: () => unknown, code: TransportErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof TransportError && e.code === code)
}

test('every message type round-trips, with entries, snapshot, context and reject', () => {
  const msgs: Message[] = ALL_TYPES.map((t) => baseMessage(t))
  msgs.push({
    ...baseMessage('MsgApp'),
    entries: [
      { term: 7, index: 42, type: 'normal', data: new Uint8Array([1, 2, 3]) },
      { term: 7, index: 43, type: 'confChange', data: new Uint8Array([9]) },
      { term: 7, index: 44, type: 'normal', data: new Uint8Array(0) },
    ],
  })
  msgs.push({ ...baseMessage('MsgAppResp'), reject: true, rejectHint: 12, logTerm: 3 })
  msgs.push({
    ...baseMessage('MsgSnap'),
    snapshot: {
      data: new Uint8Array([5, 4, 3, 2, 1]),
      metadata: {
        index: 100,
        term: 5,
        confState: { voters: [1, 2, 3], learners: [4], votersOutgoing: [1, 2, 5], learnersNext: [5], autoLeave: true },
      },
    },
  })
  msgs.push({ ...baseMessage('MsgReadIndex'), context: new Uint8Array([0xde, 0xad]) })
  msgs.push({ ...baseMessage('MsgVote'), context: new Uint8Array(0) })
  const frame: RaftFrame = {
    ...frameOf(msgs),
    heartbeats: [{ groupId: 3, from: 1, to: 2, term: 7, commit: 40 }],
    heartbeatResponses: [{ groupId: 3, from: 2, to: 1, term: 7, commit: 40, context: new Uint8Array([1]) }],
    quiesce: [{ groupId: 3, term: 7, commit: 40 }, { groupId: 9, term: 1, commit: 0 }, { groupId: 2 ** 40, term: 2 ** 33, commit: 2 ** 41 }],
  }
  const bytes = encodeFrame(frame)
  assert.equal(bytes.byteLength, encodedFrameSize(frame))
  assert.equal(bytes[0], WIRE_VERSION)
  assert.deepStrictEqual(decodeFrame(bytes), frame)
})

test('an empty frame and extreme integers round-trip', () => {
  const empty: RaftFrame = { from: 0, to: 0, messages: [], heartbeats: [], heartbeatResponses: [], quiesce: [] }
  assert.deepStrictEqual(decodeFrame(encodeFrame(empty)), empty)
  const big: RaftFrame = { ...empty, from: Number.MAX_SAFE_INTEGER, to: 2 ** 32, quiesce: [{ groupId: 2 ** 32 - 1, term: Number.MAX_SAFE_INTEGER, commit: 2 ** 32 + 1 }] }
  assert.deepStrictEqual(decodeFrame(encodeFrame(big)), big)
})

test('decoded entry data are views of the input, and decoding copes with an offset view', () => {
  const frame = frameOf([{ ...baseMessage('MsgApp'), entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array([7, 7]) }] }])
  const enc = encodeFrame(frame)
  const padded = new Uint8Array(enc.byteLength + 3)
  padded.set(enc, 3)
  const view = padded.subarray(3)
  const out = decodeFrame(view)
  assert.deepStrictEqual(out, frame)
  const data = out.messages[0]!.msg.entries[0]!.data
  assert.equal(data.buffer, padded.buffer)
  // A Buffer input still yields plain Uint8Array views (Buffer#slice would not copy).
  const fromBuffer = decodeFrame(Buffer.from(enc)).messages[0]!.msg.entries[0]!.data
  assert.equal(Object.getPrototypeOf(fromBuffer), Uint8Array.prototype)
})

test('random frames from a seeded generator round-trip (seeds 1..300)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const frame = gen(seed).frame()
    const bytes = encodeFrame(frame)
    assert.equal(bytes.byteLength, encodedFrameSize(frame), `seed ${seed}`)
    assert.deepStrictEqual(decodeFrame(bytes), frame, `seed ${seed}`)
  }
})

test('frames laid back to back decode with decodeFrames', () => {
  const g = gen(42)
  const frames = [g.frame(), g.frame(), g.frame()]
  const parts = frames.map((f) => encodeFrame(f))
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.byteLength
  }
  assert.deepStrictEqual(decodeFrames(all), frames)
  assertCode(() => decodeFrame(all), TransportErrorCode.MALFORMED_FRAME)
  assertCode(() => decodeFrames(new Uint8Array(0)), TransportErrorCode.MALFORMED_FRAME)
  assertCode(() => decodeFrames(all.subarray(0, all.byteLength - 1)), TransportErrorCode.MALFORMED_FRAME)
})

test('every truncation of a valid frame is a typed error', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const bytes = encodeFrame(gen(seed).frame())
    for (let len = 0; len < bytes.byteLength; len++) {
      assertCode(() => decodeFrame(bytes.subarray(0, len)), TransportErrorCode.MALFORMED_FRAME)
    }
  }
})

test('garbage and corrupted bytes never crash: a typed error or a complete frame', () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const g = gen(seed)
    let bytes: Uint8Array
    if (seed % 2 === 0) {
      bytes = g.bytes(200)
      if (seed % 4 === 0 && bytes.length >= 2) {
        bytes[0] = WIRE_VERSION
        bytes[1] = 1
      }
    } else {
      bytes = encodeFrame(g.frame())
      for (let k = 0; k < 3; k++) if (bytes.length > 0) bytes[g.int(bytes.length)] = g.int(256)
    }
    try {
      const f = decodeFrame(bytes)
      // A corruption that still parses must give a whole, well-typed frame.
      assert.ok(Array.isArray(f.messages) && Array.isArray(f.quiesce))
    } catch (e) {
      assert.ok(e instanceof TransportError, `seed ${seed}: ${String(e)}`)
      assert.equal(e.code, TransportErrorCode.MALFORMED_FRAME)
    }
  }
})

test('specific defects: wrong version, wrong kind, huge counts, unsafe integers, trailing bytes', () => {
  const good = encodeFrame(frameOf([baseMessage('MsgApp')]))
  const bad = (mutate: (b: Uint8Array, dv: DataView) => void) => {
    const b = good.slice()
    mutate(b, new DataView(b.buffer))
    return b
  }
  assertCode(() => decodeFrame(bad((b) => (b[0] = 99))), TransportErrorCode.MALFORMED_FRAME)
  assertCode(() => decodeFrame(bad((b) => (b[1] = 2))), TransportErrorCode.MALFORMED_FRAME)
  assertCode(() => decodeFrame(bad((_, dv) => dv.setUint32(18, 0xffffffff))), TransportErrorCode.MALFORMED_FRAME)
  assertCode(() => decodeFrame(bad((_, dv) => dv.setUint32(2, 0x00200000))), TransportErrorCode.MALFORMED_FRAME)
  assertCode(() => decodeFrame(bad((b) => (b[22 + 8] = 200))), TransportErrorCode.MALFORMED_FRAME)
  const trailing = new Uint8Array(good.byteLength + 1)
  trailing.set(good)
  assertCode(() => decodeFrame(trailing), TransportErrorCode.MALFORMED_FRAME)
})

test('size limits: encode refuses before allocating, decode refuses oversized input', () => {
  const frame = frameOf([{ ...baseMessage('MsgApp'), entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array(1000) }] }])
  assertCode(() => encodeFrame(frame, 500), TransportErrorCode.FRAME_TOO_LARGE)
  const bytes = encodeFrame(frame)
  assertCode(() => decodeFrame(bytes, 500), TransportErrorCode.FRAME_TOO_LARGE)
  assertCode(() => decodeFrames(bytes, 500), TransportErrorCode.FRAME_TOO_LARGE)
})

test('values the wire cannot carry are refused with ERR_INVALID_FRAME', () => {
  for (const v of [-1, 1.5, Number.NaN, 2 ** 53, Infinity]) {
    assertCode(() => encodeFrame({ ...frameOf([]), from: v }), TransportErrorCode.INVALID_FRAME)
  }
  assertCode(() => encodeFrame(frameOf([{ ...baseMessage('MsgApp'), type: 'MsgBogus' as MessageType }])), TransportErrorCode.INVALID_FRAME)
})

test('snapshot headers round-trip without the data, and garbage headers are typed errors', () => {
  const msg: Message = {
    ...baseMessage('MsgSnap'),
    context: new Uint8Array([3]),
    snapshot: {
      data: new Uint8Array(10),
      metadata: { index: 9, term: 2, confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
    },
  }
  const bytes = encodeSnapshotHeader({ from: 1, to: 2, groupId: 77, message: msg, dataLength: 5_000_000_000 })
  const h = decodeSnapshotHeader(bytes)
  assert.equal(h.dataLength, 5_000_000_000)
  assert.deepStrictEqual(h, {
    from: 1,
    to: 2,
    groupId: 77,
    dataLength: 5_000_000_000,
    message: { ...msg, snapshot: { ...msg.snapshot!, data: new Uint8Array(0) } },
  })
  for (let len = 0; len < bytes.byteLength; len++) {
    assertCode(() => decodeSnapshotHeader(bytes.subarray(0, len)), TransportErrorCode.MALFORMED_FRAME)
  }
  // A frame is not a snapshot header, and vice versa.
  assertCode(() => decodeSnapshotHeader(encodeFrame(frameOf([]))), TransportErrorCode.MALFORMED_FRAME)
  assertCode(() => decodeFrame(bytes), TransportErrorCode.MALFORMED_FRAME)
})

test('encode/decode speed (printed, not asserted)', (t) => {
  const entryData = new Uint8Array(256)
  const frame: RaftFrame = {
    ...frameOf(
      Array.from({ length: 10 }, (_, i) => ({
        ...baseMessage('MsgApp'),
        index: 1000 + i,
        entries: Array.from({ length: 4 }, (_, j) => ({ term: 7, index: 1001 + i + j, type: 'normal' as const, data: entryData })),
      })),
    ),
    heartbeats: Array.from({ length: 50 }, (_, i) => ({ groupId: i + 100, from: 1, to: 2, term: 7, commit: 40 })),
  }
  const n = 20_000
  let bytes = encodeFrame(frame)
  let start = performance.now()
  for (let i = 0; i < n; i++) bytes = encodeFrame(frame)
  const encMs = performance.now() - start
  start = performance.now()
  for (let i = 0; i < n; i++) decodeFrame(bytes)
  const decMs = performance.now() - start
  const mb = (bytes.byteLength * n) / 1e6
  t.diagnostic(
    `frame of ${bytes.byteLength} B (10 MsgApp x 4 entries of 256 B, 50 heartbeats): ` +
      `encode ${Math.round(n / (encMs / 1000))} frames/s (${Math.round(mb / (encMs / 1000))} MB/s), ` +
      `decode ${Math.round(n / (decMs / 1000))} frames/s (${Math.round(mb / (decMs / 1000))} MB/s)`,
  )
})

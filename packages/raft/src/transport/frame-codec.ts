// The binary wire format of the gRPC transport: frames (everything one node sends another
// at once) and the header of a streamed snapshot. Pure: no I/O, no Node APIs, no JSON.
//
// Layout (big-endian; every number is a u64 written as two u32 halves, high first, and must
// be a non-negative safe integer; byte strings are a u32 length then the bytes):
//
//   frame    := version:u8 kind:u8(=1) from:u64 to:u64
//               u32 n, n × groupMessage
//               u32 n, n × heartbeat          (heartbeats)
//               u32 n, n × heartbeat          (heartbeat responses)
//               u32 n, n × (groupId term commit:u64)   (quiesce notices)
//   groupMessage := groupId:u64 type:u8 from to term logTerm index commit rejectHint (u64 each)
//               flags:u8 (1 reject, 2 snapshot, 4 context)
//               u32 n, n × (term:u64 index:u64 type:u8 data:bytes)
//               [snapshot := index:u64 term:u64 voters learners votersOutgoing learnersNext
//                            (u32 n, n × u64 each) autoLeave:u8 data:bytes]
//               [context:bytes]
//   heartbeat := groupId from to term commit (u64 each) flags:u8 (4 context) [context:bytes]
//   snapshotHeader := version:u8 kind:u8(=2) from:u64 to:u64 groupId:u64 groupMessage'
//               where groupMessage' has no groupId and its snapshot carries dataLength:u64
//               instead of data:bytes (the data follows as raw chunks on the stream).
//
// Frames are self-delimiting, so a gRPC message may hold several frames back to back
// (decodeFrames): the transport batches frames that queued up behind a busy stream.

import type { ConfState, Entry, EntryType, Message, MessageType } from '../core/types.js'
import type { CoalescedHeartbeat, GroupMessage, QuiesceNotice, RaftFrame } from './transport.js'
import { TransportError, TransportErrorCode } from './transport-error.js'

/** Version byte at the start of every encoding; bumped on any incompatible change. */
export const WIRE_VERSION = 2

/** Default bound on one encoded frame (and on one gRPC message of frames), in bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

const KIND_FRAME = 1
const KIND_SNAPSHOT_HEADER = 2

const FLAG_REJECT = 1
const FLAG_SNAPSHOT = 2
const FLAG_CONTEXT = 4

const TWO_POW_32 = 4294967296
/** Largest high half of a u64 that still makes a safe integer (2^53 - 1 >> 32). */
const MAX_SAFE_HIGH = 0x1fffff

/** Wire codes of message types. Never renumber: append only. */
const MESSAGE_TYPE_CODES: Readonly<Record<MessageType, number>> = {
  MsgHup: 0,
  MsgBeat: 1,
  MsgProp: 2,
  MsgApp: 3,
  MsgAppResp: 4,
  MsgVote: 5,
  MsgVoteResp: 6,
  MsgSnap: 7,
  MsgHeartbeat: 8,
  MsgHeartbeatResp: 9,
  MsgUnreachable: 10,
  MsgSnapStatus: 11,
  MsgCheckQuorum: 12,
  MsgTransferLeader: 13,
  MsgTimeoutNow: 14,
  MsgReadIndex: 15,
  MsgReadIndexResp: 16,
  MsgPreVote: 17,
  MsgPreVoteResp: 18,
}

const MESSAGE_TYPES: readonly MessageType[] = (() => {
  const out: MessageType[] = []
  for (const [t, code] of Object.entries(MESSAGE_TYPE_CODES)) out[code] = t as MessageType
  return out
})()

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange']

// Fixed byte counts, also the minimum size of each repeated item (used to reject absurd
// counts in garbage before allocating anything).
const FRAME_FIXED = 1 + 1 + 8 + 8 + 4 * 4
const MESSAGE_FIXED = 8 + 1 + 7 * 8 + 1 + 4
const ENTRY_FIXED = 8 + 8 + 1 + 4
const HEARTBEAT_FIXED = 5 * 8 + 1
const SNAPSHOT_FIXED = 8 + 8 + 4 * 4 + 1
const SNAPSHOT_HEADER_FIXED = 1 + 1 + 3 * 8

const EMPTY = new Uint8Array(0)

/** The first message of a snapshot stream: who sends what, and how many data bytes follow. */
export interface SnapshotHeader {
  /** Sending node (store) id. */
  from: number
  /** Receiving node (store) id. */
  to: number
  groupId: number
  /** The MsgSnap. Its snapshot's data is not encoded; on decode it is empty. */
  message: Message
  /** Number of snapshot data bytes that follow the header on the stream. */
  dataLength: number
}

function malformed(why: string): TransportError {
  return new TransportError(TransportErrorCode.MALFORMED_FRAME, `malformed frame: ${why}`)
}

function tooLarge(size: number, max: number): TransportError {
  return new TransportError(
    TransportErrorCode.FRAME_TOO_LARGE,
    `frame of ${size} bytes exceeds the limit of ${max} bytes`,
  )
}

// ---------------------------------------------------------------------------------------
// Sizes

function confStateSize(cs: ConfState): number {
  return (cs.voters.length + cs.learners.length + cs.votersOutgoing.length + cs.learnersNext.length) * 8
}

function messageSize(msg: Message, inlineSnapshotData: boolean): number {
  let size = MESSAGE_FIXED
  const entries = msg.entries
  for (let i = 0; i < entries.length; i++) size += ENTRY_FIXED + entries[i]!.data.byteLength
  const snap = msg.snapshot
  if (snap !== undefined) {
    size += SNAPSHOT_FIXED + confStateSize(snap.metadata.confState)
    size += inlineSnapshotData ? 4 + snap.data.byteLength : 8
  }
  if (msg.context !== undefined) size += 4 + msg.context.byteLength
  return size
}

function heartbeatsSize(hbs: readonly CoalescedHeartbeat[]): number {
  let size = hbs.length * HEARTBEAT_FIXED
  for (let i = 0; i < hbs.length; i++) {
    const ctx = hbs[i]!.context
    if (ctx !== undefined) size += 4 + ctx.byteLength
  }
  return size
}

/** The exact number of bytes encodeFrame(frame) produces. */
export function encodedFrameSize(frame: RaftFrame): number {
  let size = FRAME_FIXED
  const msgs = frame.messages
  for (let i = 0; i < msgs.length; i++) size += messageSize(msgs[i]!.msg, true)
  size += heartbeatsSize(frame.heartbeats) + heartbeatsSize(frame.heartbeatResponses)
  size += frame.quiesce.length * 24
  return size
}

// ---------------------------------------------------------------------------------------
// Encoding

class Writer {
  readonly buf: Uint8Array
  private readonly dv: DataView
  pos = 0

  constructor(size: number) {
    this.buf = new Uint8Array(size)
    this.dv = new DataView(this.buf.buffer)
  }

  u8(v: number): void {
    this.buf[this.pos++] = v
  }

  u32(v: number): void {
    this.dv.setUint32(this.pos, v)
    this.pos += 4
  }

  u64(v: number): void {
    if (!(v >= 0 && Number.isSafeInteger(v))) {
      throw new TransportError(
        TransportErrorCode.INVALID_FRAME,
        `cannot encode ${String(v)}: not a non-negative safe integer`,
      )
    }
    this.dv.setUint32(this.pos, Math.floor(v / TWO_POW_32))
    this.dv.setUint32(this.pos + 4, v >>> 0)
    this.pos += 8
  }

  bytes(b: Uint8Array): void {
    this.u32(b.byteLength)
    this.buf.set(b, this.pos)
    this.pos += b.byteLength
  }

  u64s(vs: readonly number[]): void {
    this.u32(vs.length)
    for (let i = 0; i < vs.length; i++) this.u64(vs[i]!)
  }
}

/** Writes a message without its groupId; `snapshotDataLength` < 0 means inline data. */
function writeMessageBody(w: Writer, msg: Message, snapshotDataLength: number): void {
  const code = MESSAGE_TYPE_CODES[msg.type]
  if (code === undefined) {
    throw new TransportError(TransportErrorCode.INVALID_FRAME, `unknown message type ${String(msg.type)}`)
  }
  w.u8(code)
  w.u64(msg.from)
  w.u64(msg.to)
  w.u64(msg.term)
  w.u64(msg.logTerm)
  w.u64(msg.index)
  w.u64(msg.commit)
  w.u64(msg.rejectHint)
  const snap = msg.snapshot
  const ctx = msg.context
  w.u8((msg.reject ? FLAG_REJECT : 0) | (snap !== undefined ? FLAG_SNAPSHOT : 0) | (ctx !== undefined ? FLAG_CONTEXT : 0))
  const entries = msg.entries
  w.u32(entries.length)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    w.u64(e.term)
    w.u64(e.index)
    w.u8(e.type === 'confChange' ? 1 : 0)
    w.bytes(e.data)
  }
  if (snap !== undefined) {
    const md = snap.metadata
    w.u64(md.index)
    w.u64(md.term)
    const cs = md.confState
    w.u64s(cs.voters)
    w.u64s(cs.learners)
    w.u64s(cs.votersOutgoing)
    w.u64s(cs.learnersNext)
    w.u8(cs.autoLeave ? 1 : 0)
    if (snapshotDataLength < 0) w.bytes(snap.data)
    else w.u64(snapshotDataLength)
  }
  if (ctx !== undefined) w.bytes(ctx)
}

function writeHeartbeats(w: Writer, hbs: readonly CoalescedHeartbeat[]): void {
  w.u32(hbs.length)
  for (let i = 0; i < hbs.length; i++) {
    const hb = hbs[i]!
    w.u64(hb.groupId)
    w.u64(hb.from)
    w.u64(hb.to)
    w.u64(hb.term)
    w.u64(hb.commit)
    const ctx = hb.context
    if (ctx !== undefined) {
      w.u8(FLAG_CONTEXT)
      w.bytes(ctx)
    } else {
      w.u8(0)
    }
  }
}

/**
 * Encodes a frame. Throws TransportError ERR_FRAME_TOO_LARGE (before allocating) when the
 * encoding would exceed `maxBytes`, and ERR_INVALID_FRAME when a number is not a
 * non-negative safe integer or a message type is unknown.
 */
export function encodeFrame(frame: RaftFrame, maxBytes: number = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const size = encodedFrameSize(frame)
  if (size > maxBytes) throw tooLarge(size, maxBytes)
  const w = new Writer(size)
  w.u8(WIRE_VERSION)
  w.u8(KIND_FRAME)
  w.u64(frame.from)
  w.u64(frame.to)
  const msgs = frame.messages
  w.u32(msgs.length)
  for (let i = 0; i < msgs.length; i++) {
    const gm = msgs[i]!
    w.u64(gm.groupId)
    writeMessageBody(w, gm.msg, -1)
  }
  writeHeartbeats(w, frame.heartbeats)
  writeHeartbeats(w, frame.heartbeatResponses)
  const q = frame.quiesce
  w.u32(q.length)
  for (let i = 0; i < q.length; i++) {
    const notice = q[i]!
    w.u64(notice.groupId)
    w.u64(notice.term)
    w.u64(notice.commit)
  }
  return w.buf
}

/**
 * Encodes the header of a snapshot stream. The message's snapshot data is not included;
 * `dataLength` says how many raw bytes the stream carries after the header.
 */
export function encodeSnapshotHeader(header: SnapshotHeader): Uint8Array {
  const w = new Writer(SNAPSHOT_HEADER_FIXED + messageSize(header.message, false) - 8 /* no groupId */)
  w.u8(WIRE_VERSION)
  w.u8(KIND_SNAPSHOT_HEADER)
  w.u64(header.from)
  w.u64(header.to)
  w.u64(header.groupId)
  if (header.message.snapshot === undefined && header.dataLength !== 0) {
    throw new TransportError(TransportErrorCode.INVALID_FRAME, 'snapshot dataLength without a snapshot')
  }
  writeMessageBody(w, header.message, header.dataLength)
  return w.buf
}

// ---------------------------------------------------------------------------------------
// Decoding

class Reader {
  private readonly input: Uint8Array
  private readonly dv: DataView
  pos = 0
  readonly end: number

  constructor(bytes: Uint8Array) {
    // A plain Uint8Array view even when given a Buffer, so decoded byte strings are plain
    // Uint8Arrays too (Buffer#slice shares memory where Uint8Array#slice copies).
    this.input = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.end = bytes.byteLength
  }

  need(n: number): void {
    if (this.end - this.pos < n) throw malformed(`truncated at byte ${this.pos}`)
  }

  u8(): number {
    this.need(1)
    return this.input[this.pos++]!
  }

  u32(): number {
    this.need(4)
    const v = this.dv.getUint32(this.pos)
    this.pos += 4
    return v
  }

  u64(): number {
    this.need(8)
    const hi = this.dv.getUint32(this.pos)
    const lo = this.dv.getUint32(this.pos + 4)
    if (hi > MAX_SAFE_HIGH) throw malformed(`integer beyond 2^53 at byte ${this.pos}`)
    this.pos += 8
    return hi * TWO_POW_32 + lo
  }

  bytes(): Uint8Array {
    const len = this.u32()
    this.need(len)
    const b = this.input.subarray(this.pos, this.pos + len)
    this.pos += len
    return b
  }

  /** A count of items of at least `minEach` bytes each that must fit in what is left. */
  count(minEach: number): number {
    const n = this.u32()
    if (n * minEach > this.end - this.pos) throw malformed(`count ${n} at byte ${this.pos - 4} exceeds the input`)
    return n
  }

  u64s(): number[] {
    const n = this.count(8)
    const out = new Array<number>(n)
    for (let i = 0; i < n; i++) out[i] = this.u64()
    return out
  }
}

function readMessageBody(r: Reader, inlineSnapshotData: boolean, dataLength: { value: number } | undefined): Message {
  const code = r.u8()
  const type = MESSAGE_TYPES[code]
  if (type === undefined) throw malformed(`unknown message type ${code}`)
  const from = r.u64()
  const to = r.u64()
  const term = r.u64()
  const logTerm = r.u64()
  const index = r.u64()
  const commit = r.u64()
  const rejectHint = r.u64()
  const flags = r.u8()
  if ((flags & ~(FLAG_REJECT | FLAG_SNAPSHOT | FLAG_CONTEXT)) !== 0) throw malformed(`unknown message flags ${flags}`)
  const n = r.count(ENTRY_FIXED)
  const entries = new Array<Entry>(n)
  for (let i = 0; i < n; i++) {
    const eTerm = r.u64()
    const eIndex = r.u64()
    const eType = ENTRY_TYPES[r.u8()]
    if (eType === undefined) throw malformed('unknown entry type')
    entries[i] = { term: eTerm, index: eIndex, type: eType, data: r.bytes() }
  }
  const msg: Message = {
    type,
    from,
    to,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
  }
  if ((flags & FLAG_SNAPSHOT) !== 0) {
    const sIndex = r.u64()
    const sTerm = r.u64()
    const voters = r.u64s()
    const learners = r.u64s()
    const votersOutgoing = r.u64s()
    const learnersNext = r.u64s()
    const autoLeave = r.u8()
    if (autoLeave > 1) throw malformed('bad autoLeave flag')
    let data: Uint8Array
    if (inlineSnapshotData) {
      data = r.bytes()
    } else {
      data = EMPTY
      if (dataLength !== undefined) dataLength.value = r.u64()
    }
    msg.snapshot = {
      data,
      metadata: {
        index: sIndex,
        term: sTerm,
        confState: { voters, learners, votersOutgoing, learnersNext, autoLeave: autoLeave === 1 },
      },
    }
  }
  if ((flags & FLAG_CONTEXT) !== 0) msg.context = r.bytes()
  return msg
}

function readHeartbeats(r: Reader): CoalescedHeartbeat[] {
  const n = r.count(HEARTBEAT_FIXED)
  const out = new Array<CoalescedHeartbeat>(n)
  for (let i = 0; i < n; i++) {
    const groupId = r.u64()
    const from = r.u64()
    const to = r.u64()
    const term = r.u64()
    const commit = r.u64()
    const flags = r.u8()
    if (flags === 0) out[i] = { groupId, from, to, term, commit }
    else if (flags === FLAG_CONTEXT) out[i] = { groupId, from, to, term, commit, context: r.bytes() }
    else throw malformed(`unknown heartbeat flags ${flags}`)
  }
  return out
}

function readPrologue(r: Reader, kind: number): void {
  const version = r.u8()
  if (version !== WIRE_VERSION) throw malformed(`unsupported wire version ${version}`)
  const k = r.u8()
  if (k !== kind) throw malformed(`unexpected kind ${k} (wanted ${kind})`)
}

function readFrame(r: Reader): RaftFrame {
  readPrologue(r, KIND_FRAME)
  const from = r.u64()
  const to = r.u64()
  const n = r.count(MESSAGE_FIXED)
  const messages = new Array<GroupMessage>(n)
  for (let i = 0; i < n; i++) {
    const groupId = r.u64()
    messages[i] = { groupId, msg: readMessageBody(r, true, undefined) }
  }
  const heartbeats = readHeartbeats(r)
  const heartbeatResponses = readHeartbeats(r)
  const quiesce = new Array<QuiesceNotice>(r.count(24))
  for (let i = 0; i < quiesce.length; i++) quiesce[i] = { groupId: r.u64(), term: r.u64(), commit: r.u64() }
  return { from, to, messages, heartbeats, heartbeatResponses, quiesce }
}

function rethrowAsMalformed(e: unknown): never {
  if (e instanceof TransportError) throw e
  // Defensive: every bound is checked above, so this is a codec bug, not bad input.
  throw new TransportError(TransportErrorCode.MALFORMED_FRAME, 'malformed frame', { cause: e })
}

/**
 * Decodes exactly one frame occupying all of `bytes`. Entry, snapshot and context byte
 * strings are views into `bytes` (not copies). Throws TransportError ERR_FRAME_TOO_LARGE if
 * the input exceeds `maxBytes`, ERR_MALFORMED_FRAME for anything else that is wrong; it never
 * returns a partly decoded frame.
 */
export function decodeFrame(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_FRAME_BYTES): RaftFrame {
  if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes)
  try {
    const r = new Reader(bytes)
    const frame = readFrame(r)
    if (r.pos !== r.end) throw malformed(`${r.end - r.pos} trailing bytes`)
    return frame
  } catch (e) {
    return rethrowAsMalformed(e)
  }
}

/**
 * Decodes one or more frames laid back to back (what the transport puts in one gRPC
 * message). All or nothing: any defect rejects the whole input, as in decodeFrame.
 */
export function decodeFrames(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_FRAME_BYTES): RaftFrame[] {
  if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes)
  try {
    const r = new Reader(bytes)
    const frames: RaftFrame[] = [readFrame(r)]
    while (r.pos < r.end) frames.push(readFrame(r))
    return frames
  } catch (e) {
    return rethrowAsMalformed(e)
  }
}

/**
 * Decodes a snapshot stream header. The returned message's snapshot data is empty; the
 * receiver fills it with the `dataLength` bytes that follow. Errors as in decodeFrame.
 */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  try {
    const r = new Reader(bytes)
    readPrologue(r, KIND_SNAPSHOT_HEADER)
    const from = r.u64()
    const to = r.u64()
    const groupId = r.u64()
    const dataLength = { value: 0 }
    const message = readMessageBody(r, false, dataLength)
    if (r.pos !== r.end) throw malformed(`${r.end - r.pos} trailing bytes`)
    return { from, to, groupId, message, dataLength: dataLength.value }
  } catch (e) {
    return rethrowAsMalformed(e)
  }
}

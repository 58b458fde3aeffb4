import assert from 'node:assert/strict'
import * as net from 'node:net'
import { test } from 'node:test'

import * as grpc from '@grpc/grpc-js'

import type { Message } from '../core/types.js'
import { GrpcTransport } from './grpc-transport.js'
import type { GrpcTransportOptions } from './grpc-transport.js'
import { encodeFrame, encodeSnapshotHeader } from './frame-codec.js'
import { FRAMES_METHOD_PATH, SNAPSHOT_METHOD_PATH } from './raft-service.js'
import type { RaftFrame, TransportHandler } from './transport.js'
import { TransportError, TransportErrorCode } from './transport-error.js'

/** Polls `cond` every few ms; rejects with `what` after `ms`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 3))
  }
}

/** Records everything a transport tells its host. */
class Recorder implements TransportHandler {
  /** Set by a test to answer the transport's hostsReplica; left unset, the method is absent. */
  hostsReplica?: (groupId: number, replicaId: number) => boolean
  frames: RaftFrame[] = []
  unreachable: number[] = []
  snapshots: Array<{ groupId: number; to: number; status: 'finish' | 'failure' }> = []
  onFrame(frame: RaftFrame): void {
    this.frames.push(frame)
  }
  onUnreachable(node: number): void {
    this.unreachable.push(node)
  }
  onSnapshotStatus(groupId: number, to: number, status: 'finish' | 'failure'): void {
    this.snapshots.push({ groupId, to, status })
  }
  /** Sequence numbers (MsgApp index) of the messages received, in arrival order. */
  seqs(): number[] {
    return this.frames.flatMap((f) => f.messages.map((m) => m.msg.index))
  }
}

/** Test loggers keep the lines so a failing test can show them. */
function memLogger(lines: string[]) {
  return { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`) }
}

interface Cluster {
  addresses: Map<number, string>
  transports: Map<number, GrpcTransport>
  recorders: Map<number, Recorder>
  logs: string[]
  add(id: number, extra?: Partial<GrpcTransportOptions>, listen?: string): Promise<GrpcTransport>
  closeAll(): Promise<void>
}

function cluster(): Cluster {
  const c: Cluster = {
    addresses: new Map(),
    transports: new Map(),
    recorders: new Map(),
    logs: [],
    async add(id, extra = {}, listen = '127.0.0.1:0') {
      const t = new GrpcTransport({
        nodeId: id,
        listen,
        resolve: (n) => c.addresses.get(n),
        logger: memLogger(c.logs),
        ...extra,
      })
      const r = new Recorder()
      c.transports.set(id, t)
      c.recorders.set(id, r)
      await t.start(r)
      c.addresses.set(id, t.address)
      return t
    },
    async closeAll() {
      await Promise.all([...c.transports.values()].map((t) => t.close()))
    },
  }
  return c
}

function msg(type: Message['type'], from: number, to: number, index: number, extra: Partial<Message> = {}): Message {
  return { type, from, to, term: 3, logTerm: 3, index, entries: [], commit: 1, reject: false, rejectHint: 0, ...extra }
}

/** A frame carrying one MsgApp whose index is the sequence number `seq`. */
function seqFrame(from: number, to: number, seq: number, payload = 16): RaftFrame {
  return {
    from,
    to,
    messages: [
      {
        groupId: 1,
        msg: msg('MsgApp', from, to, seq, { entries: [{ term: 3, index: seq + 1, type: 'normal', data: new Uint8Array(payload).fill(seq & 0xff) }] }),
      },
    ],
    heartbeats: [],
    heartbeatResponses: [],
    quiesce: [],
  }
}

/** A port that was free a moment ago (bound by a transport that is closed again). */
async function freeAddress(): Promise<string> {
  const t = new GrpcTransport({ nodeId: 99, listen: '127.0.0.1:0', resolve: () => undefined })
  try {
    await t.start(new Recorder())
    return t.address
  } finally {
    await t.close()
  }
}

test('frames flow both ways between 2 and 3 nodes and arrive intact', async () => {
  const c = cluster()
  try {
    await c.add(1)
    await c.add(2)
    await c.add(3)
    const frameFor = (from: number, to: number): RaftFrame => ({
      from,
      to,
      messages: [
        { groupId: 10, msg: msg('MsgApp', from, to, 5, { entries: [{ term: 3, index: 6, type: 'normal', data: new Uint8Array([from, to]) }] }) },
        { groupId: 11, msg: msg('MsgVote', from, to, 9, { context: new Uint8Array([1]) }) },
      ],
      heartbeats: [{ groupId: 12, from, to, term: 3, commit: 4 }],
      heartbeatResponses: [{ groupId: 13, from: to, to: from, term: 3, commit: 4, context: new Uint8Array([7, 7]) }],
      quiesce: [{ groupId: 14, term: 3, commit: 4 }, { groupId: 15, term: 3, commit: 4 }],
    })
    for (const from of [1, 2, 3]) for (const to of [1, 2, 3]) if (from !== to) c.transports.get(from)!.send(frameFor(from, to))
    await waitFor(() => [1, 2, 3].every((id) => c.recorders.get(id)!.frames.length === 2), 5000, 'two frames at each node')
    for (const to of [1, 2, 3]) {
      const got = c.recorders.get(to)!.frames.slice().sort((a, b) => a.from - b.from)
      const want = [1, 2, 3].filter((f) => f !== to).map((f) => frameFor(f, to))
      assert.deepStrictEqual(
        got.map((f) => ({ ...f, messages: f.messages.map((m) => ({ ...m, msg: { ...m.msg, entries: m.msg.entries.map((e) => ({ ...e, data: [...e.data] })) } })) })),
        want.map((f) => ({ ...f, messages: f.messages.map((m) => ({ ...m, msg: { ...m.msg, entries: m.msg.entries.map((e) => ({ ...e, data: [...e.data] })) } })) })),
      )
    }
    for (const r of c.recorders.values()) assert.deepStrictEqual(r.unreachable, [])
  } finally {
    await c.closeAll()
  }
})

test('an empty frame is delivered: it is the keepalive quiesced ranges rely on', async () => {
  const c = cluster()
  try {
    await c.add(1)
    await c.add(2)
    c.transports.get(1)!.send({ from: 1, to: 2, messages: [], heartbeats: [], heartbeatResponses: [], quiesce: [] })
    await waitFor(() => c.recorders.get(2)!.frames.length === 1, 5000, 'the empty frame')
    assert.deepStrictEqual(c.recorders.get(2)!.frames[0], { from: 1, to: 2, messages: [], heartbeats: [], heartbeatResponses: [], quiesce: [] })
  } finally {
    await c.closeAll()
  }
})

test('per-destination order holds over 10,000 frames sent in one turn, both directions at once', async () => {
  const c = cluster()
  try {
    await c.add(1, { maxQueuedFrames: 20_000 })
    await c.add(2, { maxQueuedFrames: 20_000 })
    const n = 10_000
    for (let i = 0; i < n; i++) {
      c.transports.get(1)!.send(seqFrame(1, 2, i, 100))
      c.transports.get(2)!.send(seqFrame(2, 1, i, 100))
    }
    await waitFor(() => c.recorders.get(2)!.frames.length === n && c.recorders.get(1)!.frames.length === n, 20_000, `${n} frames each way`)
    const expected = Array.from({ length: n }, (_, i) => i)
    assert.deepStrictEqual(c.recorders.get(2)!.seqs(), expected)
    assert.deepStrictEqual(c.recorders.get(1)!.seqs(), expected)
    // Payloads survived batching.
    const last = c.recorders.get(2)!.frames[n - 1]!.messages[0]!.msg.entries[0]!.data
    assert.equal(last.byteLength, 100)
    assert.ok(last.every((b) => b === ((n - 1) & 0xff)))
  } finally {
    await c.closeAll()
  }
})

test('per-destination order holds when frames are sent over many turns', async () => {
  const c = cluster()
  try {
    await c.add(1)
    await c.add(2)
    const n = 10_000
    for (let i = 0; i < n; i++) {
      c.transports.get(1)!.send(seqFrame(1, 2, i))
      if (i % 50 === 49) await new Promise((r) => setImmediate(r))
    }
    await waitFor(() => c.recorders.get(2)!.frames.length === n, 20_000, `${n} frames`)
    assert.deepStrictEqual(c.recorders.get(2)!.seqs(), Array.from({ length: n }, (_, i) => i))
  } finally {
    await c.closeAll()
  }
})

test('a peer that is down gets onUnreachable; once it is up, queued and new frames flow in order', async () => {
  const c = cluster()
  try {
    const downAddress = await freeAddress()
    c.addresses.set(2, downAddress)
    const a = await c.add(1)
    const ra = c.recorders.get(1)!
    a.send(seqFrame(1, 2, 0))
    await waitFor(() => ra.unreachable.includes(2), 5000, 'onUnreachable(2)')
    for (let i = 1; i < 5; i++) a.send(seqFrame(1, 2, i))
    await c.add(2, {}, downAddress)
    const rb = c.recorders.get(2)!
    await waitFor(() => rb.frames.length >= 5, 10_000, 'the queued frames after reconnect')
    a.send(seqFrame(1, 2, 5))
    await waitFor(() => rb.frames.length === 6, 5000, 'a frame on the new stream')
    assert.deepStrictEqual(rb.seqs(), [0, 1, 2, 3, 4, 5])
    assert.ok(c.logs.some((l) => l.includes('reconnected to node 2')), c.logs.join('\n'))
  } finally {
    await c.closeAll()
  }
})

test('a frame from a peer that came back cuts the reconnect backoff short', async () => {
  const c = cluster()
  try {
    const downAddress = await freeAddress()
    c.addresses.set(2, downAddress)
    // Without the cut, node 1 would next try node 2 some 8 to 10 minutes after its first failure.
    const a = await c.add(1, { reconnectBackoffMs: { initial: 600_000, max: 600_000 } })
    a.send(seqFrame(1, 2, 0))
    await waitFor(() => c.recorders.get(1)!.unreachable.includes(2), 5000, 'onUnreachable(2)')
    a.send(seqFrame(1, 2, 1))
    const b = await c.add(2, {}, downAddress)
    b.send(seqFrame(2, 1, 7))
    await waitFor(() => c.recorders.get(1)!.frames.length === 1, 10_000, "node 2's frame")
    const rb = c.recorders.get(2)!
    await waitFor(() => rb.frames.length === 2, 20_000, 'the frames node 1 queued while node 2 was down')
    assert.deepStrictEqual(rb.seqs(), [0, 1])
  } finally {
    await c.closeAll()
  }
})

test('a stream still connecting to an address its peer left connects to the new one when the peer shows up', async () => {
  const c = cluster()
  // Accepts connections and never answers: grpc-js waits for the HTTP/2 handshake as long as it
  // waits for a TCP connect to an address nobody holds any more (no timeout of its own).
  const held: net.Socket[] = []
  const silent = net.createServer((socket) => held.push(socket))
  try {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    c.addresses.set(2, `127.0.0.1:${(silent.address() as net.AddressInfo).port}`)
    const a = await c.add(1)
    a.send(seqFrame(1, 2, 0))
    await waitFor(() => held.length > 0, 10_000, 'the attempt at the old address')
    // Node 2 comes back at another address, which node 1 learns, and talks to node 1.
    const b = await c.add(2)
    b.send(seqFrame(2, 1, 7))
    await waitFor(() => c.recorders.get(1)!.frames.length === 1, 10_000, "node 2's frame")
    const rb = c.recorders.get(2)!
    await waitFor(() => rb.frames.length === 1, 20_000, 'the frame node 1 queued for node 2')
    assert.deepStrictEqual(rb.seqs(), [0])
  } finally {
    await c.closeAll()
    for (const socket of held) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  }
})

test('a full queue drops the oldest frames, reports unreachable, and keeps the newest in order', async () => {
  const c = cluster()
  try {
    const downAddress = await freeAddress()
    c.addresses.set(2, downAddress)
    const a = await c.add(1, { maxQueuedFrames: 5 })
    for (let i = 0; i < 50; i++) a.send(seqFrame(1, 2, i))
    assert.ok(c.recorders.get(1)!.unreachable.includes(2), 'drops are reported at once')
    await c.add(2, {}, downAddress)
    const rb = c.recorders.get(2)!
    await waitFor(() => rb.frames.length >= 5, 10_000, 'the surviving frames')
    await new Promise((r) => setTimeout(r, 50))
    assert.deepStrictEqual(rb.seqs(), [45, 46, 47, 48, 49])
  } finally {
    await c.closeAll()
  }
})

test('a peer that restarts: the stream breaks, onUnreachable is called, frames flow again', async () => {
  const c = cluster()
  try {
    const a = await c.add(1)
    const b = await c.add(2)
    const address = b.address
    a.send(seqFrame(1, 2, 0))
    await waitFor(() => c.recorders.get(2)!.frames.length === 1, 5000, 'first frame')
    await b.close()
    await waitFor(() => c.recorders.get(1)!.unreachable.includes(2), 5000, 'onUnreachable after the peer closed')
    await c.add(2, {}, address)
    const rb = c.recorders.get(2)!
    // Raft keeps sending (heartbeats); frames arrive once the stream is back.
    let seq = 1
    await waitFor(
      () => {
        a.send(seqFrame(1, 2, seq++))
        return rb.frames.length > 0
      },
      10_000,
      'frames to the restarted peer',
    )
    const seqs = rb.seqs()
    assert.deepStrictEqual(seqs, [...seqs].sort((x, y) => x - y))
  } finally {
    await c.closeAll()
  }
})

test('a 5 MB snapshot arrives whole, in chunks, apart from its frame, and finish is reported', async () => {
  const c = cluster()
  try {
    const a = await c.add(1, { snapshotChunkBytes: 16 * 1024 })
    await c.add(2)
    const data = new Uint8Array(5 * 1024 * 1024)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 13)) & 0xff
    const snapMsg = msg('MsgSnap', 7, 8, 0, {
      snapshot: {
        data,
        metadata: { index: 500, term: 3, confState: { voters: [7, 8, 9], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
      },
    })
    a.send({
      from: 1,
      to: 2,
      messages: [
        { groupId: 1, msg: msg('MsgApp', 7, 8, 1) },
        { groupId: 5, msg: snapMsg },
      ],
      heartbeats: [{ groupId: 3, from: 7, to: 8, term: 3, commit: 1 }],
      heartbeatResponses: [],
      quiesce: [],
    })
    const ra = c.recorders.get(1)!
    const rb = c.recorders.get(2)!
    await waitFor(() => ra.snapshots.length === 1, 10_000, 'snapshot status')
    assert.deepStrictEqual(ra.snapshots, [{ groupId: 5, to: 8, status: 'finish' }])
    assert.equal(rb.frames.length, 2)
    const plain = rb.frames.find((f) => f.messages.every((m) => m.msg.type !== 'MsgSnap'))!
    assert.deepStrictEqual(plain.messages.map((m) => m.msg.type), ['MsgApp'])
    assert.equal(plain.heartbeats.length, 1)
    const snapFrame = rb.frames.find((f) => f !== plain)!
    assert.equal(snapFrame.messages.length, 1)
    const got = snapFrame.messages[0]!
    assert.equal(got.groupId, 5)
    assert.deepStrictEqual({ ...got.msg, snapshot: undefined }, { ...snapMsg, snapshot: undefined })
    assert.deepStrictEqual(got.msg.snapshot!.metadata, snapMsg.snapshot!.metadata)
    assert.equal(got.msg.snapshot!.data.byteLength, data.byteLength)
    assert.ok(Buffer.from(got.msg.snapshot!.data).equals(Buffer.from(data)), 'snapshot bytes differ')
  } finally {
    await c.closeAll()
  }
})

test('a snapshot to a dead peer or an unknown node reports failure', async () => {
  const c = cluster()
  try {
    c.addresses.set(2, await freeAddress())
    const a = await c.add(1)
    const snap = (to: number): RaftFrame => ({
      from: 1,
      to,
      messages: [
        {
          groupId: 9,
          msg: msg('MsgSnap', 4, 5, 0, {
            snapshot: { data: new Uint8Array(100_000), metadata: { index: 10, term: 2, confState: { voters: [4, 5], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
          }),
        },
      ],
      heartbeats: [],
      heartbeatResponses: [],
      quiesce: [],
    })
    a.send(snap(2))
    a.send(snap(3)) // node 3 has no address
    const ra = c.recorders.get(1)!
    await waitFor(() => ra.snapshots.length === 2, 10_000, 'two snapshot statuses')
    assert.deepStrictEqual(ra.snapshots, [
      { groupId: 9, to: 5, status: 'failure' },
      { groupId: 9, to: 5, status: 'failure' },
    ])
  } finally {
    await c.closeAll()
  }
})

test('garbage from a raw client is dropped; the server and other peers keep working', async () => {
  const c = cluster()
  let client: grpc.Client | undefined
  try {
    const a = await c.add(1)
    const b = await c.add(2)
    await c.add(3)
    client = new grpc.Client(b.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
    const id = (x: Buffer) => x
    const stream = client.makeBidiStreamRequest<Buffer, Buffer>(FRAMES_METHOD_PATH, id, id)
    stream.on('error', () => {})
    stream.on('data', () => {})
    let seed = 12345
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.alloc(1 + (i % 97))
      for (let j = 0; j < junk.length; j++) junk[j] = rnd()
      if (i % 3 === 0) junk[0] = 1 // a plausible version byte
      stream.write(junk)
    }
    // A valid frame addressed to the wrong node, and a valid frame followed by junk.
    stream.write(Buffer.from(encodeFrame(seqFrame(3, 7, 0))))
    const good = encodeFrame(seqFrame(3, 2, 0))
    stream.write(Buffer.concat([good, Buffer.from([1, 1, 0])]))
    // Garbage to the snapshot RPC is refused with an error status.
    const snapErr = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client!.makeClientStreamRequest<Buffer, Buffer>(SNAPSHOT_METHOD_PATH, id, id, (err) => resolve(err))
      call.on('error', () => {})
      call.write(Buffer.from([1, 2, 3, 4]))
      call.write(Buffer.alloc(1000))
      call.end()
    })
    assert.equal(snapErr?.code, grpc.status.INVALID_ARGUMENT)
    // Raw TCP junk (not even HTTP/2) on the server's port.
    await new Promise<void>((resolve) => {
      const [host, port] = [b.address.slice(0, b.address.lastIndexOf(':')), Number(b.address.slice(b.address.lastIndexOf(':') + 1))]
      const sock = net.connect(port, host, () => {
        sock.end(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x99garbage-garbage-garbage'))
      })
      sock.resume() // read (and discard) the server's answer so 'close' can arrive
      sock.setTimeout(2000, () => sock.destroy())
      sock.on('error', () => resolve())
      sock.on('close', () => resolve())
    })
    // Other peers are unaffected.
    a.send(seqFrame(1, 2, 1))
    c.transports.get(3)!.send(seqFrame(3, 2, 2))
    const rb = c.recorders.get(2)!
    await waitFor(() => rb.frames.length === 2, 5000, 'frames from the healthy peers')
    assert.deepStrictEqual(rb.seqs().sort(), [1, 2])
    await waitFor(() => c.logs.some((l) => l.includes('malformed')), 5000, 'a log line about malformed frames')
    await waitFor(() => c.logs.some((l) => l.includes('addressed to node 7')), 5000, 'a log line about the misaddressed frame')
    // The valid frame with junk behind it was rejected as a whole.
    assert.deepStrictEqual(rb.seqs().sort(), [1, 2])
    stream.end()
  } finally {
    client?.close()
    await c.closeAll()
  }
})

test('an oversized frame is split into frames that fit', async () => {
  const c = cluster()
  try {
    const a = await c.add(1, { maxFrameBytes: 64 * 1024, snapshotChunkBytes: 16 * 1024 })
    await c.add(2, { maxFrameBytes: 64 * 1024, snapshotChunkBytes: 16 * 1024 })
    const frame: RaftFrame = {
      from: 1,
      to: 2,
      messages: Array.from({ length: 10 }, (_, i) => ({
        groupId: i,
        msg: msg('MsgApp', 1, 2, i, { entries: [{ term: 1, index: i + 1, type: 'normal', data: new Uint8Array(20_000) }] }),
      })),
      heartbeats: [{ groupId: 99, from: 1, to: 2, term: 1, commit: 1 }],
      heartbeatResponses: [],
      quiesce: [],
    }
    a.send(frame)
    const rb = c.recorders.get(2)!
    await waitFor(() => rb.seqs().length === 10, 5000, 'all ten messages')
    assert.deepStrictEqual(rb.seqs(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.ok(rb.frames.length > 1)
    assert.equal(rb.frames.flatMap((f) => f.heartbeats).length, 1)
  } finally {
    await c.closeAll()
  }
})

test('lifecycle: address before start, double start, close is idempotent, send after close is a no-op', async () => {
  const t = new GrpcTransport({ nodeId: 1, listen: '127.0.0.1:0', resolve: () => undefined })
  try {
    assert.throws(() => t.address, (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.INVALID_STATE)
    await t.start(new Recorder())
    assert.match(t.address, /^127\.0\.0\.1:\d+$/)
    assert.notEqual(t.address, '127.0.0.1:0')
    await assert.rejects(t.start(new Recorder()), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.INVALID_STATE)
  } finally {
    await Promise.all([t.close(), t.close()])
    await t.close()
  }
  t.send(seqFrame(1, 2, 0))
  await assert.rejects(t.start(new Recorder()), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.INVALID_STATE)
  // Listening on a taken port is a typed error.
  const a = new GrpcTransport({ nodeId: 1, listen: '127.0.0.1:0', resolve: () => undefined })
  const b = new GrpcTransport({ nodeId: 2, listen: '127.0.0.1:0', resolve: () => undefined })
  try {
    await a.start(new Recorder())
    const b2 = new GrpcTransport({ nodeId: 2, listen: a.address, resolve: () => undefined })
    try {
      await assert.rejects(b2.start(new Recorder()), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.LISTEN_FAILED)
    } finally {
      await b2.close()
    }
  } finally {
    await a.close()
    await b.close()
  }
  assert.throws(
    () => new GrpcTransport({ nodeId: 0, listen: '127.0.0.1:0', resolve: () => undefined }),
    (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.INVALID_OPTIONS,
  )
  assert.throws(
    () => new GrpcTransport({ nodeId: 1, listen: '127.0.0.1:0', resolve: () => undefined, reconnectBackoffMs: { initial: 500, max: 100 } }),
    (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.INVALID_OPTIONS,
  )
})

/** A MsgSnap of replica 7 to replica 8 carrying `data`. */
function snapMsg(data: Uint8Array): Message {
  return msg('MsgSnap', 7, 8, 0, {
    snapshot: { data, metadata: { index: 50, term: 3, confState: { voters: [7, 8], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
  })
}

/** A Snapshot RPC opened by hand: write its parts, then end it; `status` is how it ended. */
function rawSnapshotCall(client: grpc.Client): { call: grpc.ClientWritableStream<Buffer>; status: Promise<grpc.status> } {
  const id = (x: Buffer) => x
  let call!: grpc.ClientWritableStream<Buffer>
  const status = new Promise<grpc.status>((resolve) => {
    call = client.makeClientStreamRequest<Buffer, Buffer>(SNAPSHOT_METHOD_PATH, id, id, (err) => resolve(err?.code ?? grpc.status.OK))
  })
  call.on('error', () => {})
  return { call, status }
}

/** The header of a snapshot from node 1 to node `to` for group `groupId` announcing `dataLength` bytes. */
function rawHeader(to: number, groupId: number, dataLength: number): Buffer {
  return Buffer.from(encodeSnapshotHeader({ from: 1, to, groupId, message: snapMsg(new Uint8Array(0)), dataLength }))
}

test('snapshots being received share a node-wide byte budget and a cap on streams; more are refused before their data', async () => {
  const c = cluster()
  let client: grpc.Client | undefined
  try {
    const b = await c.add(2, { maxSnapshotStreams: 2, maxSnapshotReceiveBytes: 1000 })
    client = new grpc.Client(b.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
    const first = rawSnapshotCall(client)
    first.call.write(rawHeader(2, 5, 600))
    await waitFor(() => b.receivingSnapshots.bytes === 600, 5000, 'the first header accepted')
    // 600 + 600 > 1000: refused at its header.
    const tooBig = rawSnapshotCall(client)
    tooBig.call.write(rawHeader(2, 5, 600))
    assert.equal(await tooBig.status, grpc.status.RESOURCE_EXHAUSTED)
    const second = rawSnapshotCall(client)
    second.call.write(rawHeader(2, 6, 400))
    await waitFor(() => b.receivingSnapshots.bytes === 1000, 5000, 'the second header accepted')
    // Two streams are open: a third is refused before it says anything.
    const third = rawSnapshotCall(client)
    assert.equal(await third.status, grpc.status.RESOURCE_EXHAUSTED)
    assert.deepStrictEqual(b.receivingSnapshots, { streams: 2, bytes: 1000 })
    // The first completes and is delivered; its slot and bytes are free again.
    first.call.write(Buffer.alloc(600, 1))
    first.call.end()
    assert.equal(await first.status, grpc.status.OK)
    const rb = c.recorders.get(2)!
    assert.deepStrictEqual(rb.frames.map((f) => [f.messages[0]!.groupId, f.messages[0]!.msg.snapshot!.data.byteLength]), [[5, 600]])
    assert.deepStrictEqual(b.receivingSnapshots, { streams: 1, bytes: 400 })
    // A client that gives up frees what it held.
    second.call.cancel()
    assert.equal(await second.status, grpc.status.CANCELLED)
    await waitFor(() => b.receivingSnapshots.streams === 0, 5000, 'the cancelled stream released')
    assert.equal(b.receivingSnapshots.bytes, 0)
    // A real snapshot of the whole budget goes through.
    const a = await c.add(1)
    a.send({ from: 1, to: 2, messages: [{ groupId: 5, msg: snapMsg(new Uint8Array(1000).fill(7)) }], heartbeats: [], heartbeatResponses: [], quiesce: [] })
    await waitFor(() => c.recorders.get(1)!.snapshots.length === 1, 10_000, 'snapshot status')
    assert.deepStrictEqual(c.recorders.get(1)!.snapshots, [{ groupId: 5, to: 8, status: 'finish' }])
  } finally {
    client?.close()
    await c.closeAll()
  }
})

test('a snapshot for a replica the node does not host is refused at its header; one it hosts arrives', async () => {
  const c = cluster()
  let client: grpc.Client | undefined
  try {
    const a = await c.add(1)
    const b = await c.add(2)
    c.recorders.get(2)!.hostsReplica = (groupId, replicaId) => groupId === 5 && replicaId === 8
    client = new grpc.Client(b.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
    // Refused before any data is sent: the client never writes more than the header.
    const raw = rawSnapshotCall(client)
    raw.call.write(rawHeader(2, 6, 10_000_000))
    assert.equal(await raw.status, grpc.status.FAILED_PRECONDITION)
    await waitFor(() => c.logs.some((l) => l.includes('node 2 hosts no replica 8 of group 6')), 5000, 'the refusal logged')
    const snap = (groupId: number, to: number): RaftFrame => ({
      from: 1,
      to: 2,
      messages: [{ groupId, msg: { ...snapMsg(new Uint8Array(5000)), to } }],
      heartbeats: [],
      heartbeatResponses: [],
      quiesce: [],
    })
    a.send(snap(6, 8))
    a.send(snap(5, 9))
    a.send(snap(5, 8))
    const ra = c.recorders.get(1)!
    await waitFor(() => ra.snapshots.length === 3, 10_000, 'three snapshot statuses')
    assert.deepStrictEqual(
      [...ra.snapshots].sort((x, y) => x.groupId - y.groupId || x.to - y.to),
      [
        { groupId: 5, to: 8, status: 'finish' },
        { groupId: 5, to: 9, status: 'failure' },
        { groupId: 6, to: 8, status: 'failure' },
      ],
    )
    assert.deepStrictEqual(c.recorders.get(2)!.frames.flatMap((f) => f.messages.map((m) => [m.groupId, m.msg.to])), [[5, 8]])
  } finally {
    client?.close()
    await c.closeAll()
  }
})

test('a snapshot stream that stalls, before or after its header, is refused and frees its slot', async () => {
  const c = cluster()
  let client: grpc.Client | undefined
  try {
    const b = await c.add(2, { maxSnapshotStreams: 1, snapshotStallMs: 200 })
    client = new grpc.Client(b.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
    const silent = rawSnapshotCall(client)
    assert.equal(await silent.status, grpc.status.DEADLINE_EXCEEDED)
    const stalled = rawSnapshotCall(client)
    stalled.call.write(rawHeader(2, 5, 100))
    stalled.call.write(Buffer.alloc(50))
    assert.equal(await stalled.status, grpc.status.DEADLINE_EXCEEDED)
    assert.deepStrictEqual(b.receivingSnapshots, { streams: 0, bytes: 0 })
    const whole = rawSnapshotCall(client)
    whole.call.write(rawHeader(2, 5, 100))
    whole.call.write(Buffer.alloc(100))
    whole.call.end()
    assert.equal(await whole.status, grpc.status.OK)
  } finally {
    client?.close()
    await c.closeAll()
  }
})

test('options: maxSnapshotBytes may not exceed the receive budget, and defaults to it when smaller', () => {
  assert.throws(
    () => new GrpcTransport({ nodeId: 1, listen: '127.0.0.1:0', resolve: () => undefined, maxSnapshotBytes: 2000, maxSnapshotReceiveBytes: 1000 }),
    (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.INVALID_OPTIONS,
  )
  for (const bad of [{ maxSnapshotStreams: 0 }, { snapshotStallMs: -1 }, { maxSnapshotReceiveBytes: 1.5 }]) {
    assert.throws(() => new GrpcTransport({ nodeId: 1, listen: '127.0.0.1:0', resolve: () => undefined, ...bad }), TransportError)
  }
  assert.ok(new GrpcTransport({ nodeId: 1, listen: '127.0.0.1:0', resolve: () => undefined, maxSnapshotReceiveBytes: 1000 }))
})

/**
 * Transport benchmark: two GrpcTransports in one process on loopback. Prints, per frame
 * shape, frames/s and MB/s of encoded payload with a bounded number of frames in flight,
 * the round-trip latency of one frame each way, and snapshot streaming throughput.
 *
 *   npx tsc -b packages/raft && node packages/raft/dist/bench/transport-bench.js [seconds-per-case]
 */
import { encodedFrameSize } from '../transport/frame-codec.js'
import { GrpcTransport } from '../transport/grpc-transport.js'
import type { Message } from '../core/types.js'
import type { RaftFrame, TransportHandler } from '../transport/transport.js'

const SECONDS = Number(process.argv[2] ?? 2)

class Sink implements TransportHandler {
  frames = 0
  snapshots = 0
  onArrive: (() => void) | undefined
  onFrame(f: RaftFrame): void {
    this.frames++
    if (f.messages.length === 1 && f.messages[0]!.msg.type === 'MsgSnap') this.snapshots++
    this.onArrive?.()
  }
  onUnreachable(): void {}
  finished = 0
  onSnapshotStatus(_g: number, _to: number, status: 'finish' | 'failure'): void {
    if (status === 'failure') throw new Error('snapshot failed')
    this.finished++
  }
}

function msgApp(from: number, to: number, index: number, entries: number, bytes: number): Message {
  const data = new Uint8Array(bytes).fill(7)
  return {
    type: 'MsgApp',
    from,
    to,
    term: 5,
    logTerm: 5,
    index,
    entries: Array.from({ length: entries }, (_, i) => ({ term: 5, index: index + 1 + i, type: 'normal' as const, data })),
    commit: index,
    reject: false,
    rejectHint: 0,
  }
}

function frame(from: number, to: number, groups: number, entries: number, bytes: number, heartbeats: number): RaftFrame {
  return {
    from,
    to,
    messages: Array.from({ length: groups }, (_, g) => ({ groupId: g + 1, msg: msgApp(1, 2, 100, entries, bytes) })),
    heartbeats: Array.from({ length: heartbeats }, (_, i) => ({ groupId: 1000 + i, from: 1, to: 2, term: 5, commit: 99 })),
    heartbeatResponses: [],
    quiesce: [],
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r))

async function throughput(a: GrpcTransport, sink: Sink, name: string, f: RaftFrame, window: number): Promise<void> {
  const size = encodedFrameSize(f)
  const base = sink.frames
  let sent = 0
  const start = performance.now()
  const end = start + SECONDS * 1000
  while (performance.now() < end) {
    while (sent - (sink.frames - base) < window) {
      a.send(f)
      sent++
    }
    await tick()
  }
  while (sink.frames - base < sent) await tick()
  const secs = (performance.now() - start) / 1000
  const fps = sent / secs
  console.log(
    `${name.padEnd(44)} ${String(size).padStart(8)} B  ${Math.round(fps).toLocaleString('en').padStart(9)} frames/s  ${(
      (fps * size) /
      1e6
    ).toFixed(1).padStart(7)} MB/s`,
  )
}

async function latency(a: GrpcTransport, b: GrpcTransport, sa: Sink, sb: Sink): Promise<void> {
  const ping = frame(1, 2, 1, 1, 64, 0)
  const pong = frame(2, 1, 1, 0, 0, 0)
  const samples: number[] = []
  const end = performance.now() + SECONDS * 1000
  while (performance.now() < end) {
    const t0 = performance.now()
    await new Promise<void>((resolve) => {
      sb.onArrive = () => b.send(pong)
      sa.onArrive = resolve
      a.send(ping)
    })
    samples.push(performance.now() - t0)
  }
  sa.onArrive = undefined
  sb.onArrive = undefined
  samples.sort((x, y) => x - y)
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(3)
  console.log(`round trip (frame there, frame back)              p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  (${samples.length} samples)`)
}

async function snapshot(a: GrpcTransport, sa: Sink, sb: Sink, mb: number): Promise<void> {
  const data = new Uint8Array(mb * 1024 * 1024).fill(3)
  const before = sa.finished
  const start = performance.now()
  a.send({
    from: 1,
    to: 2,
    messages: [
      {
        groupId: 1,
        msg: {
          ...msgApp(1, 2, 0, 0, 0),
          type: 'MsgSnap',
          snapshot: { data, metadata: { index: 10, term: 5, confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
        },
      },
    ],
    heartbeats: [],
    heartbeatResponses: [],
    quiesce: [],
  })
  while (sa.finished === before) await tick()
  const secs = (performance.now() - start) / 1000
  console.log(`snapshot ${mb} MiB, chunks of 64 KiB, no rate limit      ${(data.byteLength / 1e6 / secs).toFixed(1)} MB/s (${sb.snapshots} received)`)
}

async function main(): Promise<void> {
  const addresses = new Map<number, string>()
  const resolve = (n: number) => addresses.get(n)
  const sa = new Sink()
  const sb = new Sink()
  const a = new GrpcTransport({ nodeId: 1, listen: '127.0.0.1:0', resolve, snapshotBytesPerSec: 2 ** 40, maxQueuedFrames: 1 << 20 })
  const b = new GrpcTransport({ nodeId: 2, listen: '127.0.0.1:0', resolve })
  try {
    await a.start(sa)
    await b.start(sb)
    addresses.set(1, a.address).set(2, b.address)
    // Warm up the connection and the JIT.
    const warm = frame(1, 2, 1, 1, 64, 0)
    for (let i = 0; i < 2000; i++) a.send(warm)
    while (sb.frames < 2000) await tick()
    console.log(`transport bench: ${SECONDS} s per case, one direction, node 1 -> node 2 on loopback`)
    await throughput(a, sb, 'heartbeat-only frame (1 coalesced hb)', frame(1, 2, 0, 0, 0, 1), 256)
    await throughput(a, sb, '1 MsgApp x 1 entry of 256 B', frame(1, 2, 1, 1, 256, 0), 256)
    await throughput(a, sb, '10 MsgApp x 4 entries of 256 B + 50 hb', frame(1, 2, 10, 4, 256, 50), 64)
    await throughput(a, sb, '1 MsgApp x 16 entries of 64 KiB (1 MiB)', frame(1, 2, 1, 16, 64 * 1024, 0), 8)
    await latency(a, b, sa, sb)
    await snapshot(a, sa, sb, 64)
    await snapshot(a, sa, sb, 64)
  } finally {
    await a.close()
    await b.close()
  }
}

await main()

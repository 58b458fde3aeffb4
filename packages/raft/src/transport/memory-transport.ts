// The in-memory twin of the gRPC transport, for tests: frames between transports of one
// MemoryNetwork arrive asynchronously, in order per destination, unless the test injects
// faults (drop, delay, partition). A transport that closes is reported lost to the others,
// as a dead process's broken connections are (a partition reports nothing: no reset arrives).

import type { RaftFrame, Transport, TransportHandler } from './transport.js'

/** Faults a test can inject into a MemoryNetwork. */
export interface MemoryFaults {
  /** Probability in [0, 1) that a frame is lost. */
  drop?: number
  /** Extra delay of every frame, in ms (0: next macrotask). */
  delayMs?: number
}

/** A set of in-memory transports that can reach each other. */
export class MemoryNetwork {
  private readonly transports = new Map<number, MemoryTransport>()
  private readonly cut = new Set<string>()
  faults: MemoryFaults = {}
  /** Frames delivered so far, per "from->to" pair (tests count heartbeat traffic with it). */
  readonly framesSent = new Map<string, number>()

  /** A transport for node `nodeId` on this network. */
  transport(nodeId: number): MemoryTransport {
    const t = new MemoryTransport(nodeId, this)
    this.transports.set(nodeId, t)
    return t
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a) for (const y of b) this.cut.add(`${x}->${y}`).add(`${y}->${x}`)
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear()
  }

  /** @internal Tells every other running transport that `nodeId`'s connections broke. */
  lost(nodeId: number): void {
    for (const t of this.transports.values()) if (t.nodeId !== nodeId) t.peerLost(nodeId)
  }

  /** @internal */
  deliver(frame: RaftFrame, sender: MemoryTransport): void {
    const key = `${frame.from}->${frame.to}`
    const target = this.transports.get(frame.to)
    const lost = this.cut.has(key) || !target?.running || Math.random() < (this.faults.drop ?? 0)
    if (lost) {
      sender.unreachable(frame)
      return
    }
    this.framesSent.set(key, (this.framesSent.get(key) ?? 0) + 1)
    const arrive = () => target.receive(frame, sender)
    const delay = this.faults.delayMs ?? 0
    if (delay > 0) setTimeout(arrive, delay)
    else setImmediate(arrive)
  }
}

/** One node's end of a MemoryNetwork. */
export class MemoryTransport implements Transport {
  private handler: TransportHandler | undefined

  /** @internal Use {@link MemoryNetwork.transport}. */
  constructor(
    readonly nodeId: number,
    private readonly network: MemoryNetwork,
  ) {}

  /** Whether the transport is started and not closed. */
  get running(): boolean {
    return this.handler !== undefined
  }

  async start(handler: TransportHandler): Promise<void> {
    this.handler = handler
  }

  send(frame: RaftFrame): void {
    if (this.handler) this.network.deliver(frame, this)
  }

  async close(): Promise<void> {
    if (!this.handler) return
    this.handler = undefined
    this.network.lost(this.nodeId)
  }

  /** @internal Node `nodeId`'s transport closed. */
  peerLost(nodeId: number): void {
    this.handler?.onPeerLost?.(nodeId)
  }

  /** @internal */
  receive(frame: RaftFrame, sender: MemoryTransport): void {
    if (!this.handler) return sender.unreachable(frame)
    this.handler.onFrame(frame)
    for (const { groupId, msg } of frame.messages) {
      if (msg.type === 'MsgSnap') sender.handler?.onSnapshotStatus(groupId, msg.to, 'finish')
    }
  }

  /** @internal A frame from this node was lost. */
  unreachable(frame: RaftFrame): void {
    const h = this.handler
    if (!h) return
    h.onUnreachable(frame.to)
    for (const { groupId, msg } of frame.messages) {
      if (msg.type === 'MsgSnap') h.onSnapshotStatus(groupId, msg.to, 'failure')
    }
  }
}

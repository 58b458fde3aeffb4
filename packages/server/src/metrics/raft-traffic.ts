// The node's Raft traffic, seen at its transport: a Transport that wraps the real one and
// counts frames and messages by type in each direction (coalesced heartbeats count as the
// MsgHeartbeat/MsgHeartbeatResp they stand for), and logs snapshots sent and received.
// Counting is a map update per message; metrics read the counts when scraped.

import type { GroupMessage, RaftFrame, Transport, TransportHandler } from '@mrdb/raft'
import type { NodeLogger } from '../log/node-log.js'

/** Counts of one direction. */
export interface TrafficCounts {
  frames: number
  /** Messages by Raft message type ('MsgApp', 'MsgHeartbeat', …; 'Quiesce' for quiesce notices). */
  readonly messages: Map<string, number>
}

/** Snapshot transfers, as this node saw them. */
export interface SnapshotCounts {
  /** MsgSnap handed to the transport, and how they ended. */
  sent: number
  sentFinished: number
  sentFailed: number
  /** MsgSnap delivered to this node (their data streamed in whole). */
  received: number
}

/** A counting, logging Transport around another; see the file comment. */
export class ObservedTransport implements Transport {
  readonly sent: TrafficCounts = { frames: 0, messages: new Map() }
  readonly received: TrafficCounts = { frames: 0, messages: new Map() }
  readonly snapshots: SnapshotCounts = { sent: 0, sentFinished: 0, sentFailed: 0, received: 0 }

  constructor(
    private readonly inner: Transport,
    private readonly log: NodeLogger,
  ) {}

  /** Starts the wrapped transport, observing what it delivers. */
  start(handler: TransportHandler): Promise<void> {
    return this.inner.start({
      onFrame: (f) => {
        count(this.received, f)
        for (const m of f.messages) if (m.msg.type === 'MsgSnap') this.snapshotReceived(f.from, m)
        handler.onFrame(f)
      },
      onUnreachable: (node) => handler.onUnreachable(node),
      onSnapshotStatus: (groupId, to, status) => {
        if (status === 'finish') this.snapshots.sentFinished++
        else this.snapshots.sentFailed++
        const fields = { rangeId: groupId, toReplica: to }
        if (status === 'finish') this.log.info(fields, `range ${groupId}: snapshot to replica ${to} delivered`)
        else this.log.warn(fields, `range ${groupId}: snapshot to replica ${to} failed`)
        handler.onSnapshotStatus(groupId, to, status)
      },
      hostsReplica: handler.hostsReplica && ((groupId, replicaId) => handler.hostsReplica!(groupId, replicaId)),
    })
  }

  /** Sends through the wrapped transport, counting. */
  send(frame: RaftFrame): void {
    count(this.sent, frame)
    for (const m of frame.messages) {
      if (m.msg.type !== 'MsgSnap') continue
      this.snapshots.sent++
      const meta = m.msg.snapshot?.metadata
      this.log.info({ rangeId: m.groupId, term: m.msg.term, toNode: frame.to, index: meta?.index }, `range ${m.groupId}: sending a snapshot at index ${meta?.index} to node ${frame.to}`)
    }
    this.inner.send(frame)
  }

  /** Closes the wrapped transport. */
  close(): Promise<void> {
    return this.inner.close()
  }

  private snapshotReceived(fromNode: number, m: GroupMessage): void {
    this.snapshots.received++
    const meta = m.msg.snapshot?.metadata
    this.log.info({ rangeId: m.groupId, term: m.msg.term, fromNode, index: meta?.index }, `range ${m.groupId}: received a snapshot at index ${meta?.index} from node ${fromNode}`)
  }
}

function count(c: TrafficCounts, f: RaftFrame): void {
  c.frames++
  const add = (type: string, n: number) => {
    if (n > 0) c.messages.set(type, (c.messages.get(type) ?? 0) + n)
  }
  for (const m of f.messages) add(m.msg.type, 1)
  add('MsgHeartbeat', f.heartbeats.length)
  add('MsgHeartbeatResp', f.heartbeatResponses.length)
  add('Quiesce', f.quiesce.length)
}

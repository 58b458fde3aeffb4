// The boundary between a node's multiraft host and the network. A frame carries everything
// one node sends another in one loop iteration: the Raft messages of any number of groups,
// plus coalesced heartbeats — one entry per group instead of one message per group.

import type { Message } from '../core/types.js'

/** A Raft message of one group. `msg.from` and `msg.to` are replica ids within the group. */
export interface GroupMessage {
  groupId: number
  msg: Message
}

/**
 * A heartbeat (or its response) of one group, coalesced into a node-to-node frame. It holds
 * exactly what MsgHeartbeat/MsgHeartbeatResp carry, so the receiver rebuilds those messages.
 */
export interface CoalescedHeartbeat {
  groupId: number
  from: number
  to: number
  term: number
  commit: number
  /** ReadIndex request id riding on the heartbeat, if any. */
  context?: Uint8Array
}

/** Everything node `from` sends node `to` at once. */
export interface RaftFrame {
  /** Sending node (store) id. */
  from: number
  /** Receiving node (store) id. */
  to: number
  messages: GroupMessage[]
  heartbeats: CoalescedHeartbeat[]
  heartbeatResponses: CoalescedHeartbeat[]
  /**
   * Groups the sender leads and has quiesced: the receiver stops ticking its replicas of them
   * until a message or proposal wakes them.
   */
  quiesce: QuiesceNotice[]
}

/**
 * A leader quiesced a group. A follower quiesces its replica only if it knows the same term
 * and commit index: the message that told it the commit index may have been lost, and no
 * other would come while the group sleeps (see MultiRaft's onFrame).
 */
export interface QuiesceNotice {
  groupId: number
  term: number
  commit: number
}

/** What a transport tells its host. */
export interface TransportHandler {
  /** A frame arrived. */
  onFrame(frame: RaftFrame): void
  /**
   * A frame to `node` could not be delivered (connection down). The host reports the
   * affected groups' peers unreachable; Raft retries on its own.
   */
  onUnreachable(node: number): void
  /**
   * The open connection to `node` broke (reset or closed by the peer): most often its process
   * died, which closes its connections at once. Called once per outage, not for frames
   * dropped under load. A hint, never proof: a live node whose connection broke looks the
   * same. Optional.
   */
  onPeerLost?(node: number): void
  /** A MsgSnap finished streaming to its destination, or failed to. */
  onSnapshotStatus(groupId: number, to: number, status: 'finish' | 'failure'): void
  /**
   * Whether this node hosts replica `replicaId` of group `groupId`. A transport that streams
   * snapshots asks before it takes in one's data, and refuses a snapshot for a replica that
   * is not here (it would be dropped on arrival). Optional: without it, every snapshot
   * addressed to this node is received.
   */
  hostsReplica?(groupId: number, replicaId: number): boolean
}

/**
 * Carries frames between nodes. Delivery is best-effort and per destination in order;
 * Raft tolerates loss, duplication and reordering. Implementations: in memory (tests and
 * the simulator, with fault injection) and gRPC (real nodes).
 */
export interface Transport {
  /** Starts delivering frames addressed to this node to `handler`. */
  start(handler: TransportHandler): Promise<void>
  /**
   * Queues a frame for `frame.to`. Never throws for network trouble (that is reported via
   * onUnreachable). MsgSnap messages inside the frame are streamed separately, in chunks,
   * and their outcome is reported via onSnapshotStatus.
   */
  send(frame: RaftFrame): void
  /** Stops sending and receiving; in-flight frames may be lost. */
  close(): Promise<void>
}

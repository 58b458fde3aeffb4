// Bookkeeping for linearizable reads through ReadIndex (Raft thesis §6.4): a request is
// answered once a quorum has acknowledged a heartbeat sent after the request arrived.

import type { Message } from './types.js'

/** How the leader confirms it still leads before answering a read. */
export type ReadOnlyOption = 'safe' | 'lease-based'

/** A ReadIndex request waiting for heartbeat acknowledgements. */
export interface ReadIndexStatus {
  /** The original request (from = the node that asked; NONE or self for local requests). */
  req: Message
  /** The commit index when the request arrived: the read waits until it is applied. */
  index: number
  /** Nodes that acknowledged a heartbeat carrying this request's context. */
  acks: Map<number, boolean>
}

/** Turns a context into a map key (contexts are compared by bytes). */
function keyOf(ctx: Uint8Array | undefined): string {
  if (ctx === undefined) return ''
  let s = ''
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i] as number)
  return s
}

/**
 * Pending ReadIndex requests, in arrival order.
 * Invariant: queue holds exactly the keys of pending, oldest first.
 */
export class ReadOnly {
  readonly option: ReadOnlyOption
  private pending = new Map<string, ReadIndexStatus>()
  private queue: string[] = []

  constructor(option: ReadOnlyOption) {
    this.option = option
  }

  /**
   * Registers request m (its context identifies it) at commit index `index`. A second
   * request with the same context while the first is pending is ignored.
   */
  addRequest(index: number, m: Message): void {
    const key = keyOf(m.context)
    if (this.pending.has(key)) return
    this.pending.set(key, { index, req: m, acks: new Map() })
    this.queue.push(key)
  }

  /**
   * Records that `id` acknowledged a heartbeat carrying `context`, and returns the acks of
   * that request so far (undefined if no such request is pending).
   */
  recvAck(id: number, context: Uint8Array | undefined): Map<number, boolean> | undefined {
    const rs = this.pending.get(keyOf(context))
    if (rs === undefined) return undefined
    rs.acks.set(id, true)
    return rs.acks
  }

  /**
   * Dequeues the request with `context` and every request queued before it (a quorum
   * acknowledging a later heartbeat confirms the earlier ones too), oldest first.
   */
  advance(context: Uint8Array | undefined): ReadIndexStatus[] {
    const key = keyOf(context)
    const at = this.queue.indexOf(key)
    if (at < 0) return []
    const done = this.queue.splice(0, at + 1)
    const out: ReadIndexStatus[] = []
    for (const k of done) {
      const rs = this.pending.get(k)
      if (rs !== undefined) out.push(rs)
      this.pending.delete(k)
    }
    return out
  }

  /** The context of the newest pending request, to piggyback on the next heartbeats. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1]
    return key === undefined ? undefined : this.pending.get(key)?.req.context
  }

  /** Number of pending requests. */
  pendingCount(): number {
    return this.queue.length
  }
}

// The seam between the KV client and the nodes it talks to (CockroachDB's DistSender →
// Transport): one method, a batch of requests to one node. The gRPC sender carries them over
// the network; a node's local sender (server/local-sender.ts) hands them to its own store;
// a routing sender picks between the two by node.

import type { KvRequest, KvResponse, NodeAddress } from '../api/requests.js'

/**
 * How a batch failed to get its answers:
 * - `unavailable`: it never left the client (no connection to the node): nothing was done;
 * - `ambiguous`: it was sent but the connection broke: each request may or may not have been done;
 * - `deadline`: no answer came before the deadline: as ambiguous.
 */
export type SendFailure = 'unavailable' | 'ambiguous' | 'deadline'

/** A batch that got no answers; {@link failure} says whether its requests may have been carried out. */
export class SendError extends Error {
  override readonly name = 'SendError'

  constructor(
    readonly failure: SendFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Carries requests to a node and brings back its answers. */
export interface KvSender {
  /**
   * Sends `requests` to `node` and resolves with one answer per request, in order (an answer
   * may be an error the node reported). Rejects only with a {@link SendError}.
   */
  send(node: NodeAddress, requests: readonly KvRequest[], deadline: number): Promise<KvResponse[]>
  /** Releases connections; requests still waiting fail as `ambiguous`. */
  close(): void
}

/** A sender that sends to `self` through `local` and to every other node through `remote`. */
export class RoutingSender implements KvSender {
  constructor(
    private readonly self: NodeAddress,
    private readonly local: KvSender,
    private readonly remote: KvSender,
  ) {}

  /** Sends through the local sender if `node` is this one (by id, or by address when the id is not known yet), else remotely. */
  send(node: NodeAddress, requests: readonly KvRequest[], deadline: number): Promise<KvResponse[]> {
    const here = node.nodeId === this.self.nodeId || node.address === this.self.address
    return (here ? this.local : this.remote).send(node, requests, deadline)
  }

  /** Closes both senders. */
  close(): void {
    this.local.close()
    this.remote.close()
  }
}

// The node's own client reaching its store in-process: typed requests go straight to the
// request handler the gRPC service uses too — no encoding, no gRPC — so a gateway's requests
// to ranges it leads cost no network stack, and get the same checks and answers.

import type { KvRequest, KvResponse, NodeAddress } from '../api/requests.js'
import { SendError, type KvSender } from '../client/sender.js'
import type { KvRequestHandler } from './request-handler.js'

/** A sender to this node's own store; see the file comment. */
export class LocalSender implements KvSender {
  private closed = false

  constructor(private readonly handler: KvRequestHandler) {}

  /**
   * Serves `requests` here (whichever node is named: a routing sender sends only this node's
   * requests here). Rejects `unavailable` once closed, `deadline` if the answers are not all
   * in by `deadline` (the requests may still be carried out).
   */
  send(_node: NodeAddress, requests: readonly KvRequest[], deadline: number): Promise<KvResponse[]> {
    if (this.closed) return Promise.reject(new SendError('unavailable', 'the local store is closed'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new SendError('deadline', 'the local store gave no answer before the deadline')), Math.max(0, deadline - Date.now()))
      void Promise.all(requests.map((r) => this.handler.handle(r))).then((answers) => {
        clearTimeout(timer)
        resolve(answers)
      })
    })
  }

  /** Refuses further requests (those in progress run to their end). */
  close(): void {
    this.closed = true
  }
}

// A KvSender that counts what passes through it: the batches it sends (each one message on the
// node's command stream to another node) and the requests in them. The node wraps its SQL
// gateway's gRPC sender in one, so that the status call tells how many KV requests its
// statements sent over the network (those to ranges it leads go through the local sender).

import type { KvSender } from '@mrdb/kv'

/** What a {@link CountingSender} sent. */
export interface SendCounts {
  /** Batches sent (one gRPC message each). */
  batches: number
  /** Requests in them. */
  requests: number
}

/** See the file comment. */
export class CountingSender implements KvSender {
  /** What went through since this sender was made. */
  readonly counts: SendCounts = { batches: 0, requests: 0 }

  constructor(private readonly inner: KvSender) {}

  /** Counts the batch, then sends it through the wrapped sender. */
  send(...args: Parameters<KvSender['send']>): ReturnType<KvSender['send']> {
    this.counts.batches++
    this.counts.requests += args[1].length
    return this.inner.send(...args)
  }

  /** Closes the wrapped sender. */
  close(): void {
    this.inner.close()
  }
}

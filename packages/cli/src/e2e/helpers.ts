// Shared pieces of the end-to-end tests: polling for a condition, and a node's status.

import { Client, credentials } from '@grpc/grpc-js'
import { unaryCall } from '@mrdb/kv'
import { NODE_SERVICE, type NodeStatusResponse } from '@mrdb/server'

/** Polls `cond` every 100 ms (errors count as "not yet") until it holds; throws after `timeoutMs`. */
export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await cond()) return
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A node's admin status. */
export async function nodeStatus(address: string): Promise<NodeStatusResponse> {
  const channel = new Client(address, credentials.createInsecure())
  try {
    return await unaryCall(channel, NODE_SERVICE.status, {}, Date.now() + 5000)
  } finally {
    channel.close()
  }
}

// One admin or PD call from the CLI to a node: an unreachable node becomes UNAVAILABLE and
// an error in the answer becomes a CliError with the node's code.

import { Client, status, type MethodDefinition } from '@grpc/grpc-js'
import { unaryCall } from '@mrdb/kv'
import { clientCredentials } from './client-tls.js'
import { CliError } from './output.js'

/** A failed call's gRPC error in one line that names the host: no stack, no grpc-js decoration. */
function callError(host: string, err: unknown, timeoutMs: number): CliError {
  const e = err as { code?: unknown; details?: unknown }
  if (e.code === status.DEADLINE_EXCEEDED) return new CliError('TIMEOUT', `no answer from ${host} within ${timeoutMs / 1000} s`)
  const details = typeof e.details === 'string' ? e.details : err instanceof Error ? err.message : String(err)
  return new CliError('UNAVAILABLE', `cannot reach ${host}: ${details.replace(/\.?\s*Resolution note:.*$/s, '')}`)
}

/** Calls `method` on the node at `host`; resolves with the answer unless it carries an error. */
export async function callNode<Req, Res extends { error?: { code: string; message: string } }>(host: string, method: MethodDefinition<Req, Res>, req: Req, timeoutMs = 10_000): Promise<Res> {
  const channel = new Client(host, clientCredentials())
  try {
    const res = await unaryCall(channel, method, req, Date.now() + timeoutMs)
    if (res.error) throw new CliError(res.error.code, res.error.message)
    return res
  } catch (err) {
    if (err instanceof CliError) throw err
    throw callError(host, err, timeoutMs)
  } finally {
    channel.close()
  }
}

/** Answers after which {@link callLeader} tries again. */
const RETRIED = new Set(['NOT_LEADER', 'UNAVAILABLE'])

/**
 * {@link callNode}, retried while the answer is NOT_LEADER (leadership moved, as `member remove`
 * does on purpose before removing a leader: the node forwards the retry to the new leader) or
 * UNAVAILABLE (the range dropped the proposal, say during a leadership transfer). Only for
 * calls that did nothing when they answered so.
 */
export async function callLeader<Req, Res extends { error?: { code: string; message: string } }>(host: string, method: MethodDefinition<Req, Res>, req: Req, timeoutMs = 10_000, attempts = 10): Promise<Res> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await callNode(host, method, req, timeoutMs)
    } catch (err) {
      if (!(err instanceof CliError) || !RETRIED.has(err.code) || attempt >= attempts) throw err
      await new Promise((r) => setTimeout(r, 200 * attempt))
    }
  }
}

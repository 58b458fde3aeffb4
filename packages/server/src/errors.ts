import { KvError, KvErrorCode } from '@mrdb/kv'
import { PdError, PdErrorCode } from '@mrdb/placement'
import type { AdminError } from './admin-protocol.js'

/** Stable error codes of node administration (start, join, init). */
export const NodeErrorCode = {
  /** The data directory belongs to another store id. */
  STORE_ID_MISMATCH: 'STORE_ID_MISMATCH',
  /** `init` on a cluster that already is initialized. */
  ALREADY_INITIALIZED: 'ALREADY_INITIALIZED',
  /** A bootstrap from another cluster. */
  CLUSTER_MISMATCH: 'CLUSTER_MISMATCH',
  /** Not enough nodes have joined to place every replica. */
  NOT_ENOUGH_NODES: 'NOT_ENOUGH_NODES',
  /** A node `init` would bootstrap does not answer yet; nothing was done, and `init` may be repeated. */
  NODE_NOT_READY: 'NODE_NOT_READY',
  /** A malformed request or option. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A fault-injection call to a node not started with `--fault-injection`. */
  FAULT_INJECTION_DISABLED: 'FAULT_INJECTION_DISABLED',
  /** A peer could not be reached. */
  UNAVAILABLE: 'UNAVAILABLE',
} as const

/** One of {@link NodeErrorCode}. */
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode]

/** Errors of node administration. */
export class NodeError extends Error {
  override readonly name = 'NodeError'

  constructor(
    readonly code: NodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** The error body an admin call answers with: the code of a NodeError or KvError, else UNAVAILABLE. */
export function adminError(err: unknown): AdminError {
  if (err instanceof NodeError) return { code: err.code, message: err.message }
  if (err instanceof KvError || err instanceof PdError) return err.leaderHint === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, leaderHint: err.leaderHint }
  return { code: NodeErrorCode.UNAVAILABLE, message: err instanceof Error ? err.message : String(err) }
}

/** The error an admin error body stands for, with its code kept (a KvError or PdError for their codes). */
export function fromAdminError(e: AdminError): NodeError | KvError | PdError {
  const kvCodes: readonly string[] = Object.values(KvErrorCode)
  const pdCodes: readonly string[] = Object.values(PdErrorCode)
  if (kvCodes.includes(e.code)) return new KvError(e.code as KvErrorCode, e.message, e.leaderHint)
  if (pdCodes.includes(e.code)) return new PdError(e.code as PdErrorCode, e.message, e.leaderHint)
  return new NodeError(e.code as NodeErrorCode, e.message)
}

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
  /** A malformed request or option. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
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

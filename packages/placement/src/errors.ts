/** Stable error codes of the placement driver. Callers branch on these, never on messages. */
export const PdErrorCode = {
  /** This node's PD replica does not lead the PD group; `leaderHint` names the node that may. */
  NOT_LEADER: 'PD_NOT_LEADER',
  /** The PD group cannot serve now (no quorum, no leader, node stopping). Retry later. */
  UNAVAILABLE: 'PD_UNAVAILABLE',
  /** A command did not apply before its deadline; it may or may not have. */
  TIMEOUT: 'PD_TIMEOUT',
  /** A command, record or option is malformed or breaks an invariant of the PD state. Do not retry. */
  INVALID_ARGUMENT: 'PD_INVALID_ARGUMENT',
  /** The cluster has not been bootstrapped yet: only `bootstrap` applies. */
  NOT_BOOTSTRAPPED: 'PD_NOT_BOOTSTRAPPED',
  /** `bootstrap` on a cluster that already has an id. */
  ALREADY_BOOTSTRAPPED: 'PD_ALREADY_BOOTSTRAPPED',
  /** The store is unknown to the PD. */
  STORE_NOT_FOUND: 'PD_STORE_NOT_FOUND',
  /** The store was removed from the cluster for good; it cannot change or come back. */
  STORE_REMOVED: 'PD_STORE_REMOVED',
  /** An operator already changes the range; ask again once it is done. */
  RANGE_BUSY: 'PD_RANGE_BUSY',
  /** The range is unknown to the PD. */
  RANGE_NOT_FOUND: 'PD_RANGE_NOT_FOUND',
  /** An id space is used up (range ids may not reach the PD's own group id). */
  IDS_EXHAUSTED: 'PD_IDS_EXHAUSTED',
  /** Stored PD state failed to decode: the node stops serving rather than use bad data. */
  CORRUPTION: 'PD_CORRUPTION',
} as const

/** One of {@link PdErrorCode}. */
export type PdErrorCode = (typeof PdErrorCode)[keyof typeof PdErrorCode]

/** Every error the placement driver raises or returns on purpose. */
export class PdError extends Error {
  override readonly name = 'PdError'

  constructor(
    readonly code: PdErrorCode,
    message: string,
    /** For NOT_LEADER: the node id believed to lead the PD group, if known. */
    readonly leaderHint?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

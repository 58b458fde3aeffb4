// Errors the transport raises. Each has a stable `code` that callers switch on; messages are
// for humans and may change. Network trouble is never thrown from send(): it is reported
// through TransportHandler.onUnreachable / onSnapshotStatus instead.

/** Every error code the transport can produce. */
export const TransportErrorCode = {
  /** Bytes are not a valid encoding (truncated, garbage, unknown version or tag). */
  MALFORMED_FRAME: 'ERR_MALFORMED_FRAME',
  /** An encoded frame (or its input) exceeds the configured byte limit. */
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  /** A frame to encode holds a value the wire format cannot carry (e.g. a negative id). */
  INVALID_FRAME: 'ERR_INVALID_FRAME',
  /** The transport could not listen on its address. */
  LISTEN_FAILED: 'ERR_TRANSPORT_LISTEN_FAILED',
  /** Constructor options are out of range. */
  INVALID_OPTIONS: 'ERR_TRANSPORT_INVALID_OPTIONS',
  /** The transport was used in the wrong state (started twice, started after close). */
  INVALID_STATE: 'ERR_TRANSPORT_INVALID_STATE',
} as const

/** One of the values of TransportErrorCode. */
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode]

/** The one error class of the transport; `code` is stable. */
export class TransportError extends Error {
  readonly code: TransportErrorCode
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'TransportError'
  }
}

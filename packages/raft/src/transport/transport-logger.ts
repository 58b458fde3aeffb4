// The logger the gRPC transport writes to. Library code never uses console: the host
// injects its logger; the default drops everything.

/** Where the transport reports connection changes and rejected input. */
export interface TransportLogger {
  info(msg: string): void
  warn(msg: string): void
}

/** A logger that discards every line (the default). */
export const NOOP_TRANSPORT_LOGGER: TransportLogger = {
  info() {},
  warn() {},
}

// Errors of the PostgreSQL wire protocol server: each carries the SQLSTATE a client sees.

/** SQLSTATE codes the wire protocol server itself raises (statements raise the SQL layer's). */
export const PgWireState = {
  PROTOCOL_VIOLATION: '08P01',
  INVALID_AUTHORIZATION: '28000',
  INVALID_PASSWORD: '28P01',
  CANNOT_CONNECT_NOW: '57P03',
  TOO_MANY_CONNECTIONS: '53300',
  QUERY_CANCELED: '57014',
  ADMIN_SHUTDOWN: '57P01',
  FEATURE_NOT_SUPPORTED: '0A000',
  INVALID_SQL_STATEMENT_NAME: '26000',
  INVALID_CURSOR_NAME: '34000',
  DUPLICATE_PREPARED_STATEMENT: '42P05',
  DUPLICATE_CURSOR: '42P03',
  INVALID_TEXT_REPRESENTATION: '22P02',
  INVALID_BINARY_REPRESENTATION: '22P03',
  INVALID_PARAMETER_VALUE: '22023',
  UNDEFINED_PARAMETER: '42P02',
  UNDEFINED_OBJECT: '42704',
  IN_FAILED_SQL_TRANSACTION: '25P02',
  INTERNAL_ERROR: 'XX000',
} as const

/** One of {@link PgWireState}. */
export type PgWireState = (typeof PgWireState)[keyof typeof PgWireState]

/**
 * An error the wire server reports to its client as an ErrorResponse. `fatal` ones end the
 * connection after the report (protocol violations, refused connections).
 */
export class PgWireError extends Error {
  override readonly name = 'PgWireError'

  constructor(
    readonly code: PgWireState,
    message: string,
    readonly fatal = false,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Raises a fatal 08P01 protocol violation. */
export function protocolViolation(message: string): never {
  throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, message, true)
}

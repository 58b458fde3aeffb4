/** The SQLSTATE codes mrdb's SQL layer raises, by name. */
export const SqlState = {
  FEATURE_NOT_SUPPORTED: '0A000',
  CARDINALITY_VIOLATION: '21000',
  STRING_DATA_RIGHT_TRUNCATION: '22001',
  NUMERIC_VALUE_OUT_OF_RANGE: '22003',
  DIVISION_BY_ZERO: '22012',
  INVALID_DATETIME_FORMAT: '22007',
  DATETIME_FIELD_OVERFLOW: '22008',
  SUBSTRING_ERROR: '22011',
  INVALID_REGULAR_EXPRESSION: '2201B',
  INVALID_ARGUMENT_FOR_POWER: '2201F',
  INVALID_PARAMETER_VALUE: '22023',
  INVALID_TEXT_REPRESENTATION: '22P02',
  NOT_NULL_VIOLATION: '23502',
  UNIQUE_VIOLATION: '23505',
  ACTIVE_SQL_TRANSACTION: '25001',
  IN_FAILED_SQL_TRANSACTION: '25P02',
  SERIALIZATION_FAILURE: '40001',
  QUERY_CANCELED: '57014',
  STATEMENT_COMPLETION_UNKNOWN: '40003',
  SYNTAX_ERROR: '42601',
  DUPLICATE_COLUMN: '42701',
  AMBIGUOUS_COLUMN: '42702',
  UNDEFINED_COLUMN: '42703',
  UNDEFINED_OBJECT: '42704',
  DUPLICATE_OBJECT: '42710',
  DUPLICATE_ALIAS: '42712',
  INSUFFICIENT_PRIVILEGE: '42501',
  GROUPING_ERROR: '42803',
  WINDOWING_ERROR: '42P20',
  DATATYPE_MISMATCH: '42804',
  CANNOT_COERCE: '42846',
  UNDEFINED_FUNCTION: '42883',
  UNDEFINED_TABLE: '42P01',
  DUPLICATE_TABLE: '42P07',
  INVALID_TABLE_DEFINITION: '42P16',
  INVALID_COLUMN_REFERENCE: '42P10',
  OUT_OF_MEMORY: '53200',
  PROGRAM_LIMIT_EXCEEDED: '54000',
  OBJECT_NOT_IN_PREREQUISITE_STATE: '55000',
  STATEMENT_TOO_COMPLEX: '54001',
  CONNECTION_FAILURE: '08006',
  INTERNAL_ERROR: 'XX000',
} as const

/** One of {@link SqlState}: a five-character SQLSTATE. */
export type SqlState = (typeof SqlState)[keyof typeof SqlState]

/**
 * An error a SQL client sees: a stable SQLSTATE `code`, a message meant for the user, and for
 * errors about the statement's text the 1-based character `position` they point at.
 */
export class SqlError extends Error {
  override readonly name = 'SqlError'
  readonly position: number | undefined

  constructor(
    readonly code: SqlState,
    message: string,
    options?: { cause?: unknown; position?: number },
  ) {
    super(message, options)
    this.position = options?.position
  }
}

/** Throws a {@link SqlError}; typed `never` so it can end expressions. */
export function fail(code: SqlState, message: string, cause?: unknown): never {
  throw new SqlError(code, message, cause === undefined ? undefined : { cause })
}

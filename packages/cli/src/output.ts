// How the CLI talks to people: results on stdout, errors on stderr as `error: CODE: message`
// (never a stack trace), and a non-zero exit code on failure.

/** An error the CLI reports with its code. */
export class CliError extends Error {
  override readonly name = 'CliError'

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Prints an error as a person should see it and sets the exit code. */
export function reportError(err: unknown): void {
  const code = (err as { code?: unknown } | null)?.code
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`error: ${typeof code === 'string' ? `${code}: ` : ''}${message}\n`)
  process.exitCode = 1
}

/** Parses a positive integer option or throws a CliError naming it. */
export function positiveInt(value: string, name: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new CliError('INVALID_ARGUMENT', `${name} must be a positive integer, got '${value}'`)
  return n
}

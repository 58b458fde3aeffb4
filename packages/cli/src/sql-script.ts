// How `mrdb sql` and the demo run a script (sql-command.ts defines the command): each
// statement runs as soon as it is complete, its result printed, stopping at the first error
// (printed with its SQLSTATE code, exit code 1).
//
// SIGINT (Ctrl-C, or `kill -INT`) while a statement runs sends the server a CancelRequest:
// the statement fails with 57014, that error is printed, and the next statement runs — the
// user stopped one statement, not the script. SIGINT between statements ends the process.

import { SqlClientError, type SqlClient } from '@mrdb/server'
import { splitStatements } from '@mrdb/sql'
import { formatResult, type ResultFormat } from './result-format.js'
import { openSql, type SqlTarget } from './sql-target.js'

/** SQLSTATE of a cancelled statement. */
const QUERY_CANCELED = '57014'

/** Options of {@link runScript}. */
export interface ScriptOptions {
  /** Cancel the running statement on SIGINT instead of letting the signal end the process (default true). */
  readonly cancelOnSigint?: boolean
}

/**
 * Runs every statement of `script` (a string, or lines arriving on a stream: each statement
 * runs as soon as its `;` arrives) on `target`, printing each result; throws at the first
 * error, except a statement cancelled by SIGINT (see the file comment).
 */
export async function runScript(target: SqlTarget, script: string | AsyncIterable<string>, format: ResultFormat, o: ScriptOptions = {}): Promise<void> {
  let client: SqlClient | undefined
  let running = false
  let cancelled = false
  const onSigint = () => {
    if (!running || client === undefined) process.exit(130)
    cancelled = true
    void client.cancel()
  }
  if (o.cancelOnSigint !== false) process.on('SIGINT', onSigint)
  const run = async (statement: string) => {
    client ??= await openSql(target)
    running = true
    cancelled = false
    try {
      process.stdout.write(formatResult(await client.query(statement), format))
    } catch (err) {
      if (!(cancelled && err instanceof SqlClientError && err.code === QUERY_CANCELED)) throw err
      process.stderr.write(`ERROR: ${err.code}: ${err.message}\n`)
    } finally {
      running = false
    }
  }
  try {
    if (typeof script === 'string') {
      const { statements, rest } = splitStatements(script)
      if (rest) statements.push(rest)
      for (const statement of statements) await run(statement)
    } else {
      let pending = ''
      for await (const line of script) {
        pending = pending === '' ? line : `${pending}\n${line}`
        const { statements, rest } = splitStatements(pending)
        pending = rest
        for (const statement of statements) await run(statement)
      }
      if (pending.trim() !== '') await run(pending)
    }
  } finally {
    process.off('SIGINT', onSigint)
    client?.close()
  }
}

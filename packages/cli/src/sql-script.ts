// `mrdb sql`: with -e, -f or statements on standard input, runs them against a node and prints
// each result, stopping at the first error (printed with its SQLSTATE code, exit code 1);
// on a terminal with neither -e nor -f, opens the interactive shell (sql-shell.ts).
//
// It speaks PostgreSQL's wire protocol (sql-target.ts: where it connects).
//
// SIGINT (Ctrl-C, or `kill -INT`) while a statement runs sends the server a CancelRequest:
// the statement fails with 57014, that error is printed, and the next statement runs — the
// user stopped one statement, not the script. SIGINT between statements ends the process.

import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { SqlClientError, type SqlClient } from '@mrdb/server'
import { splitStatements } from '@mrdb/sql'
import type { Command } from 'commander'
import { CliError } from './output.js'
import { RESULT_FORMATS, formatResult, type ResultFormat } from './result-format.js'
import { runShell } from './sql-shell.js'
import { openSql, targetOfUrl, type SqlTarget } from './sql-target.js'

/** Where `mrdb sql` connects without --host. */
export const DEFAULT_SQL_HOST = '127.0.0.1:26257'

/** SQLSTATE of a cancelled statement. */
const QUERY_CANCELED = '57014'

interface SqlOptions {
  host: string
  url?: string
  user?: string
  execute?: string[]
  file?: string
  format: string
}

/** `--format`'s value, checked. */
export function resultFormat(value: string): ResultFormat {
  if (!RESULT_FORMATS.includes(value as ResultFormat)) throw new CliError('INVALID_ARGUMENT', `--format must be one of ${RESULT_FORMATS.join(', ')}, got '${value}'`)
  return value as ResultFormat
}

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

/** Standard input's lines, as they arrive. */
export function stdinLines(): AsyncIterable<string> {
  return createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity })
}

/** Reads standard input to its end. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Adds `sql` to the program. */
export function addSqlCommand(program: Command): void {
  program
    .command('sql')
    .description('the SQL shell on a terminal; otherwise run statements from -e, -f or standard input against a node')
    .option('--host <host:port>', 'any node of the cluster (its SQL address is asked of it)', DEFAULT_SQL_HOST)
    .option('--url <url>', 'connect straight to a SQL port: postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE (instead of --host)')
    .option('--user <name>', 'the user to log in as (default $PGUSER, else root; the password comes from $PGPASSWORD)')
    .option('-e, --execute <sql>', 'statements to run (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-f, --file <path>', 'a file of statements to run')
    .option('--format <format>', `output format: ${RESULT_FORMATS.join(', ')}`, 'table')
    .action(async (opts: SqlOptions) => {
      const format = resultFormat(opts.format)
      const target: SqlTarget = opts.url !== undefined ? targetOfUrl(opts.url, opts.user) : { kind: 'node', host: opts.host, user: opts.user }
      if (!opts.execute && !opts.file && process.stdin.isTTY) return runShell({ target, format })
      const script = opts.execute ? opts.execute.join(';\n') : opts.file ? await readFile(opts.file, 'utf8') : stdinLines()
      await runScript(target, script, format)
    })
}

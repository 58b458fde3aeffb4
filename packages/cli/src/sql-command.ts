// `mrdb sql`: with -e, -f or statements on standard input, runs them against a node and prints
// each result, stopping at the first error (printed with its SQLSTATE code, exit code 1);
// on a terminal with neither -e nor -f, opens the interactive shell (sql-shell.ts).

import { readFile } from 'node:fs/promises'
import { SqlClient } from '@mrdb/server'
import { splitStatements } from '@mrdb/sql'
import type { Command } from 'commander'
import { CliError } from './output.js'
import { RESULT_FORMATS, formatResult, type ResultFormat } from './result-format.js'
import { runShell } from './sql-shell.js'

/** Where `mrdb sql` connects without --host. */
export const DEFAULT_SQL_HOST = '127.0.0.1:26257'

interface SqlOptions {
  host: string
  execute?: string[]
  file?: string
  format: string
}

/** `--format`'s value, checked. */
export function resultFormat(value: string): ResultFormat {
  if (!RESULT_FORMATS.includes(value as ResultFormat)) throw new CliError('INVALID_ARGUMENT', `--format must be one of ${RESULT_FORMATS.join(', ')}, got '${value}'`)
  return value as ResultFormat
}

/** Runs every statement of `script` on `host`, printing each result; throws at the first error. */
export async function runScript(host: string, script: string, format: ResultFormat): Promise<void> {
  const { statements, rest } = splitStatements(script)
  if (rest) statements.push(rest)
  const client = new SqlClient(host)
  try {
    for (const statement of statements) process.stdout.write(formatResult(await client.query(statement), format))
  } finally {
    client.close()
  }
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
    .option('--host <host:port>', 'any node of the cluster', DEFAULT_SQL_HOST)
    .option('-e, --execute <sql>', 'statements to run (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-f, --file <path>', 'a file of statements to run')
    .option('--format <format>', `output format: ${RESULT_FORMATS.join(', ')}`, 'table')
    .action(async (opts: SqlOptions) => {
      const format = resultFormat(opts.format)
      if (!opts.execute && !opts.file && process.stdin.isTTY) return runShell({ host: opts.host, format })
      const script = opts.execute ? opts.execute.join(';\n') : opts.file ? await readFile(opts.file, 'utf8') : await readStdin()
      await runScript(opts.host, script, format)
    })
}

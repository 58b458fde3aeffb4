// `mrdb sql`: runs statements against a node, from -e, a file (-f) or standard input, and
// prints each result. Stops at the first error, printed with its SQLSTATE code, and exits 1.

import { readFile } from 'node:fs/promises'
import { SqlClient } from '@mrdb/server'
import { splitStatements } from '@mrdb/sql'
import type { Command } from 'commander'
import { CliError } from './output.js'
import { RESULT_FORMATS, formatResult, type ResultFormat } from './result-format.js'

/** Where `mrdb sql` connects without --host. */
export const DEFAULT_SQL_HOST = '127.0.0.1:26257'

interface SqlOptions {
  host: string
  execute?: string[]
  file?: string
  format: string
}

/** Adds `sql` to the program. */
export function addSqlCommand(program: Command): void {
  program
    .command('sql')
    .description('run SQL statements (from -e, -f or standard input) against a node')
    .option('--host <host:port>', 'any node of the cluster', DEFAULT_SQL_HOST)
    .option('-e, --execute <sql>', 'statements to run (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-f, --file <path>', 'a file of statements to run')
    .option('--format <format>', `output format: ${RESULT_FORMATS.join(', ')}`, 'table')
    .action(async (opts: SqlOptions) => {
      const format = opts.format as ResultFormat
      if (!RESULT_FORMATS.includes(format)) throw new CliError('INVALID_ARGUMENT', `--format must be one of ${RESULT_FORMATS.join(', ')}, got '${opts.format}'`)
      const script = opts.execute ? opts.execute.join(';\n') : opts.file ? await readFile(opts.file, 'utf8') : await readStdin()
      const { statements, rest } = splitStatements(script)
      if (rest) statements.push(rest)
      const client = new SqlClient(opts.host)
      try {
        for (const statement of statements) process.stdout.write(formatResult(await client.query(statement), format))
      } finally {
        client.close()
      }
    })
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

// `mrdb sql`: with -e, -f or statements on standard input, runs them against a node and prints
// each result (sql-script.ts); on a terminal with neither -e nor -f, opens the interactive
// shell (sql-shell.ts). It speaks PostgreSQL's wire protocol (sql-target.ts: where it
// connects). Those modules load only when the command runs.

import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { hostOption, nodeHost, reachableHost } from './host-option.js'
import { CliError } from './output.js'
import { RESULT_FORMATS, type ResultFormat } from './result-format.js'
import type { SqlTarget } from './sql-target.js'
import { stdinLines } from './stdin.js'

interface SqlOptions {
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

/** Adds `sql` to the program. */
export function addSqlCommand(program: Command): void {
  program
    .command('sql')
    .description('the SQL shell on a terminal; otherwise run statements from -e, -f or standard input against a node')
    .addOption(hostOption('any node of the cluster (its SQL address is asked of it)'))
    .option('--url <url>', 'connect straight to a SQL port: postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE (instead of --host)')
    .option('--user <name>', 'the user to log in as (default $PGUSER, else root; the password comes from $PGPASSWORD)')
    .option('-e, --execute <sql>', 'statements to run (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-f, --file <path>', 'a file of statements to run')
    .option('--format <format>', `output format: ${RESULT_FORMATS.join(', ')}`, 'table')
    .action(async (opts: SqlOptions, cmd: Command) => {
      const format = resultFormat(opts.format)
      const { targetOfUrl } = await import('./sql-target.js')
      const interactive = !opts.execute && !opts.file && process.stdin.isTTY === true
      // The shell opens even while its node is down (each statement reports what failed); a script fails at once.
      const target: SqlTarget =
        opts.url !== undefined ? targetOfUrl(opts.url, opts.user) : { kind: 'node', host: (interactive ? nodeHost(cmd) : await reachableHost(cmd)).address, user: opts.user }
      if (interactive) {
        const { runShell } = await import('./sql-shell.js')
        return runShell({ target, format })
      }
      const { runScript } = await import('./sql-script.js')
      // Lines readline reads before the loop over them starts are lost: nothing awaits in between.
      const script = opts.execute ? opts.execute.join(';\n') : opts.file ? await readFile(opts.file, 'utf8') : stdinLines()
      await runScript(target, script, format)
    })
}

// The interactive SQL shell of `mrdb sql` and `mrdb demo`: a prompt, statements that run when
// a line completes them with `;` (over as many lines as they take, `   -> ` prompting for
// more), results as aligned tables with their row count, errors as `ERROR: CODE: message`
// after which the shell goes on, backslash commands, and a history kept in ~/.mrdb_history.
// It talks to the node over PostgreSQL's wire protocol (sql-command.ts: how it finds the SQL
// port). The prompt shows the session's transaction state as psql does: `mrdb=>` idle,
// `mrdb*>` in a transaction, `mrdb!>` in a failed transaction (ROLLBACK ends it). Ctrl-C while
// a statement runs sends a CancelRequest (the statement ends with 57014) and comes back to the
// prompt; Ctrl-C on input clears it, and on an empty line quits.

import { appendFile, readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { SqlClient, SqlTransactionStatus } from '@mrdb/server'
import { splitStatements } from '@mrdb/sql'
import { RESULT_FORMATS, formatResult, type ResultFormat } from './result-format.js'
import { openSql, type SqlTarget } from './sql-target.js'

/** The prompt for a new statement, by the session's transaction state. */
export const PROMPTS: Readonly<Record<SqlTransactionStatus, string>> = { idle: 'mrdb=> ', 'in-transaction': 'mrdb*> ', failed: 'mrdb!> ' }
/** The prompt for a new statement outside a transaction. */
export const PROMPT = PROMPTS.idle
/** The prompt for a statement's next line. */
export const CONTINUATION_PROMPT = '   -> '
/** Lines of history kept. */
const HISTORY_SIZE = 1000

/** Options of {@link runShell}. */
export interface ShellOptions {
  /** Where the session goes. */
  target: SqlTarget
  format: ResultFormat
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  /** Where the history lives; default `$MRDB_HISTORY`, else `~/.mrdb_history`. */
  historyFile?: string
}

const HELP = `Statements end with ';' and may span lines. Backslash commands:
  \\d            list tables (SHOW TABLES)
  \\d TABLE      describe a table (SHOW COLUMNS FROM TABLE)
  \\timing       toggle printing each statement's time (or \\timing on|off)
  \\format F     print results as ${RESULT_FORMATS.join(', ')}
  \\?            this help
  Ctrl-C        cancel the running statement, or clear the current input
  \\q            quit (so does Ctrl-D, or Ctrl-C on an empty line)
`

/** Where the shell keeps its history unless told otherwise. */
export function defaultHistoryFile(): string {
  return process.env['MRDB_HISTORY'] ?? join(homedir(), '.mrdb_history')
}

async function loadHistory(file: string): Promise<string[]> {
  try {
    const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim().length > 0)
    return lines.slice(-HISTORY_SIZE).reverse()
  } catch {
    return []
  }
}

/** Runs the shell until `\q`, Ctrl-D, or Ctrl-C on an empty line. */
export async function runShell(o: ShellOptions): Promise<void> {
  const output = o.output ?? process.stdout
  const historyFile = o.historyFile ?? defaultHistoryFile()
  const rl = createInterface({
    input: o.input ?? process.stdin,
    output,
    prompt: PROMPT,
    terminal: true,
    history: await loadHistory(historyFile),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
  })
  const write = (s: string) => void output.write(s)
  let client: SqlClient | undefined
  let format = o.format
  let timing = false
  let pending: string[] = []
  /** The session, while a statement runs on it. */
  let running: SqlClient | undefined
  const prompt = () => (pending.length > 0 ? CONTINUATION_PROMPT : PROMPTS[client?.transactionStatus ?? 'idle'])

  rl.on('SIGINT', () => {
    if (running !== undefined) {
      // The statement's own error (57014) is printed when it comes back; the prompt follows.
      write('^C\n')
      void running.cancel()
      return
    }
    if (pending.length === 0 && rl.line.length === 0) {
      write('\n')
      rl.close()
      return
    }
    pending = []
    // Drop what was typed on this line, then start over.
    ;(rl as unknown as { line: string }).line = ''
    write('^C\n')
    rl.setPrompt(prompt())
    rl.prompt()
  })

  /** Records a finished statement (joined to one line) in the history and its file. */
  const remember = (lines: string[]) => {
    const history = (rl as unknown as { history: string[] }).history
    const entry = lines.map((l) => l.trim()).join(' ').trim()
    if (entry.length === 0) return
    if (lines.length > 1) {
      history.splice(0, lines.length)
      history.unshift(entry)
    }
    appendFile(historyFile, `${entry}\n`).catch(() => undefined)
  }

  const run = async (sql: string) => {
    const t0 = performance.now()
    try {
      client ??= await openSql(o.target)
      running = client
      write(formatResult(await client.query(sql), format))
    } catch (err) {
      const code = (err as { code?: unknown }).code
      write(`ERROR: ${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`)
      if (code === '08006') {
        // The session broke (a node went away): the next statement opens a new one.
        client?.close()
        client = undefined
      }
    } finally {
      running = undefined
    }
    if (timing) write(`Time: ${(performance.now() - t0).toFixed(3)} ms\n`)
  }

  /** Runs a backslash command; false when it asks to quit. */
  const meta = async (line: string): Promise<boolean> => {
    const [cmd, ...args] = line.trim().split(/\s+/)
    switch (cmd) {
      case '\\q':
        return false
      case '\\?':
        write(HELP)
        break
      case '\\timing':
        timing = args[0] === 'on' ? true : args[0] === 'off' ? false : !timing
        write(`Timing is ${timing ? 'on' : 'off'}.\n`)
        break
      case '\\format':
        if (RESULT_FORMATS.includes(args[0] as ResultFormat)) format = args[0] as ResultFormat
        else write(`ERROR: \\format takes one of ${RESULT_FORMATS.join(', ')}\n`)
        break
      case '\\d':
        await run(args[0] ? `SHOW COLUMNS FROM ${args[0].replace(/;$/, '')}` : 'SHOW TABLES')
        break
      default:
        write(`ERROR: invalid command ${cmd}; try \\? for help\n`)
    }
    return true
  }

  try {
    rl.prompt()
    for await (const line of rl) {
      if (pending.length === 0 && line.trim().startsWith('\\')) {
        remember([line])
        if (!(await meta(line))) break
      } else if (pending.length > 0 || line.trim().length > 0) {
        pending.push(line)
        const { statements, rest } = splitStatements(pending.join('\n'))
        if (statements.length > 0 || rest.length === 0) {
          remember(pending)
          pending = rest.length > 0 ? [rest] : []
          for (const statement of statements) await run(statement)
        }
      }
      rl.setPrompt(prompt())
      rl.prompt()
    }
  } finally {
    rl.close()
    client?.close()
  }
}

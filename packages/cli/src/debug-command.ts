// `mrdb debug check-indexes`: asks a node to check, at one snapshot, that every row of every
// table has each of its index entries and that every index entry belongs to a row (the SQL
// statement CHECK INDEXES, run server-side), prints one line per index, and exits 1 when any
// index is inconsistent.

import { SqlClient } from '@mrdb/server'
import { sqlAddressOf } from './sql-target.js'
import type { Command } from 'commander'
import { CliError } from './output.js'
import { DEFAULT_SQL_HOST } from './sql-command.js'

interface CheckIndexesOptions {
  host: string
  table?: string
  json?: boolean
}

/** One index's verdict, as CHECK INDEXES reports it. */
export interface IndexCheck {
  readonly table: string
  readonly index: string
  readonly rows: number
  readonly entries: number
  /** Rows without their entry. */
  readonly missing: number
  /** Entries whose row is missing or does not match them. */
  readonly dangling: number
  readonly ok: boolean
}

/** Runs CHECK INDEXES on the node at `host` (all tables, or `table`). */
export async function checkIndexes(host: string, table?: string): Promise<IndexCheck[]> {
  const client = new SqlClient(await sqlAddressOf(host))
  try {
    const r = await client.query(table === undefined ? 'CHECK INDEXES' : `CHECK INDEXES "${table.replaceAll('"', '')}"`)
    return r.rows.map((row) => ({
      table: String(row[0]),
      index: String(row[1]),
      rows: Number(row[2]),
      entries: Number(row[3]),
      missing: Number(row[4]),
      dangling: Number(row[5]),
      ok: row[6] === 'ok',
    }))
  } finally {
    client.close()
  }
}

/** Adds `debug` and its subcommands to the program. */
export function addDebugCommand(program: Command): void {
  const debug = program.command('debug').description('consistency checks of a running cluster')
  debug
    .command('check-indexes')
    .description('check that every row has every index entry and every index entry points at its row; exits 1 on any inconsistency')
    .option('--host <host:port>', 'any node of the cluster', DEFAULT_SQL_HOST)
    .option('--table <name>', 'check one table only')
    .option('--json', 'print the result as JSON')
    .action(async (opts: CheckIndexesOptions) => {
      const checks = await checkIndexes(opts.host, opts.table)
      const bad = checks.filter((c) => !c.ok)
      if (opts.json) process.stdout.write(`${JSON.stringify({ ok: bad.length === 0, indexes: checks })}\n`)
      else {
        for (const c of checks) {
          const detail = c.ok ? '' : `  missing ${c.missing}  dangling ${c.dangling}`
          process.stdout.write(`${c.ok ? 'ok          ' : 'INCONSISTENT'}  ${c.table}.${c.index}  rows ${c.rows}  entries ${c.entries}${detail}\n`)
        }
        process.stdout.write(`${checks.length} index(es) checked, ${bad.length} inconsistent\n`)
      }
      if (bad.length > 0) throw new CliError('INDEX_INCONSISTENT', `${bad.length} of ${checks.length} indexes are inconsistent: ${bad.map((c) => `${c.table}.${c.index}`).join(', ')}`)
    })
}

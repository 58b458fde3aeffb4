// `mrdb debug check-indexes`: asks a node to check, at one snapshot, that every row of every
// table has each of its index entries and that every index entry belongs to a row (the SQL
// statement CHECK INDEXES, run server-side), prints one line per index, and exits 1 when any
// index is inconsistent. check-indexes.ts does the work, loaded only when it runs.

import type { Command } from 'commander'
import { hostOption, reachableHost } from './host-option.js'
import { CliError } from './output.js'

interface CheckIndexesOptions {
  table?: string
  json?: boolean
}

/** Adds `debug` and its subcommands to the program. */
export function addDebugCommand(program: Command): void {
  const debug = program.command('debug').description('consistency checks of a running cluster')
  debug
    .command('check-indexes')
    .description('check that every row has every index entry and every index entry points at its row; exits 1 on any inconsistency')
    .addOption(hostOption())
    .option('--table <name>', 'check one table only')
    .option('--json', 'print the result as JSON')
    .action(async (opts: CheckIndexesOptions, cmd: Command) => {
      const host = await reachableHost(cmd)
      const { checkIndexes } = await import('./check-indexes.js')
      const checks = await checkIndexes(host.address, opts.table)
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

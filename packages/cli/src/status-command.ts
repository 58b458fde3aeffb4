// `mrdb status`: the cluster's health in one screen; exits 1 when a range is unavailable.
// status-action.ts does the work, loaded only when it runs.

import type { Command } from 'commander'
import { hostOption, nodeHost, reachableHost } from './host-option.js'
import { positiveInt } from './output.js'

/** Adds `status` to the program. */
export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('cluster health: stores, and unavailable or under-replicated ranges (exit code 1 when a range is unavailable)')
    .addOption(hostOption())
    .option('--json', 'print JSON')
    .option('--wait', 'first wait until every range is available and fully replicated, showing progress')
    .option('--timeout <seconds>', 'give up waiting after this long (exit code 1)', '300')
    .action(async (opts: { json?: boolean; wait?: boolean; timeout: string }, cmd: Command) => {
      const timeoutS = positiveInt(opts.timeout, '--timeout')
      // --wait also waits for a node that does not listen yet.
      const host = opts.wait ? nodeHost(cmd) : await reachableHost(cmd)
      const { status } = await import('./status-action.js')
      await status(host.address, { waitS: opts.wait ? timeoutS : undefined, json: opts.json === true })
    })
}

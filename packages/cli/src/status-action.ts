// `mrdb status`: the cluster's health in one screen — overall status, stores (live, dead,
// leaving) with their replica and leader counts, and every unavailable or under-replicated
// range. Exits 1 when a range is unavailable, so scripts can wait on it; with --wait, first
// waits (showing what is left) until every range is available and fully replicated.

import { PD_SERVICE, type PdHealthResponse } from '@mrdb/server'
import type { Command } from 'commander'
import { callNode } from './node-call.js'
import { CliError, positiveInt } from './output.js'

interface StatusOptions {
  host: string
  json?: boolean
  wait?: boolean
  timeout: string
}

/** Polls the health until no range is unavailable or under-replicated; progress on stderr. */
async function waitHealed(host: string, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000
  let shown = ''
  for (;;) {
    let state: string
    try {
      const { health } = await callNode(host, PD_SERVICE.health, {})
      if (health && health.unavailable.length === 0 && health.underReplicated.length === 0) return
      state = health ? `${health.unavailable.length} unavailable, ${health.underReplicated.length} under-replicated of ${health.ranges} ranges` : 'no health report yet'
    } catch (err) {
      state = `no answer (${(err as { code?: string }).code ?? 'error'})`
    }
    if (state !== shown) process.stderr.write(`waiting: ${(shown = state)}\n`)
    if (Date.now() > deadline) throw new CliError('TIMEOUT', `ranges still not fully replicated after ${timeoutS} s: ${state}`)
    await new Promise((r) => setTimeout(r, 1000))
  }
}

/** Adds `status` to the program. */
export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('cluster health: stores, and unavailable or under-replicated ranges (exit code 1 when a range is unavailable)')
    .requiredOption('--host <host:port>', 'any node of the cluster')
    .option('--json', 'print JSON')
    .option('--wait', 'first wait until every range is available and fully replicated, showing progress')
    .option('--timeout <seconds>', 'give up waiting after this long (exit code 1)', '300')
    .action(async (opts: StatusOptions) => {
      if (opts.wait) await waitHealed(opts.host, positiveInt(opts.timeout, '--timeout'))
      const { health, stores = [] }: PdHealthResponse = await callNode(opts.host, PD_SERVICE.health, {})
      if (!health) throw new CliError('UNAVAILABLE', 'the placement driver sent no health report')
      if (health.status === 'unavailable') process.exitCode = 1
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...health, storeList: stores })}\n`)
        return
      }
      const s = health.stores
      const lines = [
        `status: ${health.status}`,
        `stores: ${s.live} live, ${s.dead} dead, ${s.decommissioning} decommissioning${s.removed > 0 ? `, ${s.removed} removed` : ''}`,
        `ranges: ${health.ranges}, ${health.unavailable.length} unavailable, ${health.underReplicated.length} under-replicated`,
        '',
        'store\taddress\tstate\tlive\treplicas\tleaders',
        ...stores.map((x) => `${x.storeId}\t${x.address}\t${x.state}\t${x.live ? 'yes' : 'no'}\t${x.replicaCount}\t${x.leaderCount}`),
      ]
      const list = (title: string, ranges: typeof health.unavailable) =>
        ranges.length === 0 ? [] : ['', title, ...ranges.map((r) => `  range ${r.rangeId}: ${r.liveVoters}/${r.voters} voters live, leader ${r.leaderNodeId ? `on store ${r.leaderNodeId}` : 'unknown'}`)]
      lines.push(...list('unavailable ranges:', health.unavailable), ...list('under-replicated ranges:', health.underReplicated))
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}

// `mrdb status`: the cluster's health in one screen — overall status, stores (live, dead,
// leaving) with their replica and leader counts, and every unavailable or under-replicated
// range. Exits 1 when a range is unavailable, so scripts can wait on it.

import { PD_SERVICE } from '@mrdb/server'
import type { Command } from 'commander'
import { callNode } from './node-call.js'

/** Adds `status` to the program. */
export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('cluster health: stores, and unavailable or under-replicated ranges (exit code 1 when a range is unavailable)')
    .requiredOption('--host <host:port>', 'any node of the cluster')
    .option('--json', 'print JSON')
    .action(async (opts: { host: string; json?: boolean }) => {
      const { health, stores = [] } = await callNode(opts.host, PD_SERVICE.health, {})
      if (!health) throw new Error('the placement driver sent no health report')
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

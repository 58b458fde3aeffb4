// What `mrdb status` does (status-command.ts defines it): the cluster's health in one
// screen — overall status, stores (live, dead, leaving) with their replica and leader counts,
// and every unavailable or under-replicated range. Exits 1 when a range is unavailable, so scripts can wait on it; with --wait, first
// waits (showing what is left) until every range is available and fully replicated.

import { PD_SERVICE, type PdHealthResponse } from '@mrdb/server'
import { callNode } from './node-call.js'
import { CliError } from './output.js'

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

/** `mrdb status`: with `waitS`, first waits (see the file comment); then prints the health. */
export async function status(host: string, o: { waitS?: number; json: boolean }): Promise<void> {
  if (o.waitS !== undefined) await waitHealed(host, o.waitS)
  const { health, stores = [] }: PdHealthResponse = await callNode(host, PD_SERVICE.health, {})
  if (!health) throw new CliError('UNAVAILABLE', 'the placement driver sent no health report')
  if (health.status === 'unavailable') process.exitCode = 1
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ...health, storeList: stores })}\n`)
    return
  }
  const s = health.stores
  const lines = [
    `status: ${health.status}`,
    `stores: ${s.live} live, ${s.dead} dead, ${s.decommissioning} decommissioning${s.removed > 0 ? `, ${s.removed} removed` : ''}`,
    `ranges: ${health.ranges}, ${health.unavailable.length} unavailable, ${health.underReplicated.length} under-replicated`,
    ...(health.pd ? [pdLine(health.pd)] : []),
    '',
    'store\taddress\tstate\tlive\treplicas\tleaders',
    ...stores.map((x) => `${x.storeId}\t${x.address}\t${x.state}\t${x.live ? 'yes' : 'no'}\t${x.replicaCount}\t${x.leaderCount}`),
  ]
  const list = (title: string, ranges: typeof health.unavailable) =>
    ranges.length === 0 ? [] : ['', title, ...ranges.map((r) => `  range ${r.rangeId}: ${r.liveVoters}/${r.voters} voters live, leader ${r.leaderNodeId ? `on store ${r.leaderNodeId}` : 'unknown'}`)]
  lines.push(...list('unavailable ranges:', health.unavailable), ...list('under-replicated ranges:', health.underReplicated))
  process.stdout.write(`${lines.join('\n')}\n`)
}

/** The placement driver's group in one line: its voters' stores, leader, learners and dead voters. */
function pdLine(pd: NonNullable<NonNullable<PdHealthResponse['health']>['pd']>): string {
  const leader = pd.leaderNodeId ? `leader on store ${pd.leaderNodeId}` : 'leader unknown'
  const learners = pd.learners.length > 0 ? `, learners on ${pd.learners.join(', ')}` : ''
  const dead = pd.deadVoters.length > 0 ? `, dead voters on ${pd.deadVoters.join(', ')}` : ''
  return `placement driver: voters on stores ${pd.voters.join(', ')}, ${leader}${learners}${dead}`
}

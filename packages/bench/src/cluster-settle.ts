import type { ProcessCluster } from '@mrdb/cli/testing'

/**
 * Waits (up to 60 s) until every one of the cluster's `ranges` ranges has a leader and the
 * placement driver has balanced leadership across the nodes, so that no leader moves while a
 * benchmark measures.
 */
export async function settled(cluster: ProcessCluster, ranges: number): Promise<void> {
  const deadline = Date.now() + 60_000
  let previous = ''
  while (Date.now() < deadline) {
    const stores = JSON.parse(await cluster.mrdb(['node', 'list', '--json', '--host', cluster.address(1)])) as Array<{ leaderCount: number }>
    const leaders = stores.map((s) => s.leaderCount)
    const now = leaders.join(',')
    const total = leaders.reduce((a, b) => a + b, 0)
    if (total === ranges && Math.max(...leaders) - Math.min(...leaders) <= 2 && now === previous) return
    previous = now
    await new Promise((r) => setTimeout(r, 2000))
  }
  console.log('  (placement did not settle within 60 s; measuring anyway)')
}

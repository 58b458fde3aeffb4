// The placement driver's own Raft group on real node processes: on five nodes, two of the
// PD's stores die for good, one after the other; each time the group is rebuilt on a live
// store (a learner filled by snapshot, then one joint change), and operator splits, range
// repairs (replica moves) and timestamps (SQL transactions) go on.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RangeDescriptorJson } from '@mrdb/kv'
import type { PdHealthResponse, StoreViewJson } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'
import { nodeStatus, waitFor } from './helpers.js'

/** Dead after 4 s of silence, heartbeats and scheduler passes every 300 ms. */
const FAST_PLACEMENT = ['--heartbeat-ms', '300', '--store-dead-ms', '4000']

type Status = NonNullable<PdHealthResponse['health']> & { storeList: StoreViewJson[] }

/** `mrdb status --json` through a node (rejects while some range is unavailable: exit code 1). */
async function status(cluster: ProcessCluster, host: number): Promise<Status> {
  return JSON.parse(await cluster.mrdb(['status', '--json', '--host', cluster.address(host)])) as Status
}

async function ranges(cluster: ProcessCluster, host: number): Promise<RangeDescriptorJson[]> {
  return JSON.parse(await cluster.mrdb(['range', 'list', '--json', '--host', cluster.address(host)])) as RangeDescriptorJson[]
}

test('PD membership: two PD stores die for good, one after the other; the PD group is rebuilt on the others and splits, moves and timestamps go on', async () => {
  // Three nodes at init hold the PD group; two more join after.
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: FAST_PLACEMENT })
  try {
    await cluster.startNode(4)
    await cluster.startNode(5)
    const live = new Set([1, 2, 3, 4, 5])
    const anyLive = () => [...live][0]!
    await waitFor('five live stores', async () => (await status(cluster, 1)).storeList.filter((s) => s.live).length === 5, 30_000)
    const first = (await status(cluster, 1)).pd!
    assert.equal(first.voters.length, 3, `the PD group is on ${first.voters.join(', ')}`)
    await cluster.mrdb(['sql', '--host', cluster.address(1), '-e', 'CREATE TABLE t (id INT PRIMARY KEY, v TEXT)'])

    const pdLeader = async (): Promise<number> => {
      let leader = 0
      await waitFor('a PD leader', async () => {
        for (const id of live) if ((await nodeStatus(cluster.address(id))).pd?.role === 'leader') leader = id
        return leader !== 0
      })
      return leader
    }
    let rows = 0
    // First a PD follower dies, then the PD leader itself.
    for (const round of [0, 1]) {
      const before = (await status(cluster, anyLive())).pd!
      const leader = await pdLeader()
      const victim = round === 0 ? before.voters.find((v) => v !== leader)! : leader
      await cluster.kill(victim)
      live.delete(victim)
      const killed = Date.now()
      await waitFor(
        `the PD group rebuilt without store ${victim}`,
        async () => {
          const pd = (await status(cluster, anyLive())).pd!
          return pd.voters.length === 3 && pd.learners.length === 0 && pd.voters.every((v) => live.has(v)) && pd.deadVoters.length === 0
        },
        60_000,
      )
      const pd = (await status(cluster, anyLive())).pd!
      console.log(`store ${victim} killed: PD group on ${pd.voters.join(', ')} after ${Date.now() - killed} ms`)
      assert.equal(new Set(pd.voters).size, 3, 'one PD replica per store')
      const stores = (await status(cluster, anyLive())).storeList
      assert.deepEqual(stores.filter((s) => s.pdRole === 'voter').map((s) => s.storeId).sort(), [...pd.voters].sort())

      // Ranges are repaired off the dead store (replica moves), and operator splits go on.
      await waitFor(
        'every range on three live voters',
        async () => (await ranges(cluster, anyLive())).every((r) => r.replicas.filter((x) => x.role === 'voter' && live.has(x.nodeId)).length === 3 && r.replicas.every((x) => live.has(x.nodeId))),
        60_000,
      )
      const splitKey = round === 0 ? 'g' : 'q'
      await cluster.mrdb(['range', 'split', '--key', splitKey, '--host', cluster.address(anyLive())])
      assert.ok((await ranges(cluster, anyLive())).some((r) => r.startKey === Buffer.from(splitKey).toString('hex')), `a range starts at ${splitKey}`)

      // Timestamps: SQL transactions through every live node.
      for (const id of live) {
        const row = round * 10 + id
        await cluster.mrdb(['sql', '--host', cluster.address(id), '-e', `BEGIN; INSERT INTO t VALUES (${row}, 'r${round}'); UPDATE t SET v = 'u${round}' WHERE id = ${row}; COMMIT`])
        rows++
      }
      const count = await cluster.mrdb(['sql', '--host', cluster.address(anyLive()), '--format', 'csv', '-e', `SELECT count(*) FROM t WHERE v LIKE 'u%'`])
      assert.match(count, new RegExp(`^${rows}$`, 'm'), count)
    }
  } finally {
    await cluster.stop()
  }
})

// The placement driver's own Raft group on real node processes: on five nodes, two of the
// PD's stores die for good, one after the other (a follower, then the PD leader); each time
// the group is rebuilt on a live store (a learner filled by snapshot, then one joint change),
// and operator splits, range repairs (replica moves) and timestamps (SQL transactions on
// every live node) go on; the first store killed then comes back and drops its stale PD
// replica. Polling uses the PD service; `mrdb status --json` shows the result.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client, credentials } from '@grpc/grpc-js'
import pg from 'pg'
import { unaryCall } from '@mrdb/kv'
import { PD_SERVICE, type PdHealthResponse, type StoreViewJson } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'
import { nodeStatus, waitFor } from './helpers.js'

/** Dead after 4 s of silence; heartbeats and scheduler passes every 300 ms. */
const FAST_PLACEMENT = ['--heartbeat-ms', '300', '--store-dead-ms', '4000']

type Health = NonNullable<PdHealthResponse['health']>

test('PD membership: two PD stores die for good, one after the other; the PD group is rebuilt on the others and splits, moves and timestamps go on', async () => {
  // Three nodes at init hold the PD group; two more join after.
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: FAST_PLACEMENT })
  const channels = new Map<string, Client>()
  const pd = async <Req, Res extends { error?: { message: string } }>(method: typeof PD_SERVICE.health | typeof PD_SERVICE.routing, host: number): Promise<Res> => {
    const address = cluster.address(host)
    let channel = channels.get(address)
    if (!channel) channels.set(address, (channel = new Client(address, credentials.createInsecure())))
    const res = (await unaryCall(channel, method as never, {} as Req, Date.now() + 5000)) as Res
    if (res.error) throw new Error(res.error.message)
    return res
  }
  try {
    await cluster.startNode(4)
    await cluster.startNode(5)
    const live = new Set([1, 2, 3, 4, 5])
    const anyLive = () => [...live][0]!
    const health = async (): Promise<Health & { storeList: StoreViewJson[] }> => {
      const res = await pd<unknown, PdHealthResponse>(PD_SERVICE.health, anyLive())
      return { ...res.health!, storeList: res.stores ?? [] }
    }
    const pdLeader = async (): Promise<number> => {
      let leader = 0
      await waitFor('a PD leader', async () => {
        for (const id of live) if ((await nodeStatus(cluster.address(id))).pd?.role === 'leader') leader = id
        return leader !== 0
      })
      return leader
    }
    await waitFor('five live stores', async () => (await health()).storeList.filter((s) => s.live).length === 5, 30_000)
    assert.equal((await health()).pd?.voters.length, 3)

    let rows = 0
    const killed: number[] = []
    // First a PD follower dies, then the PD leader itself.
    for (const round of [0, 1]) {
      const leader = await pdLeader()
      const victim = round === 0 ? (await health()).pd!.voters.find((v) => v !== leader)! : leader
      await cluster.kill(victim)
      live.delete(victim)
      killed.push(victim)
      const killedAt = Date.now()
      await waitFor(
        `the PD group rebuilt without store ${victim}`,
        async () => {
          const g = (await health()).pd!
          return g.voters.length === 3 && g.learners.length === 0 && g.deadVoters.length === 0 && g.voters.every((v) => live.has(v))
        },
        60_000,
      )
      console.log(`store ${victim} killed: PD group on ${(await health()).pd!.voters.join(', ')} after ${Date.now() - killedAt} ms`)
      // What an operator sees: the PD group on live stores, one replica per store. (mrdb status
      // exits 1 while a range is unavailable: one the killed store led, until another leads it.)
      await waitFor('every range led by a live store', async () => (await health()).unavailable.length === 0, 60_000)
      const status = JSON.parse(await cluster.mrdb(['status', '--json', '--host', cluster.address(anyLive())])) as Health & { storeList: StoreViewJson[] }
      assert.ok(status.pd && status.pd.voters.every((v) => live.has(v)), JSON.stringify(status.pd))
      assert.deepEqual(status.storeList.filter((s) => s.pdRole !== undefined).map((s) => s.storeId).sort(), [...status.pd.voters].sort())

      // Ranges are repaired off the dead store (replica moves), and operator splits go on.
      await waitFor(
        'every range on three live voters',
        async () => {
          const { ranges = [] } = await pd<unknown, { ranges?: Array<{ descriptor: { replicas: Array<{ nodeId: number; role: string }> } }>; error?: { message: string } }>(PD_SERVICE.routing, anyLive())
          return ranges.every(({ descriptor: d }) => d.replicas.length === 3 && d.replicas.every((x) => x.role === 'voter' && live.has(x.nodeId)))
        },
        60_000,
      )
      const splitKey = round === 0 ? 'g' : 'q'
      const split = JSON.parse(await cluster.mrdb(['range', 'split', '--key', splitKey, '--host', cluster.address(anyLive()), '--json'])) as { right: { startKey: string } }
      assert.equal(split.right.startKey, Buffer.from(splitKey).toString('hex'), 'the new range starts at the split key')

      // Timestamps: a SQL transaction through every live node.
      for (const id of live) {
        const client = new pg.Client(cluster.sqlUrl(id))
        await client.connect()
        try {
          if (rows === 0) await client.query('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)')
          await client.query('BEGIN')
          await client.query('INSERT INTO t VALUES ($1, $2)', [round * 10 + id, `r${round}`])
          await client.query('UPDATE t SET v = $1 WHERE id = $2', [`u${round}`, round * 10 + id])
          await client.query('COMMIT')
          rows++
          const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM t WHERE v LIKE 'u%'`)
          assert.equal(Number(counted[0]!.n), rows)
        } finally {
          await client.end()
        }
      }
    }

    // The first store killed comes back: the group removed its PD replica while it was away,
    // so it stops that replica (its own membership still lists it) and the group stays put.
    const back = killed[0]!
    const members = [...(await health()).pd!.voters].sort()
    await cluster.startNode(back)
    live.add(back)
    await waitFor(`store ${back} to stop its old PD replica`, async () => (await nodeStatus(cluster.address(back))).pd === undefined && (await health()).storeList.find((s) => s.storeId === back)?.live === true, 30_000)
    assert.deepEqual([...(await health()).pd!.voters].sort(), members)
    // mrdb status exits 1 while a range is unavailable, which includes a range whose leader the
    // PD has not heard of since the second store died with its leaderships (seen: exited 1).
    await waitFor('every range led by a live store', async () => (await health()).unavailable.length === 0, 30_000)
    const text = await cluster.mrdb(['status', '--host', cluster.address(back)])
    assert.match(text, new RegExp(`placement driver: voters on stores ${members.map(() => '\\d').join(', ')}, leader on store \\d`), text)
  } finally {
    for (const c of channels.values()) c.close()
    await cluster.stop()
  }
})

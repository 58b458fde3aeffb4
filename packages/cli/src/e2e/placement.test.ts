// The placement driver on real node processes: automatic splits (by size and by load),
// scale-out (replicas and leaders spread to new nodes), repair after a node dies,
// decommissioning, operator splits and merges under load, a replica move whose leader dies
// part-way, and
// the timestamp oracle across PD leader deaths. Writers run throughout; every write they
// were told succeeded must be readable at the end.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client, credentials } from '@grpc/grpc-js'
import { KvClient, unaryCall, type RangeDescriptorJson } from '@mrdb/kv'
import { PD_SERVICE, type StoreViewJson } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'
import { nodeStatus, rangeList, storeList, waitFor } from './helpers.js'

/** Placement knobs small enough for a test: dead after 4 s, split above 150 keys. */
const FAST_PLACEMENT = ['--heartbeat-ms', '300', '--store-dead-ms', '4000', '--split-keys', '150']

function counts(list: StoreViewJson[]): string {
  return list.map((s) => `store ${s.storeId}: ${s.replicaCount} replicas, ${s.leaderCount} leaders${s.state !== 'up' ? ` (${s.state})` : s.live ? '' : ' (dead)'}`).join('; ')
}

/** Writes unique keys through the client until stopped; remembers every acknowledged one. */
class Writer {
  readonly acknowledged: string[] = []
  readonly errors: string[] = []
  private stopped = false
  private readonly done: Promise<void>

  /** `batchSize` > 1: each write is a batch of that many keys spread over `spread` (so over several ranges). */
  constructor(client: KvClient, prefix: string, spread: string[], batchSize = 1) {
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const keys = Array.from({ length: batchSize }, (_, j) => `${spread[(i * batchSize + j) % spread.length]}${prefix}-${String(i).padStart(6, '0')}-${j}`)
        try {
          if (batchSize === 1) await client.put(keys[0]!, `v${i}`)
          else await client.batch(keys.map((key) => ({ key, value: `v${i}` })))
          this.acknowledged.push(...keys)
        } catch (err) {
          this.errors.push(`${keys[0]}: ${err instanceof Error ? err.message : String(err)}`)
        }
      }
    })()
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.done
  }
}

async function assertAllReadable(client: KvClient, writers: Writer[]): Promise<void> {
  for (const w of writers) {
    for (const key of w.acknowledged) {
      assert.ok((await client.get(key)) !== undefined, `acknowledged key ${key} is missing`)
    }
  }
}

test('placement: ranges split as they grow, spread to new nodes, are repaired when a node dies and drain off a decommissioned one; no acknowledged write is lost', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: FAST_PLACEMENT })
  const client = new KvClient({ hosts: cluster.addresses(), timeoutMs: 30_000 })
  const writer = new Writer(client, 'w', ['a', 'f', 'k', 'p', 'u'])
  try {
    const host = cluster.address(1)
    await waitFor('automatic splits', async () => (await rangeList(host)).length >= 4, 90_000)
    await waitFor('range sizes and load in the range list', async () => {
      const list = await rangeList(host)
      return list.some((r) => r.approximateKeys > 0 && r.approximateBytes > 0 && r.queriesPerSecond > 0)
    })
    console.log(`before scale-out: ${counts(await storeList(host))}`)

    await cluster.startNode(4)
    await cluster.startNode(5)
    await waitFor(
      'replicas and leaders on the new nodes',
      async () => {
        const s = await storeList(host)
        return [4, 5].every((id) => {
          const store = s.find((x) => x.storeId === id)
          return store !== undefined && store.replicaCount > 0 && store.leaderCount > 0
        })
      },
      120_000,
    )
    console.log(`after scale-out: ${counts(await storeList(host))}`)

    // Kill a node that is not in the PD group (stores 1-3 hold it): every range must end
    // with three voters, all on live stores.
    await cluster.kill(5)
    await waitFor(
      'every range back to 3 live voters',
      async () => {
        const list = await rangeList(host)
        return list.every((r) => r.replicas.filter((x) => x.role === 'voter' && x.nodeId !== 5).length === 3 && r.replicas.every((x) => x.nodeId !== 5))
      },
      120_000,
    )
    console.log(`after node 5 died: ${counts(await storeList(host))}`)

    // Decommission store 4: its replicas drain to the others, then it is marked removed.
    const out = JSON.parse(await cluster.mrdb(['node', 'decommission', '4', '--wait', '--host', host, '--json'])) as { state: string }
    assert.equal(out.state, 'removed')
    const after = await rangeList(host)
    assert.ok(
      after.every((r) => r.replicas.filter((x) => x.role === 'voter').length === 3 && r.replicas.every((x) => x.nodeId <= 3)),
      JSON.stringify(after.map((r) => r.replicas)),
    )
    console.log(`after store 4 was decommissioned: ${counts(await storeList(host))}`)
    await writer.stop()
    assert.ok(writer.acknowledged.length > 100, `only ${writer.acknowledged.length} writes were acknowledged`)
    await assertAllReadable(client, [writer])
  } finally {
    await writer.stop()
    client.close()
    await cluster.stop()
  }
})

test('placement: 20 operator splits and 2 merges while 8 writers write across the boundaries; writers see no errors and lose nothing', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
  const client = new KvClient({ hosts: cluster.addresses(), timeoutMs: 30_000 })
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('')
  // Seven writers of single keys and one of batches that span several ranges.
  const writers = Array.from({ length: 8 }, (_, i) => new Writer(client, `s${i}`, letters, i === 7 ? 5 : 1))
  try {
    const host = cluster.address(1)
    const splitKeys = letters.slice(1, 21)
    for (const [i, key] of splitKeys.entries()) {
      await cluster.mrdb(['range', 'split', '--key', key, '--host', cluster.address(1 + (i % 3)), '--json'])
    }
    const list = await rangeList(host)
    assert.equal(list.length, 21, `ranges: ${list.map((r) => r.rangeId).join(',')}`)
    // Two merges back, still under the writers: [c, d) + [d, e), then [m, n) + [n, o).
    for (const start of ['c', 'm']) {
      const left = list.find((r) => r.startKey === Buffer.from(start).toString('hex'))!
      const merged = JSON.parse(await cluster.mrdb(['range', 'merge', String(left.rangeId), '--host', host, '--json'])) as RangeDescriptorJson
      assert.equal(Buffer.from(merged.endKey, 'hex').toString(), String.fromCharCode(start.charCodeAt(0) + 2))
    }
    await waitFor('the PD table shows the merges', async () => (await rangeList(host)).length === 19)
    await new Promise((r) => setTimeout(r, 1000))
    for (const w of writers) await w.stop()
    assert.deepEqual(
      writers.flatMap((w) => w.errors),
      [],
    )
    await assertAllReadable(client, writers)
    // Splits at keys that already are boundaries are refused with a code.
    await assert.rejects(cluster.mrdb(['range', 'split', '--key', 'b', '--host', host]), /INVALID_ARGUMENT/)
    // Bad operator input gets a code, never a stack trace.
    await assert.rejects(cluster.mrdb(['member', 'add', '--range', '999', '--store', '1', '--host', host]), /error: RANGE_NOT_FOUND/)
    const last = (await rangeList(host)).find((r) => r.endKey === '')!
    await assert.rejects(cluster.mrdb(['range', 'merge', String(last.rangeId), '--host', host]), /error: INVALID_ARGUMENT: .*no right-hand neighbour/)
    await assert.rejects(cluster.mrdb(['member', 'add', '--range', 'x', '--store', '1', '--host', host]), /error: INVALID_ARGUMENT/)
  } finally {
    for (const w of writers) await w.stop()
    client.close()
    await cluster.stop()
  }
})

test('placement: a replica move whose range leader is killed part-way ends, by the PD, in a valid configuration with the data intact', async () => {
  const cluster = await ProcessCluster.start({ nodes: 4, ranges: 1, startArgs: ['--heartbeat-ms', '300'] })
  const client = new KvClient({ hosts: cluster.addresses(), timeoutMs: 30_000 })
  try {
    const host = cluster.address(1)
    const keys: string[] = []
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        keys.push(`mv${keys.length}`)
        await client.put(keys.at(-1)!, 'x')
      }
    }
    await write(100)
    // Kill the leader at different points of `member add` (learner added, catching up, joint).
    for (const delayMs of [50, 300, 800]) {
      const [range] = await rangeList(host)
      const target = [1, 2, 3, 4].find((n) => !range!.replicas.some((r) => r.nodeId === n))!
      await waitFor('a known leader', async () => (await rangeList(host))[0]!.leaderNodeId !== 0)
      const leader = (await rangeList(host))[0]!.leaderNodeId
      const adding = cluster.mrdb(['member', 'add', '--range', String(range!.rangeId), '--store', String(target), '--host', cluster.address(target)]).catch(() => '')
      await new Promise((r) => setTimeout(r, delayMs))
      await cluster.kill(leader)
      await adding
      await write(20)
      await cluster.startNode(leader)
      // The PD finishes or undoes what was left: three voters, no learner, everyone caught up.
      await waitFor(
        `a valid configuration after the leader died ${delayMs} ms into the move`,
        async () => {
          const [r] = await rangeList(host)
          return r!.replicas.length === 3 && r!.replicas.every((x) => x.role === 'voter') && r!.leaderNodeId !== 0
        },
        90_000,
      )
    }
    for (const key of keys) assert.equal(Buffer.from((await client.get(key)) ?? []).toString(), 'x', key)
    const [r] = await rangeList(host)
    await waitFor('replicas agree', async () => {
      const sums = await Promise.all(r!.replicas.map((x) => client.checksum(r!.rangeId, x.nodeId)))
      return new Set(sums.map((x) => `${x.appliedIndex}/${x.checksum}`)).size === 1
    })
  } finally {
    client.close()
    await cluster.stop()
  }
})

test('placement: a range under load splits though it holds few keys', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: ['--heartbeat-ms', '300', '--split-qps', '30'] })
  const client = new KvClient({ hosts: cluster.addresses(), timeoutMs: 30_000 })
  try {
    let stop = false
    const hot = (async () => {
      for (let i = 0; !stop; i++) await client.put(`hot${i % 10}`, String(i))
    })()
    await waitFor('a load-based split', async () => (await rangeList(cluster.address(1))).length >= 2, 60_000)
    stop = true
    await hot
  } finally {
    client.close()
    await cluster.stop()
  }
})

test('placement: the timestamp oracle stays strictly increasing across PD leader kills', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
  try {
    let last = 0n
    const take = async (): Promise<void> => {
      for (const id of [1, 2, 3]) {
        if (!cluster.isRunning(id)) continue
        const channel = new Client(cluster.address(id), credentials.createInsecure())
        try {
          const res = await unaryCall(channel, PD_SERVICE.tso, { count: 10 }, Date.now() + 5000)
          if (res.error || res.first === undefined) continue
          const first = BigInt(res.first)
          assert.ok(first > last, `timestamp ${first} is not above ${last}`)
          last = first + BigInt((res.count ?? 1) - 1)
          return
        } finally {
          channel.close()
        }
      }
      throw new Error('no node handed out timestamps')
    }
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) await waitFor('timestamps', async () => (await take(), true), 20_000)
      const leader = await pdLeader(cluster)
      await cluster.kill(leader)
      const killed = Date.now()
      await waitFor('timestamps after the PD leader died', async () => (await take(), true), 20_000)
      console.log(`PD leader ${leader} killed: timestamps again after ${Date.now() - killed} ms`)
      for (let i = 0; i < 20; i++) await waitFor('timestamps after the PD leader died', async () => (await take(), true), 20_000)
      await cluster.startNode(leader)
    }
  } finally {
    await cluster.stop()
  }
})

async function pdLeader(cluster: ProcessCluster): Promise<number> {
  let leader = 0
  await waitFor('a PD leader', async () => {
    for (const id of [1, 2, 3]) {
      if (!cluster.isRunning(id)) continue
      if ((await nodeStatus(cluster.address(id))).pd?.role === 'leader') leader = id
    }
    return leader !== 0
  })
  return leader
}

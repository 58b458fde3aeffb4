// Bulk loading (issue #14 item 6): a 1,000-row INSERT reaches the KV layer as one write command
// per range — one one-phase commit when its writes fall in one range; otherwise one prewrite
// per range and one commit per range (the primary's range commits its other keys in the
// primary's command) — counted at the KV client's sender, over a real store (one node, in
// process, Raft over memory). And the statement stays atomic across ranges. A single-row
// INSERT takes one timestamp from the oracle.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KvClient, KvRequestHandler, LocalSender, Store, TransactionalKv, type KvRequest, type KvResponse, type KvSender, type RangeDescriptor } from '@mrdb/kv'
import { MemoryNetwork } from '@mrdb/raft'
import { descriptorKey, indexKey, PRIMARY_INDEX_ID, SqlEngine } from '@mrdb/sql'
import { composeTimestamp, open } from '@mrdb/storage'
import { TimestampBatcher } from './timestamp-batcher.js'

/** Write requests the client sent, by kind and range. */
class CountingSender implements KvSender {
  writes: Array<{ op: string; rangeId: number }> = []

  constructor(private readonly inner: KvSender) {}

  send(node: Parameters<KvSender['send']>[0], requests: readonly KvRequest[], deadline: number): Promise<KvResponse[]> {
    for (const r of requests) if (r.op === 'prewrite' || r.op === 'commit' || r.op === 'onePhaseCommit' || r.op === 'rollback') this.writes.push({ op: r.op, rangeId: r.rangeId })
    return this.inner.send(node, requests, deadline)
  }

  close(): void {
    this.inner.close()
  }

  /** How many write requests of `op` went to each range, as "op@range" → count. */
  tally(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const w of this.writes) out[`${w.op}@${w.rangeId}`] = (out[`${w.op}@${w.rangeId}`] ?? 0) + 1
    return out
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const values = (from: number, count: number) => Array.from({ length: count }, (_, i) => `(${from + i}, 'row ${from + i} ${'x'.repeat(60)}')`).join(', ')

test('a 1,000-row INSERT is one write command per range, and stays atomic across ranges; a single-row INSERT takes one timestamp', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-bulk-insert-'))
  const engine = await open(join(dir, 'n1'))
  // The gateway's batcher over an oracle in memory: each timestamp handed out has its successor reserved.
  let next = 0n
  const tso = new TimestampBatcher(async ({ count }) => {
    const now = composeTimestamp(Date.now())
    const first = now > next ? now : next
    next = first + BigInt(count)
    return { first: first.toString(), count }
  })
  const store = await Store.open({ nodeId: 1, engine, transport: new MemoryNetwork().transport(1), tickMs: 50, sync: false, proposalTimeoutMs: 30_000, timestamps: tso })
  const whole: RangeDescriptor = { rangeId: 1, startKey: new Uint8Array(0), endKey: new Uint8Array(0), generation: 1, replicas: [{ replicaId: 1, nodeId: 1, role: 'voter' }] }
  const handler = new KvRequestHandler(store, {
    nodes: () => [{ nodeId: 1, address: 'in-process' }],
    ranges: async () => store.descriptors().map((descriptor) => ({ descriptor, leaderNodeId: 1 })),
  })
  const sender = new CountingSender(new LocalSender(handler))
  const client = new KvClient({ hosts: ['in-process'], sender, timeoutMs: 30_000 })
  try {
    await store.bootstrapRange(whole)
    await until('a leader of range 1', () => store.raft.leaderOf(1) === 1)
    const session = new SqlEngine(new TransactionalKv(client, tso)).session()
    await session.execute('CREATE TABLE t (id INT PRIMARY KEY, v TEXT NOT NULL)')
    // A catalog change commits in two phases, at the oracle's timestamp (the schema lease's rule), though its writes fall in one range.
    assert.deepEqual(sender.tally(), { 'prewrite@1': 1, 'commit@1': 1 })
    // A single-row INSERT: one timestamp (its start; the commit is bounded by the start's
    // reserved successor, where the table's descriptor is checked) and one one-phase commit.
    sender.writes = []
    const asked = tso.counts.requests
    await session.execute('INSERT INTO t VALUES (-1, \'warm-up\')')
    assert.equal(tso.counts.requests - asked, 1)
    assert.deepEqual(sender.tally(), { 'onePhaseCommit@1': 1 })

    // One range: one one-phase commit.
    sender.writes = []
    await session.execute(`INSERT INTO t VALUES ${values(0, 1000)}`)
    assert.deepEqual(sender.tally(), { 'onePhaseCommit@1': 1 })

    // Split the table at id 1500: rows 1000…1999 fall in two ranges.
    const { id } = JSON.parse(Buffer.from((await client.get(descriptorKey('t')))!).toString()) as { id: number }
    const split = await store.write(1, { kind: 'split', splitKey: indexKey(id, PRIMARY_INDEX_ID, [1500n]), newRangeId: 2 })
    assert.ok(split.ok)
    await until('a leader of range 2', () => store.raft.leaderOf(2) === 1)
    await client.describe() // the client learns of the split (a request routed by the old map would be sent again)
    sender.writes = []
    await session.execute(`INSERT INTO t VALUES ${values(1000, 1000)}`)
    // The secondaries' commit goes on after the statement returned.
    await until('the commit of range 2', () => sender.writes.some((w) => w.op === 'commit' && w.rangeId === 2))
    assert.deepEqual(sender.tally(), { 'prewrite@1': 1, 'prewrite@2': 1, 'commit@1': 1, 'commit@2': 1 })

    // Atomic across ranges: new rows in range 1 (its prewrite locks them), a duplicate in range 2
    // (its prewrite fails): nothing of the statement is left.
    await assert.rejects(session.execute(`INSERT INTO t VALUES ${values(-500, 499)}, ${values(2000, 500)}, (1999, 'dup')`), (e: { code?: string }) => e.code === '23505')
    const count = await session.execute('SELECT COUNT(*), MIN(id), MAX(id) FROM t')
    assert.deepEqual(count.rows, [[2001n, -1n, 1999n]])
    await session.close()
  } finally {
    client.close()
    await store.close()
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  }
})

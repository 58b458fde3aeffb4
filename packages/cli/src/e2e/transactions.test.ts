// Distributed transactions on real node processes: atomic commits across ranges, snapshot
// isolation, write-write conflicts, insert checks, lock resolution after a transaction's
// client died half-way, and a contended counter that must add up.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KvClient, KvErrorCode, TransactionalKv, type Transaction, type TxnMutation } from '@mrdb/kv'
import { remoteTimestamps } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'

const b = (s: string) => Buffer.from(s)
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString())
const hasCode = (code: string) => (e: { code?: string }) => e.code === code

/** Keys that fall in different ranges: the cluster pre-splits on the first key byte. */
const ACROSS = ['\x10a', '\x50b', '\x90c', '\xd0d']

test('transactions across ranges on 3 node processes: atomicity, snapshot isolation, conflicts, lock resolution', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 4 })
  const client = new KvClient({ hosts: cluster.addresses(), timeoutMs: 20_000 })
  const tso = remoteTimestamps(cluster.addresses())
  const kv = new TransactionalKv(client, tso)
  const read = async (key: string) => {
    const t = await kv.begin()
    try {
      return text(await t.get(b(key)))
    } finally {
      await t.rollback()
    }
  }
  try {
    assert.ok((await kv.rangesOf(b(ACROSS[0]!), b(ACROSS[3]!))).length >= 4, 'the keys span four ranges')

    // An atomic commit across four ranges; reads see own writes before it, everyone after.
    const t1 = await kv.begin()
    for (const k of ACROSS) t1.put(b(k), b(`v-${k}`))
    assert.equal(text(await t1.get(b(ACROSS[2]!))), `v-${ACROSS[2]}`)
    assert.equal(await read(ACROSS[2]!), undefined, 'nothing is visible before the commit')
    await t1.commit()
    for (const k of ACROSS) assert.equal(await read(k), `v-${k}`)

    // Snapshot isolation: a transaction keeps its snapshot while another commits; writing a
    // key the other wrote after its start is a conflict, and it left nothing behind.
    const early = await kv.begin()
    const late = await kv.begin()
    late.put(b(ACROSS[0]!), b('late'))
    await late.commit()
    assert.equal(text(await early.get(b(ACROSS[0]!))), `v-${ACROSS[0]}`, 'the snapshot predates the later commit')
    const scanned = await early.scan(b('\x00'), b('\xff'), 100)
    // The cluster's own records (mrdb init's root user) share the keyspace under /sys.
    assert.deepEqual(scanned.map(([k]) => text(k)).filter((k) => !k?.startsWith('@/sys')), ACROSS)
    early.put(b(ACROSS[0]!), b('early'))
    early.put(b(ACROSS[3]!), b('early'))
    await assert.rejects(early.commit(), hasCode(KvErrorCode.WRITE_CONFLICT))
    assert.equal(await read(ACROSS[0]!), 'late')
    assert.equal(await read(ACROSS[3]!), `v-${ACROSS[3]}`, 'the failed transaction wrote nothing')

    // Inserts check absence; a failed insert takes the whole transaction with it.
    const ins = await kv.begin()
    ins.insert(b('\x30new'), b('x'))
    ins.insert(b(ACROSS[1]!), b('dup'))
    await assert.rejects(ins.commit(), (e: { code?: string; key?: Uint8Array }) => e.code === KvErrorCode.KEY_EXISTS && text(e.key) === ACROSS[1])
    assert.equal(await read('\x30new'), undefined)

    // A client that died after prewriting (no commit): readers wait out the TTL, then roll it back.
    const deadTs = await tso.timestamp()
    const mutation = (key: string, value: string): TxnMutation => ({ key: b(key), kind: 'put', value: b(value), assertAbsent: false })
    await client.prewrite(b('\x20dead'), deadTs, 300, [mutation('\x20dead', 'never'), mutation('\xa0dead', 'never')])
    assert.equal(await read('\xa0dead'), undefined, 'the expired lock was rolled back by the reader')
    assert.equal(await read('\x20dead'), undefined)
    // A client that died after committing its primary only: readers finish the commit.
    const halfTs = await tso.timestamp()
    await client.prewrite(b('\x20half'), halfTs, 60_000, [mutation('\x20half', 'p'), mutation('\xa0half', 's')])
    await client.commitKeys([b('\x20half')], halfTs, await tso.timestamp())
    assert.equal(await read('\xa0half'), 's', 'the reader resolved the secondary from the committed primary')
    // Many secondaries left locked by a client that died after its commit point: a scan
    // meets them all and settles them together (one decision, one commit per range).
    const manyTs = await tso.timestamp()
    const many = Array.from({ length: 300 }, (_, i) => mutation(`\xb0many${String(i).padStart(3, '0')}`, `m${i}`))
    await client.prewrite(many[0]!.key, manyTs, 60_000, many)
    await client.commitKeys([many[0]!.key], manyTs, await tso.timestamp())
    const reader = await kv.begin()
    const seen = await reader.scan(b('\xb0many'), b('\xb0manz'), 1000)
    await reader.rollback()
    assert.deepEqual(seen.map(([, v]) => text(v)), many.map((m) => text(m.value)))

    // A transaction bigger than a range's command limit (8 MiB) commits in several prewrites.
    const big = await kv.begin()
    const chunk = Buffer.alloc(256 * 1024, 7)
    for (let i = 0; i < 40; i++) big.put(b(`\x60big${String(i).padStart(2, '0')}`), chunk)
    await big.commit()
    const check = await kv.begin()
    const rows = await check.scan(b('\x60big'), b('\x60bih'), 100)
    await check.rollback()
    assert.equal(rows.length, 40)
    assert.ok(rows.every(([, v]) => v.length === chunk.length))

    // Contended read-modify-write across two ranges: every increment that committed counts.
    const counters = ['\x05count', '\xe5count']
    const setup = await kv.begin()
    for (const k of counters) setup.put(b(k), b('0'))
    await setup.commit()
    let committed = 0
    let conflicts = 0
    const increment = async (t: Transaction) => {
      for (const k of counters) t.put(b(k), b(String(Number(text(await t.get(b(k))) ?? '0') + 1)))
      await t.commit()
    }
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 8; i++) {
          for (;;) {
            try {
              await increment(await kv.begin())
              committed++
              break
            } catch (err) {
              if ((err as { code?: string }).code !== KvErrorCode.WRITE_CONFLICT) throw err
              conflicts++
            }
          }
        }
      }),
    )
    assert.equal(committed, 48)
    for (const k of counters) assert.equal(await read(k), '48', `counter ${JSON.stringify(k)} after ${conflicts} conflicts`)
  } finally {
    tso.close()
    client.close()
    await cluster.stop()
  }
})

// Gateways whose range caches predate a change of the ranges they read (issue #16: a scan
// planned against a stale descriptor once counted the neighbouring table's rows, or ran until
// its statement timed out). On real node processes: every gateway's cache is warmed, then the
// ranges under two adjacent tables are split, merged, their leader moved and a replica moved
// away, and after each change every gateway answers point reads, scans, index scans, the
// COUNT/SUM of the bug report and writes exactly right — the first statement after each
// change differing from gateway to gateway, so each kind of read and write meets a stale cache.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KvClient, toWire } from '@mrdb/kv'
import { NODE_SERVICE, SqlClient, type SqlClientResult } from '@mrdb/server'
import { descriptorKey } from '@mrdb/sql'
import { encodeKey } from '@mrdb/storage'
import { callLeader } from '../node-call.js'
import { ProcessCluster } from '../testing/process-cluster.js'
import { waitFor } from './helpers.js'

/** Rows as text: values joined by ',', rows by ';'. */
const show = (r: SqlClientResult) => r.rows.map((row) => row.map(String).join(',')).join(';')

/** 8 rows summing to 162 in `a` and 6 summing to 240 in `b`, as in the bug report; `b.w` is indexed. */
const A_ROWS = [10, 12, 14, 16, 20, 25, 30, 35].map((v, i) => `(${i + 1}, ${v})`).join(', ')
const B_ROWS = [10, 20, 30, 40, 60, 80].map((v, i) => `(${i + 1}, ${v}, ${(i + 1) % 3})`).join(', ')

/** Reads and their exact answers. */
const READS: Array<[string, string]> = [
  ['SELECT COUNT(*), SUM(v) FROM b', '6,240'],
  ['SELECT COUNT(*), SUM(v) FROM a', '8,162'],
  ['SELECT v FROM b WHERE id = 4', '40'],
  ['SELECT id FROM b WHERE w = 1 ORDER BY id', '1;4'],
  ['SELECT id, v FROM a WHERE id >= 4 AND id < 7 ORDER BY id', '4,16;5,20;6,25'],
  ['SELECT id, w FROM b ORDER BY id', '1,1;2,2;3,0;4,1;5,2;6,0'],
]

/** A gateway session whose statements fail after {@link STATEMENT_MS} rather than hang (a scan that never ends was one symptom). */
interface Session {
  query(statement: string): Promise<SqlClientResult>
}
const STATEMENT_MS = 20_000

function bounded(client: SqlClient): Session {
  return {
    query: (statement) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to ${statement} within ${STATEMENT_MS} ms`)), STATEMENT_MS)
      })
      return Promise.race([client.query(statement), late]).finally(() => clearTimeout(timer))
    },
  }
}

type Step = (sql: Session, tag: number) => Promise<void>

async function expect(sql: Session, statement: string, answer: string, where: string): Promise<void> {
  assert.equal(show(await sql.query(statement)), answer, `${where}: ${statement}`)
}

/** Each read, and two writes that leave the tables as they found them; a gateway runs them all, starting at a given one. */
const STEPS: Array<[string, (where: string) => Step]> = [
  ...READS.map(([statement, answer]): [string, (where: string) => Step] => [statement, (where) => (sql) => expect(sql, statement, answer, where)]),
  [
    'insert into b, then delete',
    (where) => async (sql, tag) => {
      await sql.query(`INSERT INTO b VALUES (${tag}, 0, 1)`)
      await expect(sql, 'SELECT id FROM b WHERE w = 1 ORDER BY id', `1;4;${tag}`, where)
      await expect(sql, 'SELECT COUNT(*), SUM(v) FROM b', '7,240', where)
      await sql.query(`DELETE FROM b WHERE id = ${tag}`)
      await expect(sql, 'SELECT COUNT(*), SUM(v) FROM b', '6,240', where)
    },
  ],
  [
    'update a and back',
    (where) => async (sql) => {
      await sql.query('UPDATE a SET v = v + 1000 WHERE id = 5')
      await expect(sql, 'SELECT COUNT(*), SUM(v) FROM a', '8,1162', where)
      await sql.query('UPDATE a SET v = v - 1000 WHERE id = 5')
      await expect(sql, 'SELECT v FROM a WHERE id = 5', '20', where)
    },
  ],
]

test('gateways with range caches from before a split, merge, leader move or replica move answer every read and write exactly', { timeout: 120_000 }, async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
  const clients = [1, 2, 3].map((n) => new SqlClient(cluster.sqlAddress(n)))
  const gateways = clients.map(bounded)
  const kv = new KvClient({ hosts: cluster.addresses() })
  try {
    const sql = gateways[0]!
    await sql.query('CREATE TABLE a (id INT PRIMARY KEY, v INT)')
    await sql.query('CREATE TABLE b (id INT PRIMARY KEY, v INT, w INT)')
    await sql.query('CREATE INDEX b_w ON b (w)')
    await sql.query(`INSERT INTO a VALUES ${A_ROWS}`)
    await sql.query(`INSERT INTO b VALUES ${B_ROWS}`)
    assert.match(JSON.stringify((await sql.query('EXPLAIN SELECT id FROM b WHERE w = 1')).rows), /b_w/, 'the index scan uses the index')

    const table = async (name: string) => JSON.parse(Buffer.from((await kv.get(descriptorKey(name)))!).toString()) as { id: number; indexes: Array<{ id: number; name: string }> }
    const a = await table('a')
    const b = await table('b')
    const bw = b.indexes.find((i) => i.name === 'b_w')!
    const aStart = encodeKey(['/table', BigInt(a.id)])
    const aMiddle = encodeKey(['/table', BigInt(a.id), 1n, 5n])
    const bStart = encodeKey(['/table', BigInt(b.id)])
    const bIndex = encodeKey(['/table', BigInt(b.id), BigInt(bw.id)])

    const admin = cluster.address(1)
    const split = async (key: Uint8Array) => (await callLeader(admin, NODE_SERVICE.split, { key: toWire(key) }, 30_000)).created!.rangeId
    const merge = async (rangeId: number) => void (await callLeader(admin, NODE_SERVICE.merge, { rangeId }, 30_000))
    const member = async (rangeId: number, op: 'add' | 'remove' | 'transferLeader', storeId: number) => void (await callLeader(admin, NODE_SERVICE.member, { rangeId, op, storeId }, 30_000))
    const view = async (rangeId: number) => {
      const r = (await kv.describe()).ranges?.find((x) => x.descriptor.rangeId === rangeId)
      if (!r) throw new Error(`range ${rangeId} is not in the cluster's view`)
      return r
    }

    // The catalog keeps its own range; the tables' ranges are the ones that change.
    const tables = await split(aStart)

    /** Runs every step on every gateway; gateway g starts at a different step after each change. */
    let round = 0
    const everyGateway = async (change: string) => {
      round++
      for (const [g, session] of gateways.entries()) {
        const first = (round * gateways.length + g) % STEPS.length
        for (let i = 0; i < STEPS.length; i++) {
          const [name, step] = STEPS[(first + i) % STEPS.length]!
          await step(`after ${change}, gateway ${g + 1}${i === 0 ? ' (its first statement since)' : ''}, ${name}`)(session, 1000 + round * 10 + g)
        }
      }
    }
    await everyGateway('warming the caches')

    // A transaction that planned before the split reads the same snapshot after it.
    await sql.query('BEGIN')
    await expect(sql, 'SELECT COUNT(*), SUM(v) FROM b', '6,240', 'a transaction before the split')
    const rightOfA = await split(bStart)
    await expect(sql, 'SELECT COUNT(*), SUM(v) FROM b', '6,240', 'the same transaction after the split')
    await expect(sql, 'SELECT COUNT(*), SUM(v) FROM a', '8,162', 'the same transaction after the split')
    await sql.query('COMMIT')
    await everyGateway('a split between the tables')

    await split(aMiddle)
    await everyGateway("a split inside a's rows")
    await split(bIndex)
    await everyGateway("a split between b's rows and its index")
    await merge(tables)
    await everyGateway("a merge of a's two ranges (the left one grew)")
    await merge(rightOfA)
    await everyGateway("a merge of b's rows and index ranges")
    await merge(tables)
    await everyGateway('a merge of both tables back into one range')

    const leader = (await view(tables)).leaderNodeId || 1
    const next = (leader % 3) + 1
    await member(tables, 'transferLeader', next)
    await waitFor(`store ${next} leads range ${tables}`, async () => (await view(tables)).leaderNodeId === next, 20_000)
    await everyGateway(`leadership moving from store ${leader} to store ${next}`)

    // The replica on the leader's store leaves (leadership is handed over first): every
    // cache points at a store that no longer holds the range.
    await member(tables, 'remove', next)
    await everyGateway(`the replica on store ${next} leaving`)
    // Back to three replicas (the placement driver may get there first).
    await waitFor(`range ${tables} back on three stores`, async () => {
      const d = (await view(tables)).descriptor
      if (d.replicas.filter((r) => r.role === 'voter').length === 3) return true
      await member(tables, 'add', next).catch(() => undefined)
      return false
    }, 30_000)
    await everyGateway(`a replica added back on store ${next}`)
  } catch (err) {
    for (const n of [1, 2, 3]) process.stderr.write(`--- node ${n} ---\n${cluster.logs(n).slice(-4000)}\n`)
    throw err
  } finally {
    for (const c of clients) c.close()
    kv.close()
    await cluster.stop()
  }
})

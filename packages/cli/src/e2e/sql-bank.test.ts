// The bank workload over SQL on real node processes: 8 clients move money between 10
// accounts spread over at least 4 ranges with BEGIN; UPDATE; UPDATE; COMMIT, while a node is
// killed with SIGKILL and restarted and a range is split. Transactions are atomic and reads
// are snapshots, so every total anyone reads is the same, and so is the final one.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KvClient } from '@mrdb/kv'
import { SqlClient, SqlClientError } from '@mrdb/server'
import { descriptorKey, indexKey, PRIMARY_INDEX_ID } from '@mrdb/sql'
import { ProcessCluster } from '../testing/process-cluster.js'

const ACCOUNTS = 10
const INITIAL = 100
const TOTAL = BigInt(ACCOUNTS * INITIAL)
/**
 * SQLSTATEs a client goes on after: serialization failure, broken connection, unavailable
 * cluster, and an unknown outcome (40003: a commit sent to the node killed under it — a
 * one-phase commit is not settled afterwards — may or may not have applied; a transfer is
 * whole either way, and the totals say so).
 */
const RETRY = new Set(['40001', '08006', '25P02', '40003'])

test('bank over SQL: transfers across 4+ ranges through a node kill and a split keep every total equal', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
  const kv = new KvClient({ hosts: cluster.addresses(), timeoutMs: 30_000 })
  const sessions: SqlClient[] = []
  const connect = (i: number): SqlClient => {
    const running = [1, 2, 3].filter((id) => cluster.isRunning(id))
    const s = new SqlClient(cluster.sqlAddress(running[i % running.length]!))
    sessions.push(s)
    return s
  }
  try {
    const setup = connect(0)
    await setup.query('CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL)')
    await setup.query(`INSERT INTO accounts (id, balance) VALUES ${Array.from({ length: ACCOUNTS }, (_, i) => `(${i}, ${INITIAL})`).join(', ')}`)

    // Split the table so the accounts spread over at least four ranges.
    const descriptor = JSON.parse(Buffer.from((await kv.get(descriptorKey('accounts')))!).toString()) as { id: number }
    const rowKey = (id: number) => indexKey(descriptor.id, PRIMARY_INDEX_ID, [BigInt(id)])
    const split = (id: number) => cluster.mrdb(['range', 'split', '--key', `0x${Buffer.from(rowKey(id)).toString('hex')}`, '--host', cluster.address(1)])
    for (const id of [2, 5, 8]) await split(id)
    await kv.describe() // the range cache predates the splits
    const spans = await kv.rangesOf(rowKey(0), rowKey(ACCOUNTS))
    assert.ok(spans.length >= 4, `the accounts span ${spans.length} ranges`)

    let stop = false
    let transfers = 0
    let retries = 0
    const totals: bigint[] = []
    const transferLoop = async (worker: number) => {
      let s = connect(worker)
      while (!stop) {
        const from = Math.floor(Math.random() * ACCOUNTS)
        const to = (from + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS
        const amount = 1 + Math.floor(Math.random() * 10)
        try {
          await s.query('BEGIN')
          await s.query(`UPDATE accounts SET balance = balance - ${amount} WHERE id = ${from}`)
          await s.query(`UPDATE accounts SET balance = balance + ${amount} WHERE id = ${to}`)
          await s.query('COMMIT')
          transfers++
        } catch (err) {
          if (!(err instanceof SqlClientError) || !RETRY.has(err.code)) throw err
          retries++
          if (err.code === '08006') s = connect(worker + retries)
          else await s.query('ROLLBACK').catch(() => undefined)
        }
      }
    }
    const auditLoop = async (worker: number) => {
      let s = connect(worker)
      while (!stop) {
        try {
          const r = await s.query('SELECT SUM(balance) FROM accounts')
          totals.push(r.rows[0]![0] as bigint)
        } catch (err) {
          if (!(err instanceof SqlClientError) || !RETRY.has(err.code)) throw err
          if (err.code === '08006') s = connect(worker + 1)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const faults = async () => {
      await new Promise((r) => setTimeout(r, 3000))
      await cluster.kill(3)
      await new Promise((r) => setTimeout(r, 3000))
      await cluster.startNode(3)
      await split(4)
      await new Promise((r) => setTimeout(r, 4000))
      stop = true
    }
    await Promise.all([...Array.from({ length: 8 }, (_, i) => transferLoop(i)), auditLoop(0), auditLoop(1), faults()])

    const final = await connect(0).query('SELECT SUM(balance), COUNT(*) FROM accounts')
    assert.deepEqual(final.rows, [[TOTAL, BigInt(ACCOUNTS)]])
    assert.ok(transfers > 20, `only ${transfers} transfers committed (${retries} retries)`)
    assert.ok(totals.length > 10, `only ${totals.length} audits`)
    assert.deepEqual(totals.filter((t) => t !== TOTAL), [], `every audit of ${totals.length} saw ${TOTAL}`)
  } finally {
    for (const s of sessions) s.close()
    kv.close()
    await cluster.stop()
  }
})

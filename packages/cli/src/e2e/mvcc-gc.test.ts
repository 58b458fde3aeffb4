// MVCC garbage collection on real node processes with a 20-second GC TTL: rows updated 100
// times each leave 100 versions per key behind (the updates take longer than the TTL, so GC
// already runs while they go on); GC collects them through Raft, the garbage
// bytes `mrdb range list` reports and the data directories' size come down, and reads stay
// right throughout.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { SqlClient } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'
import { rangeList, waitFor } from './helpers.js'

const ROWS = 200
const UPDATES = 100
/** About 300 bytes a row, so the versions reach LevelDB's table files (past its 4 MiB write buffer). */
const PAD = 'x'.repeat(300)

async function dirBytes(dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name)
    total += e.isDirectory() ? await dirBytes(path) : (await stat(path)).size
  }
  return total
}

test('GC with --gc-ttl-seconds 20: 100 updates of each row, then garbage bytes and disk bytes come down, and reads stay right', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, startArgs: ['--gc-ttl-seconds', '20', '--heartbeat-ms', '300'] })
  const sql = new SqlClient(cluster.sqlAddress(1))
  let holder: SqlClient | undefined
  try {
    const ranges = () => rangeList(cluster.address(1))
    const garbage = async () => (await ranges()).reduce((n, r) => n + r.garbageBytes, 0)
    const disk = async () => (await Promise.all([1, 2, 3].map((id) => dirBytes(cluster.dataDir(id))))).reduce((a, b) => a + b, 0)
    const check = async (what: string) => {
      const { rows } = await sql.query(`SELECT count(*), sum(n), min(n), max(n) FROM t`)
      assert.deepEqual(rows[0]!.map(Number), [ROWS, ROWS * UPDATES, UPDATES, UPDATES], what)
      const one = await sql.query('SELECT n, pad FROM t WHERE k = 7')
      assert.deepEqual([Number(one.rows[0]![0]), one.rows[0]![1]], [UPDATES, PAD], what)
    }

    await sql.query('CREATE TABLE t (k INT PRIMARY KEY, n INT NOT NULL, pad TEXT NOT NULL)')
    await sql.query(`INSERT INTO t (k, n, pad) VALUES ${Array.from({ length: ROWS }, (_, k) => `(${k}, 0, '${PAD}')`).join(', ')}`)
    // A transaction kept open (it holds a buffered write) holds the GC fence below every
    // update, however long they take on a busy machine: the garbage piles up until it ends.
    holder = new SqlClient(cluster.sqlAddress(2))
    await holder.query('BEGIN')
    await holder.query(`INSERT INTO t (k, n, pad) VALUES (-1, 0, 'held')`)
    // Half the rows are updated in one statement, half in another: 100 versions of every row.
    for (let i = 0; i < UPDATES; i++) {
      await sql.query(`UPDATE t SET n = n + 1 WHERE k < ${ROWS / 2}`)
      await sql.query(`UPDATE t SET n = n + 1 WHERE k >= ${ROWS / 2}`)
    }
    await check('after the updates')
    let before = 0
    await waitFor('the garbage reported', async () => (before = await garbage()) > ROWS * PAD.length * 10, 120_000)
    const diskBefore = await disk()
    await check('before GC')
    await holder.query('ROLLBACK')
    holder.close()
    holder = undefined
    let after = before
    await waitFor('GC collects the old versions', async () => (after = await garbage()) < before / 4, 180_000)
    await check('after GC')
    let diskAfter = diskBefore
    await waitFor('the data directories shrink', async () => (diskAfter = await disk()) < diskBefore * 0.9, 120_000)
    const live = (await ranges()).reduce((n, r) => n + r.liveBytes, 0)
    assert.ok(live >= ROWS * PAD.length, `live bytes ${live}`)
    process.stdout.write(`# garbage bytes ${before} -> ${after}; data directories ${diskBefore} -> ${diskAfter} bytes; live bytes ${live}\n`)
    // Writes go on after GC, above the threshold.
    await sql.query('UPDATE t SET n = n + 1 WHERE k = 7')
    assert.deepEqual((await sql.query('SELECT n FROM t WHERE k = 7')).rows[0]!.map(Number), [UPDATES + 1])
  } finally {
    holder?.close()
    sql.close()
    await cluster.stop()
  }
})

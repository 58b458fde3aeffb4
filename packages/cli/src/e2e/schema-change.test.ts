// Online schema changes under load on real node processes: 8 writers insert rows and update
// their own rows (the indexed column too) through all three gateways while CREATE INDEX, ADD
// COLUMN … DEFAULT and a unique constraint run through another. Afterwards `mrdb debug
// check-indexes` finds every row's entries and no stray entry, every acknowledged write is
// there with the value its writer last wrote, and the new column holds its default.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SqlClient, SqlClientError } from '@mrdb/server'
import { MRDB_BIN, ProcessCluster } from '../testing/process-cluster.js'
import { run, waitFor } from './helpers.js'

const WRITERS = 8
const INITIAL_ROWS = 300
/** SQLSTATEs after which a statement certainly did not commit: it is tried again. */
const RETRY = new Set(['40001'])
/** SQLSTATEs after which a statement's outcome is unknown. */
const UNKNOWN = new Set(['40003', '08006'])

interface Row {
  k: number
  v: number
}

test('CREATE INDEX, ADD COLUMN and ADD CONSTRAINT UNIQUE under 8 writers: every row has every index entry, no write is lost', { timeout: 120_000 }, async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 4 })
  const clients: SqlClient[] = []
  const client = (node: number): SqlClient => {
    const c = new SqlClient(cluster.sqlAddress(node))
    clients.push(c)
    return c
  }
  try {
    const admin = client(1)
    await admin.query('CREATE TABLE items (id INT PRIMARY KEY, k INT, v INT)')
    const expected = new Map<number, Row>()
    const uncertain = new Set<number>()
    for (let base = 0; base < INITIAL_ROWS; base += 100) {
      const values = Array.from({ length: 100 }, (_, i) => `(${base + i}, ${(base + i) % 17}, 0)`)
      await admin.query(`INSERT INTO items (id, k, v) VALUES ${values.join(', ')}`)
      for (let i = 0; i < 100; i++) expected.set(base + i, { k: (base + i) % 17, v: 0 })
    }

    let stop = false
    const done = new Array<number>(WRITERS).fill(0)
    let retries = 0
    /** Runs one statement until it commits (true) or its outcome is unknown (false). */
    const attempt = async (s: SqlClient, sql: string): Promise<boolean> => {
      for (;;) {
        try {
          await s.query(sql)
          return true
        } catch (err) {
          if (!(err instanceof SqlClientError)) throw err
          if (UNKNOWN.has(err.code)) return false
          if (!RETRY.has(err.code)) throw new Error(`${sql}: ${err.code} ${err.message}`)
          retries++
        }
      }
    }
    const writer = async (w: number) => {
      const s = client(1 + (w % 3))
      const mine: number[] = []
      for (let seq = 0; !stop; seq++) {
        // A new row of this writer's own…
        const id = 1_000_000 * (w + 1) + seq
        const k = (w * 7 + seq) % 23
        if (await attempt(s, `INSERT INTO items (id, k, v) VALUES (${id}, ${k}, 0)`)) {
          expected.set(id, { k, v: 0 })
          mine.push(id)
        } else uncertain.add(id)
        // …and an update of one of its rows, moving it in the index on k.
        const target = seq % 2 === 0 && mine.length > 0 ? mine[seq % mine.length]! : w + WRITERS * (seq % Math.floor(INITIAL_ROWS / WRITERS))
        const row = expected.get(target)
        if (row !== undefined && !uncertain.has(target)) {
          const next = { k: (row.k + 5) % 23, v: row.v + 1 }
          if (await attempt(s, `UPDATE items SET k = ${next.k}, v = v + 1 WHERE id = ${target}`)) expected.set(target, next)
          else uncertain.add(target)
        }
        done[w]!++
      }
    }
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w))
    const progressed = (n: number) => done.every((d) => d >= n)

    // The schema changes start while every writer is running, and end before any stops.
    await waitFor('every writer running', () => progressed(5))
    const ddl = client(2)
    const before = [...done]
    await ddl.query('CREATE INDEX items_k ON items (k)')
    await ddl.query("ALTER TABLE items ADD COLUMN note TEXT DEFAULT 'n'")
    await ddl.query('ALTER TABLE items ADD CONSTRAINT items_id_k UNIQUE (id, k)')
    const during = done.map((d, i) => d - before[i]!)
    await waitFor('writers past the schema changes', () => done.every((d, i) => d >= before[i]! + during[i]! + 3))
    stop = true
    await Promise.all(writers)
    assert.ok(
      during.every((d) => d > 0),
      `every writer wrote while the schema changed (${during.join(', ')})`,
    )

    const check = await run(process.execPath, [MRDB_BIN, 'debug', 'check-indexes', '--host', cluster.address(3)])
    assert.equal(check.code, 0, `check-indexes failed:\n${check.out}${check.err}`)
    assert.match(check.out, /^ok\s+items\.items_k\s+rows \d+/m)
    assert.match(check.out, /^ok\s+items\.items_id_k\s+rows \d+/m)
    assert.match(check.out, /2 index\(es\) checked, 0 inconsistent/)

    // Nothing written was lost: every acknowledged row, with its writer's last value.
    const reader = client(3)
    const all = await reader.query('SELECT id, k, v, note FROM items')
    const found = new Map(all.rows.map((r) => [Number(r[0]), { k: Number(r[1]), v: Number(r[2]), note: r[3] }]))
    for (const [id, row] of expected) {
      if (uncertain.has(id)) continue
      const got = found.get(id)
      assert.ok(got, `row ${id} is missing`)
      assert.deepEqual({ k: got.k, v: got.v }, row, `row ${id}`)
    }
    for (const [id, got] of found) {
      assert.ok(expected.has(id) || uncertain.has(id), `row ${id} was never written`)
      assert.equal(got.note, 'n', `row ${id} has the new column's default`)
    }
    // The index answers what the table holds.
    for (let k = 0; k < 23; k++) {
      const viaIndex = await reader.query(`SELECT COUNT(*) FROM items WHERE k = ${k}`)
      const expectedCount = [...found.values()].filter((r) => r.k === k).length
      assert.equal(Number(viaIndex.rows[0]![0]), expectedCount, `rows with k = ${k}`)
    }
    const plan = await reader.query('EXPLAIN SELECT id FROM items WHERE k = 3')
    assert.match(plan.rows.map((r) => String(r[0])).join('\n'), /items_k/)
    const jobs = await reader.query('SHOW JOBS')
    assert.deepEqual(
      jobs.rows.map((r) => [r[1], r[2], r[4]]),
      [
        ['CREATE INDEX items_k ON items (k)', 'succeeded', 1],
        ['ALTER TABLE items ADD COLUMN note', 'succeeded', 1],
        ['ALTER TABLE items ADD CONSTRAINT items_id_k UNIQUE (id, k)', 'succeeded', 1],
      ],
    )
    process.stdout.write(`# ${found.size} rows, ${done.reduce((a, b) => a + b, 0)} writer rounds (${during.join(', ')} during the schema changes), ${retries} retries, ${uncertain.size} uncertain\n`)
  } finally {
    for (const c of clients) c.close()
    await cluster.stop()
  }
})

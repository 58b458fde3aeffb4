// SQL on real node processes: the whole sqllogictest suite through the gRPC SQL service,
// `mrdb sql` from the command line in each output format, and its errors.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TransactionalKv } from '@mrdb/kv'
import { SqlClient } from '@mrdb/server'
import { MAX_STATEMENT_SIZE } from '@mrdb/sql'
import { SLT_DIR, formatReport, runSlt, type SltFileResult } from '@mrdb/sql/testing'
import { ProcessCluster } from '../testing/process-cluster.js'

test('the sqllogictest suite passes on a 3-node cluster; mrdb sql prints tables, CSV and JSON, and errors with codes', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 4 })
  const clients: SqlClient[] = []
  const open = (node: number) => {
    const c = new SqlClient(cluster.sqlAddress(node))
    clients.push(c)
    return { execute: (sql: string) => c.query(sql), close: async () => c.close() }
  }
  try {
    const results: SltFileResult[] = []
    for (const [i, name] of readdirSync(SLT_DIR).filter((f) => f.endsWith('.slt')).sort().entries()) {
      // A clean database for each file, and each file through another node.
      const admin = open(1)
      for (const [table] of (await admin.execute('SHOW TABLES')).rows) await admin.execute(`DROP TABLE "${String(table).replaceAll('"', '""')}"`)
      await admin.close()
      results.push(await runSlt(name, readFileSync(join(SLT_DIR, name), 'utf8'), () => open(1 + (i % 3)), 'cluster'))
    }
    const report = formatReport(results)
    assert.equal(results.reduce((n, r) => n + r.failed, 0), 0, report)
    assert.ok(results.reduce((n, r) => n + r.passed, 0) > 200, report)

    const host = cluster.address(2)
    await cluster.mrdb(['sql', '--host', host, '-e', 'CREATE TABLE cli (id INT PRIMARY KEY, name TEXT, score FLOAT)'])
    await cluster.mrdb(['sql', '--host', host, '-e', "INSERT INTO cli VALUES (1, 'ada', 9.5), (2, 'bob, jr', NULL)"])
    const table = await cluster.mrdb(['sql', '--host', host, '-e', 'SELECT * FROM cli ORDER BY id'])
    assert.match(table, /^ id \| name +\| score\n/)
    assert.match(table, /\(2 rows\)\n$/)
    assert.equal(await cluster.mrdb(['sql', '--host', host, '--format', 'csv', '-e', 'SELECT * FROM cli ORDER BY id']), 'id,name,score\n1,ada,9.5\n2,"bob, jr",\n')
    const json = JSON.parse(await cluster.mrdb(['sql', '--host', host, '--format', 'json', '-e', 'SELECT id, name FROM cli WHERE id = 1'])) as { rows: unknown[][] }
    assert.deepEqual(json.rows, [[1, 'ada']])
    const explain = await cluster.mrdb(['sql', '--host', host, '-e', 'EXPLAIN SELECT * FROM cli WHERE id > 0'])
    assert.match(explain, /ranges \d/)
    assert.match(explain, /linearizable/)
    await assert.rejects(cluster.mrdb(['sql', '--host', host, '-e', 'SELEC 1']), (e: { stderr?: string; exitCode?: number }) => e.exitCode === 1 && /^error: 42601: /m.test(e.stderr ?? '') && !/\n\s+at /.test(e.stderr ?? ''))
    await assert.rejects(cluster.mrdb(['sql', '--host', host, '-e', "INSERT INTO cli VALUES (3, 'c', 1); INSERT INTO cli VALUES (1, 'dup', 2)"]), (e: { stderr?: string }) => /23505/.test(e.stderr ?? ''))
    assert.match(await cluster.mrdb(['sql', '--host', host, '-e', 'SELECT COUNT(*) FROM cli']), / 3\n/, 'statements before the failing one ran; the failing one wrote nothing')
    // Over the statement size limit: refused with 54000, nothing written.
    const session = open(3)
    await assert.rejects(session.execute(`INSERT INTO cli VALUES (9, '${'x'.repeat(MAX_STATEMENT_SIZE)}', 1)`), { code: '54000' })
    assert.deepEqual((await session.execute('SELECT COUNT(*) FROM cli WHERE id = 9')).rows, [[0n]])
    // Inside BEGIN, a duplicate primary key is the INSERT's error (23505), and the transaction is aborted.
    await session.execute('BEGIN')
    await session.execute("INSERT INTO cli VALUES (10, 'ten', 10)")
    await assert.rejects(session.execute("INSERT INTO cli VALUES (11, 'eleven', 11), (1, 'dup', 1)"), { code: '23505' })
    await assert.rejects(session.execute('SELECT * FROM cli'), { code: '25P02' })
    assert.equal((await session.execute('COMMIT')).command, 'ROLLBACK')
    assert.deepEqual((await session.execute('SELECT COUNT(*) FROM cli WHERE id >= 10')).rows, [[0n]])
    // The write size limit the SQL layer enforces is the cluster's: a row just under it commits
    // (in a prewrite of its own), a row over it is 54000 naming the limit.
    const { maxWriteBytes } = TransactionalKv.LIMITS
    const length = maxWriteBytes - 200
    await session.execute('CREATE TABLE wide (id INT PRIMARY KEY, s TEXT)')
    await session.execute(`INSERT INTO wide VALUES (1, '${'x'.repeat(1_000_000)}')`)
    // The same value whether s is still the 1 MB row or the grown one, so an attempt whose
    // outcome is unknown (40003: an 8 MiB command missed its 5 s proposal timeout on a loaded
    // machine) can be sent again.
    const grow = `UPDATE wide SET s = CONCAT(REPEAT(LEFT(s, 1000000), 8), '${'y'.repeat(length - 8_000_000)}')`
    for (let attempt = 1; ; attempt++) {
      try {
        await session.execute(grow)
        break
      } catch (err) {
        if (attempt >= 5 || (err as { code?: string }).code !== '40003') throw err
      }
    }
    assert.deepEqual((await open(1).execute('SELECT LENGTH(s) FROM wide')).rows, [[BigInt(length)]])
    await assert.rejects(session.execute(`UPDATE wide SET s = CONCAT(s, '${'z'.repeat(300)}')`), (e: { code?: string; message?: string }) => e.code === '54000' && (e.message ?? '').includes(`${maxWriteBytes}-byte limit`))
  } finally {
    for (const c of clients) c.close()
    await cluster.stop()
  }
})

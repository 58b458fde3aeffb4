// PostgreSQL clients against real node processes: node-postgres (parameters, a prepared
// statement reused, a pool of 20 in concurrent transactions, SQLSTATEs on err.code, the
// session limit), psql (-c, a script with ON_ERROR_STOP, \dt, \d TABLE, \di, \dn, \copy,
// Ctrl-C), and bad input on the SQL port —
// garbage, a wrong protocol version, lying lengths, 1-byte writes, a silent client — while
// another session keeps working.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import pg from 'pg'
import { ProcessCluster } from '../testing/process-cluster.js'
import { run, waitFor } from './helpers.js'

const MAX_CONNECTIONS = 24

function socketTo(address: string): Promise<Socket> {
  const at = address.lastIndexOf(':')
  return new Promise((resolve, reject) => {
    const s = connect(Number(address.slice(at + 1)), address.slice(0, at), () => resolve(s))
    s.once('error', reject)
  })
}

/** Writes `bytes` (in one write, or byte by byte) and resolves with everything the server sent until it closed. */
async function exchange(address: string, bytes: Buffer, oneByOne = false): Promise<Buffer> {
  const s = await socketTo(address)
  const got: Buffer[] = []
  s.on('data', (d: Buffer) => got.push(d))
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
  s.on('error', () => undefined)
  if (oneByOne) for (const b of bytes) await new Promise<void>((resolve) => s.write(Buffer.of(b), () => resolve()))
  else s.write(bytes)
  await closed
  return Buffer.concat(got)
}

function startup(version = 196608, user = 'root'): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from(`user\0${user}\0database\0mrdb\0\0`)])
  body.writeInt32BE(version, 0)
  const len = Buffer.alloc(4)
  len.writeInt32BE(body.length + 4)
  return Buffer.concat([len, body])
}

/** The SQLSTATE of the first ErrorResponse in `reply`. */
function sqlstate(reply: Buffer): string | undefined {
  const i = reply.indexOf(Buffer.from('\0C'))
  return i < 0 ? undefined : reply.subarray(i + 2, i + 7).toString()
}

/** Runs `SELECT pg_sleep(5)` in psql and sends it SIGINT once it has run a first query, until it exits. */
async function psqlCancel(url: string): Promise<void> {
  const psql = spawn('psql', [url, '-X', '-c', "SELECT 'ready'", '-c', 'SELECT pg_sleep(5)'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  psql.stdout.on('data', (d: Buffer) => (out += d.toString()))
  psql.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => psql.once('exit', (code) => resolve(code)))
  let done = false
  void exited.then(() => (done = true))
  try {
    await waitFor('psql to run its first query', () => out.includes('ready') || done, 60_000)
    // The second statement may not have reached the node yet when the first SIGINT lands: repeat until psql exits.
    for (let i = 0; i < 100 && !done; i++) {
      psql.kill('SIGINT')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 200))])
    }
    const code = await exited
    assert.match(err, /canceling statement due to user request/, `psql's stderr: ${err}`)
    assert.equal(code, 1)
  } finally {
    if (!done) psql.kill('SIGKILL')
  }
}

test('node-postgres and psql on real nodes; bad input on the SQL port never hurts other sessions', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 4, startArgs: ['--sql-max-connections', String(MAX_CONNECTIONS), '--sql-startup-timeout-ms', '1500'] })
  const clients: pg.Client[] = []
  let pool: pg.Pool | undefined
  try {
    const client = new pg.Client(cluster.sqlUrl(1))
    clients.push(client)
    await client.connect()
    await client.query('CREATE TABLE accounts (id INT PRIMARY KEY, owner TEXT NOT NULL UNIQUE, balance INT NOT NULL DEFAULT 0, vip BOOLEAN DEFAULT false)')
    await client.query('CREATE INDEX accounts_balance_idx ON accounts (balance)')
    const inserted = await client.query('INSERT INTO accounts VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)', [1, "o'neil", 100, true, 2, '007', 250, false])
    assert.equal(inserted.command, 'INSERT')
    assert.equal(inserted.rowCount, 2)
    const byId = await client.query('SELECT owner, balance, vip FROM accounts WHERE id = $1', [1])
    assert.deepEqual(byId.rows, [{ owner: "o'neil", balance: '100', vip: true }])
    assert.deepEqual(byId.fields.map((f) => f.dataTypeID), [25, 20, 16])
    assert.deepEqual((await client.query('SELECT id FROM accounts WHERE owner = $1', ['007'])).rows, [{ id: '2' }], 'a number-like string stays a string')
    for (const id of [1, 2, 1]) {
      const r = await client.query({ name: 'balance-of', text: 'SELECT balance FROM accounts WHERE id = $1', values: [id] })
      assert.deepEqual(r.rows, [{ balance: id === 1 ? '100' : '250' }])
    }
    const updated = await client.query('UPDATE accounts SET balance = balance + $1 WHERE id >= $2', [5, 1])
    assert.equal(updated.rowCount, 2)
    await assert.rejects(client.query('SELECT * FROM missing'), { code: '42P01' })
    await assert.rejects(client.query('INSERT INTO accounts VALUES ($1, $2, $3, $4)', [1, 'dup', 0, false]), { code: '23505' })
    await assert.rejects(client.query('SELEC 1'), { code: '42601' })
    assert.deepEqual((await client.query('SELECT version() ')).rows[0].version.startsWith('PostgreSQL 15.0 (mrdb'), true)
    assert.deepEqual((await client.query('SHOW server_version')).rows, [{ server_version: '15.0 (mrdb)' }])
    assert.deepEqual((await client.query('SELECT current_database()')).rows, [{ current_database: 'mrdb' }])

    // A pool of 20 connections, each in its own transaction at once, through node 2.
    pool = new pg.Pool({ connectionString: cluster.sqlUrl(2), max: 20 })
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const c = await pool!.connect()
        try {
          await c.query('BEGIN')
          await c.query('INSERT INTO accounts VALUES ($1, $2, $3, $4)', [100 + i, `p${i}`, i, false])
          await c.query('COMMIT')
        } finally {
          c.release()
        }
      }),
    )
    assert.deepEqual((await client.query('SELECT COUNT(*) AS n FROM accounts WHERE id >= 100')).rows, [{ n: '20' }])
    // Past the session limit of node 2 (20 pooled + what follows): 53300.
    const extra: pg.Client[] = []
    let refused: { code?: string } | undefined
    for (let i = 0; i < MAX_CONNECTIONS && refused === undefined; i++) {
      const c = new pg.Client(cluster.sqlUrl(2))
      c.on('error', () => undefined)
      try {
        await c.connect()
        extra.push(c)
      } catch (e) {
        refused = e as { code?: string }
      }
    }
    assert.equal(refused?.code, '53300')
    await Promise.all(extra.map((c) => c.end()))
    await pool.end()
    pool = undefined

    // psql: -c, and a script that stops at its first error.
    const url = cluster.sqlUrl(3)
    const table = await run('psql', [url, '-X', '-c', 'SELECT id, owner, vip FROM accounts WHERE id <= 2 ORDER BY id'])
    assert.equal(table.code, 0, table.err)
    assert.match(table.out, / id \| owner {2}\| vip \n----\+--------\+-----\n {2}1 \| o'neil \| t\n {2}2 \| 007 {4}\| f\n\(2 rows\)/)
    const script = await run('psql', [url, '-X', '-q', '-At'], "\\set ON_ERROR_STOP on\nSELECT COUNT(*) FROM accounts;\nSELECT * FROM nowhere;\nSELECT 'not reached';\n")
    assert.equal(script.code, 3)
    assert.equal(script.out, '22\n')
    assert.match(script.err, /relation "nowhere" does not exist|table "nowhere"|nowhere/)

    // psql's meta-commands, as it sends them: \dt through the catalog, \copy through COPY … TO STDOUT.
    const dt = await run('psql', [url, '-X', '-c', '\\dt'])
    assert.equal(dt.code, 0, dt.err)
    assert.match(dt.out, /List of relations\n Schema \| {3}Name {3}\| Type {2}\| Owner \n-+\+-+\+-+\+-+\n public \| accounts \| table \| root\n\(1 row\)/)
    // \d TABLE runs psql's catalog queries for columns, indexes and constraints, and its footers'
    // (policies, statistics, publications, inheritance: arrays, = ANY, ARRAY(subquery),
    // generate_series in FROM, subscripts, string_agg), which print nothing here.
    const described = await run('psql', [url, '-X', '-c', '\\d accounts'])
    assert.equal(described.code, 0, described.err)
    assert.deepEqual(described.out.split('\n'), [
      '              Table "public.accounts"',
      ' Column  |  Type   | Collation | Nullable | Default ',
      '---------+---------+-----------+----------+---------',
      ' id      | integer |           | not null | ',
      ' owner   | text    |           | not null | ',
      ' balance | integer |           | not null | 0',
      ' vip     | boolean |           |          | false',
      'Indexes:',
      '    "accounts_pkey" PRIMARY KEY, btree (id)',
      '    "accounts_balance_idx" btree (balance)',
      '    "accounts_owner_key" UNIQUE CONSTRAINT, btree (owner)',
      '',
      '',
    ])
    const indexes = await run('psql', [url, '-X', '-c', '\\di'])
    assert.equal(indexes.code, 0, indexes.err)
    assert.match(indexes.out, / public \| accounts_balance_idx \| index \| root {2}\| accounts\n public \| accounts_owner_key {3}\| index \| root {2}\| accounts\n public \| accounts_pkey {8}\| index \| root {2}\| accounts\n\(3 rows\)/)
    const schemas = await run('psql', [url, '-X', '-c', '\\dn'])
    assert.equal(schemas.code, 0, schemas.err)
    assert.match(schemas.out, /List of schemas\n {2}Name {2}\| Owner \n-+\+-+\n public \| root\n\(1 row\)/)
    const copied = await run('psql', [url, '-X', '-c', "\\copy (SELECT id, owner, vip, NULL FROM accounts WHERE id <= 2 ORDER BY id) to stdout"])
    assert.equal(copied.code, 0, copied.err)
    assert.equal(copied.out, "1\to'neil\tt\t\\N\n2\t007\tf\t\\N\n")
    const copyFrom = await run('psql', [url, '-X', '-c', 'COPY accounts FROM STDIN'], '')
    assert.match(copyFrom.err, /only COPY … TO STDOUT is supported/)

    // Ctrl-C: SIGINT to psql while its statement runs sends a CancelRequest; the statement ends with 57014.
    await psqlCancel(url)

    // Bad input on node 1's SQL port while `client` keeps working on it.
    const sql1 = cluster.sqlAddress(1)
    const garbage = await exchange(sql1, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    assert.equal(sqlstate(garbage), '08P01')
    assert.equal(sqlstate(await exchange(sql1, startup(0x20000))), '08P01', 'protocol 2.0')
    const lyingHuge = Buffer.concat([startup(), Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff])])
    assert.equal(sqlstate(await exchange(sql1, lyingHuge)), '08P01')
    const lyingNegative = Buffer.concat([startup(), Buffer.from([0x51, 0xff, 0xff, 0xff, 0xfe])])
    assert.equal(sqlstate(await exchange(sql1, lyingNegative)), '08P01')
    const bytewise = await exchange(sql1, Buffer.concat([startup(), Buffer.from('Q\0\0\0\x0dSELECT 7\0'), Buffer.from('X\0\0\0\x04')]), true)
    assert.ok(bytewise.includes(Buffer.from('D\0\0\0\x0b\0\x01\0\0\0\x017')), 'a query written one byte at a time is answered')
    const started = Date.now()
    const silent = await exchange(sql1, Buffer.alloc(0))
    assert.equal(silent.length, 0)
    assert.ok(Date.now() - started >= 1000, 'a silent client is dropped after the startup deadline')
    assert.deepEqual((await client.query('SELECT COUNT(*) AS n FROM accounts')).rows, [{ n: '22' }], 'the other session goes on')
    assert.ok(cluster.isRunning(1))
  } finally {
    await pool?.end().catch(() => undefined)
    for (const c of clients) await c.end().catch(() => undefined)
    await cluster.stop()
  }
})

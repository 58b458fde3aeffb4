// A query's rows through the wire protocol over a real SqlEngine (in-memory KV): the extended
// protocol streams them and honours Execute's row limit (PortalSuspended, the statement
// suspended until the next Execute), and a client that does not read stops the statement
// instead of letting the gateway buffer the result.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import pg from 'pg'
import { serialize, parse as parseBackend } from 'pg-protocol'
import { SqlEngine } from '@mrdb/sql'
import { MemoryKv } from '@mrdb/sql/testing/memory-kv'
import { PgServer } from '../index.js'

/** A server over a fresh engine with `CREATE TABLE t (id INT PRIMARY KEY, v TEXT)` holding `rows` rows of `width` characters. */
async function serverWith(rows: number, width: number, scanChunkSize = 100): Promise<{ server: PgServer; kv: MemoryKv }> {
  const kv = new MemoryKv()
  const engine = new SqlEngine(kv, { scanChunkSize })
  const session = engine.session()
  await session.execute('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)')
  await session.execute(`INSERT INTO t SELECT g, repeat('x', ${width}) FROM generate_series(1, ${rows}) AS g`)
  await session.close()
  return { server: await PgServer.start({ engine, listen: '127.0.0.1:0', insecure: true }), kv }
}

interface Message {
  readonly name: string
  readonly fields?: ReadonlyArray<string | null>
  readonly text?: string
  readonly code?: string
}

/** A raw protocol client: what it sends is exact, and it can stop reading its socket. */
async function rawClient(address: string): Promise<{ socket: Socket; messages: Message[]; until: (name: string, count?: number) => Promise<Message[]> }> {
  const socket = connect(Number(address.slice(address.lastIndexOf(':') + 1)), '127.0.0.1')
  const messages: Message[] = []
  void parseBackend(socket, (m) => void messages.push(m as unknown as Message))
  let seen = 0
  /** Waits for the `count`-th next message named `name`; returns the messages up to it. */
  const until = async (name: string, count = 1): Promise<Message[]> => {
    for (let i = 0; ; i++) {
      let found = 0
      const at = messages.findIndex((m, j) => j >= seen && m.name === name && ++found === count)
      if (at >= 0) {
        const out = messages.slice(seen, at + 1)
        seen = at + 1
        return out
      }
      if (i > 4000 || socket.destroyed) throw new Error(`no ${name}; got ${messages.slice(seen).map((m) => m.name).join(', ')}`)
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  socket.write(serialize.startup({ user: 'root', database: 'mrdb' }))
  await until('readyForQuery')
  return { socket, messages, until }
}

test("Execute's row limit sends that many rows, answers PortalSuspended and goes on at the next Execute; the statement reads no further meanwhile", async () => {
  const { server, kv } = await serverWith(2000, 10)
  const { socket, until } = await rawClient(server.address)
  try {
    const scansBefore = kv.stats.scan
    socket.write(
      Buffer.concat([
        serialize.parse({ text: 'SELECT id FROM t WHERE id > $1', types: [] }),
        serialize.bind({ portal: 'p', values: ['0'] }),
        serialize.describe({ type: 'P', name: 'p' }),
        serialize.execute({ portal: 'p', rows: 10 }),
        serialize.flush(),
      ]),
    )
    const first = await until('portalSuspended')
    assert.deepEqual(first.map((m) => m.name), ['parseComplete', 'bindComplete', 'rowDescription', ...Array(10).fill('dataRow'), 'portalSuspended'])
    assert.deepEqual(first.filter((m) => m.name === 'dataRow').map((m) => m.fields![0]), Array.from({ length: 10 }, (_, i) => String(i + 1)))
    // 2,000 rows are 20 chunks of 100: a suspended portal has read one or two of them.
    assert.ok(kv.stats.scan - scansBefore <= 3, `scans while suspended: ${kv.stats.scan - scansBefore}`)
    socket.write(Buffer.concat([serialize.execute({ portal: 'p', rows: 150 }), serialize.flush()]))
    const second = await until('portalSuspended')
    assert.deepEqual(second.filter((m) => m.name === 'dataRow').map((m) => m.fields![0]), Array.from({ length: 150 }, (_, i) => String(i + 11)))
    assert.ok(kv.stats.scan - scansBefore <= 4, `scans while suspended: ${kv.stats.scan - scansBefore}`)
    // Execute without a limit: the rest, then the tag counting this Execute's rows.
    socket.write(Buffer.concat([serialize.execute({ portal: 'p' }), serialize.sync()]))
    const rest = await until('readyForQuery')
    assert.equal(rest.filter((m) => m.name === 'dataRow').length, 2000 - 160)
    assert.equal(rest.at(-2)!.text, 'SELECT 1840')

    // A suspended portal ends when another statement needs the session; its later Execute is refused.
    socket.write(
      Buffer.concat([
        serialize.bind({ portal: 'q', statement: '', values: ['1990'] }),
        serialize.execute({ portal: 'q', rows: 5 }),
        serialize.flush(),
      ]),
    )
    assert.equal((await until('portalSuspended')).filter((m) => m.name === 'dataRow').length, 5)
    socket.write(serialize.query('SELECT 42 AS answer'))
    const answer = await until('readyForQuery')
    assert.deepEqual(answer.find((m) => m.name === 'dataRow')?.fields, ['42'])
    socket.write(Buffer.concat([serialize.execute({ portal: 'q', rows: 5 }), serialize.sync()]))
    const refused = await until('readyForQuery')
    assert.equal(refused.find((m) => m.name === 'error')?.code, '0A000')
  } finally {
    socket.destroy()
    await server.stop()
  }
})

test('node-postgres reads a parameterised query whole, or in pages of its `rows` (Execute with a row limit)', async () => {
  const { server } = await serverWith(1000, 10)
  const client = new pg.Client(`postgresql://root@${server.address}/mrdb`)
  await client.connect()
  try {
    const whole = await client.query('SELECT id, v FROM t WHERE id >= $1', [1])
    assert.equal(whole.rowCount, 1000)
    assert.deepEqual(whole.rows.at(-1), { id: '1000', v: 'xxxxxxxxxx' })
    const paged = await client.query({ text: 'SELECT id FROM t WHERE id > $1', values: [100], rows: 64 } as pg.QueryConfig)
    assert.deepEqual(paged.rows.map((r: { id: string }) => Number(r.id)), Array.from({ length: 900 }, (_, i) => i + 101))
    assert.deepEqual((await client.query('SELECT count(*) AS n FROM t')).rows, [{ n: '1000' }], 'the session goes on')
  } finally {
    await client.end().catch(() => undefined)
    await server.stop()
  }
})

test('a client that stops reading stops the statement: the gateway holds little of a result far past the memory budget, and every row arrives once it reads', async () => {
  // 2,000 rows of 10 KB: 20 MB of DataRows against a 1 MiB statement budget.
  const { server, kv } = await serverWith(2000, 10_000, 50)
  try {
    for (const protocol of ['simple', 'extended'] as const) {
      const { socket, until, messages } = await rawClient(server.address)
      socket.write(serialize.query('SET sql_memory_budget_mb = 1'))
      await until('readyForQuery')
      const scansBefore = kv.stats.scan
      socket.pause()
      if (protocol === 'simple') socket.write(serialize.query('SELECT id, v FROM t'))
      else socket.write(Buffer.concat([serialize.parse({ text: 'SELECT id, v FROM t WHERE id > $1', types: [] }), serialize.bind({ values: ['0'] }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]))
      // The statement runs until the socket's buffers are full, then waits: wait until its
      // scans stop (or all 40 chunks are read, which the test refuses).
      // (A chunk is 50 rows, 500 KB of DataRows: what the gateway holds is at most the chunks
      // read less what the kernel's socket buffers took, a few MB.)
      let scans = -1
      for (let still = 0; still < 30 && kv.stats.scan - scansBefore < 40; ) {
        await new Promise((r) => setTimeout(r, 20))
        still = kv.stats.scan === scans ? still + 1 : 0
        scans = kv.stats.scan
      }
      assert.ok(kv.stats.scan - scansBefore <= 30, `${protocol}: the statement went on while the client read nothing (${kv.stats.scan - scansBefore} of 40 chunks read)`)
      socket.resume()
      const answer = await until('readyForQuery')
      const rows = answer.filter((m) => m.name === 'dataRow')
      assert.equal(rows.length, 2000, protocol)
      assert.deepEqual(rows.map((m) => Number(m.fields![0])), Array.from({ length: 2000 }, (_, i) => i + 1))
      assert.ok(rows.every((m) => m.fields![1]!.length === 10_000))
      assert.equal(answer.find((m) => m.name === 'commandComplete')?.text, 'SELECT 2000')
      messages.length = 0
      socket.destroy()
    }
  } finally {
    await server.stop()
  }
})

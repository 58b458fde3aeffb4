// The wire protocol server in-process, over a SQL engine whose KV reads can be made to hang:
// node-postgres's cancel and statement_timeout end a statement stuck in a KV call with 57014,
// the session goes on, and a transaction left by a closed connection is rolled back.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { SqlEngine, type KvDatabase, type SqlResult } from '@mrdb/sql'
import { PgServer } from '../index.js'
import { FrameSplitter, decodeMessage, decodeStartup } from './frontend.js'
import { findPlaceholders, formatFloat, literalOf } from './types.js'

/** A KV database with nothing in it whose reads hang while `hang` is set. */
function hangingKv(): { db: KvDatabase; state: { hang: boolean; reads: number; rollbacks: number } } {
  const state = { hang: false, reads: 0, rollbacks: 0 }
  const read = <T>(v: T): Promise<T> => {
    state.reads++
    return state.hang ? new Promise<T>(() => undefined) : Promise.resolve(v)
  }
  const txn = {
    startTs: 1n,
    get: () => read(undefined),
    getMany: (keys: readonly Uint8Array[]) => read(keys.map(() => undefined)),
    scan: () => read([]),
    put: () => undefined,
    insert: () => undefined,
    delete: () => undefined,
    checkAtCommit: () => undefined,
    commit: async () => undefined,
    rollback: async () => {
      state.rollbacks++
    },
  }
  const db = { limits: { maxKeyBytes: 4096, maxWriteBytes: 1 << 20 }, begin: async () => txn, rangesOf: async () => [] }
  return { db: db as unknown as KvDatabase, state }
}

test('cancel and statement_timeout end a statement waiting on the KV layer with 57014; a closed connection rolls back', async () => {
  const { db, state } = hangingKv()
  const server = await PgServer.start({ engine: new SqlEngine(db), listen: '127.0.0.1:0', insecure: true })
  const url = `postgresql://root@${server.address}/mrdb`
  const client = new pg.Client(url)
  await client.connect()
  try {
    assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: '1' }])
    state.hang = true
    const running = client.query('SELECT 2')
    const settled = running.then(() => null, (e: unknown) => e)
    // Cancel once the statement is inside the KV call.
    const before = state.reads
    for (let i = 0; i < 500 && state.reads === before; i++) await new Promise((r) => setImmediate(r))
    const canceller = new pg.Client(url)
    await canceller.connect()
    // node-postgres has no public cancel: send the CancelRequest with this session's key as psql does.
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number }
    await sendCancel(server.address, processID, secretKey)
    const err = (await settled) as { code?: string; message?: string }
    assert.equal(err?.code, '57014')
    assert.match(err.message ?? '', /user request/)
    await canceller.end()
    state.hang = false
    assert.deepEqual((await client.query('SELECT 3 AS three')).rows, [{ three: '3' }], 'the session goes on')
    // A backslash is an ordinary character in a standard string: in a parameter, and where a simple query's statements end.
    const tricky = "C:\\' OR 1=1 --"
    assert.deepEqual((await client.query('SELECT $1::text AS v, length($1) AS n', [tricky])).rows, [{ v: tricky, n: String(tricky.length) }])
    const [path, two] = (await client.query("SELECT 'C:\\' AS path; SELECT 2 AS two")) as unknown as pg.QueryResult[]
    assert.deepEqual([path!.rows, two!.rows], [[{ path: 'C:\\' }], [{ two: '2' }]])

    await client.query('SET statement_timeout = 200')
    assert.deepEqual((await client.query('SHOW statement_timeout')).rows, [{ statement_timeout: '200' }])
    state.hang = true
    const started = Date.now()
    await assert.rejects(client.query('SELECT 4'), (e: { code?: string; message?: string }) => e.code === '57014' && /statement timeout/.test(e.message ?? ''))
    assert.ok(Date.now() - started < 10_000)
    state.hang = false
    await client.query('SET statement_timeout = 0')

    // A transaction left open by a client that goes away is rolled back.
    const leaving = new pg.Client(url)
    await leaving.connect()
    await leaving.query('BEGIN')
    await leaving.query('SELECT 5')
    const rollbacks = state.rollbacks
    await leaving.end()
    for (let i = 0; i < 1000 && state.rollbacks === rollbacks; i++) await new Promise((r) => setTimeout(r, 5))
    assert.equal(state.rollbacks, rollbacks + 1)
  } finally {
    state.hang = false
    await client.end().catch(() => undefined)
    await server.stop()
  }
})

async function sendCancel(address: string, processId: number, secretKey: number): Promise<void> {
  const { connect } = await import('node:net')
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  const packet = Buffer.alloc(16)
  packet.writeInt32BE(16, 0)
  packet.writeInt32BE(80877102, 4)
  packet.writeInt32BE(processId, 8)
  packet.writeInt32BE(secretKey, 12)
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, host, () => s.end(packet))
    s.on('close', () => resolve())
    s.on('error', reject)
  })
}

test('the frontend decoder refuses lying lengths, unknown versions and truncated fields with 08P01', () => {
  const splitter = new FrameSplitter(1024)
  assert.throws(() => splitter.next(Buffer.from([0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0])), { code: '08P01' })
  const huge = new FrameSplitter(1024)
  assert.throws(() => huge.next(Buffer.from([0x7f, 0xff, 0xff, 0xff])), { code: '08P01' })
  assert.throws(() => decodeStartup(Buffer.from([0, 2, 0, 0])), { code: '08P01' })
  assert.throws(() => decodeMessage(0x51, Buffer.from('no terminator')), { code: '08P01' })
  assert.throws(() => decodeMessage(0x42, Buffer.from([0, 0, 0x7f, 0xff])), { code: '08P01' })
  assert.throws(() => decodeMessage(0x7a, Buffer.alloc(0)), { code: '08P01' })
  // One byte at a time: a frame only once it is whole.
  const typed = new FrameSplitter(1024)
  typed.startupDone()
  const q = Buffer.concat([Buffer.from('Q'), Buffer.from([0, 0, 0, 13]), Buffer.from('SELECT 1\0')])
  const frames = [...q].map((b) => typed.next(Buffer.of(b)))
  assert.equal(frames.filter((f) => f !== null).length, 1)
  assert.deepEqual(decodeMessage(frames.at(-1)!.type!, frames.at(-1)!.body), { kind: 'query', sql: 'SELECT 1' })
})

test('parameters become literals that cannot leave their place; floats print as PostgreSQL prints them', () => {
  assert.deepEqual(findPlaceholders("SELECT '$1', $1 FROM t WHERE a = $2 -- $3\n AND b IN ($3, $4) LIMIT $5").map((p) => [p.index, p.neighbour]), [
    [1, null],
    [2, 'a'],
    [3, 'b'],
    [4, 'b'],
    [5, '#limit'],
  ])
  assert.equal(literalOf({ kind: 'string', text: "it's" }, 'none'), "'it''s'")
  assert.equal(literalOf({ kind: 'string', text: '007' }, 'compared'), "'007'")
  assert.equal(literalOf({ kind: 'string', text: '-5' }, 'int'), '(-5)')
  assert.equal(literalOf({ kind: 'string', text: '5 OR 1=1' }, 'int'), "'5 OR 1=1'")
  // A backslash is an ordinary character in a standard string: the quote after it is doubled like any other.
  assert.equal(literalOf({ kind: 'string', text: "x\\' OR 1=1 --" }, 'text'), "'x\\'' OR 1=1 --'")
  assert.deepEqual(findPlaceholders("SELECT 'C:\\', $1, E'\\', $2', $3").map((p) => p.index), [1, 3])
  assert.equal(formatFloat(1e-7), '1e-07')
  assert.equal(formatFloat(1e20), '1e+20')
  assert.equal(formatFloat(1.5), '1.5')
  assert.equal(formatFloat(123456789012345), '123456789012345')
})

test('a DML with RETURNING sends RowDescription and DataRows, then INSERT 0 n / UPDATE n / DELETE n, in both protocols', async () => {
  // An engine that answers as SqlEngine does for INSERT/UPDATE/DELETE … RETURNING.
  const seen: string[] = []
  const answer = (sql: string): SqlResult => {
    seen.push(sql)
    if (/^INSERT/.test(sql)) return { command: 'INSERT', columns: [{ name: 'id', type: 'BIGINT' }, { name: 'v', type: 'TEXT' }], rows: [[1n, 'a'], [2n, 'b']], rowsAffected: 2 }
    if (/^UPDATE/.test(sql)) return { command: 'UPDATE', columns: [{ name: 'v', type: 'TEXT' }], rows: [['z']], rowsAffected: 1 }
    if (/^DELETE/.test(sql)) return { command: 'DELETE', columns: [{ name: 'id', type: 'BIGINT' }], rows: [], rowsAffected: 0 }
    return { command: 'SELECT', columns: [{ name: 'one', type: 'BIGINT' }], rows: [[1n]], rowsAffected: 0 }
  }
  const session = { transactionStatus: 'idle', inTransaction: false, execute: async (sql: string) => answer(sql), close: async () => undefined }
  const engine = { session: () => session, columnBaseTypes: () => [] } as unknown as SqlEngine
  const server = await PgServer.start({ engine, listen: '127.0.0.1:0', insecure: true })
  const client = new pg.Client(`postgresql://root@${server.address}/mrdb`)
  await client.connect()
  try {
    // Simple query protocol.
    const inserted = await client.query("INSERT INTO t (v) VALUES ('a'), ('b') RETURNING id, v")
    assert.equal(inserted.command, 'INSERT')
    assert.equal(inserted.rowCount, 2)
    assert.deepEqual(inserted.rows, [{ id: '1', v: 'a' }, { id: '2', v: 'b' }])
    assert.deepEqual(inserted.fields.map((f) => [f.name, f.dataTypeID]), [['id', 20], ['v', 25]])
    const deleted = await client.query('DELETE FROM t WHERE false RETURNING id')
    assert.deepEqual([deleted.command, deleted.rowCount, deleted.rows, deleted.fields.map((f) => f.name)], ['DELETE', 0, [], ['id']])
    // Extended protocol (Parse, Bind, Describe portal, Execute), with a parameter.
    const updated = await client.query('UPDATE t SET v = $1 RETURNING v', ['z'])
    assert.deepEqual([updated.command, updated.rowCount, updated.rows], ['UPDATE', 1, [{ v: 'z' }]])
    assert.equal(seen.at(-1), "UPDATE t SET v = 'z' RETURNING v")
    const prepared = await client.query({ name: 'ins', text: 'INSERT INTO t (v) VALUES ($1) RETURNING id, v', values: ['a'] })
    assert.deepEqual([prepared.command, prepared.rowCount, prepared.rows.length], ['INSERT', 2, 2])
    // Several statements in one simple query: each its own result.
    const [first, second] = (await client.query('DELETE FROM t WHERE false RETURNING id; SELECT 1 AS one')) as unknown as pg.QueryResult[]
    assert.deepEqual([first!.command, first!.rowCount, second!.command, second!.rows], ['DELETE', 0, 'SELECT', [{ one: '1' }]])
  } finally {
    await client.end().catch(() => undefined)
    await server.stop()
  }
})

test('Describe of a prepared INSERT … RETURNING answers its RowDescription without running it; without RETURNING, NoData', async () => {
  const ran: string[] = []
  const described: string[] = []
  const session = {
    transactionStatus: 'idle',
    inTransaction: false,
    execute: async (sql: string): Promise<SqlResult> => (ran.push(sql), { command: 'INSERT', columns: [], rows: [], rowsAffected: 1 }),
    describe: async (sql: string) => (described.push(sql), /RETURNING/.test(sql) ? [{ name: 'id', type: 'BIGINT' }, { name: 'v', type: 'TEXT' }] : []),
    close: async () => undefined,
  }
  const engine = { session: () => session, columnBaseTypes: () => [] } as unknown as SqlEngine
  const server = await PgServer.start({ engine, listen: '127.0.0.1:0', insecure: true })
  const { serialize, parse: parseBackend } = await import('pg-protocol')
  const { connect } = await import('node:net')
  const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1))
  const socket = connect(port, '127.0.0.1')
  const messages: Array<{ name: string; fields?: Array<{ name: string; dataTypeID: number }> }> = []
  void parseBackend(socket, (m) => void messages.push(m as (typeof messages)[number]))
  const readyCount = async (n: number): Promise<void> => {
    for (let i = 0; i < 2000 && messages.filter((m) => m.name === 'readyForQuery').length < n; i++) await new Promise((r) => setTimeout(r, 5))
  }
  try {
    socket.write(serialize.startup({ user: 'root', database: 'mrdb' }))
    await readyCount(1)
    const start = messages.length
    socket.write(
      Buffer.concat([
        serialize.parse({ name: 'ins', text: 'INSERT INTO t (v) VALUES ($1) RETURNING id, v', types: [] }),
        serialize.describe({ type: 'S', name: 'ins' }),
        serialize.parse({ name: 'del', text: 'DELETE FROM t WHERE id = $1', types: [] }),
        serialize.describe({ type: 'S', name: 'del' }),
        serialize.sync(),
      ]),
    )
    await readyCount(2)
    const answer = messages.slice(start)
    assert.deepEqual(answer.map((m) => m.name), ['parseComplete', 'parameterDescription', 'rowDescription', 'parseComplete', 'parameterDescription', 'noData', 'readyForQuery'])
    assert.deepEqual(answer[2]!.fields!.map((f) => [f.name, f.dataTypeID]), [['id', 20], ['v', 25]])
    assert.deepEqual(ran, [], 'describing runs nothing')
    assert.deepEqual(described, ['INSERT INTO t (v) VALUES (NULL) RETURNING id, v', 'DELETE FROM t WHERE id = NULL'])
  } finally {
    socket.destroy()
    await server.stop()
  }
})

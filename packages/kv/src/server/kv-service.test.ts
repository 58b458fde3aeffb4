import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, Server, ServerCredentials, credentials, status } from '@grpc/grpc-js'
import { MemoryNetwork } from '@mrdb/raft'
import { open } from '@mrdb/storage'
import { Store } from './store.js'
import { addKvService } from './kv-service.js'
import { KvRequestHandler } from './request-handler.js'
import { KV_SERVICE } from '../api/protocol.js'

const raw = (b: Buffer) => b

/** A node's KV service over a store without ranges, and a client that sends it raw bytes. */
async function withService(fn: (client: Client) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-kv-service-'))
  const engine = await open(dir)
  const store = await Store.open({ nodeId: 1, engine, transport: new MemoryNetwork().transport(1), tickMs: 50, sync: false })
  const server = new Server()
  addKvService(server, new KvRequestHandler(store, { nodes: () => [], ranges: async () => [] }))
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure())
  try {
    await fn(client)
  } finally {
    client.close()
    server.forceShutdown()
    await store.close()
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  }
}

function unary(client: Client, path: string, body: Buffer): Promise<{ code: status; reply: unknown }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, raw, raw, body, { deadline: Date.now() + 10_000 }, (err, value) => {
      resolve({ code: err?.code ?? status.OK, reply: value === undefined ? undefined : JSON.parse(value.toString()) })
    })
  })
}

test('a unary call whose body is no JSON object gets INVALID_ARGUMENT in the body, not a gRPC INTERNAL', async () => {
  await withService(async (client) => {
    for (const body of ['not json', '{"rangeId":', '5', 'null', '[1]', `${'['.repeat(100)}${']'.repeat(100)}`]) {
      const { code, reply } = await unary(client, KV_SERVICE.get.path, Buffer.from(body))
      assert.equal(code, status.OK, body)
      assert.equal((reply as { error?: { code: string } }).error?.code, 'INVALID_ARGUMENT', body)
    }
  })
})

test('the command stream drops a message that does not decode and goes on answering the next', async () => {
  await withService(async (client) => {
    const m = KV_SERVICE.commands
    const call = client.makeBidiStreamRequest(m.path, raw, raw, { deadline: Date.now() + 10_000 })
    const answers: unknown[] = []
    const ended = new Promise<status>((resolve) => call.on('status', (s: { code: status }) => resolve(s.code)))
    call.on('error', () => {})
    const answered = new Promise<void>((resolve) => {
      call.on('data', (b: Buffer) => {
        answers.push(...(JSON.parse(b.toString()) as unknown[]))
        if (answers.length >= 2) resolve()
      })
    })
    call.write(Buffer.from('this is not json'))
    call.write(Buffer.from('[{"id":1,"op":"get","body":{"rangeId":-1,"key":"AQ=="}}]'))
    call.write(Buffer.from(`[{"id":2,"op":"get","body":${'['.repeat(40)}${']'.repeat(40)}}]`)) // nested too deep: dropped whole
    call.write(Buffer.from('[{"id":3,"op":"get","body":{"rangeId":5,"key":"AQ=="}}]'))
    await answered
    call.end()
    assert.equal(await ended, status.OK)
    assert.deepEqual(answers, [
      { id: 1, body: { error: { code: 'INVALID_ARGUMENT', message: 'rangeId must be a positive integer, got -1' } } },
      { id: 3, body: { error: { code: 'RANGE_NOT_FOUND', message: 'node 1 has no replica of range 5' } } },
    ])
  })
})

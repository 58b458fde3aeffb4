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
import { decodeResponse, decodeResponses, encodeRequest, encodeRequests, responseFromWire } from '../api/kv-wire.js'
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

function unary(client: Client, path: string, body: Buffer): Promise<{ code: status; reply: Buffer | undefined }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, raw, raw, body, { deadline: Date.now() + 10_000 }, (err, value) => resolve({ code: err?.code ?? status.OK, reply: value }))
  })
}

test('a unary call whose body does not decode, or carries another kind, gets INVALID_ARGUMENT in the answer, not a gRPC INTERNAL', async () => {
  await withService(async (client) => {
    const bodies = [Buffer.from('not protobuf'), Buffer.from([0x08]), Buffer.from([0x0b, 0x0c]), Buffer.from(encodeRequest({ op: 'put', rangeId: 1, key: Buffer.from('k'), value: Buffer.from('v') }))]
    for (const body of bodies) {
      const { code, reply } = await unary(client, KV_SERVICE.get.path, body)
      assert.equal(code, status.OK, body.toString('hex'))
      assert.equal(decodeResponse('get', reply!).error?.code, 'INVALID_ARGUMENT', body.toString('hex'))
    }
  })
})

test('the command stream answers each request of a message by id, and ends with INVALID_ARGUMENT at a message that is no frame', async () => {
  await withService(async (client) => {
    const m = KV_SERVICE.commands
    const call = client.makeBidiStreamRequest(m.path, raw, raw, { deadline: Date.now() + 10_000 })
    const answers: Array<{ id: number; code: string | undefined; message: string | undefined }> = []
    const ended = new Promise<{ code: status; details: string }>((resolve) => call.on('status', resolve))
    call.on('error', () => {})
    const answered = new Promise<void>((resolve) => {
      call.on('data', (b: Buffer) => {
        for (const w of decodeResponses(b)) {
          const { error } = responseFromWire('get', w)
          answers.push({ id: w.id, code: error?.code, message: error?.message })
        }
        if (answers.length >= 3) resolve()
      })
    })
    call.write(
      Buffer.from(
        encodeRequests([
          { id: 1, request: { op: 'get', rangeId: -1, key: Buffer.from([1]) } },
          { id: 2, request: { op: 'get', rangeId: 5, key: Buffer.from([1]) } },
          { id: 3, request: { op: 'get', rangeId: 5, key: new Uint8Array(0) } },
        ]),
      ),
    )
    await answered
    call.write(Buffer.from('this is not protobuf'))
    const { code, details } = await ended
    assert.equal(code, status.INVALID_ARGUMENT)
    assert.match(details, /^INVALID_ARGUMENT: malformed message/)
    assert.deepEqual(
      answers.sort((a, b) => a.id - b.id),
      [
        // -1 travels as 2^64 - 1, which the node refuses as no safe integer.
        { id: 1, code: 'INVALID_ARGUMENT', message: 'rangeId must be a positive integer, got 18446744073709552000' },
        { id: 2, code: 'RANGE_NOT_FOUND', message: 'node 1 has no replica of range 5' },
        { id: 3, code: 'INVALID_ARGUMENT', message: 'key must not be empty' },
      ],
    )
  })
})

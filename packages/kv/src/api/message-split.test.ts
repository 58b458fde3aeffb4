import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client, Server, ServerCredentials, credentials } from '@grpc/grpc-js'
import { CommandStream } from '../client/command-stream.js'
import { addKvService } from '../server/kv-service.js'
import type { KvRequestHandler } from '../server/request-handler.js'
import { MAX_MESSAGE_ITEMS, MAX_MESSAGE_PAYLOAD_BYTES, messageCost, splitMessages } from './message-split.js'
import type { KvRequest } from './requests.js'

test('a turn is cut by item count, by estimated bytes, and a lone oversize item travels alone', () => {
  const small = Array.from({ length: 1300 }, () => ({ key: new Uint8Array(10) }))
  assert.deepEqual(splitMessages(small, messageCost).map((r) => r.length), [MAX_MESSAGE_ITEMS, MAX_MESSAGE_ITEMS, 1300 - 2 * MAX_MESSAGE_ITEMS])
  const pages = Array.from({ length: 40 }, () => ({ value: new Uint8Array(2 * 1024 * 1024) }))
  const runs = splitMessages(pages, messageCost)
  assert.equal(runs.flat().length, 40, 'every item once, in order')
  for (const r of runs) assert.ok(r.reduce((n, p) => n + messageCost(p).bytes, 0) <= MAX_MESSAGE_PAYLOAD_BYTES)
  const huge = [{ value: new Uint8Array(MAX_MESSAGE_PAYLOAD_BYTES + 1) }, { value: new Uint8Array(1) }]
  assert.deepEqual(splitMessages(huge, messageCost).map((r) => r.length), [1, 1])
  assert.ok(messageCost({ mutations: Array.from({ length: 1000 }, () => ({ key: new Uint8Array(1), kind: 'delete' })) }).values > 3000, 'values count every field')
})

test('answers of one turn totalling more than a gRPC message may hold all arrive (40 × 2 MiB through a 64 MiB limit)', async () => {
  const value = new Uint8Array(2 * 1024 * 1024).fill(7)
  const handler = { handle: async (_req: KvRequest) => ({ value }) } as unknown as KvRequestHandler
  const server = new Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024 })
  addKvService(server, handler)
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 })
  try {
    const stream = new CommandStream(client)
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => stream.send({ op: 'get', rangeId: 1, key: Buffer.from(`k${i}`) }, Date.now() + 60_000)))
    for (const a of answers) assert.equal((a as { value?: Uint8Array }).value?.length, value.length)
  } finally {
    client.close()
    server.forceShutdown()
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { Client, Server, ServerCredentials, credentials, status, type ServerDuplexStream } from '@grpc/grpc-js'
import { KV_SERVICE } from '../api/protocol.js'
import { CommandStream } from './command-stream.js'

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as { port: number }).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

test('a request to a node that cannot be reached fails UNAVAILABLE: it never left', async () => {
  const client = new Client(`127.0.0.1:${await closedPort()}`, credentials.createInsecure())
  try {
    const stream = new CommandStream(client)
    await assert.rejects(stream.send({ op: 'cas', rangeId: 1, key: Buffer.from('k') }, Date.now() + 5000), (e: { code?: number }) => e.code === status.UNAVAILABLE)
  } finally {
    client.close()
  }
})

test('a request on a stream that breaks after it was sent fails UNKNOWN: it may have applied', async () => {
  const server = new Server()
  let received!: () => void
  const arrived = new Promise<void>((resolve) => (received = resolve))
  server.addService(KV_SERVICE, {
    commands: (call: ServerDuplexStream<unknown, unknown>) => call.on('data', () => received()),
  } as never)
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure())
  try {
    const stream = new CommandStream(client)
    const answer = stream.send({ op: 'cas', rangeId: 1, key: Buffer.from('k') }, Date.now() + 5000)
    await arrived
    server.forceShutdown()
    await assert.rejects(answer, (e: { code?: number }) => e.code === status.UNKNOWN)
  } finally {
    client.close()
    server.forceShutdown()
  }
})

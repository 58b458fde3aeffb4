import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, credentials } from '@grpc/grpc-js'
import { NODE_SERVICE } from './admin-protocol.js'
import { NodeServer } from './node-server.js'
import { PD_SERVICE } from './pd-protocol.js'

test('a node that fails to start releases its data directory and stops its store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-node-'))
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  const port = (taken.address() as { port: number }).port
  try {
    await assert.rejects(NodeServer.start({ storeId: 1, listen: `127.0.0.1:${port}`, join: [], dataDir: dir, sync: false }))
    // The directory is free again (the engine's lock was released) and a node starts on it.
    const node = await NodeServer.start({ storeId: 1, listen: '127.0.0.1:0', join: [], dataDir: dir, sync: false })
    await node.stop()
  } finally {
    await new Promise((resolve) => taken.close(resolve))
    await rm(dir, { recursive: true, force: true })
  }
})

/** A fresh, uninitialized node on a free port, and a client that sends it raw bytes. */
async function withNode(fn: (node: NodeServer, client: Client) => Promise<void>, keepaliveMs?: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-node-'))
  const node = await NodeServer.start({ storeId: 1, listen: '127.0.0.1:0', join: [], dataDir: dir, sync: false, keepaliveMs })
  const client = new Client(node.address, credentials.createInsecure())
  try {
    await fn(node, client)
  } finally {
    client.close()
    await node.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

const raw = (b: Buffer) => b

function unary(client: Client, path: string, body: unknown): Promise<{ nodes?: unknown; error?: { code: string } }> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, raw, raw, Buffer.from(JSON.stringify(body)), { deadline: Date.now() + 10_000 }, (err, value) => (err || !value ? reject(err) : resolve(JSON.parse(value.toString()))))
  })
}

test('a hello with a malformed body is refused and leaves the address book as it was', async () => {
  await withNode(async (node, client) => {
    for (const body of [{ nodeId: 'x', address: 5 }, { nodeId: 2, address: 'nowhere' }, { nodeId: 2, address: '127.0.0.1:7', nodes: [[3, 7]] }, { nodeId: 2, address: '127.0.0.1:7', nodes: 'all' }]) {
      assert.equal((await unary(client, NODE_SERVICE.hello.path, body)).error?.code, 'INVALID_ARGUMENT', JSON.stringify(body))
    }
    assert.equal((await unary(client, PD_SERVICE.heartbeat.path, { storeId: 'x' })).error?.code, 'PD_INVALID_ARGUMENT')
    const status = await unary(client, NODE_SERVICE.hello.path, { nodeId: 2, address: '127.0.0.1:7' })
    assert.deepEqual(status.nodes, [[1, node.address], [2, '127.0.0.1:7']])
  })
})

test('the server drops a connection that never answers its keepalive pings', { timeout: 30_000 }, async () => {
  await withNode(async (node) => {
    const at = node.address.lastIndexOf(':')
    const socket = connect(Number(node.address.slice(at + 1)), node.address.slice(0, at))
    socket.on('error', () => {})
    socket.on('data', () => {}) // the server's SETTINGS and pings, never answered
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await closed // after about two keepalive periods; before the fix, never
  }, 200)
})

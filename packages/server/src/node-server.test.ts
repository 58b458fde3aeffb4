import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeServer } from './node-server.js'

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

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessCluster } from './process-cluster.js'

test('stop kills a node still starting once it is up, and no node starts after it', async () => {
  const cluster = await ProcessCluster.start({ nodes: 1, init: false })
  let late: Promise<void> | undefined
  try {
    // A fault loop restarting a node while the test fails and stops the cluster.
    late = cluster.startNode(2)
    await cluster.stop()
    await late.catch(() => undefined)
    assert.equal(cluster.isRunning(2), false, 'the node that was starting is not left running')
    await assert.rejects(cluster.startNode(3), /stopped/)
  } finally {
    await late?.catch(() => undefined)
    await cluster.stop()
  }
})

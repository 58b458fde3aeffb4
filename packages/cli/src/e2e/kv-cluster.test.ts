// Real node processes on 127.0.0.1: replicated KV writes and reads, leader failure and
// recovery, and the cost of many idle ranges.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client, credentials, status } from '@grpc/grpc-js'
import { KV_SERVICE, KvClient, rangeContains, responseFromWire, type KvRequest, type WireResponse } from '@mrdb/kv'
import { ProcessCluster } from '../testing/process-cluster.js'
import { nodeStatus, waitFor } from './helpers.js'

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString())

test('3 node processes: writes through any node, read-your-writes, kill -9 a leader, restart it, checksums match', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 4 })
  const client = new KvClient({ hosts: cluster.addresses(), timeoutMs: 20_000 })
  try {
    // Through each node's CLI, then read back through another node.
    for (const [i, address] of cluster.addresses().entries()) {
      await cluster.mrdb(['kv', 'put', `key-${i}`, `value-${i}`, '--host', address])
      const other = cluster.addresses()[(i + 1) % 3]!
      assert.equal((await cluster.mrdb(['kv', 'get', `key-${i}`, '--host', other])).trim(), `value-${i}`)
    }
    for (let i = 0; i < 50; i++) await client.put(`k${i}`, `v${i}`)
    assert.equal(text(await client.get('k7')), 'v7')
    // A batch across ranges (keys spread over the first byte), and a swap.
    await client.batch([{ key: '\x01a', value: '1' }, { key: '\xf0b', value: '2' }, { key: 'k0', value: undefined }])
    assert.deepEqual([text(await client.get('\x01a')), text(await client.get('\xf0b')), await client.get('k0')], ['1', '2', undefined])
    assert.deepEqual(await client.compareAndSwap('k1', 'v1', 'w1'), { succeeded: true, current: Buffer.from('v1') })
    const failed = await client.compareAndSwap('k1', 'v1', 'x1')
    assert.equal(failed.succeeded, false)
    assert.equal(text(failed.current), 'w1')

    // Malformed requests on the command stream are answered with codes; a message that is no
    // frame ends the stream with INVALID_ARGUMENT; the node serves on.
    const raw = new Client(cluster.address(1), credentials.createInsecure())
    const commands = KV_SERVICE.commands
    const junk = raw.makeBidiStreamRequest(commands.path, (b: Buffer) => b, (b: Buffer) => b)
    const answers: WireResponse[] = []
    junk.on('data', (b: Buffer) => answers.push(...commands.responseDeserialize(b)))
    junk.on('error', () => {})
    const ended = new Promise<{ code: status }>((resolve) => junk.on('status', resolve))
    const k = Buffer.from('k')
    junk.write(
      commands.requestSerialize([
        { id: 1, request: { op: 'get', rangeId: 0, key: k } },
        { id: 2, request: { op: 'put', rangeId: 1, key: k } as unknown as KvRequest }, // no value
        { id: 3, request: { op: 'put', rangeId: -1, key: k, value: k } },
      ]),
    )
    await waitFor('answers to malformed requests', () => answers.length >= 3, 5000)
    assert.deepEqual(answers.map((w) => responseFromWire('put', w).error?.code), ['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'])
    junk.write(Buffer.from('this is not protobuf'))
    assert.equal((await ended).code, status.INVALID_ARGUMENT)
    raw.close()
    assert.equal(text(await client.get('k7')), 'v7', 'the node still serves')

    // Bad input through the CLI: a clear error with a code and a non-zero exit, no stack trace.
    await assert.rejects(cluster.mrdb(['kv', 'scan', '--limit', 'zero', '--host', cluster.address(1)]), (e: { stderr?: string; exitCode?: number }) => {
      return e.exitCode === 1 && /^error: INVALID_ARGUMENT: --limit must be a positive integer/.test(e.stderr ?? '') && !/\bat \S+:\d+/.test(e.stderr ?? '')
    })

    // Kill the leader of the range holding "k7"; writes to it resume under a new leader.
    const ranges = (await client.describe()).ranges!
    const key = Buffer.from('k7')
    const range = ranges.find((r) => rangeContains(r.descriptor, key))!
    const victim = range.leaderNodeId
    assert.ok(victim > 0, 'the range has a leader')
    await cluster.kill(victim)
    for (let i = 0; i < 50; i++) await client.put(`k${i}`, `after-${i}`)
    assert.equal(text(await client.get('k7')), 'after-7')
    const newLeader = (await client.describe()).ranges!.find((r) => r.descriptor.rangeId === range.descriptor.rangeId)!.leaderNodeId
    assert.notEqual(newLeader, victim)

    // Restart it from its data directory: it catches up and its copy matches the others.
    await cluster.startNode(victim)
    const rangeId = range.descriptor.rangeId
    await waitFor('replicas agree', async () => {
      const sums = await Promise.all([1, 2, 3].map((n) => client.checksum(rangeId, n)))
      return new Set(sums.map((s) => `${s.appliedIndex}/${s.checksum}`)).size === 1 && sums[0]!.keys > 0
    })
  } finally {
    client.close()
    await cluster.stop()
  }
})

test('1,000 ranges on 3 nodes: idle ranges quiesce and frames between two nodes stay bounded', async () => {
  // The default GC TTL: a new cluster's ranges start at the GC fence the placement driver
  // publishes for its first step (see bootstrapGcFloor), so GC proposes nothing here.
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1000 })
  try {
    const address = cluster.address(1)
    await waitFor(
      'every range elected and quiesced',
      async () => {
        const st = await nodeStatus(address)
        return (st.ranges ?? []).length === 1000 && st.metrics!.quiesced! >= 1000
      },
      120_000,
    )
    // The placement driver balances leaders first (each transfer wakes a range); measure
    // 3-second windows until one passes with the cluster settled.
    const deadline = Date.now() + 120_000
    for (let window = 1; ; window++) {
      const before = await nodeStatus(address)
      const started = Date.now()
      await new Promise((r) => setTimeout(r, 3000))
      const after = await nodeStatus(address)
      const seconds = (Date.now() - started) / 1000
      const framesPerPeerPerSecond = (after.metrics!.framesSent! - before.metrics!.framesSent!) / 2 / seconds
      const heartbeats = after.metrics!.heartbeatsCoalesced! - before.metrics!.heartbeatsCoalesced!
      const cpu = (after.metrics!.cpuUserMicros! + after.metrics!.cpuSystemMicros! - before.metrics!.cpuUserMicros! - before.metrics!.cpuSystemMicros!) / 1e6 / seconds
      console.log(`1,000 idle ranges, window ${window}: ${framesPerPeerPerSecond.toFixed(1)} frames/s from node 1 to each peer, ${heartbeats} range heartbeats sent, idle CPU ${(cpu * 100).toFixed(1)}% of a core`)
      // One keepalive frame per peer per 50 ms tick, whatever the number of ranges.
      assert.ok(framesPerPeerPerSecond <= 3 * 20, `${framesPerPeerPerSecond} frames/s per peer`)
      if (heartbeats === 0) break
      assert.ok(Date.now() < deadline, 'quiesced ranges send no heartbeats once placement has settled')
    }
  } finally {
    await cluster.stop()
  }
})

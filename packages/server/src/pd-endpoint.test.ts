// The timestamp path between nodes: the first fetch of a node that does not lead the PD group
// is a forwarded unary call, later ones go on the leader's timestamp stream; an error answer or
// a broken stream sends the fetch the unary way again, with the unary way's outcome.
// A message on the stream is checked as a unary request is.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client, Metadata, Server, ServerCredentials, credentials, status, type MethodDefinition } from '@grpc/grpc-js'
import { unaryCall } from '@mrdb/kv'
import { PdError, PdErrorCode, type PlacementDriver } from '@mrdb/placement'
import { PdEndpoint } from './pd-endpoint.js'
import { PD_SERVICE } from './pd-protocol.js'

test('timestamps come from the PD leader on its stream after the first fetch; errors and broken streams fall back to the unary way', async () => {
  // Node 2 leads the PD group (a stand-in driver: an oracle counting up); node 1 holds no PD replica.
  let next = 1n
  let leads = true
  const driver = {
    timestamps: async (count: number) => {
      if (!leads) throw new PdError(PdErrorCode.NOT_LEADER, 'node 2 does not lead the PD group')
      const first = next
      next += BigInt(count)
      return { first, count }
    },
  } as unknown as PlacementDriver
  const server = new Server()
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  const channel = new Client(`127.0.0.1:${port}`, credentials.createInsecure())
  const leader = new PdEndpoint({ nodeId: 2, driver: () => driver, pdNodes: () => [2], nodes: () => [1, 2], call: () => Promise.reject(new Error('node 2 calls nobody')), openStream: () => assert.fail('node 2 opens no stream') })
  leader.serve(server)
  let unaryCalls = 0
  let streamsOpened = 0
  const gateway = new PdEndpoint({
    nodeId: 1,
    driver: () => undefined,
    pdNodes: () => [2],
    nodes: () => [1, 2],
    call: <Req, Res>(_nodeId: number, method: MethodDefinition<Req, Res>, req: Req) => {
      unaryCalls++
      return unaryCall(channel, method, req, Date.now() + 5000)
    },
    openStream: <Req, Res>(_nodeId: number, method: MethodDefinition<Req, Res>) => {
      streamsOpened++
      return channel.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new Metadata())
    },
  })
  try {
    assert.deepEqual(await gateway.tso({ count: 4 }), { first: '1', count: 4 })
    assert.equal(unaryCalls, 1, 'the first fetch finds the leader the unary way')
    assert.deepEqual(await gateway.tso({ count: 2 }), { first: '5', count: 2 })
    assert.deepEqual(await gateway.tso({ count: 1 }), { first: '7', count: 1 })
    assert.deepEqual([unaryCalls, streamsOpened], [1, 1], 'later fetches go on one stream')

    // The leader stepped down: the stream's error answer sends the fetch the unary way, which fails as before.
    leads = false
    await assert.rejects(gateway.tso({ count: 1 }), (e: unknown) => e instanceof PdError && e.code === PdErrorCode.UNAVAILABLE)
    assert.equal(unaryCalls, 2)
    leads = true
    assert.deepEqual(await gateway.tso({ count: 1 }), { first: '8', count: 1 })
    assert.deepEqual([unaryCalls, streamsOpened], [3, 1], 'found again the unary way, then the stream is used again')
    assert.deepEqual(await gateway.tso({ count: 1 }), { first: '9', count: 1 })
    assert.equal(unaryCalls, 3)

    // Closed (as at the node's stop): a later fetch opens a new stream to the leader it knows.
    gateway.close()
    assert.deepEqual(await gateway.tso({ count: 1 }), { first: '10', count: 1 })
    assert.deepEqual(await gateway.tso({ count: 1 }), { first: '11', count: 1 })
    assert.deepEqual([unaryCalls, streamsOpened], [3, 2])
  } finally {
    gateway.close()
    channel.close()
    server.forceShutdown()
  }
})

test('a timestamp stream message that is no request ends the call with INVALID_ARGUMENT; requests before it are answered', async () => {
  const driver = { timestamps: async (count: number) => ({ first: 100n, count }) } as unknown as PlacementDriver
  const server = new Server()
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  new PdEndpoint({ nodeId: 2, driver: () => driver, pdNodes: () => [2], nodes: () => [2], call: () => Promise.reject(new Error('none')), openStream: () => assert.fail('none') }).serve(server)
  const channel = new Client(`127.0.0.1:${port}`, credentials.createInsecure())
  try {
    for (const bad of ['{"id":0,"count":1}', '{"id":1}', '[]', 'not json', '{"id":1,"count":-2}']) {
      const identity = (b: Buffer) => b
      const call = channel.makeBidiStreamRequest(PD_SERVICE.tsoStream.path, identity, identity, new Metadata())
      const answers: unknown[] = []
      call.on('data', (b: Buffer) => answers.push(JSON.parse(b.toString())))
      const ended = new Promise<{ code: number; details: string }>((resolve) => call.on('status', resolve))
      call.on('error', () => undefined)
      call.write(Buffer.from('{"id":7,"count":3}'))
      // The good request's answer first, so that the refusal cannot overtake it.
      while (answers.length === 0) await new Promise((r) => setTimeout(r, 5))
      call.write(Buffer.from(bad))
      const end = await ended
      assert.equal(end.code, status.INVALID_ARGUMENT, bad)
      assert.deepEqual(answers, [{ id: 7, first: '100', count: 3 }], bad)
    }
  } finally {
    channel.close()
    server.forceShutdown()
  }
})

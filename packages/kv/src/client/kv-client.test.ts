import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it, test } from 'node:test'
import { Server, ServerCredentials, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js'
import { KvError, KvErrorCode } from '../api/errors.js'
import type { DecodedRequest, NumberedResponse } from '../api/kv-wire.js'
import { KV_SERVICE } from '../api/protocol.js'
import type { RangeDescriptor } from '../api/range-descriptor.js'
import type { KvResponse, RangesResponse, ScanRequest, ScanResponse } from '../api/requests.js'
import { KvClient } from './kv-client.js'

/** One range over the whole keyspace, on node 1. */
const WHOLE: RangeDescriptor = { rangeId: 1, startKey: new Uint8Array(0), endKey: new Uint8Array(0), generation: 1, replicas: [{ replicaId: 1, nodeId: 1, role: 'voter' }] }

/**
 * A one-node KV service whose answers to writes the test scripts: each write is counted as
 * carried out, then answered with the next scripted response.
 */
describe('KvClient retries', () => {
  let server: Server
  let address: string
  let writes: string[] = []
  let script: KvResponse[] = []

  before(async () => {
    server = new Server()
    const unimplemented = (_: unknown, cb: sendUnaryData<KvResponse>) => cb(null, { error: new KvError(KvErrorCode.INVALID_ARGUMENT, 'not in this test') })
    const impl: Record<string, unknown> = Object.fromEntries(Object.keys(KV_SERVICE).map((k) => [k, unimplemented]))
    impl['ranges'] = (_: ServerUnaryCall<unknown, RangesResponse>, cb: sendUnaryData<RangesResponse>) =>
      cb(null, {
        ranges: [{ descriptor: WHOLE, leaderNodeId: 1 }],
        nodes: [{ nodeId: 1, address }],
      })
    impl['commands'] = (call: ServerDuplexStream<DecodedRequest[], NumberedResponse[]>) => {
      call.on('data', (requests: DecodedRequest[]) => {
        call.write(
          requests.map((r) => {
            writes.push(r.request!.op)
            return { id: r.id, response: script.shift() ?? {} }
          }),
        )
      })
      call.on('end', () => call.end())
    }
    server.addService(KV_SERVICE, impl as never)
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
    address = `127.0.0.1:${port}`
  })
  after(() => server.forceShutdown())
  beforeEach(() => {
    writes = []
    script = []
  })

  const timedOut = { error: new KvError(KvErrorCode.TIMEOUT, 'the proposal got no answer in time') }

  for (const [name, write] of [
    ['put', (kv: KvClient) => kv.put('k', 'v')],
    ['delete', (kv: KvClient) => kv.delete('k')],
    ['batch', (kv: KvClient) => kv.batch([{ key: 'k', value: 'v' }])],
    ['compareAndSwap', (kv: KvClient) => kv.compareAndSwap('k', undefined, 'v')],
  ] as const) {
    it(`${name} is not repeated after an ambiguous TIMEOUT: repeating it could undo a later write`, async () => {
      const kv = new KvClient({ hosts: [address], timeoutMs: 3000 })
      try {
        script = [timedOut, {}]
        await assert.rejects(write(kv), (err: KvError) => err.code === KvErrorCode.TIMEOUT)
        assert.equal(writes.length, 1)
      } finally {
        kv.close()
      }
    })
  }

  it('a write refused as NOT_LEADER (never proposed) is retried', async () => {
    const kv = new KvClient({ hosts: [address], timeoutMs: 3000 })
    try {
      script = [{ error: new KvError(KvErrorCode.NOT_LEADER, 'not the leader', 1) }, {}]
      await kv.put('k', 'v')
      assert.deepEqual(writes, ['put', 'put'])
    } finally {
      kv.close()
    }
  })
})

test('a request retried until its deadline fails TIMEOUT naming the last error a node gave, not only the attempt the deadline cut short', async () => {
  // One node leading the only range, whose every answer is KEY_LOCKED (a lock nobody resolves).
  const server = new Server()
  let port = 0
  let answered = 0
  server.addService(KV_SERVICE, {
    ranges: (_call: ServerUnaryCall<unknown, RangesResponse>, respond: sendUnaryData<RangesResponse>) =>
      respond(null, {
        ranges: [{ descriptor: WHOLE, leaderNodeId: 1 }],
        nodes: [{ nodeId: 1, address: `127.0.0.1:${port}` }],
      }),
    commands: (call: ServerDuplexStream<DecodedRequest[], NumberedResponse[]>) => {
      call.on('data', (requests: DecodedRequest[]) => {
        answered += requests.length
        call.write(requests.map((r) => ({ id: r.id, response: { error: new KvError(KvErrorCode.KEY_LOCKED, 'key k is locked by the transaction at 7') } })))
      })
      call.on('end', () => call.end())
    },
  } as never)
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))))
  const client = new KvClient({ hosts: [`127.0.0.1:${port}`], timeoutMs: 1500 })
  try {
    await assert.rejects(client.scan('a', 'b'), (e: { code?: string; message?: string }) => e.code === KvErrorCode.TIMEOUT && /last error: key k is locked by the transaction at 7\b/.test(e.message ?? ''))
    assert.ok(answered > 1, `${answered} attempts`)
  } finally {
    client.close()
    server.forceShutdown()
  }
})

describe('KvClient scans across a split its cache predates', () => {
  // One node. Its routing view starts stale: range 1 = ['', +inf) at generation 1. The range
  // has split: range 1 = ['', 'm') and range 2 = ['m', +inf), both at generation 2. Scans are
  // answered from `answer`, given each request; every request is recorded.
  let server: Server
  let address: string
  let stale = true
  let requests: Array<{ rangeId: number; generation?: number; start: string; end: string }> = []
  let answer: (req: ScanRequest) => ScanResponse = () => ({})
  const enc = (s: string) => Buffer.from(s)
  const dec = (b: Uint8Array) => Buffer.from(b).toString()
  const replicas = [{ replicaId: 1, nodeId: 1, role: 'voter' as const }]
  const left: RangeDescriptor = { rangeId: 1, startKey: enc(''), endKey: enc('m'), generation: 2, replicas }
  const right: RangeDescriptor = { rangeId: 2, startKey: enc('m'), endKey: enc(''), generation: 2, replicas }

  before(async () => {
    server = new Server()
    server.addService(KV_SERVICE, {
      ranges: (_: ServerUnaryCall<unknown, RangesResponse>, cb: sendUnaryData<RangesResponse>) =>
        cb(null, {
          ranges: stale ? [{ descriptor: { ...left, endKey: enc(''), generation: 1 }, leaderNodeId: 1 }] : [left, right].map((descriptor) => ({ descriptor, leaderNodeId: 1 })),
          nodes: [{ nodeId: 1, address }],
        }),
      commands: (call: ServerDuplexStream<DecodedRequest[], NumberedResponse[]>) => {
        call.on('data', (batch: DecodedRequest[]) => {
          call.write(
            batch.map((r) => {
              const req = r.request as ScanRequest
              requests.push({ rangeId: req.rangeId, generation: req.generation, start: dec(req.start), end: dec(req.end) })
              return { id: r.id, response: answer(req) }
            }),
          )
        })
        call.on('end', () => call.end())
      },
    } as never)
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
    address = `127.0.0.1:${port}`
  })
  after(() => server.forceShutdown())
  beforeEach(() => {
    stale = true
    requests = []
  })

  /** The replicas as they are now: range 1 ends at 'm'; 'a1' and 'n1' are stored. */
  const current = (req: ScanRequest): ScanResponse => {
    const start = dec(req.start)
    if (req.rangeId === 1 && start >= 'm') return { error: new KvError(KvErrorCode.KEY_NOT_IN_RANGE, `key ${start} is not in range 1`, undefined, { descriptor: left }) }
    return req.rangeId === 1 ? { pairs: [[enc('a1'), enc('A')]], rangeEnd: enc('m') } : { pairs: [[enc('n1'), enc('N')]], rangeEnd: enc('') }
  }

  it('KEY_NOT_IN_RANGE with the replica\'s descriptor: the scan goes to the right range once the view has it, with exactly the span\'s rows', async () => {
    const kv = new KvClient({ hosts: [address], timeoutMs: 5000 })
    try {
      await kv.describe() // the cache is warm, and stale
      answer = (req) => {
        stale = false // the node's view catches up after the first refusal
        return current(req)
      }
      const rows = await kv.scan('n', 'p')
      assert.deepEqual(rows.map(([k]) => Buffer.from(k).toString()), ['n1'])
      assert.deepEqual(requests[0], { rangeId: 1, generation: 1, start: 'n', end: 'p' }, 'the request names the generation it was routed by')
      assert.deepEqual(requests.at(-1), { rangeId: 2, generation: 2, start: 'n', end: 'p' })
    } finally {
      kv.close()
    }
  })

  for (const [name, bad] of <Array<[string, ScanResponse]>>[
    ['an empty page ending behind its start (as replicas answered before span checks)', { pairs: [], rangeEnd: enc('m') }],
    ['rows of the neighbouring span', { pairs: [[enc('a1'), enc('A')]], rangeEnd: enc('m') }],
    ['a row past the range end it reports', { pairs: [[enc('n1'), enc('N')], [enc('z1'), enc('Z')]], rangeEnd: enc('p') }],
  ]) {
    it(`${name}: never returned, never followed backwards; retried after a fresh lookup`, async () => {
      const kv = new KvClient({ hosts: [address], timeoutMs: 5000 })
      try {
        await kv.describe()
        let first = true
        answer = (req) => {
          if (!first) return current(req)
          first = false
          stale = false
          return bad
        }
        const rows = await kv.scan('n', 'p')
        assert.deepEqual(rows.map(([k]) => Buffer.from(k).toString()), ['n1'])
        assert.ok(requests.every((r) => r.start >= 'n'), JSON.stringify(requests))
      } finally {
        kv.close()
      }
    })
  }
})

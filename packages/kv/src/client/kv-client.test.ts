import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Server, ServerCredentials, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js'
import { KvErrorCode } from '../errors.js'
import { KV_SERVICE, type CommandRequest, type CommandResponse, type RangesResponse } from '../service/protocol.js'
import { KvClient } from './kv-client.js'

test('a request retried until its deadline fails TIMEOUT naming the last error a node gave, not only the attempt the deadline cut short', async () => {
  // One node leading the only range, whose every answer is KEY_LOCKED (a lock nobody resolves).
  const server = new Server()
  let port = 0
  let answered = 0
  server.addService(KV_SERVICE, {
    ranges: (_call: ServerUnaryCall<unknown, RangesResponse>, respond: sendUnaryData<RangesResponse>) =>
      respond(null, {
        ranges: [{ descriptor: { rangeId: 1, startKey: '', endKey: '', generation: 1, replicas: [{ replicaId: 1, nodeId: 1, role: 'voter' }] }, leaderNodeId: 1 }],
        nodes: [{ nodeId: 1, address: `127.0.0.1:${port}` }],
      }),
    commands: (call: ServerDuplexStream<CommandRequest[], CommandResponse[]>) => {
      call.on('data', (requests: CommandRequest[]) => {
        answered += requests.length
        call.write(requests.map((r) => ({ id: r.id, body: { error: { code: KvErrorCode.KEY_LOCKED, message: 'key k is locked by the transaction at 7' } } })))
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

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { NetworkFaults, PARTITIONED_DETAILS } from './network-faults.js'

const identity = (b: Buffer) => b
const ECHO = {
  unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  stream: { path: '/test.Echo/Stream', requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
} satisfies grpc.ServiceDefinition

describe('NetworkFaults', () => {
  let server: grpc.Server
  let address: string
  let unaryCalls = 0

  before(async () => {
    server = new grpc.Server()
    server.addService(ECHO, {
      unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        unaryCalls++
        cb(null, call.request)
      },
      stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (b: Buffer) => call.write(b))
        call.on('end', () => call.end())
      },
    })
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
    address = `127.0.0.1:${port}`
  })
  after(() => server.forceShutdown())

  const unary = (client: grpc.Client, body: string) =>
    new Promise<string>((resolve, reject) =>
      client.makeUnaryRequest(ECHO.unary.path, identity, identity, Buffer.from(body), (err, res) => (err ? reject(err) : resolve(res!.toString()))),
    )

  it('refuses calls to a blocked address without sending them, and lets them through once healed', async () => {
    const faults = new NetworkFaults()
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), { interceptors: [faults.interceptor(address)] })
    try {
      assert.equal(await unary(client, 'a'), 'a')
      faults.setBlocked([address])
      assert.deepEqual(faults.blockedAddresses(), [address])
      const before = unaryCalls
      await assert.rejects(unary(client, 'b'), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE && err.details === PARTITIONED_DETAILS)
      assert.equal(unaryCalls, before, 'a refused call never reaches the server')
      faults.setBlocked([])
      assert.equal(await unary(client, 'c'), 'c')
    } finally {
      client.close()
    }
  })

  it('blocks only the addresses it is given', async () => {
    const faults = new NetworkFaults()
    faults.setBlocked(['127.0.0.1:1'])
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), { interceptors: [faults.interceptor(address)] })
    try {
      assert.equal(await unary(client, 'x'), 'x')
    } finally {
      client.close()
    }
  })

  it('fails a stream whose next message arrives after the partition began, rather than leaving it open', async () => {
    const faults = new NetworkFaults()
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), { interceptors: [faults.interceptor(address)] })
    try {
      const call = client.makeBidiStreamRequest(ECHO.stream.path, identity, identity)
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve))
      call.on('data', () => undefined)
      // The echo is on its way back when the partition begins: only a received message meets it.
      faults.setBlocked([])
      const first = new Promise<void>((resolve) => call.once('data', () => resolve()))
      call.write(Buffer.from('one'))
      await first
      const echoed = new Promise<void>((resolve) => call.once('data', () => resolve()))
      setImmediate(() => faults.setBlocked([address]))
      call.write(Buffer.from('two'))
      await Promise.race([echoed, ended])
      const err = await Promise.race([ended, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 3000))])
      assert.notEqual(err, 'open', 'the call neither answered nor failed')
      assert.equal((err as grpc.ServiceError).code, grpc.status.UNAVAILABLE)
    } finally {
      client.close()
    }
  })

  it('cuts off a stream that was open when the partition began', async () => {
    const faults = new NetworkFaults()
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), { interceptors: [faults.interceptor(address)] })
    try {
      const call = client.makeBidiStreamRequest(ECHO.stream.path, identity, identity)
      const received: string[] = []
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve))
      const first = new Promise<void>((resolve) => call.once('data', () => resolve()))
      call.on('data', (b: Buffer) => received.push(b.toString()))
      call.write(Buffer.from('before'))
      await first
      faults.setBlocked([address])
      call.write(Buffer.from('during'))
      const err = await ended
      assert.equal(err.code, grpc.status.UNAVAILABLE)
      assert.deepEqual(received, ['before'])
    } finally {
      client.close()
    }
  })
})

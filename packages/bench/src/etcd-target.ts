import type { Etcd3, IPutRequest, IPutResponse, IRangeRequest, IRangeResponse } from 'etcd3'
import { findEtcdLeader, openEtcdClient } from './etcd-client.js'
import type { KvTarget } from './kv-target.js'

/** Options of {@link etcdTarget}. */
export interface EtcdTargetOptions {
  /** Name shown in reports. Default "etcd". */
  readonly name?: string
  /** Deadline of each call, in ms, so a stuck request fails instead of hanging the run. Default 10,000. */
  readonly callTimeoutMs?: number
}

type Callback<T> = (err: Error | null, response?: T) => void

/**
 * The generated @grpc/grpc-js stub of etcd's KV service that etcd3 keeps for a host (one
 * channel, reused). Only the two methods used here, typed with etcd3's message types.
 */
interface KvStub {
  put(request: IPutRequest, options: { deadline: number }, callback: Callback<IPutResponse>): unknown
  range(request: IRangeRequest, options: { deadline: number }, callback: Callback<IRangeResponse>): unknown
}

/** The part of etcd3's (internal) connection pool that hands out a host's service stubs. */
interface StubSource {
  withConnection<R>(service: 'KV', fn: (args: { client: unknown }) => R): Promise<R>
}

/** One connection to the leader: the etcd3 client that owns the channel, and the calls to make. */
interface Connection {
  readonly client: Etcd3
  put(request: IPutRequest, deadline: number): Promise<unknown>
  range(request: IRangeRequest, deadline: number): Promise<IRangeResponse>
}

function promised<T>(start: (callback: Callback<T>) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, response) => (err !== null ? reject(err) : resolve(response as T)))
  })
}

/**
 * Builds the calls for `client`. Per-call work in etcd3's pool (policies, host shuffling, auth
 * metadata) costs more client CPU than the call itself, so when the pool exposes its stubs
 * (etcd3 1.1.x) calls go straight to the KV stub; otherwise through etcd3's public KV client.
 */
async function connection(client: Etcd3): Promise<Connection> {
  const pool = (client as unknown as { pool?: Partial<StubSource> }).pool
  if (typeof pool?.withConnection === 'function') {
    const stub = (await (pool as StubSource).withConnection('KV', ({ client: raw }) => raw)) as Partial<KvStub>
    if (typeof stub.put === 'function' && typeof stub.range === 'function') {
      const kv = stub as KvStub
      return {
        client,
        put: (request, deadline) => promised<IPutResponse>((cb) => kv.put(request, { deadline }, cb)),
        range: (request, deadline) => promised<IRangeResponse>((cb) => kv.range(request, { deadline }, cb)),
      }
    }
  }
  return {
    client,
    put: (request, deadline) => client.kv.put(request, { deadline }),
    range: (request, deadline) => client.kv.range(request, { deadline }),
  }
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * A {@link KvTarget} backed by an etcd cluster through etcd's v3 gRPC KV API: put is `KV.Put`,
 * get is `KV.Range` on one key, linearizable (etcd's default). All requests go to the leader,
 * found on first use with the Maintenance Status API, over one reused gRPC channel; the leader is
 * looked up again after a call fails (followers forward to the leader anyway). Retries are off,
 * so failures surface as errors.
 */
export function etcdTarget(endpoints: string[], options: EtcdTargetOptions = {}): KvTarget {
  const timeoutMs = options.callTimeoutMs ?? 10_000
  let connecting: Promise<Connection> | undefined
  let current: Connection | undefined
  // Connections dropped after a failure; calls may still be in flight on them, so they close last.
  const retired: Connection[] = []
  let closed = false

  const connect = (): Promise<Connection> => {
    connecting ??= (async () => {
      const client = openEtcdClient([await findEtcdLeader(endpoints)])
      try {
        const conn = await connection(client)
        if (closed) throw new Error('etcd target is closed')
        current = conn
        return conn
      } catch (err) {
        client.close()
        throw err
      }
    })().catch((err: unknown) => {
      connecting = undefined
      throw err
    })
    return connecting
  }
  const call = async <T>(fn: (conn: Connection, deadline: number) => Promise<T>): Promise<T> => {
    if (closed) throw new Error('etcd target is closed')
    const conn = current ?? (await connect())
    try {
      return await fn(conn, Date.now() + timeoutMs)
    } catch (err) {
      // Forget the leader so the next call finds it again (it may have moved).
      if (current === conn) {
        current = undefined
        connecting = undefined
        retired.push(conn)
      }
      throw err
    }
  }

  return {
    name: options.name ?? 'etcd',
    async put(key, value) {
      await call((conn, deadline) => conn.put({ key: asBuffer(key), value: asBuffer(value) }, deadline))
    },
    async get(key) {
      const response = await call((conn, deadline) => conn.range({ key: asBuffer(key) }, deadline))
      const value = response.kvs[0]?.value
      return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    },
    async close() {
      closed = true
      const pending = connecting
      connecting = undefined
      current?.client.close()
      current = undefined
      for (const conn of retired.splice(0)) conn.client.close()
      // A lookup still under way closes its client itself once it sees `closed`.
      await pending?.catch(() => undefined)
    },
  }
}

import type { Etcd3 } from 'etcd3'
import { findEtcdLeader, openEtcdClient } from './etcd-client.js'
import type { KvTarget } from './kv-target.js'

/** Options of {@link etcdTarget}. */
export interface EtcdTargetOptions {
  /** Name shown in reports. Default "etcd". */
  readonly name?: string
  /** Deadline of each call, in ms, so a stuck request fails instead of hanging the run. Default 10,000. */
  readonly callTimeoutMs?: number
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
  let connecting: Promise<Etcd3> | undefined
  let current: Etcd3 | undefined
  // Clients dropped after a failure; calls may still be in flight on them, so they close last.
  const retired: Etcd3[] = []
  let closed = false

  const connect = (): Promise<Etcd3> => {
    if (current !== undefined) return Promise.resolve(current)
    connecting ??= findEtcdLeader(endpoints).then(
      (leader) => {
        const client = openEtcdClient([leader])
        if (closed) client.close()
        else current = client
        return client
      },
      (err: unknown) => {
        connecting = undefined
        throw err
      },
    )
    return connecting
  }
  // After a failure, forget the leader so the next call finds it again (it may have moved).
  const forget = (client: Etcd3): void => {
    if (current !== client) return
    current = undefined
    connecting = undefined
    retired.push(client)
  }
  const call = async <T>(fn: (client: Etcd3, deadline: Date) => Promise<T>): Promise<T> => {
    if (closed) throw new Error('etcd target is closed')
    const client = current ?? (await connect())
    try {
      return await fn(client, new Date(Date.now() + timeoutMs))
    } catch (err) {
      forget(client)
      throw err
    }
  }

  return {
    name: options.name ?? 'etcd',
    async put(key, value) {
      await call((client, deadline) => client.kv.put({ key: asBuffer(key), value: asBuffer(value) }, { deadline }))
    },
    async get(key) {
      const response = await call((client, deadline) => client.kv.range({ key: asBuffer(key) }, { deadline }))
      const value = response.kvs[0]?.value
      return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    },
    async close() {
      closed = true
      const pending = connecting
      connecting = undefined
      current?.close()
      current = undefined
      for (const client of retired.splice(0)) client.close()
      // A lookup still under way closes its client itself once it sees `closed`.
      await pending?.catch(() => undefined)
    },
  }
}

import { KvClient } from '@mrdb/kv'
import type { KvTarget } from './kv-target.js'

/** mrdb as a benchmark target: its routing client (leader routing, linearizable reads) over a running cluster. */
export function mrdbTarget(hosts: string[], name = 'mrdb'): KvTarget {
  const client = new KvClient({ hosts })
  return {
    name,
    put: (key, value) => client.put(key, value),
    get: (key) => client.get(key),
    close: async () => client.close(),
  }
}

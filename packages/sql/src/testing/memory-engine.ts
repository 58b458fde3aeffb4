import { encodeKey } from '@mrdb/storage'
import { SqlEngine, type SqlEngineOptions } from '../engine.js'
import { MemoryKv } from './memory-kv.js'

/**
 * A SqlEngine over a fresh in-memory database whose keyspace is cut into several ranges:
 * the primary index of each of the first tables (ids 100–129) splits at key values 10 and 20,
 * so scans fan out over ranges as they would on a cluster.
 */
export function memoryEngine(options: SqlEngineOptions = {}): SqlEngine {
  const splitKeys: Uint8Array[] = []
  for (let id = 100n; id < 130n; id++) for (const at of [10n, 20n]) splitKeys.push(encodeKey(['/table', id, 1n, at]))
  return new SqlEngine(new MemoryKv({ splitKeys }), options)
}

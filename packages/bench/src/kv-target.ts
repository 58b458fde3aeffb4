/**
 * A key-value system under test. Every system the KV benchmark compares (mrdb, etcd, or a
 * trivial in-memory map in tests) implements this interface; the workload driver only ever
 * talks to a target through it.
 *
 * Implementations must allow many calls in flight at once (the driver runs one closed loop per
 * client, all sharing one target) and must make a put durable and visible to later gets before
 * its promise resolves, with whatever guarantee the system offers (the comparison assumes
 * replicated, fsynced writes and linearizable reads).
 */
export interface KvTarget {
  /** Short name of the system, shown in the report (for example "mrdb" or "etcd"). */
  readonly name: string
  /** Writes `value` under `key`; resolves once the write is committed. Rejects on failure. */
  put(key: Uint8Array, value: Uint8Array): Promise<void>
  /** Reads the newest value of `key`, or `undefined` if it has none. Rejects on failure. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  /** Releases connections and other resources; the target is not used afterwards. */
  close(): Promise<void>
}

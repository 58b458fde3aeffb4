// A statement's writes, held back until the statement has succeeded, so a failing statement
// leaves nothing in its transaction. Duplicate inserts within the statement fail at once.

import type { KvTransaction } from './kv-port.js'

type BufferedWrite = { op: 'put' | 'insert'; key: Uint8Array; value: Uint8Array } | { op: 'delete'; key: Uint8Array }

function hex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}

/** The writes of one statement, in order, merged per key. */
export class WriteBuffer {
  private readonly writes = new Map<string, BufferedWrite>()

  /** Buffers an unconditional write. */
  put(key: Uint8Array, value: Uint8Array): void {
    const prior = this.writes.get(hex(key))
    this.writes.set(hex(key), { op: prior?.op === 'insert' ? 'insert' : 'put', key, value })
  }

  /**
   * Buffers a write that must find the key absent. Over this statement's own deletion it is a
   * plain write; over this statement's own write it is a duplicate: `onDuplicate` raises.
   */
  insert(key: Uint8Array, value: Uint8Array, onDuplicate: (key: Uint8Array) => never): void {
    const h = hex(key)
    const prior = this.writes.get(h)
    if (prior === undefined) this.writes.set(h, { op: 'insert', key, value })
    else if (prior.op === 'delete') this.writes.set(h, { op: 'put', key, value })
    else onDuplicate(key)
  }

  /** Buffers a deletion. */
  delete(key: Uint8Array): void {
    this.writes.set(hex(key), { op: 'delete', key })
  }

  /** What this statement wrote at `key`: undefined if nothing, null if deleted, else the value. */
  lookup(key: Uint8Array): Uint8Array | null | undefined {
    const w = this.writes.get(hex(key))
    if (w === undefined) return undefined
    return w.op === 'delete' ? null : w.value
  }

  /** How many keys are written. */
  get size(): number {
    return this.writes.size
  }

  /** Hands every write to the transaction. */
  flush(txn: KvTransaction): void {
    for (const w of this.writes.values()) {
      if (w.op === 'put') txn.put(w.key, w.value)
      else if (w.op === 'insert') txn.insert(w.key, w.value)
      else txn.delete(w.key)
    }
    this.writes.clear()
  }
}

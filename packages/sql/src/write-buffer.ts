// A statement's writes, held back until the statement has succeeded, so a failing statement
// leaves nothing in its transaction: the buffer is the statement's savepoint, dropped on an
// error and handed to the transaction only on success. Duplicate inserts within the statement
// fail at once; inserts of keys the statement did not write are remembered, so their absence
// in the transaction (its snapshot merged with its earlier statements' writes) can be checked
// before the statement returns.

import type { KvTransaction } from './kv-port.js'

type BufferedWrite = { op: 'put' | 'insert'; key: Uint8Array; value: Uint8Array } | { op: 'delete'; key: Uint8Array }

function hex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}

/** The writes of one statement, in order, merged per key. */
export class WriteBuffer {
  private readonly writes = new Map<string, BufferedWrite>()
  /** Keys inserted by this statement that it has not seen absent in the transaction: they must be checked. */
  private readonly unverified = new Map<string, Uint8Array>()
  /** Keys this statement read from the transaction and found absent. */
  private readonly absent = new Set<string>()

  /** @param checkSize raises if a key or value is too big to write (called on every put and insert). */
  constructor(private readonly checkSize: (key: Uint8Array, value: Uint8Array) => void = () => undefined) {}

  /** Buffers an unconditional write. */
  put(key: Uint8Array, value: Uint8Array): void {
    this.checkSize(key, value)
    const prior = this.writes.get(hex(key))
    this.writes.set(hex(key), { op: prior?.op === 'insert' ? 'insert' : 'put', key, value })
  }

  /**
   * Buffers a write that must find the key absent. Over this statement's own deletion it is a
   * plain write; over this statement's own write it is a duplicate: `onDuplicate` raises.
   * Otherwise the key joins {@link unverifiedInserts} unless the statement saw it absent
   * ({@link noteAbsent}) or the caller knows it cannot exist (`knownAbsent`, e.g. a new index).
   */
  insert(key: Uint8Array, value: Uint8Array, onDuplicate: (key: Uint8Array) => never, knownAbsent = false): void {
    this.checkSize(key, value)
    const h = hex(key)
    const prior = this.writes.get(h)
    if (prior === undefined) {
      this.writes.set(h, { op: 'insert', key, value })
      if (!knownAbsent && !this.absent.has(h)) this.unverified.set(h, key)
    } else if (prior.op === 'delete') this.writes.set(h, { op: 'put', key, value })
    else onDuplicate(key)
  }

  /** Buffers a deletion. */
  delete(key: Uint8Array): void {
    this.writes.set(hex(key), { op: 'delete', key })
  }

  /** Records that a read of the transaction (not of this buffer) found `key` absent. */
  noteAbsent(key: Uint8Array): void {
    this.absent.add(hex(key))
  }

  /** Keys this statement inserted without having seen them absent in the transaction, in insertion order. */
  unverifiedInserts(): Uint8Array[] {
    return [...this.unverified.values()]
  }

  /** Records that every key in {@link unverifiedInserts} was checked absent. */
  markVerified(): void {
    for (const h of this.unverified.keys()) this.absent.add(h)
    this.unverified.clear()
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
    this.unverified.clear()
    this.absent.clear()
  }
}

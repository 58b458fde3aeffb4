// The window of MsgApp messages sent to one follower and not yet acknowledged.

import { RaftInvariantError } from '../errors.js'

/**
 * A ring buffer of the last index (and payload bytes) of each MsgApp in flight to one
 * follower. The leader stops sending when the window is full by count or by bytes.
 * Invariant: indexes in the buffer are strictly increasing from `start`.
 */
export class Inflights {
  /** Maximum number of messages in flight. */
  readonly capacity: number
  /** Maximum payload bytes in flight; 0 means no byte limit. */
  readonly maxBytes: number
  private start = 0
  private count_ = 0
  private bytes_ = 0
  // Grown lazily (doubling) up to capacity: most followers never fill the window.
  private indexes: Float64Array
  private sizes: Float64Array

  constructor(capacity: number, maxBytes = 0) {
    this.capacity = capacity
    this.maxBytes = maxBytes
    this.indexes = new Float64Array(0)
    this.sizes = new Float64Array(0)
  }

  /** A copy with the same contents. */
  clone(): Inflights {
    const c = new Inflights(this.capacity, this.maxBytes)
    c.start = this.start
    c.count_ = this.count_
    c.bytes_ = this.bytes_
    c.indexes = this.indexes.slice()
    c.sizes = this.sizes.slice()
    return c
  }

  /** Records a MsgApp whose last entry is `index` carrying `bytes` of payload. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new RaftInvariantError('cannot add into a full inflights window')
    if (this.count_ === this.indexes.length) this.grow()
    const size = this.indexes.length
    let next = this.start + this.count_
    if (next >= size) next -= size
    this.indexes[next] = index
    this.sizes[next] = bytes
    this.count_++
    this.bytes_ += bytes
  }

  /** Frees every message whose last index is <= to (they were acknowledged). */
  freeLE(to: number): void {
    if (this.count_ === 0 || to < (this.indexes[this.start] as number)) return
    const size = this.indexes.length
    let idx = this.start
    let i = 0
    let bytes = 0
    for (; i < this.count_; i++) {
      if (to < (this.indexes[idx] as number)) break
      bytes += this.sizes[idx] as number
      if (++idx >= size) idx -= size
    }
    this.count_ -= i
    this.bytes_ -= bytes
    this.start = idx
    if (this.count_ === 0) this.start = 0 // keep the buffer compact from the front
  }

  /** Whether no more messages may be sent (count or byte limit reached). */
  full(): boolean {
    return this.count_ === this.capacity || (this.maxBytes !== 0 && this.bytes_ >= this.maxBytes)
  }

  /** Number of messages in flight. */
  count(): number {
    return this.count_
  }

  /** Payload bytes in flight. */
  bytes(): number {
    return this.bytes_
  }

  /** Forgets everything in flight. */
  reset(): void {
    this.start = 0
    this.count_ = 0
    this.bytes_ = 0
  }

  private grow(): void {
    let newSize = this.indexes.length * 2
    if (newSize === 0) newSize = 1
    else if (newSize > this.capacity) newSize = this.capacity
    const idx = new Float64Array(newSize)
    const sz = new Float64Array(newSize)
    // Unroll the ring into the front of the new buffer.
    const old = this.indexes.length
    for (let k = 0, p = this.start; k < this.count_; k++) {
      idx[k] = this.indexes[p] as number
      sz[k] = this.sizes[p] as number
      if (++p >= old) p -= old
    }
    this.indexes = idx
    this.sizes = sz
    this.start = 0
  }
}

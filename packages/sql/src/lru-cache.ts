/** A map that holds at most `capacity` entries, evicting the least recently used. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>()

  constructor(private readonly capacity: number) {}

  /** The value for `key` (marking it recently used), or undefined. */
  get(key: K): V | undefined {
    const v = this.map.get(key)
    if (v === undefined) return undefined
    this.map.delete(key)
    this.map.set(key, v)
    return v
  }

  /** Stores `value`, evicting the oldest entry when full. */
  set(key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K)
  }

  /** How many entries are held. */
  get size(): number {
    return this.map.size
  }
}

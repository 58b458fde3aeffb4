import { StorageError, StorageErrorCode } from './errors.js'

/** What the engine accepts as a key or value: raw bytes, or a string stored as UTF-8. */
export type BytesLike = Uint8Array | string

const utf8 = new TextEncoder()

/** Converts a key or value to bytes; a wrong type raises `code` (ERR_INVALID_KEY or ERR_INVALID_VALUE). */
export function toBytes(input: unknown, code: StorageErrorCode, what: string): Uint8Array {
  if (input instanceof Uint8Array) return input
  if (typeof input === 'string') return utf8.encode(input)
  const got = input === null ? 'null' : typeof input
  throw new StorageError(code, `${what} must be a Uint8Array or a string, got ${got}`)
}

/** Bytewise comparison: negative, zero or positive like `a - b`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** The smallest key greater than every key that starts with `prefix`, or undefined if none exists. */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const end = prefix.slice(0, i + 1)
      end[i]! += 1
      return end
    }
  }
  return undefined
}

/** The smallest key after `key` (`key` followed by a zero byte): where a scan resumes past it. */
export function keySuccessor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1)
  out.set(key)
  return out
}

/** Hex text of bytes, for messages and map keys. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

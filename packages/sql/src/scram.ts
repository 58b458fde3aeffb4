// SCRAM-SHA-256 password verifiers (RFC 5802, RFC 7677), stored as PostgreSQL stores them:
// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64). The verifier lets a
// server check a client's proof and prove itself in return; the password cannot be read back
// from it. The exchange itself is the wire server's (packages/server/src/pgwire/scram-auth.ts).

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

/** PostgreSQL's default iteration count (scram_iterations). */
export const SCRAM_ITERATIONS = 4096

/** A parsed verifier. */
export interface ScramVerifier {
  readonly iterations: number
  readonly salt: Buffer
  readonly storedKey: Buffer
  readonly serverKey: Buffer
}

/** HMAC-SHA-256. */
export function hmacSha256(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/** SHA-256. */
export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

/** The keys a password, salt and iteration count give. */
export function scramKeys(password: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  // SASLprep is the identity for the ASCII passwords most people use; NFKC covers the rest as PostgreSQL's does in practice.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256')
  return { storedKey: sha256(hmacSha256(salted, 'Client Key')), serverKey: hmacSha256(salted, 'Server Key') }
}

/** A new verifier for `password`, with a fresh random salt. */
export function makeScramVerifier(password: string, iterations = SCRAM_ITERATIONS): string {
  const salt = randomBytes(16)
  const { storedKey, serverKey } = scramKeys(password, salt, iterations)
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}

/** Reads a stored verifier; undefined if it is not one. */
export function parseScramVerifier(text: string): ScramVerifier | undefined {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(text)
  if (!m) return undefined
  return { iterations: Number(m[1]), salt: Buffer.from(m[2]!, 'base64'), storedKey: Buffer.from(m[3]!, 'base64'), serverKey: Buffer.from(m[4]!, 'base64') }
}

/** Whether two byte strings are equal, in time independent of where they differ. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

// The server side of a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) as PostgreSQL runs it
// inside its authentication messages: AuthenticationSASL names the mechanism; the client's
// SASLInitialResponse carries client-first-message; AuthenticationSASLContinue answers with
// server-first-message (the nonce, the salt, the iteration count); the client's SASLResponse
// carries client-final-message with its proof; a correct proof gets AuthenticationSASLFinal
// (the server's signature). Pure: the nonce's randomness comes in, bytes go out. No channel
// binding (no TLS yet): a client asking for it is refused. The user name inside the SCRAM
// messages is ignored, as PostgreSQL does: the startup packet's user is the one that logs in.

import { hmacSha256, sameBytes, sha256, type ScramVerifier } from '@mrdb/sql'
import { PgWireError, PgWireState } from './errors.js'

/** The one SASL mechanism offered. */
export const SCRAM_MECHANISM = 'SCRAM-SHA-256'

/** SCRAM messages that cannot be read: the client broke the protocol. */
function malformed(what: string): never {
  throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, `malformed SCRAM message: ${what}`, true)
}

/** Reads `k=v,k=v` attributes (values may hold '=', never ','). */
function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of text.split(',')) {
    const at = part.indexOf('=')
    if (at !== 1) malformed(`attribute '${part.slice(0, 20)}'`)
    out.set(part[0]!, part.slice(2))
  }
  return out
}

/** One login's exchange; see the file comment. */
export class ScramExchange {
  private clientFirstBare = ''
  private serverFirst = ''
  private nonce = ''
  private gs2Header = ''

  /**
   * @param verifier the user's stored verifier (or a made-up one for an unknown user, so the
   *   exchange looks the same and fails only at the proof)
   * @param serverNonce fresh random printable characters (no ','), at least 18 bytes' worth
   */
  constructor(
    private readonly verifier: ScramVerifier,
    private readonly serverNonce: string,
  ) {}

  /** The SASLInitialResponse's body (mechanism, length, client-first-message) → server-first-message. */
  start(body: Buffer): string {
    const end = body.indexOf(0)
    if (end < 0) malformed('no mechanism name')
    const mechanism = body.subarray(0, end).toString('utf8')
    if (mechanism !== SCRAM_MECHANISM) throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, `client selected an invalid SASL authentication mechanism "${mechanism.slice(0, 40)}"`, true)
    if (body.length < end + 5) malformed('no initial response')
    const length = body.readInt32BE(end + 1)
    const data = body.subarray(end + 5)
    if (length !== data.length) malformed('initial response length')
    const message = data.toString('utf8')
    // gs2-header: 'n' (no channel binding) or 'y' (client could, server did not offer); 'p' needs TLS.
    const m = /^([ny]),(?:a=[^,]*)?,(.*)$/.exec(message)
    if (!m) {
      if (message.startsWith('p')) throw new PgWireError(PgWireState.PROTOCOL_VIOLATION, 'channel binding is not supported (the server has no TLS)', true)
      malformed('gs2 header')
    }
    this.gs2Header = message.slice(0, message.length - m[2]!.length)
    this.clientFirstBare = m[2]!
    const attrs = attributes(this.clientFirstBare)
    const clientNonce = attrs.get('r')
    if (clientNonce === undefined || clientNonce.length === 0 || !attrs.has('n')) malformed('client-first-message')
    this.nonce = clientNonce + this.serverNonce
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`
    return this.serverFirst
  }

  /** The SASLResponse's body (client-final-message) → server-final-message when the proof is right, or undefined when it is wrong. */
  finish(body: Buffer): string | undefined {
    const message = body.toString('utf8')
    const at = message.lastIndexOf(',p=')
    if (at < 0) malformed('no proof')
    const withoutProof = message.slice(0, at)
    const attrs = attributes(withoutProof)
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64')) malformed('channel binding data')
    if (attrs.get('r') !== this.nonce) malformed('nonce')
    const proof = Buffer.from(message.slice(at + 3), 'base64')
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`
    const signature = hmacSha256(this.verifier.storedKey, authMessage)
    if (proof.length !== signature.length) return undefined
    const clientKey = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!
    if (!sameBytes(sha256(clientKey), this.verifier.storedKey)) return undefined
    return `v=${hmacSha256(this.verifier.serverKey, authMessage).toString('base64')}`
  }
}

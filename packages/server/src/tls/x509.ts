// X.509 certificates made with Node's own crypto: ECDSA P-256 keys, a DER encoding of the
// certificate (der.ts) signed with SHA-256. Enough for a cluster's CA, its nodes and its
// clients; nothing is shelled out to openssl.

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { isIP } from 'node:net'
import { bitString, boolean, explicit, implicit, octetString, oid, sequence, set, time, unsignedInteger, utf8String } from './der.js'

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'))
const COMMON_NAME = '2.5.4.3'
const ORGANIZATION = '2.5.4.10'
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

/** A key pair for a certificate. */
export interface KeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
}

/** A new ECDSA P-256 key pair. */
export function newKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' })
}

/** What a certificate says and who signs it. */
export interface CertificateSpec {
  /** The subject's common name (a node: "node"; a client: its user name; the CA: a label). */
  commonName: string
  /** The subject's public key. */
  publicKey: KeyObject
  /** Self-signed (a CA) when absent. */
  issuer?: { commonName: string; privateKey: KeyObject; publicKey: KeyObject }
  /** The subject's own private key (signs a self-signed certificate). */
  privateKey?: KeyObject
  /** A CA certificate: may sign others. */
  ca?: boolean
  /** Host names and IP addresses the certificate is valid for (subjectAltName). */
  hosts?: string[]
  /** Extended key usages: 'server' and/or 'client' (a node's certificate has both). */
  usages?: Array<'server' | 'client'>
  /** Days of validity from now (backdated an hour for clock skew). */
  days: number
}

/** Creates a certificate; returns it in PEM. */
export function createCertificate(spec: CertificateSpec): string {
  const signer = spec.issuer?.privateKey ?? spec.privateKey
  if (!signer) throw new Error('a self-signed certificate needs its private key')
  const issuerName = name(spec.issuer?.commonName ?? spec.commonName)
  const now = Date.now()
  const notBefore = new Date(now - 3600_000)
  const notAfter = new Date(now + spec.days * 86_400_000)
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' })
  const extensions = [
    extension('2.5.29.19', true, spec.ca ? sequence(boolean(true)) : sequence()),
    // keyUsage: keyCertSign and cRLSign for a CA (bits 5, 6), digitalSignature and keyEncipherment otherwise (bits 0, 2).
    extension('2.5.29.15', true, spec.ca ? keyUsage(0x86, 1) : keyUsage(0xa0, 5)),
    extension('2.5.29.14', false, octetString(keyId(spec.publicKey))),
  ]
  if (spec.issuer) extensions.push(extension('2.5.29.35', false, sequence(implicit(0, keyId(spec.issuer.publicKey)))))
  if (spec.usages && spec.usages.length > 0) extensions.push(extension('2.5.29.37', false, sequence(...spec.usages.map((u) => oid(u === 'server' ? SERVER_AUTH : CLIENT_AUTH)))))
  if (spec.hosts && spec.hosts.length > 0) extensions.push(extension('2.5.29.17', false, sequence(...spec.hosts.map(generalName))))
  const serial = randomBytes(16)
  serial[0]! &= 0x7f // positive
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.of(2))), // v3
    unsignedInteger(serial),
    ECDSA_WITH_SHA256,
    issuerName,
    sequence(time(notBefore), time(notAfter)),
    name(spec.commonName),
    spki,
    explicit(3, sequence(...extensions)),
  )
  const signature = sign('sha256', tbs, signer) // DER ECDSA-Sig-Value, as X.509 wants it
  const der = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature))
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`
}

/** A private key in PEM (PKCS #8). */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString()
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid(ORGANIZATION), utf8String('mrdb'))), set(sequence(oid(COMMON_NAME), utf8String(commonName))))
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value))
}

/** A one-byte keyUsage BIT STRING with `unused` trailing bits. */
function keyUsage(bits: number, unused: number): Buffer {
  return Buffer.of(0x03, 0x02, unused, bits)
}

/** The key identifier: SHA-1 of the public key's encoding (RFC 5280's method 1, over the whole SPKI). */
function keyId(key: KeyObject): Buffer {
  return createHash('sha1').update(key.export({ type: 'spki', format: 'der' })).digest()
}

/** A subjectAltName entry: an IP address ([7], its bytes) or a DNS name ([2]). */
function generalName(host: string): Buffer {
  const family = isIP(host)
  if (family === 4) return implicit(7, Buffer.from(host.split('.').map(Number)))
  if (family === 6) return implicit(7, ipv6Bytes(host))
  return implicit(2, Buffer.from(host, 'ascii'))
}

function ipv6Bytes(host: string): Buffer {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined]
  const parse = (s: string | undefined) => (s ? s.split(':').filter((g) => g.length > 0).map((g) => parseInt(g, 16)) : [])
  const h = parse(head)
  const t = parse(tail)
  const groups = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

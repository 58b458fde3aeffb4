// A certificates directory, laid out as CockroachDB's: `ca.crt` (the cluster's CA), `ca.key`
// (its key, unless kept elsewhere with --ca-key), `node.crt`/`node.key` (a node's identity,
// for serving and for dialing peers: both usages) and `client.USER.crt`/`.key` (a client's).
// Keys are written 0600 and never overwritten. The TLS settings of gRPC, HTTP and the SQL port
// are made from it here.

import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ServerCredentials, credentials, type ChannelCredentials } from '@grpc/grpc-js'
import { NodeError, NodeErrorCode } from '../errors.js'
import { createCertificate, newKeyPair, privateKeyPem } from './x509.js'

const CA_NAME = 'mrdb CA'
const CA_DAYS = 10 * 365
const CERT_DAYS = 5 * 365

/** A certificate, its key and the CA that signed it, in PEM: what TLS needs on either side. */
export interface TlsIdentity {
  ca: Buffer
  cert: Buffer
  key: Buffer
}

/** Where the CA's key lives: `caKey` if given, else in the certificates directory. */
function caKeyPath(certsDir: string, caKey?: string): string {
  return caKey ?? join(certsDir, 'ca.key')
}

/** Creates the CA's certificate and key; refuses to replace an existing CA (every certificate it signed would die). */
export function createCa(certsDir: string, caKey?: string): { cert: string; key: string } {
  const cert = join(certsDir, 'ca.crt')
  const key = caKeyPath(certsDir, caKey)
  mkdirSync(certsDir, { recursive: true })
  const pair = newKeyPair()
  const pem = createCertificate({ commonName: CA_NAME, publicKey: pair.publicKey, privateKey: pair.privateKey, ca: true, days: CA_DAYS })
  writeNew(key, privateKeyPem(pair.privateKey), 0o600)
  writeNew(cert, pem, 0o644)
  return { cert, key }
}

/** The common name of every node's certificate; no client certificate may carry it (see node-only.ts). */
export const NODE_COMMON_NAME = 'node'

/** Creates `node.crt`/`node.key` for the hosts (names and IPs) a node is reached at, signed by the directory's CA. */
export function createNodeCert(certsDir: string, hosts: readonly string[], caKey?: string): { cert: string; key: string } {
  if (hosts.length === 0) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, 'a node certificate needs at least one host name or IP address its peers and clients dial')
  return issue(certsDir, 'node', NODE_COMMON_NAME, [...hosts], ['server', 'client'], caKey)
}

/** Creates `client.USER.crt`/`.key`, signed by the directory's CA. */
export function createClientCert(certsDir: string, user: string, caKey?: string): { cert: string; key: string } {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user)) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `'${user}' is no valid user name for a certificate`)
  if (user === NODE_COMMON_NAME) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `'${NODE_COMMON_NAME}' is the nodes' name: a client certificate for it would pass for a node`)
  return issue(certsDir, `client.${user}`, user, [], ['client'], caKey)
}

function issue(certsDir: string, base: string, commonName: string, hosts: string[], usages: Array<'server' | 'client'>, caKey?: string) {
  const caCert = new X509Certificate(readPem(join(certsDir, 'ca.crt'), 'the CA certificate (run mrdb cert create-ca first)'))
  const caPrivate = createPrivateKey(readPem(caKeyPath(certsDir, caKey), 'the CA key'))
  const pair = newKeyPair()
  const pem = createCertificate({ commonName, publicKey: pair.publicKey, issuer: { commonName: CA_NAME, privateKey: caPrivate, publicKey: createPublicKey(caPrivate) }, hosts, usages, days: CERT_DAYS })
  if (!new X509Certificate(pem).checkIssued(caCert)) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, 'the CA key does not belong to the CA certificate')
  const cert = join(certsDir, `${base}.crt`)
  const key = join(certsDir, `${base}.key`)
  writeNew(key, privateKeyPem(pair.privateKey), 0o600)
  writeNew(cert, pem, 0o644)
  return { cert, key }
}

/** The cluster's CA certificate from a certificates directory (what a client checks a node against). */
export function loadCa(certsDir: string): Buffer {
  return readPem(join(certsDir, 'ca.crt'), 'the CA certificate')
}

/** A node's identity (`node.crt`), or a client's (`client.USER.crt`), from a certificates directory. */
export function loadIdentity(certsDir: string, who: { user: string } | 'node'): TlsIdentity {
  const base = who === 'node' ? 'node' : `client.${who.user}`
  return {
    ca: loadCa(certsDir),
    cert: readPem(join(certsDir, `${base}.crt`), `the ${base} certificate`),
    key: readPem(join(certsDir, `${base}.key`), `the ${base} key`),
  }
}

/** gRPC server credentials: TLS with the node's certificate, and a client certificate signed by the CA required. */
export function grpcServerCredentials(id: TlsIdentity): ServerCredentials {
  return ServerCredentials.createSsl(id.ca, [{ cert_chain: id.cert, private_key: id.key }], true)
}

/** gRPC channel credentials: the server must present a certificate of the CA; this side shows its own. */
export function grpcChannelCredentials(id: TlsIdentity): ChannelCredentials {
  return credentials.createSsl(id.ca, id.key, id.cert)
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `cannot read ${what} at ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
}

function writeNew(path: string, contents: string, mode: number): void {
  try {
    writeFileSync(path, contents, { mode, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `${path} exists already; remove it first to replace it`)
    throw err
  }
}

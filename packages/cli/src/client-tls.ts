// What the CLI's connections show a node when it has a certificates directory: the CA to
// check the node against and the client certificate of the user (root for operator commands,
// as CockroachDB's client.root.crt).

import { credentials, type ChannelCredentials } from '@grpc/grpc-js'
import { grpcChannelCredentials, loadCa, loadIdentity, type TlsIdentity } from '@mrdb/server'
import { certsDir } from './certs-dir.js'

/** The operator's client identity (client.root) from the certificates directory; undefined without one. */
function clientIdentity(): TlsIdentity | undefined {
  const dir = certsDir()
  return dir === undefined ? undefined : loadIdentity(dir, { user: 'root' })
}

/** The cluster's CA certificate, which SQL connections check the node against; undefined without a certificates directory. */
export function caCertificate(): Buffer | undefined {
  const dir = certsDir()
  return dir === undefined ? undefined : loadCa(dir)
}

/** gRPC channel credentials for the CLI's calls: mutual TLS with client.root, or plaintext. */
export function clientCredentials(): ChannelCredentials {
  const id = clientIdentity()
  return id ? grpcChannelCredentials(id) : credentials.createInsecure()
}

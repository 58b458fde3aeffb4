// With TLS, which certificates may make which calls. Any certificate the cluster's CA signed
// opens a connection; the calls only nodes make to one another — Raft messages and snapshots,
// store heartbeats and range reports to the placement driver, range ids, the bootstrap and
// creation of replicas, freezing a range for a merge, PD membership, peer introductions —
// also need the peer to be a node: its certificate's common name is "node", as
// `mrdb cert create-node` writes it (and `create-client` refuses to). A client certificate
// (CN = a user) reaches KV, the timestamp oracle and the operator's calls (status, split,
// merge, replica changes, store states, moves), as CockroachDB's root can.

import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js'
import { FRAMES_METHOD_PATH, SNAPSHOT_METHOD_PATH } from '@mrdb/raft'
import { NODE_SERVICE } from '../admin-protocol.js'
import { PD_SERVICE } from '../pd-protocol.js'
import { NODE_COMMON_NAME } from './certs.js'

/** The gRPC method paths only a node may call, when the cluster runs with TLS. */
export const NODE_ONLY_METHODS: ReadonlySet<string> = new Set([
  FRAMES_METHOD_PATH,
  SNAPSHOT_METHOD_PATH,
  NODE_SERVICE.hello.path,
  NODE_SERVICE.bootstrap.path,
  NODE_SERVICE.createReplica.path,
  NODE_SERVICE.freeze.path,
  NODE_SERVICE.joinPd.path,
  NODE_SERVICE.leavePd.path,
  PD_SERVICE.heartbeat.path,
  PD_SERVICE.reportRanges.path,
  PD_SERVICE.allocRangeId.path,
])

/**
 * A server interceptor that answers PERMISSION_DENIED to a call of a {@link NODE_ONLY_METHODS}
 * method whose peer's certificate is not a node's; other calls pass untouched.
 */
export function nodeOnlyInterceptor(): ServerInterceptor {
  return (method, call) => {
    const commonName = call.getAuthContext().sslPeerCertificate?.subject?.CN
    if (!NODE_ONLY_METHODS.has(method.path) || commonName === NODE_COMMON_NAME) return new ServerInterceptingCall(call)
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: () =>
            call.sendStatus({ code: status.PERMISSION_DENIED, details: `${method.path} is for nodes only; the peer's certificate is ${commonName === undefined ? 'missing' : `for '${commonName}'`}` }),
        }),
    })
  }
}

// `mrdb init`'s work, shared with `mrdb demo`: bootstrap the cluster through one node. Right
// after the nodes start, some may not listen yet, so init waits — bounded, printing what it
// waits for — while the node it talks to does not accept connections, or that node knows too
// few nodes (NOT_ENOUGH_NODES), or a node it would bootstrap does not answer (NODE_NOT_READY):
// in each case nothing was done yet, so asking again is safe. Other failures are not retried:
// an init call that failed midway may have run.
//
// A repeat on an initialized cluster (ALREADY_INITIALIZED) is not a failure: like etcd, which
// ignores `--initial-cluster-state new` on a member that already has data, init reports the
// cluster's id and exits 0, so a start script may run it on every boot. (CockroachDB's
// `cockroach init` exits 1 there, and scripts grep its message.)

import { randomBytes } from 'node:crypto'
import { NODE_SERVICE } from '@mrdb/server'
import { makeScramVerifier } from '@mrdb/sql'
import { checkReachable, type NodeHost } from './host-option.js'
import { callNode } from './node-call.js'
import { CliError } from './output.js'

/** Options of {@link initCluster}. */
export interface InitOptions {
  readonly ranges: number
  /** The root SQL user's SCRAM verifier; none leaves root without a password. */
  readonly rootVerifier?: string
  /** How long to wait for the nodes to answer. */
  readonly waitMs: number
  /** What init waits for, a line each time it changes. */
  readonly progress: (line: string) => void
}

/** What {@link initCluster} found or did. */
export type InitOutcome =
  | { readonly kind: 'initialized'; readonly clusterId: string; readonly ranges: number; readonly replicaNodes: number[]; readonly pdNodes: number[] }
  | { readonly kind: 'already-initialized'; readonly clusterId: string }

/** Answers after which init waits and asks again: the node did nothing yet. */
const NOT_READY = new Set(['NOT_ENOUGH_NODES', 'NODE_NOT_READY'])
/** Pause between attempts. */
const RETRY_MS = 500
/** Deadline of the init call itself: it waits for the first leaders and writes the root user. */
const INIT_CALL_MS = 120_000

/** Why no connection to `host` opens (checkReachable's message), or undefined once one does. */
async function unreachable(host: NodeHost): Promise<string | undefined> {
  try {
    await checkReachable(host)
    return undefined
  } catch (err) {
    if (!(err instanceof CliError) || err.code !== 'UNAVAILABLE') throw err
    return err.message
  }
}

/** Bootstraps the cluster through `host`, waiting as the file comment says; throws TIMEOUT past `waitMs`. */
export async function initCluster(host: NodeHost, o: InitOptions): Promise<InitOutcome> {
  const deadline = Date.now() + o.waitMs
  let shown = ''
  for (;;) {
    let waiting = await unreachable(host)
    if (waiting === undefined) {
      try {
        const res = await callNode(host.address, NODE_SERVICE.init, { ranges: o.ranges, rootVerifier: o.rootVerifier }, INIT_CALL_MS)
        return { kind: 'initialized', clusterId: res.clusterId ?? '', ranges: res.ranges ?? o.ranges, replicaNodes: res.replicaNodes ?? [], pdNodes: res.pdNodes ?? [] }
      } catch (err) {
        if (!(err instanceof CliError)) throw err
        if (err.code === 'ALREADY_INITIALIZED') return { kind: 'already-initialized', clusterId: (await callNode(host.address, NODE_SERVICE.status, {})).clusterId ?? '' }
        if (!NOT_READY.has(err.code)) throw err
        waiting = err.message
      }
    }
    if (Date.now() + RETRY_MS > deadline) throw new CliError('TIMEOUT', `gave up after ${Math.round(o.waitMs / 1000)} s: ${waiting}`)
    if (waiting !== shown) o.progress(`waiting: ${(shown = waiting)}`)
    await new Promise((r) => setTimeout(r, RETRY_MS))
  }
}

/** `mrdb init`: {@link initCluster} with a root password (given, or generated and printed once), and the outcome printed. */
export async function initCommand(host: NodeHost, o: { ranges: number; rootPassword?: string; waitMs: number; json: boolean }): Promise<void> {
  // Only the verifier leaves this process: the node never sees the password.
  const generated = o.rootPassword === undefined ? randomBytes(18).toString('base64url') : undefined
  const rootVerifier = makeScramVerifier(o.rootPassword ?? generated!)
  const outcome = await initCluster(host, { ranges: o.ranges, rootVerifier, waitMs: o.waitMs, progress: (line) => void process.stderr.write(`${line}\n`) })
  if (outcome.kind === 'already-initialized') {
    if (o.json) process.stdout.write(`${JSON.stringify({ alreadyInitialized: true, clusterId: outcome.clusterId })}\n`)
    else process.stdout.write(`cluster ${outcome.clusterId} is already initialized: nothing done\n`)
    if (o.rootPassword !== undefined) process.stderr.write("note: the root password was not changed (ALTER USER root WITH PASSWORD '…' changes it)\n")
    return
  }
  const res = { clusterId: outcome.clusterId, ranges: outcome.ranges, replicaNodes: outcome.replicaNodes, pdNodes: outcome.pdNodes }
  if (o.json) process.stdout.write(`${JSON.stringify({ ...res, ...(generated === undefined ? {} : { rootPassword: generated }) })}\n`)
  else {
    process.stdout.write(`cluster ${res.clusterId} initialized: ${res.ranges} range(s) on nodes ${res.replicaNodes.join(', ')}; placement driver on nodes ${res.pdNodes.join(', ')}\n`)
    if (generated !== undefined) process.stdout.write(`SQL user root, password ${generated} (shown only now; change it with ALTER USER root WITH PASSWORD '…')\n`)
  }
}

// `--host`, as every command that talks to a node takes it: the flag, else $MRDB_HOST, else
// 127.0.0.1:26257 (the port `mrdb start` examples use), as etcdctl takes ETCDCTL_ENDPOINTS.
// The host travels with where it came from, so an error can say which setting to fix.

import { connect } from 'node:net'
import { Option, type Command } from 'commander'
import { CliError } from './output.js'

/** Where commands look for a node when neither `--host` nor `$MRDB_HOST` says. */
export const DEFAULT_HOST = '127.0.0.1:26257'

/** The environment variable that stands in for `--host`. */
export const HOST_ENV = 'MRDB_HOST'

/** A node address from the command line, and which setting gave it. */
export interface NodeHost {
  /** `host:port`, or for `bench` several, comma-separated. */
  readonly address: string
  /** `--host`, `$MRDB_HOST` or `the default`: named in errors. */
  readonly source: string
}

/** The `--host` option: `description` says what the node is for; `flags` may take a list (bench). */
export function hostOption(description = 'any node of the cluster', flags = '--host <host:port>'): Option {
  return new Option(flags, description).env(HOST_ENV).default(DEFAULT_HOST)
}

/** The host a command's `--host` option resolved to, with its source. */
export function nodeHost(cmd: Command): NodeHost {
  const address = String(cmd.getOptionValue('host'))
  const from = cmd.getOptionValueSource('host')
  return { address, source: from === 'env' ? `$${HOST_ENV}` : from === 'cli' ? '--host' : 'the default' }
}

/** How long {@link checkReachable} waits for a TCP connection. */
export const REACH_TIMEOUT_MS = 3000

/** What a failed connect's errno means, in words. */
const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is a node listening on that port?)',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'the host name could not be resolved now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
}

/** `host:port` (IPv6 hosts in brackets) split, or a CliError naming the setting that gave it. */
export function splitHostPort(address: string, source: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(address)
  const port = Number(m?.[2])
  if (!m || port < 1 || port > 65535) throw new CliError('INVALID_ARGUMENT', `${source} must be HOST:PORT, got '${address}'`)
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port }
}

/**
 * Resolves once a TCP connection to each of `target`'s addresses opens (and closes it); else
 * throws, within `timeoutMs`, a CliError UNAVAILABLE that names the address, the setting it
 * came from and what failed — before the command loads its gRPC client, whose own errors
 * would come only after its retries.
 */
export async function checkReachable(target: NodeHost, timeoutMs = REACH_TIMEOUT_MS): Promise<void> {
  const addresses = target.address.split(',').filter((a) => a.length > 0)
  if (addresses.length === 0) throw new CliError('INVALID_ARGUMENT', `${target.source} names no address`)
  await Promise.all(
    addresses.map(async (address) => {
      const { host, port } = splitHostPort(address, target.source)
      const failure = await new Promise<string | undefined>((resolve) => {
        const socket = connect({ host, port })
        socket.setTimeout(timeoutMs, () => {
          socket.destroy()
          resolve(`no answer within ${timeoutMs / 1000} s`)
        })
        socket.once('connect', () => {
          socket.destroy()
          resolve(undefined)
        })
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(CONNECT_ERRORS[err.code ?? ''] ?? err.message))
      })
      if (failure !== undefined) throw new CliError('UNAVAILABLE', `cannot reach a node at ${address} (from ${target.source}): ${failure}`)
    }),
  )
}

/** The command's `--host`, once {@link checkReachable} found a node listening there. */
export async function reachableHost(cmd: Command): Promise<NodeHost> {
  const host = nodeHost(cmd)
  await checkReachable(host)
  return host
}

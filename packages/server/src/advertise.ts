// The address a node tells peers and clients to reach it at, apart from the one it binds:
// `--listen 0.0.0.0:26257 --advertise 10.0.0.5:26257` binds every interface and is found at
// 10.0.0.5. Like CockroachDB's --advertise-addr, it defaults to the listen address, with
// the machine's host name in place of an unspecified host (0.0.0.0, ::), which no peer
// could dial.

import { hostname } from 'node:os'
import { NodeError, NodeErrorCode } from './errors.js'

const UNSPECIFIED_HOSTS = new Set(['', '0.0.0.0', '::', '[::]'])

/** Splits `host:port` (IPv6 hosts in brackets); the port is undefined when absent. */
export function splitHostPort(address: string): { host: string; port: number | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(address)
  if (!m) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `'${address}' is no host:port address`)
  const port = m[2] === undefined ? undefined : Number(m[2])
  if (port !== undefined && port > 65535) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `port ${port} of '${address}' is out of range`)
  return { host: m[1]!, port }
}

/**
 * The advertised `host:port` of a listener bound at `listen` (whose port turned out to be
 * `boundPort`): `advertise` if given (its port, when absent or 0, is the bound one), else
 * the listen host — the host name for an unspecified one — with the bound port.
 */
export function advertisedAddress(listen: string, boundPort: number, advertise?: string): string {
  if (advertise !== undefined) {
    const { host, port } = splitHostPort(advertise)
    if (UNSPECIFIED_HOSTS.has(host)) throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, `--advertise must name a host peers can reach, got '${advertise}'`)
    return `${host}:${port || boundPort}`
  }
  const { host } = splitHostPort(listen)
  return `${UNSPECIFIED_HOSTS.has(host) ? hostname() : host}:${boundPort}`
}

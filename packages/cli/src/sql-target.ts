// Where `mrdb sql` (and the shell of `mrdb demo`) opens its session. It speaks PostgreSQL's
// wire protocol, as psql does. `--host` is the node's address, the one every other mrdb command
// takes: the node is asked where it serves SQL clients (its `--sql-listen` address, reported
// by its Status call) and the session connects there. `--url postgresql://USER[:PASSWORD]@
// HOST:PORT/DB` goes straight to a SQL port instead (any node's, a load balancer's in front of
// them, or a PostgreSQL server's).

import { NODE_SERVICE, SqlClient, SqlClientError, type SqlClientOptions } from '@mrdb/server'
import { caCertificate } from './client-tls.js'
import { callNode } from './node-call.js'
import { CliError } from './output.js'

/** Where the SQL session goes: a node (asked for its SQL address), or a SQL port directly. */
export type SqlTarget =
  | { readonly kind: 'node'; readonly host: string; readonly user?: string }
  | { readonly kind: 'sql'; readonly address: string; readonly options: SqlClientOptions }

/** The target of a `postgresql://` (or `postgres://`) URL; `user`, if given, overrides the URL's. */
export function targetOfUrl(url: string, user?: string): SqlTarget {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new CliError('INVALID_ARGUMENT', `--url must be a postgresql://USER@HOST:PORT/DATABASE URL, got '${url}'`)
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') throw new CliError('INVALID_ARGUMENT', `--url must start with postgresql://, got '${url}'`)
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''))
  return {
    kind: 'sql',
    address: `${u.hostname}:${u.port || '5432'}`,
    options: {
      user: user ?? (u.username ? decodeURIComponent(u.username) : undefined),
      password: u.password ? decodeURIComponent(u.password) : undefined,
      database: database || undefined,
    },
  }
}

/** Where the node at `host` serves SQL clients, as it reports; throws {@link SqlClientError} (08006) when it cannot be reached or serves none. */
export async function sqlAddressOf(host: string): Promise<string> {
  let sqlAddress: string | undefined
  try {
    sqlAddress = (await callNode(host, NODE_SERVICE.status, {}, 10_000)).sqlAddress
  } catch (err) {
    throw new SqlClientError('08006', err instanceof Error ? err.message : String(err))
  }
  if (sqlAddress === undefined) throw new SqlClientError('08006', `the node at ${host} serves no SQL clients (start it with --sql-listen)`)
  return sqlAddress
}

/**
 * Opens a SQL session on `target`: for a node, its SQL address comes from the node itself.
 * Throws {@link SqlClientError} (08006) when the node cannot be reached or serves no SQL.
 */
export async function openSql(target: SqlTarget): Promise<SqlClient> {
  let address: string
  let options: SqlClientOptions
  if (target.kind === 'sql') {
    address = target.address
    options = target.options
  } else {
    address = await sqlAddressOf(target.host)
    options = { user: target.user }
  }
  const client = new SqlClient(address, { ...options, applicationName: 'mrdb sql', tlsCa: caCertificate() })
  try {
    await client.connect()
  } catch (err) {
    client.close()
    throw err
  }
  return client
}

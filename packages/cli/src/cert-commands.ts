// `mrdb cert create-ca | create-node HOST… | create-client USER`: the certificates a secure
// cluster runs with, made by Node's own crypto (@mrdb/server's tls/), in the directory
// `--certs-dir` names (as CockroachDB's `cockroach cert`).

import type { Command } from 'commander'
import { certsDir } from './certs-dir.js'
import { CliError } from './output.js'

/** The certificates directory a cert command writes to: `--certs-dir` is required here. */
function targetDir(): string {
  const dir = certsDir()
  if (dir === undefined) throw new CliError('INVALID_ARGUMENT', 'name the certificates directory with --certs-dir (or $MRDB_CERTS_DIR)')
  return dir
}

/** Adds `cert` and its subcommands to the program. */
export function addCertCommands(program: Command): void {
  const cert = program.command('cert').description('create the certificates of a secure cluster (in --certs-dir)')
  const caKey = (c: Command) => c.option('--ca-key <path>', "the CA's private key (default: ca.key in the certificates directory; keep it elsewhere for safety)")

  caKey(cert.command('create-ca').description('create the cluster\'s certificate authority: ca.crt and its key')).action(async (opts: { caKey?: string }) => {
    const { createCa } = await import('@mrdb/server')
    const out = createCa(targetDir(), opts.caKey)
    process.stdout.write(`created ${out.cert} and ${out.key}\n`)
  })

  caKey(cert.command('create-node <hosts...>').description('create node.crt and node.key for the host names and IP addresses a node is reached at (its --advertise host, localhost, …)')).action(
    async (hosts: string[], opts: { caKey?: string }) => {
      const { createNodeCert } = await import('@mrdb/server')
      const out = createNodeCert(targetDir(), hosts, opts.caKey)
      process.stdout.write(`created ${out.cert} and ${out.key} for ${hosts.join(', ')}\n`)
    },
  )

  caKey(cert.command('create-client <user>').description('create client.USER.crt and its key (client.root for operator commands)')).action(async (user: string, opts: { caKey?: string }) => {
    const { createClientCert } = await import('@mrdb/server')
    const out = createClientCert(targetDir(), user, opts.caKey)
    process.stdout.write(`created ${out.cert} and ${out.key}\n`)
  })
}

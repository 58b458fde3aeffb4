// The `mrdb` command tree. Building it loads commander and each command's definition only:
// every command loads its own modules (the node, the clients, gRPC) when it runs, so that
// `mrdb --help` and `mrdb --version` cost little more than starting Node.

import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { addCertCommands } from './cert-commands.js'
import { useCertsDir } from './certs-dir.js'
import { addBenchCommand } from './bench-command.js'
import { addCheckCommand } from './check-command.js'
import { addClusterCommands } from './cluster-commands.js'
import { addDebugCommand } from './debug-command.js'
import { addDemoCommand } from './demo-command.js'
import { addKvCommands } from './kv-commands.js'
import { addNodeCommands } from './node-commands.js'
import { addSqlCommand } from './sql-command.js'
import { addStatusCommand } from './status-command.js'

/** This package's version, as `mrdb --version` prints it. */
export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

/** The whole `mrdb` command tree. */
export function buildProgram(): Command {
  const program = new Command('mrdb').description('mrdb: a MultiRaft sharded SQL database').version(VERSION, '-V, --version', 'print the version').showHelpAfterError()
  program
    .addOption(new Option('--certs-dir <dir>', 'certificates directory (mrdb cert): mutual TLS for every connection — a node serves and dials with node.crt, commands connect with client.root.crt; default: plaintext').env('MRDB_CERTS_DIR'))
    .hook('preAction', (_program, action) => useCertsDir(action.optsWithGlobals<{ certsDir?: string }>().certsDir))
  addNodeCommands(program)
  addCertCommands(program)
  addDemoCommand(program)
  addKvCommands(program)
  addClusterCommands(program)
  addSqlCommand(program)
  addStatusCommand(program)
  addBenchCommand(program)
  addCheckCommand(program)
  addDebugCommand(program)
  return program
}

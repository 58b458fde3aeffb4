import { Command } from 'commander'
import { addBenchCommand } from './bench-command.js'
import { addCheckCommand } from './check-command.js'
import { addClusterCommands } from './cluster-commands.js'
import { addDebugCommand } from './debug-command.js'
import { addDemoCommand } from './demo-command.js'
import { addKvCommands } from './kv-commands.js'
import { addNodeCommands } from './node-commands.js'
import { addSqlCommand } from './sql-command.js'
import { addStatusCommand } from './status-command.js'

/** The whole `mrdb` command tree. */
export function buildProgram(): Command {
  const program = new Command('mrdb').description('mrdb: a MultiRaft sharded SQL database').showHelpAfterError()
  addNodeCommands(program)
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

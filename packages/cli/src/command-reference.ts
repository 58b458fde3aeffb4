// The README's command reference, generated from the command tree itself: one table row per
// command with its arguments, its description and its options (hidden ones left out), so a
// test can check the README against commander's help.

import type { Command } from 'commander'

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

function rows(cmd: Command, path: string[]): string[] {
  const name = [...path, cmd.name()]
  if (cmd.commands.length > 0) return cmd.commands.flatMap((c) => rows(c, name))
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`))
  const options = cmd.options.filter((o) => !o.hidden).map((o) => `\`${o.flags}\``)
  return [`| \`${[...name, ...args].join(' ')}\` | ${cell(cmd.description())} | ${cell(options.join(' '))} |`]
}

/** The reference table (markdown) of every command under `program`. */
export function commandReference(program: Command): string {
  return ['| command | what it does | options |', '|---|---|---|', ...program.commands.flatMap((c) => rows(c, [program.name()]))].join('\n')
}

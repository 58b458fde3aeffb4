// The README against the code: its command reference is exactly what the command tree
// generates (so it lists every command and option, with commander's descriptions), and its
// Quickstart test command is the one CI runs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { commandReference } from './command-reference.js'
import { buildProgram } from './program.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const README = readFileSync(`${ROOT}README.md`, 'utf8')

/** The text between `<!-- NAME:start -->` and `<!-- NAME:end -->`. */
function section(name: string): string {
  const m = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(README)
  assert.ok(m, `README.md has no ${name} section`)
  return m[1]!.trim()
}

test("the README's command reference matches the commands' help", () => {
  const expected = commandReference(buildProgram())
  assert.equal(section('reference'), expected, `update README.md's reference section (between the reference markers) to:\n\n${expected}\n`)
})

test('every command and option of the program appears in the reference', () => {
  const reference = section('reference')
  const walk = (c: ReturnType<typeof buildProgram>, path: string): void => {
    for (const sub of c.commands) {
      const name = `${path} ${sub.name()}`
      if (sub.commands.length > 0) walk(sub, name)
      else {
        const row = reference.split('\n').find((l) => l.startsWith(`| \`${name}`))
        assert.ok(row, `no row for ${name}`)
        for (const o of sub.options.filter((x) => !x.hidden)) assert.ok(row.includes(o.long!), `${name}: ${o.long} missing`)
      }
    }
  }
  walk(buildProgram(), 'mrdb')
})

test('the Quickstart runs the demo, and its test command is the one CI runs', () => {
  const quickstart = /## Quickstart[\s\S]*?```sh\n([\s\S]*?)```/.exec(README)
  assert.ok(quickstart)
  const commands = quickstart[1]!.trim().split('\n').map((l) => l.replace(/\s+#.*$/, ''))
  assert.deepEqual(commands, ['npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 demo', 'npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 test'])
  const ci = readFileSync(`${ROOT}.ci/run`, 'utf8')
  assert.ok(ci.includes('npx -y pnpm@10.34.9 install --frozen-lockfile && npx -y pnpm@10.34.9 test'), '.ci/run runs the Quickstart test command')
  const scripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts
  assert.match(scripts['demo'] ?? '', /mrdb\.js demo$/)
})

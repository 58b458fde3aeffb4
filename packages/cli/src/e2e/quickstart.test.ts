// The README's two Quickstart commands, run as a newcomer would: in a fresh clone of this
// repository (its committed HEAD), with an empty HOME (no npm or pnpm cache, no history).
// The first (install, then `pnpm demo`) gets a statement on standard input instead of a
// person at the shell, and must print its result and stop its nodes. The second (install,
// then `pnpm test`) runs the whole suite again, which is what `.ci/run` does on every CI run:
// here it runs only with MRDB_QUICKSTART_FULL=1 (and never inside itself).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const DEMO = 'npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 demo'
const TEST = 'npx -y pnpm@10.34.9 install && npx -y pnpm@10.34.9 test'
const NESTED = 'MRDB_INSIDE_QUICKSTART_TEST'

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv, input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', (code) => resolve({ code, out }))
    child.stdin.end(input)
  })
}

test('the Quickstart commands succeed in a fresh clone with an empty HOME', { skip: process.env[NESTED] === '1' ? 'inside the Quickstart test itself' : false, timeout: 1_800_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-quickstart-'))
  const home = join(dir, 'home')
  const repo = join(dir, 'mrdb')
  // A clean environment, except for what reaching the npm registry may need.
  const passed = Object.entries(process.env).filter(([k]) => /^(PATH|https?_proxy|no_proxy|npm_config_registry)$/i.test(k))
  const env: NodeJS.ProcessEnv = { ...Object.fromEntries(passed), HOME: home, TMPDIR: dir, LANG: 'C.UTF-8', [NESTED]: '1' }
  try {
    const clone = await sh(`mkdir -p '${home}' && git clone -q '${ROOT}' '${repo}'`, dir, env)
    assert.equal(clone.code, 0, clone.out)

    const demo = await sh(DEMO, repo, env, 'CREATE TABLE hello (id INT PRIMARY KEY, who TEXT);\nINSERT INTO hello VALUES (1, \'world\');\nSELECT who FROM hello;\n')
    assert.equal(demo.code, 0, demo.out)
    assert.match(demo.out, /mrdb demo: 3 nodes ready/)
    assert.match(demo.out, / who\n-------\n world\n\(1 row\)\n/)
    assert.match(demo.out, /mrdb demo: stopped/)

    if (process.env['MRDB_QUICKSTART_FULL'] === '1') {
      const suite = await sh(TEST, repo, env)
      assert.equal(suite.code, 0, suite.out.slice(-20_000))
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

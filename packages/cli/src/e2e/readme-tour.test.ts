// The README's tour, end to end, exactly as written there: `mrdb demo --nodes 4 --no-shell`
// in one process; the tour's SQL block through `mrdb sql`; then every line of its shell block
// in bash with the alias and exports the demo printed — split a range, move a replica, kill
// a node and wait for the cluster to heal. SIGINT then stops the demo and every node with it.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MRDB_BIN } from '../node-process.js'
import { alive, run, waitFor } from './helpers.js'

const README = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8')

/** The fenced block right after `<!-- tour:NAME -->`. */
function block(name: string): string {
  const m = new RegExp(`<!-- tour:${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(README)
  assert.ok(m, `README.md has no tour:${name} block`)
  return m[1]!
}

test('the README tour runs against mrdb demo --no-shell: SQL, split, move, kill a node, heal; SIGINT stops every node', { timeout: 600_000 }, async () => {
  const demo = spawn(process.execPath, [MRDB_BIN, 'demo', '--nodes', '4', '--no-shell'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  demo.stdout.on('data', (d: Buffer) => (out += d.toString()))
  demo.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const demoExit = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)))
  let pids: number[] = []
  try {
    await waitFor('the demo to be ready', () => /Running until/.test(out) || demo.exitCode !== null, 180_000)
    assert.match(out, /Running until/, `${out}\n${err}`)
    const alias = /^ *(alias mrdb=.*)$/m.exec(out)?.[1]
    const exports = /^ *(export HOST=.*)$/m.exec(out)?.[1]
    assert.ok(alias && exports, out)
    const host = /HOST=(\S+)/.exec(exports)![1]!
    pids = [...exports.matchAll(/NODE\d+_PID=(\d+)/g)].map((m) => Number(m[1]))
    assert.equal(pids.length, 4)

    const sql = await run(process.execPath, [MRDB_BIN, 'sql', '--host', host], block('sql'))
    assert.equal(sql.code, 0, sql.err)
    assert.match(sql.out, / owner \| balance\n-------\+---------\n grace \|     250\n ada   \|     100\n\(2 rows\)/)
    assert.match(sql.out, /linearizable/)

    const transcript: string[] = []
    for (const line of block('sh').split('\n').filter((l) => l.trim().length > 0)) {
      const r = await run('bash', ['-c', `shopt -s expand_aliases\n${alias}\n${exports}\n${line}\n`])
      transcript.push(`$ ${line}\n${r.out}${r.err}`)
      assert.equal(r.code, 0, `a tour line failed:\n${transcript.join('')}\ndemo:\n${out}${err}`)
    }
    const last = transcript.at(-1)!
    assert.match(last, /ada +\| +100\n grace +\| +250\n alan +\| +75\n\(3 rows\)/, transcript.join(''))

    // Healed: no range has a replica on the killed store 2, and each has three.
    const ranges = JSON.parse((await run(process.execPath, [MRDB_BIN, 'range', 'list', '--host', host, '--json'])).out) as Array<{ rangeId: number; replicas: Array<{ nodeId: number }> }>
    assert.ok(ranges.length >= 2, 'the split made a second range')
    for (const r of ranges) {
      assert.ok(!r.replicas.some((x) => x.nodeId === 2), `range ${r.rangeId} still on store 2: ${transcript.join('')}`)
      assert.equal(r.replicas.length, 3)
    }
    assert.ok(!alive(pids[1]!), 'node 2 was killed')

    demo.kill('SIGINT')
    assert.equal(await demoExit, 0, `${out}\n${err}`)
    assert.match(out, /mrdb demo: stopped/)
    for (const pid of pids) assert.ok(!alive(pid), `node process ${pid} exited with the demo`)
  } finally {
    if (demo.exitCode === null) {
      // A clean stop removes the demo's temporary directory; SIGKILL only if it hangs.
      demo.kill('SIGTERM')
      const timer = setTimeout(() => demo.kill('SIGKILL'), 20_000)
      await demoExit
      clearTimeout(timer)
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
  }
})

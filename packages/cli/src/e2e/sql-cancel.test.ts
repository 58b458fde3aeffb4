// `mrdb sql` over the PostgreSQL wire protocol, without a terminal: statements arrive on its
// standard input one at a time; SIGINT during a long statement (`SELECT pg_sleep(600)`) sends
// the node a CancelRequest, the statement ends with 57014, and the shell goes on to answer the
// next statement from its input. `--host` takes the node's address (the node tells the shell
// its SQL address); `--url` goes straight to a SQL port.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { MRDB_BIN, ProcessCluster } from '../testing/process-cluster.js'
import { run, waitFor } from './helpers.js'

test('mrdb sql: SIGINT during a statement cancels it (57014) and the shell answers the next statement', { timeout: 180_000 }, async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
  const shell = spawn(process.execPath, [MRDB_BIN, 'sql', '--host', cluster.address(1)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  shell.stdout.on('data', (d: Buffer) => (out += d.toString()))
  shell.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => shell.once('exit', (code) => resolve(code)))
  const seen = (what: string, re: RegExp, from: () => string) => waitFor(what, () => re.test(from()) || shell.exitCode !== null, 60_000).then(() => assert.match(from(), re, `${out}\n${err}`))
  try {
    shell.stdin.write("CREATE TABLE waits (id INT PRIMARY KEY, note TEXT);\nINSERT INTO waits VALUES (1, 'one'), (2, 'two');\n")
    await seen('the insert', /INSERT 2\n/, () => out)

    // The marker's result is printed just before the shell sends pg_sleep: once it shows,
    // the long statement is on its way, and a CancelRequest reaches the node after it.
    shell.stdin.write("SELECT 'sleeping' AS marker;\nSELECT pg_sleep(600);\n")
    await seen('the marker', /sleeping\n\(1 row\)\n/, () => out)
    const t0 = performance.now()
    shell.kill('SIGINT')
    await seen('the cancel error', /ERROR: 57014: canceling statement due to user request\n/, () => err)
    assert.ok(performance.now() - t0 < 30_000, 'the statement ended at the cancel, not at its end')
    assert.equal(shell.exitCode, null, 'the shell is still running')

    shell.stdin.write('SELECT COUNT(*) AS n FROM waits;\n')
    await seen('the next answer', / n\n---\n +2\n\(1 row\)\n/, () => out)
    shell.stdin.end()
    assert.equal(await exited, 0, err)
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace')

    // --url: straight to a SQL port; -e and --format keep working.
    const csv = await run(process.execPath, [MRDB_BIN, 'sql', '--url', cluster.sqlUrl(2), '--format', 'csv', '-e', 'SELECT id, note FROM waits ORDER BY id'])
    assert.equal(csv.code, 0, csv.err)
    assert.equal(csv.out, 'id,note\n1,one\n2,two\n')
  } finally {
    if (shell.exitCode === null) shell.kill('SIGKILL')
    await cluster.stop()
  }
})

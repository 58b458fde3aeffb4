// `mrdb demo --data DIR`: the data survives a restart (the same nodes come back on the same
// ports and `init` is skipped); statements on standard input run without a shell; a failing
// statement gives exit code 1 with its code; the nodes stop with the demo either way.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MRDB_BIN } from '../node-process.js'
import { alive, run } from './helpers.js'

function demo(args: string[], input: string): Promise<{ code: number | null; out: string; err: string }> {
  return run(process.execPath, [MRDB_BIN, 'demo', ...args], input)
}

test('mrdb demo --data keeps the data across runs; statements from stdin; errors exit 1', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-demo-data-'))
  try {
    const first = await demo(['--data', dir], "CREATE TABLE kept (id INT PRIMARY KEY, v TEXT);\nINSERT INTO kept VALUES (1, 'still here');\n")
    assert.equal(first.code, 0, first.out + first.err)
    assert.match(first.out, /cluster initialised/)
    assert.match(first.out, /INSERT 1\n/)
    const firstAddresses = [...first.out.matchAll(/node \d+ +(\S+) +pid/g)].map((m) => m[1])
    assert.deepEqual((await readdir(dir)).sort(), ['demo.json', 'node1', 'node2', 'node3'])

    const second = await demo(['--data', dir], 'SELECT v FROM kept;\nSELECT * FROM missing;\n')
    assert.equal(second.code, 1, second.out + second.err)
    assert.match(second.out, /already holds a cluster: not initialising/)
    assert.deepEqual([...second.out.matchAll(/node \d+ +(\S+) +pid/g)].map((m) => m[1]), firstAddresses, 'the same addresses')
    assert.match(second.out, / still here\n\(1 row\)\n/)
    assert.match(second.err, /^error: 42P01: /m)
    assert.doesNotMatch(second.err, /\n\s+at /)
    assert.match(second.out, /mrdb demo: stopped/)
    for (const m of second.out.matchAll(/pid (\d+)/g)) assert.ok(!alive(Number(m[1])), `node process ${m[1]} stopped`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

// The vendored sample of the SQLite sqllogictest corpus (testdata/corpus/, see its README):
// each file's pass count on the in-memory engine must not fall below testdata/corpus/
// baseline.json. A count above the baseline is reported, to be raised in the same commit.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { memoryEngine } from './memory-engine.js'
import { failureCause, runSlt } from './slt-runner.js'

const dir = fileURLToPath(new URL('../../testdata/corpus/', import.meta.url))
const baseline = JSON.parse(readFileSync(dir + 'baseline.json', 'utf8')) as Record<string, { passed: number }>

for (const [file, floor] of Object.entries(baseline)) {
  test(`sqllogictest corpus ${file}`, { timeout: 180_000 }, async (t) => {
    const engine = memoryEngine()
    const result = await runSlt(file, readFileSync(dir + file, 'utf8'), () => engine.session(), { hashThreshold: 8 })
    const causes = new Map<string, number>()
    for (const f of result.failures) causes.set(failureCause(f.message), (causes.get(failureCause(f.message)) ?? 0) + 1)
    const summary = `${file}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped; failures: ${[...causes].map(([c, n]) => `${n}× ${c}`).join('; ') || 'none'}`
    t.diagnostic(summary)
    if (result.passed > floor.passed) t.diagnostic(`${file} passes ${result.passed - floor.passed} more than testdata/corpus/baseline.json says: raise it`)
    assert.ok(result.passed >= floor.passed, `${summary}\nbaseline: ${floor.passed} passed`)
  })
}

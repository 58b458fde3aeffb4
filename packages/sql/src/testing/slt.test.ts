import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { memoryEngine } from './memory-engine.js'
import { formatReport, runSlt } from './slt-runner.js'

const dir = fileURLToPath(new URL('../../testdata/', import.meta.url))

for (const name of readdirSync(dir).filter((f) => f.endsWith('.slt')).sort()) {
  test(`sqllogictest ${name}`, async () => {
    const engine = memoryEngine()
    const result = await runSlt(name, readFileSync(dir + name, 'utf8'), () => engine.session())
    assert.equal(result.failed, 0, formatReport([result]))
    assert.ok(result.passed > 0)
  })
}

// Runs sqllogictest files against a fresh in-memory database each:
//   node packages/sql/dist/testing/slt-cli.js file.slt …   (exit 1 on any failure)

import { readFileSync } from 'node:fs'
import { memoryEngine } from './memory-engine.js'
import { formatReport, runSlt, type SltFileResult } from './slt-runner.js'

const files = process.argv.slice(2)
if (files.length === 0) {
  process.stderr.write('usage: slt-cli file.slt …\n')
  process.exit(2)
}
const results: SltFileResult[] = []
for (const file of files) {
  const engine = memoryEngine()
  results.push(await runSlt(file, readFileSync(file, 'utf8'), () => engine.session()))
}
process.stdout.write(formatReport(results) + '\n')
process.exit(results.some((r) => r.failed > 0) ? 1 : 0)

// Runs every transcript in packages/raft/testdata. REWRITE=1 regenerates the expected
// outputs in the source folder; review the diff before committing.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runTranscript } from './interaction.js'

const testdata = fileURLToPath(new URL('../../testdata/', import.meta.url))
const rewrite = process.env['REWRITE'] === '1'

describe('raft transcripts (testdata/*.txt)', () => {
  const files = readdirSync(testdata).filter((f) => f.endsWith('.txt')).sort()
  test('testdata is not empty', () => assert.ok(files.length > 0))
  for (const file of files) {
    test(file, () => {
      const path = testdata + file
      const text = readFileSync(path, 'utf8')
      const { mismatches, rewritten } = runTranscript(text)
      if (rewrite) {
        if (rewritten !== text) writeFileSync(path, rewritten)
        return
      }
      const first = mismatches[0]
      if (first !== undefined) {
        assert.fail(
          `${file}:${first.lineNo}: ${first.command}\n--- expected\n${first.expected}\n--- actual\n${first.actual}\n` +
            `(${mismatches.length} mismatching command(s); rerun with REWRITE=1 to regenerate, then review the diff)`,
        )
      }
    })
  }
})

// Runs transcript files (testdata/*.txt) against a fresh InteractionEnv and compares, or
// with REWRITE=1 regenerates, the expected outputs.

import { InteractionEnv } from './interaction-env.js'
import { parseTranscript, renderTranscript } from './datadriven.js'

/** The result of running one transcript. */
export interface TranscriptResult {
  /** Commands whose output differs from the expectation (empty when all match). */
  mismatches: Array<{ lineNo: number; command: string; expected: string; actual: string }>
  /** The file text with every expectation replaced by the actual output. */
  rewritten: string
}

/** Runs every command of a transcript in order against one new environment. */
export function runTranscript(text: string, env: InteractionEnv = new InteractionEnv()): TranscriptResult {
  const { blocks, trailing } = parseTranscript(text)
  const outputs: string[] = []
  const mismatches: TranscriptResult['mismatches'] = []
  for (const b of blocks) {
    let actual: string
    try {
      actual = env.handle(b.command)
    } catch (err) {
      throw new Error(`line ${b.command.lineNo}: ${b.command.line}: ${err instanceof Error ? err.stack : String(err)}`)
    }
    outputs.push(actual)
    if (actual !== b.expected) {
      mismatches.push({ lineNo: b.command.lineNo, command: b.command.line, expected: b.expected, actual })
    }
  }
  return { mismatches, rewritten: renderTranscript(blocks, outputs, trailing) }
}

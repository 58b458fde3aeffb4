import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeFailures, runSeeds, TEST_STEPS } from './sim/run-seeds.js'

// Seeds 1–250 of the 500 the suite runs (sim-b.test.ts runs the rest, in parallel).
test(`simulator: seeds 1–250 × ${TEST_STEPS} steps keep every invariant and recover`, () => {
  const failed = runSeeds(1, 250)
  assert.equal(failed.length, 0, describeFailures(failed))
})

test('simulator catches a core that skips the election restriction (§5.4.1)', () => {
  const failed = runSeeds(1, 30, { skipElectionRestriction: true })
  assert.ok(failed.length > 0, 'the broken core passed every seed: the checkers are blind')
  const safety = failed.filter((f) => /^(leader completeness|state machine safety|log matching|election safety)/.test(f.violation ?? ''))
  assert.ok(safety.length > 0, `failures were not safety violations:\n${describeFailures(failed)}`)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeFailures, runSeeds, TEST_STEPS } from './sim/run-seeds.js'

// Seeds 251–500 of the 500 the suite runs (sim-a.test.ts runs the rest, in parallel).
test(`simulator: seeds 251–500 × ${TEST_STEPS} steps keep every invariant and recover`, () => {
  const failed = runSeeds(251, 500)
  assert.equal(failed.length, 0, describeFailures(failed))
})

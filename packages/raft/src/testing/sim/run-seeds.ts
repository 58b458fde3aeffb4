// Runs a range of simulator seeds for the test suite and describes failures with the
// command that replays each one.

import type { TestingKnobs } from '../../core/config.js'
import { replayCommand, runSimulation, type SimOptions, type SimResult } from './simulation.js'

/** Steps per seed in the test suite. */
export const TEST_STEPS = 2000

/** Runs seeds [from, to] (3 and 5 voters alternate) and returns the failed results with their replay commands. */
export function runSeeds(from: number, to: number, knobs?: TestingKnobs): Array<SimResult & { replay: string }> {
  const failed: Array<SimResult & { replay: string }> = []
  for (let seed = from; seed <= to; seed++) {
    const options: SimOptions = { seed, steps: TEST_STEPS, nodes: seed % 2 === 0 ? 5 : 3, knobs }
    const result = runSimulation(options)
    if (!result.ok) failed.push({ ...result, replay: replayCommand(options) })
  }
  return failed
}

/** A readable report of failed seeds. */
export function describeFailures(failed: ReadonlyArray<SimResult & { replay: string }>): string {
  return failed.map((f) => `seed ${f.seed}: ${f.violation}\n  replay: ${f.replay}\n  last events:\n    ${f.trace.slice(-15).join('\n    ')}`).join('\n')
}

// `pnpm sim`: runs the seeded Raft cluster simulator.
//   pnpm sim --seeds 500 [--steps 2000] [--from 1]     many seeds (3 and 5 nodes alternate)
//   pnpm sim --seed 42 [--steps 2000] [--nodes 5]      one seed, printing its trace
//   ... --broken skipElectionRestriction|commitOldTermByCount   a deliberately unsafe core
// Exits 1 if any seed breaks an invariant, printing the command that replays it.

import { parseArgs } from 'node:util'
import type { TestingKnobs } from '../core/config.js'
import { replayCommand, runSimulation, type SimOptions } from './sim/simulation.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    from: { type: 'string', default: '1' },
    seed: { type: 'string' },
    steps: { type: 'string', default: '2000' },
    nodes: { type: 'string' },
    broken: { type: 'string', multiple: true, default: [] },
  },
})

const knobs: TestingKnobs = {}
for (const name of values.broken) {
  if (name !== 'skipElectionRestriction' && name !== 'commitOldTermByCount') {
    console.error(`unknown --broken ${name}`)
    process.exit(2)
  }
  knobs[name] = true
}
const steps = Number(values.steps)
const single = values.seed !== undefined
const first = Number(single ? values.seed : values.from)
const count = single ? 1 : Number(values.seeds ?? 100)
const started = Date.now()
let failures = 0
for (let seed = first; seed < first + count; seed++) {
  const options: SimOptions = { seed, steps, nodes: Number(values.nodes ?? (seed % 2 === 0 ? 5 : 3)), knobs }
  const result = runSimulation(options)
  if (single) {
    for (const line of result.trace) console.log(`  ${line}`)
    console.log(JSON.stringify(result.stats))
  }
  if (!result.ok) {
    failures++
    console.log(`seed ${seed} FAILED: ${result.violation}`)
    console.log(`  replay: ${replayCommand(options)}`)
  }
}
const seconds = ((Date.now() - started) / 1000).toFixed(1)
console.log(`${count - failures} passed, ${failures} failed (${count} seeds × ${steps} steps in ${seconds}s)`)
process.exit(failures > 0 ? 1 : 0)

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatPlan, planMove, type PlanStore } from './move-plan.js'

const voters = (...ids: number[]) => ids.map((nodeId) => ({ nodeId, role: 'voter' as const }))
const stores = (live: number[], dead: number[] = []): PlanStore[] => [...live.map((storeId) => ({ storeId, state: 'up', live: true })), ...dead.map((storeId) => ({ storeId, state: 'up', live: false }))].sort((a, b) => a.storeId - b.storeId)

test('a move on four live stores: learner, joint, leave, each quorum live and safe with one more down', () => {
  const plan = planMove({ rangeId: 1, from: 3, to: 4, replicas: voters(1, 2, 3), leaderNodeId: 1, stores: stores([1, 2, 3, 4]) })
  assert.deepEqual(plan.problems, [])
  assert.deepEqual(
    plan.steps.map((s) => [s.action, s.quorums.map((q) => `${q.needed}/${q.voters.join(',')}:${q.live}`), s.liveNow, s.survivesOneFailure]),
    [
      ['add a learner on store 4, caught up by snapshot', ['2/1,2,3:3'], true, true],
      ['enter the joint configuration {1,2,3} & {1,2,4}: store 4 votes, store 3 is on its way out', ['2/1,2,3:3', '2/1,2,4:3'], true, true],
      ["leave the joint configuration: store 3's replica goes", ['2/1,2,3:3', '2/1,2,4:3'], true, true],
      ['run on {1,2,4}', ['2/1,2,4:3'], true, true],
    ],
  )
  assert.match(formatPlan(plan), /^move range 1 from store 3 to store 4:\n  1\. add a learner on store 4, caught up by snapshot\n     needs 2 of \{1,2,3\}, 3 live: ok\n[\s\S]*safe: every step keeps its quorum with one more node down\n$/)
})

test('moving the leader\'s replica hands the leadership over first', () => {
  const plan = planMove({ rangeId: 7, from: 1, to: 4, replicas: voters(1, 2, 3), leaderNodeId: 1, stores: stores([1, 2, 3, 4]) })
  assert.equal(plan.steps[1]!.action, 'hand the leadership from store 1 to a caught-up voter')
  assert.equal(plan.steps.length, 5)
})

test('a plan that one more failure would stop is refused, and one without a quorum says so', () => {
  const atRisk = planMove({ rangeId: 1, from: 3, to: 4, replicas: voters(1, 2, 3), leaderNodeId: 1, stores: stores([1, 3, 4], [2]) })
  assert.deepEqual(atRisk.problems, [
    'step 1 needs 2 of {1,2,3} (2 live): one more node down would stop it',
    'step 2 needs 2 of {1,2,3} (2 live) and 2 of {1,2,4} (2 live): one more node down would stop it',
    'step 3 needs 2 of {1,2,3} (2 live) and 2 of {1,2,4} (2 live): one more node down would stop it',
    'step 4 needs 2 of {1,2,4} (2 live): one more node down would stop it',
  ])
  assert.match(formatPlan(atRisk), /at risk\n[\s\S]*refused: step 1 needs 2 of \{1,2,3\} \(2 live\)/)
  const dead = planMove({ rangeId: 1, from: 3, to: 4, replicas: voters(1, 2, 3), leaderNodeId: 0, stores: stores([3, 4], [1, 2]) })
  assert.equal(dead.problems[0], 'step 1 needs 2 of {1,2,3} (1 live): no quorum now')
  // Five voters lose one and still have two to spare.
  const five = planMove({ rangeId: 1, from: 5, to: 6, replicas: voters(1, 2, 3, 4, 5), leaderNodeId: 1, stores: stores([1, 2, 3, 5, 6], [4]) })
  assert.deepEqual(five.problems, [])
})

test('a move that makes no sense is refused with the reason', () => {
  const base = { rangeId: 2, replicas: [...voters(1, 2, 3), { nodeId: 5, role: 'learner' as const }], leaderNodeId: 1, stores: [...stores([1, 2, 3, 4, 5]), { storeId: 6, state: 'decommissioning', live: true }] }
  assert.deepEqual(planMove({ ...base, from: 4, to: 1 }).problems.slice(0, 2), ['store 4 holds no voter of range 2 (voters {1,2,3})', 'store 1 already holds a replica of range 2'])
  assert.deepEqual(planMove({ ...base, from: 3, to: 5 }).problems, ['store 5 already holds a replica of range 2'])
  assert.deepEqual(planMove({ ...base, from: 3, to: 6 }).problems, ['store 6 cannot take a replica: it is decommissioning'])
  assert.deepEqual(planMove({ ...base, from: 3, to: 9 }).problems.slice(0, 1), ['store 9 is unknown'])
  assert.deepEqual(planMove({ ...base, replicas: undefined, from: 3, to: 4 }).problems, ['range 2 is unknown to the placement driver'])
})

// `mrdb range move` on 4 node processes (issue #17, item 7): the plan with --dry-run (text and
// JSON) changes nothing, the move runs through the placement driver as one joint change, and
// a move that makes no sense is refused with the reason.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessCluster } from '../testing/process-cluster.js'

interface RangeRow {
  rangeId: number
  replicas: Array<{ nodeId: number; role: string }>
  leaderNodeId: number
}

test('range move: dry run, the move, a refused move', { timeout: 240_000 }, async () => {
  const cluster = await ProcessCluster.start({ nodes: 4, ranges: 1 })
  try {
    const host = cluster.address(1)
    const range1 = async () => (JSON.parse(await cluster.mrdb(['range', 'list', '--json', '--host', host])) as RangeRow[]).find((r) => r.rangeId === 1)!
    const before = await range1()
    const holders = before.replicas.map((r) => r.nodeId)
    const to = [1, 2, 3, 4].find((id) => !holders.includes(id))!
    const from = holders.find((id) => id !== before.leaderNodeId)!
    const args = ['range', 'move', '--range', '1', '--from', String(from), '--to', String(to), '--host', host]

    const dry = await cluster.mrdb([...args, '--dry-run'])
    assert.match(dry, new RegExp(`^move range 1 from store ${from} to store ${to}:\\n  1\\. add a learner on store ${to}, caught up by snapshot\\n     needs 2 of \\{[0-9,]+\\}, 3 live: ok\\n`))
    assert.match(dry, /safe: every step keeps its quorum with one more node down\n$/)
    const plan = JSON.parse(await cluster.mrdb([...args, '--dry-run', '--json'])) as { problems: string[]; steps: Array<{ liveNow: boolean; survivesOneFailure: boolean }> }
    assert.deepEqual(plan.problems, [])
    assert.ok(plan.steps.every((s) => s.liveNow && s.survivesOneFailure))
    assert.deepEqual((await range1()).replicas.map((r) => r.nodeId).sort(), [...holders].sort(), 'a dry run changes nothing')

    const moved = await cluster.mrdb(args)
    assert.match(moved, new RegExp(`range 1 \\[-inf, \\+inf\\) generation \\d+ replicas [0-9,]+\\n$`))
    const after = await range1()
    assert.deepEqual(after.replicas.map((r) => r.nodeId).sort(), [...holders.filter((id) => id !== from), to].sort())
    assert.ok(after.replicas.every((r) => r.role === 'voter'))

    await assert.rejects(cluster.mrdb(['range', 'move', '--range', '1', '--from', String(to), '--to', String(before.leaderNodeId), '--host', host]), (e: { stderr?: string; exitCode?: number }) => {
      return e.exitCode === 1 && (e.stderr ?? '').includes(`error: MOVE_REFUSED: store ${before.leaderNodeId} already holds a replica of range 1`)
    })
  } finally {
    await cluster.stop()
  }
})

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ProgressTracker } from '../tracker/progress-tracker.js'
import type { ConfChangeSingle, ConfChangeV2, ConfState } from '../types.js'
import { decodeConfChange, encodeConfChange } from './codec.js'
import { Changer, jointTransition, leavesJoint } from './confchange.js'
import { restoreConfig } from './restore.js'

/** Parses "v1 l2 r3" into changes. */
function ccs(s: string): ConfChangeSingle[] {
  return s
    .split(' ')
    .filter((x) => x !== '')
    .map((tok) => {
      const nodeId = Number(tok.slice(1))
      const type = tok[0] === 'v' ? 'addVoter' : tok[0] === 'l' ? 'addLearner' : 'removeNode'
      return { type, nodeId }
    })
}

class Harness {
  readonly trk = new ProgressTracker(10, 0)
  constructor() {
    this.trk.setConfig(...this.unpack(restoreConfig(emptyCs(), 0, 10, 0)))
  }
  private unpack(cp: ReturnType<Changer['simple']>): [typeof cp.config, typeof cp.progress] {
    return [cp.config, cp.progress]
  }
  simple(s: string): string {
    const cp = new Changer(this.trk, 10).simple(ccs(s))
    this.trk.setConfig(cp.config, cp.progress)
    return this.describe()
  }
  enter(autoLeave: boolean, s: string): string {
    const cp = new Changer(this.trk, 10).enterJoint(autoLeave, ccs(s))
    this.trk.setConfig(cp.config, cp.progress)
    return this.describe()
  }
  leave(): string {
    const cp = new Changer(this.trk, 10).leaveJoint()
    this.trk.setConfig(cp.config, cp.progress)
    return this.describe()
  }
  describe(): string {
    const prs = [...this.trk.progress.keys()].sort((a, b) => a - b)
    return `${this.trk.config} prs=(${prs.join(' ')})`
  }
}

function emptyCs(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }
}

describe('confchange: simple changes', () => {
  test('adding voters and learners one at a time', () => {
    const h = new Harness()
    assert.equal(h.simple('v1'), 'voters=(1) prs=(1)')
    assert.equal(h.simple('v2'), 'voters=(1 2) prs=(1 2)')
    assert.equal(h.simple('l3'), 'voters=(1 2) learners=(3) prs=(1 2 3)')
    // Promoting a learner changes one voter.
    assert.equal(h.simple('v3'), 'voters=(1 2 3) prs=(1 2 3)')
    assert.equal(h.simple('r2'), 'voters=(1 3) prs=(1 3)')
    // Demoting a voter to learner changes one voter, too.
    assert.equal(h.simple('l3'), 'voters=(1) learners=(3) prs=(1 3)')
  })

  test('new members probe from the last index and count as active', () => {
    const h = new Harness()
    h.simple('v1')
    const pr = h.trk.progress.get(1)
    assert.equal(pr?.next, 10)
    assert.equal(pr?.recentActive, true)
  })

  test('more than one voter change needs a joint config', () => {
    const h = new Harness()
    h.simple('v1')
    assert.throws(() => h.simple('v2 v3'), /more than one voter changed/)
    // Several learner changes are fine: learners do not vote.
    assert.equal(h.simple('l2 l3'), 'voters=(1) learners=(2 3) prs=(1 2 3)')
  })

  test('removing every voter is refused', () => {
    const h = new Harness()
    h.simple('v1')
    assert.throws(() => h.simple('r1'), /removed all voters/)
  })

  test('removing an unknown node is a no-op', () => {
    const h = new Harness()
    h.simple('v1')
    assert.equal(h.simple('r9'), 'voters=(1) prs=(1)')
  })
})

describe('confchange: joint consensus (thesis §4.3)', () => {
  test('enter C_old,new then leave to C_new', () => {
    const h = new Harness()
    h.simple('v1')
    h.simple('v2')
    h.simple('v3')
    assert.equal(h.enter(true, 'r1 v4 v5'), 'voters=(2 3 4 5)&&(1 2 3) autoleave prs=(1 2 3 4 5)')
    assert.equal(h.leave(), 'voters=(2 3 4 5) prs=(2 3 4 5)')
  })

  test('demoting a voter goes through learners_next', () => {
    const h = new Harness()
    h.simple('v1')
    h.simple('v2')
    h.simple('v3')
    assert.equal(h.enter(false, 'l3 v4'), 'voters=(1 2 4)&&(1 2 3) learners_next=(3) prs=(1 2 3 4)')
    assert.equal(h.trk.progress.get(3)?.isLearner, false) // still votes in C_old
    assert.equal(h.leave(), 'voters=(1 2 4) learners=(3) prs=(1 2 3 4)')
    assert.equal(h.trk.progress.get(3)?.isLearner, true)
  })

  test('cannot enter twice, cannot leave when not joint, no simple change while joint', () => {
    const h = new Harness()
    h.simple('v1')
    assert.throws(() => h.leave(), /can't leave a non-joint config/)
    h.enter(false, 'v2')
    assert.throws(() => h.enter(false, 'v3'), /already joint/)
    assert.throws(() => h.simple('v3'), /in joint config/)
  })

  test('a zero-voter config cannot become joint', () => {
    const h = new Harness()
    assert.throws(() => h.enter(false, 'v1'), /zero-voter/)
  })

  test('re-adding a removed outgoing voter in the same joint step', () => {
    const h = new Harness()
    h.simple('v1')
    h.simple('v2')
    assert.equal(h.enter(false, 'r2 v2'), 'voters=(1 2)&&(1 2) prs=(1 2)')
  })
})

describe('confchange: restore from ConfState', () => {
  test('joint config with learners_next', () => {
    const cp = restoreConfig({ voters: [1, 2, 3], learners: [5], votersOutgoing: [1, 2, 4, 6], learnersNext: [4], autoLeave: true }, 7, 10, 0)
    assert.equal(cp.config.toString(), 'voters=(1 2 3)&&(1 2 4 6) learners=(5) learners_next=(4) autoleave')
    assert.deepEqual([...cp.progress.keys()].sort(), [1, 2, 3, 4, 5, 6])
    assert.equal(cp.progress.get(1)?.next, 8)
    assert.equal(cp.progress.get(5)?.isLearner, true)
  })

  test('inconsistent ConfState is rejected', () => {
    assert.throws(() => restoreConfig({ voters: [1], learners: [1], votersOutgoing: [], learnersNext: [], autoLeave: false }, 0, 10, 0), /both a learner and a voter/)
    assert.throws(() => restoreConfig({ voters: [1], learners: [], votersOutgoing: [], learnersNext: [2], autoLeave: false }, 0, 10, 0), /learner_next/)
    assert.throws(() => restoreConfig({ voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: true }, 0, 10, 0), /autoLeave/)
  })
})

describe('ConfChangeV2 transitions and encoding', () => {
  const cc = (transition: ConfChangeV2['transition'], s: string): ConfChangeV2 => ({ transition, changes: ccs(s) })
  test('auto with one change is simple; anything else is joint', () => {
    assert.equal(jointTransition(cc('auto', 'v2')), undefined)
    assert.deepEqual(jointTransition(cc('auto', 'v2 v3')), { autoLeave: true })
    assert.deepEqual(jointTransition(cc('implicit', 'v2')), { autoLeave: true })
    assert.deepEqual(jointTransition(cc('explicit', 'v2')), { autoLeave: false })
    assert.equal(leavesJoint(cc('auto', '')), true)
  })
  test('round-trips, and empty bytes mean leave-joint', () => {
    const c: ConfChangeV2 = { transition: 'explicit', changes: ccs('v4 l5 r3'), context: new Uint8Array([1, 2]) }
    assert.deepEqual(decodeConfChange(encodeConfChange(c)), c)
    assert.deepEqual(decodeConfChange(new Uint8Array(0)), { transition: 'auto', changes: [] })
    const big: ConfChangeV2 = { transition: 'auto', changes: [{ type: 'addVoter', nodeId: 2 ** 53 - 1 }] }
    assert.deepEqual(decodeConfChange(encodeConfChange(big)), big)
  })
  test('garbage is a typed error', () => {
    assert.throws(() => decodeConfChange(new Uint8Array([9, 9])), (e: Error & { code?: string }) => e.code === 'ERR_CONF_CHANGE_INVALID')
    assert.throws(() => decodeConfChange(new Uint8Array([1, 0, 5])), (e: Error & { code?: string }) => e.code === 'ERR_CONF_CHANGE_INVALID')
  })
})

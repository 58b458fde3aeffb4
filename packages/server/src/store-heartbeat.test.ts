import { test } from 'node:test'
import assert from 'node:assert/strict'
import { COMPLETE_EVERY, LeadReports } from './store-heartbeat.js'

/** The ranges a heartbeat would list, given every led range's signature now. */
function listed(reports: LeadReports, now: Map<number, string>): number[] {
  return [...now].filter(([id, sig]) => reports.changed(id, sig)).map(([id]) => id)
}

test('a heartbeat lists only the led ranges whose report changed, all of them when the PD asks, and all every COMPLETE_EVERY heartbeats', () => {
  const reports = new LeadReports()
  const now = new Map([1, 2, 3].map((id) => [id, `g1/${id}`]))
  assert.equal(reports.complete, true, 'the first heartbeat is complete')
  assert.deepEqual(listed(reports, now), [1, 2, 3])
  reports.acknowledge(now, true, false)

  assert.equal(reports.complete, false)
  assert.deepEqual(listed(reports, now), [], 'idle ranges are not listed again')
  now.set(2, 'g2/2')
  now.set(4, 'g1/4')
  assert.deepEqual(listed(reports, now), [2, 4], 'a changed range and a newly led one are')

  // A failed heartbeat acknowledges nothing: the same ranges are listed again.
  assert.deepEqual(listed(reports, now), [2, 4])
  reports.acknowledge(now, false, false)
  assert.deepEqual(listed(reports, now), [])

  // A range led again after a while away is listed even if its report is as it was.
  const without = new Map(now)
  without.delete(3)
  reports.acknowledge(without, false, false)
  assert.deepEqual(listed(reports, now), [3])

  reports.acknowledge(now, false, true)
  assert.equal(reports.complete, true, 'the PD asked for a complete list')
  assert.deepEqual(listed(reports, now), [1, 2, 3, 4])
  reports.acknowledge(now, true, false)

  for (let i = 1; i < COMPLETE_EVERY; i++) {
    assert.equal(reports.complete, false, `heartbeat ${i} after a complete one`)
    reports.acknowledge(now, false, false)
  }
  assert.equal(reports.complete, true, `every ${COMPLETE_EVERY} heartbeats the list is complete anyway`)
})

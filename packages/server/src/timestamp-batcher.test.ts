import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { PdTsoRequest, PdTsoResponse } from './pd-protocol.js'
import { TimestampBatcher } from './timestamp-batcher.js'

/** An oracle whose answers the test releases one fetch at a time. */
function heldOracle(): { fetch: (req: PdTsoRequest) => Promise<PdTsoResponse>; asked: number[]; answer: () => void } {
  let next = 100n
  const asked: number[] = []
  const held: Array<() => void> = []
  return {
    asked,
    fetch: (req) =>
      new Promise((resolve) => {
        asked.push(req.count)
        // The oracle hands the batch out when it answers: above everything answered before.
        held.push(() => {
          const first = next
          next += BigInt(req.count)
          resolve({ first: first.toString(), count: req.count })
        })
      }),
    answer: () => held.shift()!(),
  }
}

test('one fetch at a time: requests made while a fetch is out share the next one, and get timestamps above those handed out before them', async () => {
  const oracle = heldOracle()
  const tso = new TimestampBatcher(oracle.fetch)
  const first = [tso.timestamp(), tso.timestamp()]
  await nextTurn()
  assert.deepEqual(oracle.asked, [4], 'two timestamps per request: each one handed out and its reserved successor')
  const second = [tso.timestamp(), tso.timestamp(), tso.timestamp()]
  await nextTurn()
  assert.deepEqual(oracle.asked, [4], 'no second fetch while the first is out')
  oracle.answer()
  const a = await Promise.all(first)
  await nextTurn()
  assert.deepEqual(oracle.asked, [4, 6], 'the three waiting requests go out together')
  oracle.answer()
  const b = await Promise.all(second)
  assert.deepEqual(a, [100n, 102n])
  assert.deepEqual(b, [104n, 106n, 108n])
  assert.equal(tso.reservesSuccessors, true)
  assert.deepEqual(tso.counts, { requests: 5, fetches: 2 })
})

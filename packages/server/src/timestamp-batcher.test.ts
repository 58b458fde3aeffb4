import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { PdTsoRequest, PdTsoResponse } from './pd-protocol.js'
import { TimestampBatcher } from './timestamp-batcher.js'

/** An oracle whose answers the test releases, in any order: a batch is handed out when its fetch is answered. */
function heldOracle(): { fetch: (req: PdTsoRequest) => Promise<PdTsoResponse>; asked: number[]; answer: (i?: number) => void } {
  let next = 100n
  const asked: number[] = []
  const held: Array<(() => void) | undefined> = []
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
    answer: (i = held.findIndex((h) => h !== undefined)) => {
      const h = held[i]!
      held[i] = undefined
      h()
    },
  }
}

test('requests made while a fetch is out go out in a fetch of their own at once, and get timestamps above those handed out before them', async () => {
  const oracle = heldOracle()
  const tso = new TimestampBatcher(oracle.fetch)
  const first = [tso.timestamp(), tso.timestamp()]
  await nextTurn()
  assert.deepEqual(oracle.asked, [4], 'two timestamps per request: each one handed out and its reserved successor')
  const second = [tso.timestamp(), tso.timestamp(), tso.timestamp()]
  await nextTurn()
  assert.deepEqual(oracle.asked, [4, 6], 'the three later requests go out together, without waiting for the first fetch')
  // The oracle answers the second fetch first: overlapping fetches serve overlapping requests.
  oracle.answer(1)
  const b = await Promise.all(second)
  oracle.answer(0)
  const a = await Promise.all(first)
  assert.deepEqual(b, [100n, 102n, 104n])
  assert.deepEqual(a, [106n, 108n])
  // A request made after a timestamp was handed out gets a greater one.
  const third = tso.timestamp()
  await nextTurn()
  oracle.answer()
  assert.ok((await third) > 108n)
  assert.equal(tso.reservesSuccessors, true)
  assert.deepEqual(tso.counts, { requests: 6, fetches: 3 })
})

test('at most four fetches are out at once; the requests made meanwhile share the next one', async () => {
  const oracle = heldOracle()
  const tso = new TimestampBatcher(oracle.fetch)
  const waiting: Array<Promise<bigint>> = []
  for (let i = 0; i < 4; i++) {
    waiting.push(tso.timestamp())
    await nextTurn()
  }
  assert.deepEqual(oracle.asked, [2, 2, 2, 2])
  waiting.push(tso.timestamp(), tso.timestamp())
  await nextTurn()
  assert.deepEqual(oracle.asked, [2, 2, 2, 2], 'no fifth fetch while four are out')
  oracle.answer()
  await waiting[0]
  // The fetch's end runs after its waiters are answered; the next fetch starts a turn later.
  for (let i = 0; i < 3 && oracle.asked.length === 4; i++) await nextTurn()
  assert.deepEqual(oracle.asked, [2, 2, 2, 2, 4], 'the end of one starts the next, for both waiting requests')
  for (let i = 0; i < 4; i++) oracle.answer()
  const all = await Promise.all(waiting)
  assert.equal(new Set(all).size, 6, 'every timestamp handed out once')
})

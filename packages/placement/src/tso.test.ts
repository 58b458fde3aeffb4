import { test } from 'node:test'
import assert from 'node:assert/strict'
import { composeTimestamp, physicalMs } from '@mrdb/storage'
import { PdError, PdErrorCode } from './errors.js'
import { MAX_TSO_BATCH, TimestampOracle, type TimestampBatch } from './tso.js'

/** The PD's side of raiseTsoLimit: keeps the maximum, answers a turn of the event loop later, counts overlapping calls. */
class FakePd {
  limit = 0n
  raises = 0
  private inFlight = 0
  maxInFlight = 0
  failNext = false

  readonly raiseLimit = async (limit: bigint): Promise<bigint> => {
    this.raises++
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    await new Promise((r) => setImmediate(r))
    this.inFlight--
    if (this.failNext) {
      this.failNext = false
      throw new PdError(PdErrorCode.TIMEOUT, 'raise timed out')
    }
    if (limit > this.limit) this.limit = limit
    return this.limit
  }
}

/** Every timestamp of some batches, in the order given. */
function expand(batches: readonly TimestampBatch[]): bigint[] {
  return batches.flatMap((x) => Array.from({ length: x.count }, (_, i) => x.first + BigInt(i)))
}

function assertIncreasing(ts: readonly bigint[], what: string): void {
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! > ts[i - 1]!, `${what}: ${ts[i]} after ${ts[i - 1]}`)
}

test('concurrent calls get strictly increasing, disjoint timestamps, each below the bound persisted when it was handed out; raises never overlap', async () => {
  const pd = new FakePd()
  let now = 1_000_000
  const oracle = new TimestampOracle({ raiseLimit: pd.raiseLimit, clock: () => now, windowMs: 50 })
  oracle.start(0n)
  const resolved: TimestampBatch[] = []
  const calls: Array<Promise<void>> = []
  for (let i = 0; i < 2000; i++) {
    if (i % 100 === 0) now += 30 // the clock moves past the window now and then: more raises
    calls.push(
      oracle.next(1 + (i % 7)).then((batch) => {
        assert.ok(batch.first + BigInt(batch.count - 1) < pd.limit, 'handed out below the persisted bound')
        resolved.push(batch)
      }),
    )
  }
  await Promise.all(calls)
  const all = expand(resolved)
  assertIncreasing(all, 'in the order handed out')
  assert.equal(new Set(all).size, all.length)
  assert.ok(pd.raises >= 2, `the bound was raised again as the clock moved (${pd.raises} raises)`)
  assert.equal(pd.maxInFlight, 1, 'one raise at a time')
})

test('never hands out at or above the persisted bound: a failed raise fails the call, and the next call raises again', async () => {
  const pd = new FakePd()
  let now = 5000
  const oracle = new TimestampOracle({ raiseLimit: pd.raiseLimit, clock: () => now })
  oracle.start(0n)
  const a = await oracle.next()
  assert.equal(pd.limit, composeTimestamp(8000), 'the bound goes 3 s past the clock')
  now = 9000 // past the bound: a raise must come first
  pd.failNext = true
  await assert.rejects(oracle.next(), (e: { code?: string }) => e.code === PdErrorCode.TIMEOUT)
  assert.equal(pd.limit, composeTimestamp(8000))
  const b = await oracle.next()
  assert.ok(b.first > a.first && b.first < pd.limit && physicalMs(b.first) === 9000)
  await assert.rejects(new TimestampOracle({ raiseLimit: pd.raiseLimit }).next(), (e: { code?: string }) => e.code === PdErrorCode.UNAVAILABLE, 'not started')
  await assert.rejects(oracle.next(0), (e: { code?: string }) => e.code === PdErrorCode.INVALID_ARGUMENT)
  await assert.rejects(oracle.next(MAX_TSO_BATCH + 1), (e: { code?: string }) => e.code === PdErrorCode.INVALID_ARGUMENT)
})

test('a new leader whose clock is 10 s behind starts above the persisted bound', async () => {
  const pd = new FakePd()
  const old = new TimestampOracle({ raiseLimit: pd.raiseLimit, clock: () => 100_000 })
  old.start(0n)
  const handedOut = expand(await Promise.all(Array.from({ length: 50 }, () => old.next(10))))
  const newest = handedOut.reduce((x, y) => (y > x ? y : x))

  const successor = new TimestampOracle({ raiseLimit: pd.raiseLimit, clock: () => 90_000 })
  successor.start(pd.limit)
  const next = expand(await Promise.all(Array.from({ length: 50 }, () => successor.next(10))))
  assertIncreasing([newest, ...next], 'after the leader change')
  assert.ok(next[0]! > composeTimestamp(103_000), 'strictly above the old bound')
})

test('when a millisecond runs out of logical counter the timestamps carry into the next one', async () => {
  const pd = new FakePd()
  const oracle = new TimestampOracle({ raiseLimit: pd.raiseLimit, clock: () => 7000 })
  oracle.start(0n)
  const full = await oracle.next(MAX_TSO_BATCH)
  assert.equal(full.first, composeTimestamp(7000, 0))
  assert.equal(full.first + BigInt(full.count - 1), composeTimestamp(7000, MAX_TSO_BATCH - 1))
  const next = await oracle.next()
  assert.equal(next.first, composeTimestamp(7001, 0))
  const straddling = await oracle.next(MAX_TSO_BATCH)
  assert.equal(straddling.first, composeTimestamp(7001, 1))
  assert.equal(straddling.first + BigInt(straddling.count - 1), composeTimestamp(7002, 0))
})

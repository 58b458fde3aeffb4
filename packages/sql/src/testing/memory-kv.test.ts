import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryKv } from './memory-kv.js'

const bytes = (s: string) => new TextEncoder().encode(s)

// The in-memory twin must answer as @mrdb/kv's Transaction does; these are the cases where
// a simpler model would differ.

test('an insert then a delete of the same key keeps the absence check: over a present key the commit fails with KEY_EXISTS and deletes nothing', async () => {
  const kv = new MemoryKv()
  const setup = await kv.begin()
  setup.put(bytes('k'), bytes('v'))
  await setup.commit()
  const t = await kv.begin()
  t.insert(bytes('k'), bytes('w'))
  t.delete(bytes('k'))
  await assert.rejects(t.commit(), { code: 'KEY_EXISTS' })
  assert.deepEqual(await (await kv.begin()).get(bytes('k')), bytes('v'))
})

test('an insert then a delete of an absent key commits nothing', async () => {
  const kv = new MemoryKv()
  const t = await kv.begin()
  t.insert(bytes('k'), bytes('w'))
  t.delete(bytes('k'))
  assert.equal(await t.get(bytes('k')), undefined)
  await t.commit()
  assert.equal(await (await kv.begin()).get(bytes('k')), undefined)
})

test('an insert over the transaction\'s own write fails the commit with KEY_EXISTS before anything else', async () => {
  const kv = new MemoryKv()
  const t = await kv.begin()
  t.put(bytes('k'), bytes('v'))
  t.insert(bytes('k'), bytes('w'))
  await assert.rejects(t.commit(), { code: 'KEY_EXISTS' })
})

test('writes over the size limits fail the commit with INVALID_ARGUMENT, as a range refuses an oversize command; a finished transaction refuses use', async () => {
  const kv = new MemoryKv({ limits: { maxKeyBytes: 4, maxWriteBytes: 10 } })
  const big = await kv.begin()
  big.put(bytes('k'), new Uint8Array(10))
  await assert.rejects(big.commit(), { code: 'INVALID_ARGUMENT', message: /10-byte limit/ })
  const long = await kv.begin()
  long.put(bytes('kkkkk'), bytes('v'))
  await assert.rejects(long.commit(), { code: 'INVALID_ARGUMENT', message: /4-byte limit/ })
  assert.throws(() => long.put(bytes('k'), bytes('v')), { code: 'INVALID_ARGUMENT' })
  const fits = await kv.begin()
  fits.put(bytes('kkkk'), new Uint8Array(6))
  await fits.commit()
})

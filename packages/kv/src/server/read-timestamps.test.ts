import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReadTimestamps } from './read-timestamps.js'

const b = (s: string) => Buffer.from(s)

test('read timestamps answer, for some keys, the highest read of one of them: by key, by span, or the floor', () => {
  const r = new ReadTimestamps()
  assert.equal(r.maxOf([b('a')]), 0n)
  r.readKey(b('a'), 10n)
  r.readKey(b('a'), 7n)
  r.readKey(b('b'), 5n)
  assert.equal(r.maxOf([b('a')]), 10n)
  assert.equal(r.maxOf([b('b'), b('c')]), 5n)
  assert.equal(r.maxOf([b('c')]), 0n)
  r.readSpan(b('c'), b('e'), 20n)
  assert.equal(r.maxOf([b('d')]), 20n)
  assert.equal(r.maxOf([b('e')]), 0n)
  r.readSpan(b('x'), new Uint8Array(0), 30n)
  assert.equal(r.maxOf([b('zzz')]), 30n)
  r.raiseFloor(8n)
  assert.equal(r.maxOf([b('b')]), 8n)
  assert.equal(r.maxOf([b('a')]), 10n)
})

test('past their limits, read timestamps fold entries into the floor: answers only rise', () => {
  const r = new ReadTimestamps()
  for (let i = 0; i < 10_001; i++) r.readKey(b(`k${i}`), BigInt(100 + i))
  // The first 10,000 went into the floor (the highest of them), the last one is kept.
  assert.equal(r.maxOf([b('other')]), 100n + 9_999n)
  assert.equal(r.maxOf([b('k10000')]), 100n + 10_000n)
  for (let i = 0; i < 257; i++) r.readSpan(b(`s${i}`), b(`s${i}~`), 50_000n + BigInt(i))
  assert.equal(r.maxOf([b('other')]), 50_000n + 255n)
  assert.equal(r.maxOf([b('s256x')]), 50_000n + 256n)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { open, MAX_KEY_SIZE, MAX_VALUE_SIZE, type Engine } from './engine.js'
import { StorageErrorCode } from './errors.js'
import { tempDir } from './testing/temp-dir.js'

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString())
const plain = (b: Uint8Array | undefined) => (b === undefined ? undefined : new Uint8Array(b))
const hasCode = (code: string) => (e: { code?: string }) => e.code === code

async function withEngine(fn: (db: Engine, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  const db = await open(join(dir.path, 'db'))
  try {
    await fn(db, join(dir.path, 'db'))
  } finally {
    await db.close()
    await dir.remove()
  }
}

async function collect(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of it) out.push(`${text(k)}=${text(v)}`)
  return out
}

test('open creates the directory; put, get, del with strings and bytes', async () => {
  await withEngine(async (db, dir) => {
    assert.ok(existsSync(dir))
    await db.put('a', 'one')
    await db.put(Uint8Array.of(0, 255), Uint8Array.of(1, 2, 3))
    assert.equal(text(await db.get('a')), 'one')
    assert.deepEqual(plain(await db.get(Uint8Array.of(0, 255))), Uint8Array.of(1, 2, 3))
    assert.equal(await db.get('missing'), undefined)
    await db.del('a')
    assert.equal(await db.get('a'), undefined)
    await db.del('never-there')
    await db.put('empty', '')
    assert.deepEqual(plain(await db.get('empty')), new Uint8Array(0))
  })
})

test('scan is ordered and honours bounds, limit and reverse', async () => {
  await withEngine(async (db) => {
    await db.batch(['d', 'a', 'c', 'b', 'e'].map((k) => ({ type: 'put' as const, key: k, value: k.toUpperCase() })))
    assert.deepEqual(await collect(db.scan()), ['a=A', 'b=B', 'c=C', 'd=D', 'e=E'])
    assert.deepEqual(await collect(db.scan({ gte: 'b', lt: 'd' })), ['b=B', 'c=C'])
    assert.deepEqual(await collect(db.scan({ gt: 'b', lte: 'd' })), ['c=C', 'd=D'])
    assert.deepEqual(await collect(db.scan({ reverse: true, limit: 2 })), ['e=E', 'd=D'])
    assert.deepEqual(await collect(db.scan({ gte: 'b', gt: 'z' })), ['b=B', 'c=C', 'd=D', 'e=E'], 'gte wins over gt')
    assert.deepEqual(await collect(db.scan({ limit: 0 })), [])
  })
})

test('scan crosses chunk boundaries and can stop early', async () => {
  await withEngine(async (db) => {
    const keys = Array.from({ length: 1000 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    await db.batch(keys.map((key) => ({ type: 'put' as const, key, value: 'v' })))
    assert.equal((await collect(db.scan())).length, 1000)
    let seen = 0
    for await (const _ of db.scan()) if (++seen === 300) break
    assert.equal(seen, 300)
  })
})

test('a batch is atomic: one invalid op means nothing is written', async () => {
  await withEngine(async (db) => {
    await assert.rejects(
      db.batch([
        { type: 'put', key: 'x', value: '1' },
        { type: 'put', key: 'y', value: 42 as unknown as string },
      ]),
      hasCode(StorageErrorCode.INVALID_VALUE),
    )
    assert.equal(await db.get('x'), undefined)
    await assert.rejects(db.batch([{ type: 'merge', key: 'x' } as never]), hasCode(StorageErrorCode.INVALID_ARGUMENT))
    await db.batch([{ type: 'put', key: 'x', value: '1' }, { type: 'put', key: 'y', value: '2' }, { type: 'del', key: 'x' }], { sync: true })
    assert.deepEqual(await collect(db.scan()), ['y=2'])
  })
})

test('a snapshot is a stable view until released', async () => {
  await withEngine(async (db) => {
    await db.put('k', 'before')
    await db.put('gone', 'here')
    const snap = db.snapshot()
    await db.put('k', 'after')
    await db.del('gone')
    await db.put('new', 'x')
    assert.equal(text(await snap.get('k')), 'before')
    assert.deepEqual(await collect(snap.scan()), ['gone=here', 'k=before'])
    assert.equal(text(await db.get('k')), 'after')
    snap.release()
    snap.release()
    await assert.rejects(snap.get('k'), hasCode(StorageErrorCode.CLOSED))
    assert.throws(() => snap.scan(), hasCode(StorageErrorCode.CLOSED))
  })
})

test('wrong key and value types raise typed errors', async () => {
  await withEngine(async (db) => {
    for (const bad of [undefined, null, 42, {}, [1, 2]]) {
      await assert.rejects(db.put(bad as never, 'v'), hasCode(StorageErrorCode.INVALID_KEY))
      await assert.rejects(db.get(bad as never), hasCode(StorageErrorCode.INVALID_KEY))
      await assert.rejects(db.put('k', bad as never), hasCode(StorageErrorCode.INVALID_VALUE))
    }
    await assert.rejects(db.put('', 'v'), hasCode(StorageErrorCode.INVALID_KEY))
    assert.throws(() => db.scan({ limit: -1 }), hasCode(StorageErrorCode.INVALID_ARGUMENT))
    assert.throws(() => db.scan({ gte: 5 as never }), hasCode(StorageErrorCode.INVALID_KEY))
  })
})

test('oversized keys and values raise ERR_TOO_LARGE and write nothing', async () => {
  await withEngine(async (db) => {
    await assert.rejects(db.put(new Uint8Array(MAX_KEY_SIZE + 1), 'v'), hasCode(StorageErrorCode.TOO_LARGE))
    await assert.rejects(db.put('k', new Uint8Array(MAX_VALUE_SIZE + 1)), hasCode(StorageErrorCode.TOO_LARGE))
    await db.put(new Uint8Array(MAX_KEY_SIZE).fill(1), 'at the limit')
    assert.equal(await db.get('k'), undefined)
  })
})

test('use after close raises ERR_CLOSED; closing twice is fine', async () => {
  const dir = await tempDir()
  try {
    const db = await open(dir.path)
    await db.put('k', 'v')
    await db.close()
    await db.close()
    await assert.rejects(db.get('k'), hasCode(StorageErrorCode.CLOSED))
    await assert.rejects(db.put('k', 'v'), hasCode(StorageErrorCode.CLOSED))
    await assert.rejects(db.batch([]), hasCode(StorageErrorCode.CLOSED))
    assert.throws(() => db.scan(), hasCode(StorageErrorCode.CLOSED))
    assert.throws(() => db.snapshot(), hasCode(StorageErrorCode.CLOSED))
    const again = await open(dir.path)
    assert.equal(text(await again.get('k')), 'v', 'data survives close and reopen')
    await again.close()
  } finally {
    await dir.remove()
  }
})

test('a second open of the same directory raises ERR_LOCKED', async () => {
  await withEngine(async (_db, dir) => {
    await assert.rejects(open(dir), hasCode(StorageErrorCode.LOCKED))
  })
})

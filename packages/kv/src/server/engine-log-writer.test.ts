import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RaftLogStore, open, type BatchOp, type WriteOptions } from '@mrdb/storage'
import { EngineLogWriter } from './engine-log-writer.js'

test('a log write too big for one engine batch goes out in several, each group whole, the last one synced', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-logwriter-'))
  const engine = await open(dir)
  try {
    const log = await RaftLogStore.open(engine)
    const writer = new EngineLogWriter(engine, log, async () => [])
    const syncs: Array<boolean | undefined> = []
    const batch = engine.batch.bind(engine)
    engine.batch = (ops: BatchOp[], options?: WriteOptions) => {
      syncs.push(options?.sync)
      return batch(ops, options)
    }
    const big = new Uint8Array(40 * 1024 * 1024).fill(7)
    const updates = [1, 2, 3].map((groupId) => ({
      groupId,
      entries: [{ index: 1, term: 1, type: 'normal' as const, data: big }],
      hardState: { term: 1, vote: 0, commit: 0 },
    }))
    await writer.write(updates, true)
    assert.deepEqual(syncs, [false, true], 'two batches (120 MiB of entries), only the last synced')
    for (const g of [1, 2, 3]) {
      assert.equal(log.lastIndex(g), 1)
      assert.equal(log.entries(g, 1, 2, Infinity)[0]!.data.length, big.length)
    }
  } finally {
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a snapshot whose data is hundreds of thousands of engine operations installs (a churned range\'s snapshot overflowed the stack)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-logwriter-'))
  const engine = await open(dir)
  try {
    const log = await RaftLogStore.open(engine)
    const keys = 500_000
    const ops: BatchOp[] = Array.from({ length: keys }, (_, i) => ({ type: 'put', key: Buffer.from(`k${String(i).padStart(6, '0')}`), value: Buffer.from('v') }))
    const writer = new EngineLogWriter(engine, log, async () => ops)
    const snapshot = { data: new Uint8Array(0), metadata: { index: 10, term: 2, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } }
    await writer.write([{ groupId: 1, entries: [], snapshot, hardState: { term: 2, vote: 0, commit: 10 } }], false)
    assert.equal(log.firstIndex(1), 11)
    assert.equal(Buffer.from((await engine.get(Buffer.from('k499999')))!).toString(), 'v')
  } finally {
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RaftLogStore, open, type BatchOp, type Engine, type WriteOptions } from '@mrdb/storage'
import { EngineLogWriter } from './engine-log-writer.js'

/** Runs `fn` on a fresh engine in a temporary directory and its Raft log store, then removes both. */
async function withLog(fn: (engine: Engine, log: RaftLogStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-logwriter-'))
  const engine = await open(dir)
  try {
    await fn(engine, await RaftLogStore.open(engine))
  } finally {
    await engine.close()
    await rm(dir, { recursive: true, force: true })
  }
}

test('a log write too big for one engine batch goes out in several, each group whole, the last one synced', () =>
  withLog(async (engine, log) => {
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
  }))

test('a snapshot whose data is hundreds of thousands of engine operations installs (a churned range\'s snapshot overflowed the stack)', () =>
  withLog(async (engine, log) => {
    const keys = 500_000
    const ops: BatchOp[] = Array.from({ length: keys }, (_, i) => ({ type: 'put', key: Buffer.from(`k${String(i).padStart(6, '0')}`), value: Buffer.from('v') }))
    const writer = new EngineLogWriter(engine, log, async () => ops)
    const snapshot = { data: new Uint8Array(0), metadata: { index: 10, term: 2, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } }
    await writer.write([{ groupId: 1, entries: [], snapshot, hardState: { term: 2, vote: 0, commit: 10 } }], false)
    assert.equal(log.firstIndex(1), 11)
    assert.equal(Buffer.from((await engine.get(Buffer.from('k499999')))!).toString(), 'v')
  }))

test('a cut\'s entries read as compacted while the cut is written, never as missing inside the log', () =>
  withLog(async (engine, log) => {
    const writer = new EngineLogWriter(engine, log, async () => [])
    const entries = Array.from({ length: 10 }, (_, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data: Buffer.from(`e${i + 1}`) }))
    await writer.write([{ groupId: 1, entries, hardState: { term: 1, vote: 0, commit: 10 } }], false)
    // classic-level applies a batch before its promise settles: a read in between (the Raft
    // loop sending entries to a follower behind) meets the engine as the batch left it.
    const seen: string[] = []
    const batch = engine.batch.bind(engine)
    engine.batch = async (ops: BatchOp[], options?: WriteOptions) => {
      await batch(ops, options)
      for (const read of [() => log.entries(1, 3, 4), () => log.term(1, 3)]) {
        try {
          read()
          seen.push('read')
        } catch (err) {
          seen.push((err as { code?: string }).code ?? String(err))
        }
      }
    }
    await writer.compact(1, 5, 1)
    assert.deepEqual(seen, ['ERR_COMPACTED', 'ERR_COMPACTED'])
    assert.equal(log.firstIndex(1), 6)
  }))

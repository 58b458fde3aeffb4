import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, type Engine } from './engine.js'
import { StorageErrorCode } from './errors.js'
import { RaftLogCorruptionError, RaftLogStore, raftLogEntryKey, type RaftLogEntry } from './raft-log-store.js'
import { tempDir } from './testing/temp-dir.js'

const hasCode = (code: string) => (e: { code?: string }) => e.code === code
/** ERR_CORRUPTION naming the group and the damaged entry (undefined: the group's metadata). */
const damageOf = (groupId: number, index: number | undefined) => (e: unknown) =>
  e instanceof RaftLogCorruptionError && e.code === StorageErrorCode.CORRUPTION && e.groupId === groupId && e.index === index
const entry = (index: number, term: number, data = `e${index}`): RaftLogEntry => ({ index, term, type: 'normal', data: Buffer.from(data) })
const range = (lo: number, hi: number, term: number) => Array.from({ length: hi - lo + 1 }, (_, i) => entry(lo + i, term))
const summary = (es: RaftLogEntry[]) => es.map((e) => `${e.index}/${e.term}:${Buffer.from(e.data).toString()}`)

async function withEngine(fn: (engine: Engine, reopen: () => Promise<Engine>) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  let engine = await open(dir.path)
  try {
    await fn(engine, async () => {
      await engine.close()
      engine = await open(dir.path)
      return engine
    })
  } finally {
    await engine.close()
    await dir.remove()
  }
}

test('append, read back, replace a conflicting suffix, and survive a reopen', async () => {
  await withEngine(async (engine, reopen) => {
    let log = await RaftLogStore.open(engine)
    assert.equal(log.firstIndex(7), 1)
    assert.equal(log.lastIndex(7), 0)
    assert.equal(log.term(7, 0), 0)
    await log.batch().append(7, range(1, 5, 1)).setHardState(7, { term: 1, vote: 2, commit: 3 }).write({ sync: true })
    assert.deepEqual(summary(log.entries(7, 2, 4)), ['2/1:e2', '3/1:e3'])
    await log.batch().append(7, [entry(4, 2, 'x4')]).write()
    assert.equal(log.lastIndex(7), 4, 'entry 5 went with the conflicting suffix')
    assert.throws(() => log.term(7, 5), hasCode(StorageErrorCode.UNAVAILABLE))
    assert.throws(() => log.batch().append(7, [entry(6, 2)]), hasCode(StorageErrorCode.INVALID_ARGUMENT))
    assert.throws(() => log.batch().append(7, [entry(5, 2), entry(7, 2)]), hasCode(StorageErrorCode.INVALID_ARGUMENT))

    log = await RaftLogStore.open(await reopen())
    assert.deepEqual(log.groupIds(), [7])
    assert.deepEqual(summary(log.entries(7, 1, 5)), ['1/1:e1', '2/1:e2', '3/1:e3', '4/2:x4'])
    assert.deepEqual(log.hardState(7), { term: 1, vote: 2, commit: 3 })
  })
})

test('entries stop at maxBytes but always return at least one', async () => {
  await withEngine(async (engine) => {
    const log = await RaftLogStore.open(engine)
    await log.batch().append(1, range(1, 10, 1)).write()
    assert.equal(log.entries(1, 1, 11, 5).length, 2, 'e1 and e2 are 2 bytes each; a third passes 5')
    assert.equal(log.entries(1, 1, 11, 0).length, 1)
    assert.equal(log.entries(1, 1, 11).length, 10)
  })
})

test('compaction removes a prefix and keeps the term at the cut', async () => {
  await withEngine(async (engine, reopen) => {
    let log = await RaftLogStore.open(engine)
    await log.batch().append(3, range(1, 4, 1)).append(3, range(5, 10, 2)).write()
    await log.batch().compact(3, 6, log.term(3, 6)).write()
    assert.equal(log.firstIndex(3), 7)
    assert.equal(log.term(3, 6), 2)
    assert.throws(() => log.term(3, 5), hasCode(StorageErrorCode.COMPACTED))
    assert.throws(() => log.entries(3, 5, 8), hasCode(StorageErrorCode.COMPACTED))
    assert.throws(() => log.batch().append(3, [entry(6, 3)]), hasCode(StorageErrorCode.COMPACTED))
    log = await RaftLogStore.open(await reopen())
    assert.equal(log.firstIndex(3), 7)
    assert.equal(log.lastIndex(3), 10)
    assert.equal(log.term(3, 6), 2)
    let stored = 0
    for await (const _ of (await reopen()).scan({ gte: Uint8Array.of(1, 1), lt: Uint8Array.of(1, 2) })) stored++
    assert.equal(stored, 4, 'only entries 7..10 remain on disk')
  })
})

test('installing a snapshot replaces the log; destroying a group removes it', async () => {
  await withEngine(async (engine, reopen) => {
    let log = await RaftLogStore.open(engine)
    await log.batch().append(4, range(1, 5, 1)).append(5, range(1, 2, 1)).write()
    await log.batch().installSnapshot(4, { index: 20, term: 3, data: Buffer.from('conf') }).write()
    assert.equal(log.firstIndex(4), 21)
    assert.equal(log.lastIndex(4), 20)
    assert.equal(log.term(4, 20), 3)
    await log.batch().append(4, [entry(21, 3)]).destroyGroup(5).write()
    log = await RaftLogStore.open(await reopen())
    assert.deepEqual(log.groupIds(), [4])
    assert.equal(Buffer.from(log.snapshotMeta(4)!.data).toString(), 'conf')
    assert.deepEqual(summary(log.entries(4, 21, 22)), ['21/3:e21'])
  })
})

test('thousands of groups in one batch, written with one sync', async () => {
  await withEngine(async (engine, reopen) => {
    let log = await RaftLogStore.open(engine)
    const batch = log.batch()
    for (let g = 1; g <= 2000; g++) batch.append(g, range(1, 3, 1)).setHardState(g, { term: 1, vote: g % 3, commit: 2 })
    await batch.write({ sync: true })
    log = await RaftLogStore.open(await reopen())
    assert.equal(log.groupIds().length, 2000)
    for (const g of [1, 999, 2000]) {
      assert.equal(log.lastIndex(g), 3)
      assert.deepEqual(log.hardState(g), { term: 1, vote: g % 3, commit: 2 })
    }
  })
})

test('a corrupted entry raises ERR_CORRUPTION, naming its group and index, instead of returning wrong data', async () => {
  await withEngine(async (engine, reopen) => {
    let log = await RaftLogStore.open(engine)
    await log.batch().append(9, range(1, 3, 1)).setHardState(9, { term: 1, vote: 1, commit: 3 }).write()
    const e = await reopen()
    const damaged: Array<[Uint8Array, Uint8Array]> = []
    for await (const [k, v] of e.scan({ gte: Uint8Array.of(1, 1), lt: Uint8Array.of(1, 2) })) {
      const copy = Uint8Array.from(v)
      copy[copy.length - 1]! ^= 0x01
      damaged.push([k, copy])
    }
    await e.put(damaged[1]![0], damaged[1]![1])
    log = await RaftLogStore.open(e)
    assert.equal(log.term(9, 1), 1)
    assert.throws(() => log.term(9, 2), damageOf(9, 2))
    assert.throws(() => log.entries(9, 1, 4), damageOf(9, 2))
    // An entry moved to another index fails too (the CRC covers the index), also when it is
    // damaged while the store is open: every read goes to the engine.
    await e.put(damaged[2]![0], (await e.get(damaged[0]![0]))!)
    assert.throws(() => log.term(9, 3), damageOf(9, 3))
    // An entry missing inside the log.
    await e.del(damaged[2]![0])
    assert.throws(() => log.entries(9, 3, 4), damageOf(9, 3))
    // A damaged hard state is found when the store opens: that group's reads fail, the others' work.
    await log.batch().append(10, range(1, 2, 1)).write()
    await e.put(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1), new Uint8Array(28))
    log = await RaftLogStore.open(e)
    assert.throws(() => log.hardState(9), damageOf(9, undefined))
    assert.throws(() => log.term(9, 1), damageOf(9, undefined))
    assert.deepEqual(summary(log.entries(10, 1, 3)), ['1/1:e1', '2/1:e2'])
  })
})

test('verify finds the first damaged or missing entry of each group, and damaged metadata, and passes intact logs', async () => {
  await withEngine(async (engine, reopen) => {
    let log = await RaftLogStore.open(engine)
    const batch = log.batch()
    for (const g of [1, 2, 3, 4, 5]) batch.append(g, range(1, 3000, 1)).setHardState(g, { term: 1, vote: 1, commit: 3000 })
    await batch.write()
    await log.batch().compact(5, 1000, 1).write()
    assert.deepEqual(await log.verify(), [], 'an intact store')

    const e = await reopen()
    const flip = async (g: number, index: number) => {
      const raw = Uint8Array.from((await e.get(raftLogEntryKey(g, index)))!)
      raw[raw.length - 1]! ^= 0x40
      await e.put(raftLogEntryKey(g, index), raw)
    }
    await flip(1, 2500)
    await flip(1, 2700) // only the first damage of a group is reported
    await e.del(raftLogEntryKey(2, 1500))
    await flip(5, 1001) // the first entry after a compaction is checked too
    await e.put(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 4, 3), Uint8Array.of(1, 2, 3)) // group 4's snapshot record
    log = await RaftLogStore.open(e)
    const damage = await log.verify()
    assert.deepEqual(
      damage.map(({ groupId, index }) => ({ groupId, index })),
      [{ groupId: 1, index: 2500 }, { groupId: 2, index: 1500 }, { groupId: 4, index: undefined }, { groupId: 5, index: 1001 }],
    )
    assert.match(damage[0]!.reason, /group 1: entry 2500 fails its checksum/)
    assert.match(damage[1]!.reason, /entry 1500 is missing/)
    assert.match(damage[2]!.reason, /snapshot metadata fails its checksum/)
    assert.equal(log.entries(3, 1, 3001).length, 3000, 'group 3 is intact')

    // A damaged group can still be destroyed, and then verify passes.
    await log.batch().destroyGroup(1).destroyGroup(2).destroyGroup(4).destroyGroup(5).write()
    assert.deepEqual(await log.verify(), [])
    const others = new Set<number>()
    for await (const [k] of e.scan({ gte: Uint8Array.of(1, 0), lt: Uint8Array.of(1, 2) })) if (k[9] !== 3) others.add(k[9]!)
    assert.deepEqual([...others], [], 'nothing of the destroyed groups is left')
  })
})

test('a failed write leaves the in-memory view unchanged', async () => {
  await withEngine(async (engine) => {
    const log = await RaftLogStore.open(engine)
    await log.batch().append(2, range(1, 2, 1)).write()
    const batch = log.batch().append(2, range(3, 4, 1))
    await engine.close()
    await assert.rejects(batch.write(), hasCode(StorageErrorCode.CLOSED))
    assert.equal(log.lastIndex(2), 2)
  })
})

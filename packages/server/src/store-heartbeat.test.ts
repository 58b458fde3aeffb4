import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChangedRanges, GcQueue, Store, type RangeDescriptor } from '@mrdb/kv'
import { MemoryNetwork } from '@mrdb/raft'
import { composeTimestamp, open, type Engine } from '@mrdb/storage'
import { COMPLETE_EVERY, LeadReports, storeHeartbeat, type ReportRound } from './store-heartbeat.js'

/**
 * One heartbeat's look, as storeHeartbeat takes it, given every led range's signature now
 * (undefined: not led here): the round, and the ranges it would list.
 */
function look(reports: LeadReports, now: ReadonlyMap<number, string | undefined>): { round: ReportRound; listed: number[] } {
  const round = reports.begin()
  const ids = round.complete ? [...now.keys()] : [...round.marked]
  const listed: number[] = []
  for (const id of ids) {
    const sig = now.get(id)
    round.seen.set(id, sig)
    if (sig !== undefined && reports.changed(id, sig)) listed.push(id)
  }
  return { round, listed: listed.sort((a, b) => a - b) }
}

test('a heartbeat looks at the ranges marked changed, lists those whose report changed, all of them when the PD asks, and all every COMPLETE_EVERY heartbeats', () => {
  const feed = new ChangedRanges()
  const reports = new LeadReports(feed)
  const now = new Map<number, string | undefined>([1, 2, 3].map((id) => [id, `g1/${id}`]))
  assert.equal(reports.complete, true, 'the first heartbeat is complete')
  let r = look(reports, now)
  assert.deepEqual(r.listed, [1, 2, 3])
  reports.acknowledge(r.round, false)

  assert.equal(reports.complete, false)
  r = look(reports, now)
  assert.deepEqual([r.round.seen.size, r.listed], [0, []], 'nothing marked: nothing looked at, nothing listed')
  reports.acknowledge(r.round, false)

  now.set(2, 'g2/2')
  now.set(4, 'g1/4')
  feed.mark(2)
  feed.mark(4)
  feed.mark(3)
  r = look(reports, now)
  assert.deepEqual(r.listed, [2, 4], 'a changed range and a newly led one are listed; a marked one whose report is the same is not')

  // A failed heartbeat acknowledges nothing: what it looked at is looked at and listed again.
  reports.failed(r.round)
  r = look(reports, now)
  assert.deepEqual(r.listed, [2, 4])
  // A range to look at again (it served requests, or its stats await a count) is looked at next time unmarked.
  r.round.again.push(1)
  reports.acknowledge(r.round, false)
  r = look(reports, now)
  assert.deepEqual([[...r.round.seen.keys()], r.listed], [[1], []])
  reports.acknowledge(r.round, false)

  // A range led again after a while away is listed even if its report is as it was.
  now.set(3, undefined)
  feed.mark(3)
  reports.acknowledge(look(reports, now).round, false)
  now.set(3, 'g1/3')
  feed.mark(3)
  r = look(reports, now)
  assert.deepEqual(r.listed, [3])

  reports.acknowledge(r.round, true)
  assert.equal(reports.complete, true, 'the PD asked for a complete list')
  r = look(reports, now)
  assert.deepEqual(r.listed, [1, 2, 3, 4])
  reports.acknowledge(r.round, false)

  for (let i = 1; i < COMPLETE_EVERY; i++) {
    assert.equal(reports.complete, false, `heartbeat ${i} after a complete one`)
    reports.acknowledge(look(reports, now).round, false)
  }
  assert.equal(reports.complete, true, `every ${COMPLETE_EVERY} heartbeats the list is complete anyway`)
})

const b = (s: string) => Buffer.from(s)

/** A store of one node leading `n` ranges of one replica each (their GC fence and threshold at `gcFloor`). */
async function singleStore(n: number, gcFloor = 0n): Promise<{ store: Store; dir: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-heartbeat-'))
  const engine: Engine = await open(join(dir, 'n1'))
  const store = await Store.open({ nodeId: 1, engine, transport: new MemoryNetwork().transport(1), tickMs: 50, sync: false, proposalTimeoutMs: 30_000 })
  const ranges: RangeDescriptor[] = Array.from({ length: n }, (_, i) => ({
    rangeId: i + 1,
    startKey: i === 0 ? new Uint8Array(0) : b(`r${String(i).padStart(3, '0')}`),
    endKey: i === n - 1 ? new Uint8Array(0) : b(`r${String(i + 1).padStart(3, '0')}`),
    generation: 1,
    replicas: [{ replicaId: 1, nodeId: 1, role: 'voter' as const }],
  }))
  await store.bootstrapRanges(ranges, gcFloor)
  // Led and quiesced: the leaders' first entries applied, nothing more to come.
  for (let i = 0; !ranges.every((d) => store.replica(d.rangeId).leads() && store.raft.isQuiesced(d.rangeId)); i++) {
    if (i > 1500) throw new Error('the ranges were not led and quiesced within 30 s')
    await new Promise((r) => setTimeout(r, 20))
  }
  return {
    store,
    dir,
    stop: async () => {
      await store.close()
      await engine.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** One heartbeat through storeHeartbeat, taken by the PD: the ranges it looked at and those it listed. */
async function heartbeat(store: Store, dir: string, reports: LeadReports, gc?: GcQueue): Promise<{ seen: number[]; listed: Map<number, { keys: number; reads: number; locksClear: string | undefined }> }> {
  const round = reports.begin()
  const { request } = await storeHeartbeat(store, 'n1', dir, 1000, gc && { queue: gc, oldestTxnTs: async () => 0n }, reports, round)
  reports.acknowledge(round, false)
  return {
    seen: [...round.seen.keys()].sort((x, y) => x - y),
    listed: new Map(request.leading.map((l) => [l.descriptor.rangeId, { keys: l.approximateKeys, reads: l.readsPerSecond, locksClear: l.gcLocksClearBelow }])),
  }
}

test('a store heartbeat looks only at ranges that changed; one whose stats changed is listed with them once counted', async (t) => {
  const { store, dir, stop } = await singleStore(5)
  try {
    const reports = new LeadReports(store.watchChanges())
    // Leaders elected, their first entries applied and stats counted: until every led range's
    // stats are of what it applied, it is looked at again.
    let hb = await heartbeat(store, dir, reports)
    assert.equal(hb.listed.size, 5, 'the first heartbeat lists every led range')
    for (let i = 0; hb.seen.length > 0; i++) {
      assert.ok(i < 100, `idle ranges still looked at: ${hb.seen.join(', ')}`)
      hb = await heartbeat(store, dir, reports)
    }

    const w = await store.write(3, { kind: 'put', key: b('r002-k'), value: b('v') })
    assert.ok(w.ok)
    hb = await heartbeat(store, dir, reports)
    assert.deepEqual(hb.seen, [3], 'only the range written is looked at')
    assert.deepEqual([...hb.listed.keys()], [3], 'it served a write: listed')
    hb = await heartbeat(store, dir, reports)
    assert.deepEqual([hb.seen, [...hb.listed.keys()]], [[3], [3]], 'its rate fell to zero: listed again')
    // Its stats are the count before the write until they expire; meanwhile it is looked at each time.
    assert.equal(hb.listed.get(3)?.keys, 0)
    hb = await heartbeat(store, dir, reports)
    assert.deepEqual([hb.seen, [...hb.listed.keys()]], [[3], []], 'looked at while its stats await a count, not listed while they are the same')
    const realNow = Date.now.bind(Date)
    t.mock.method(Date, 'now', () => realNow() + 60_000)
    hb = await heartbeat(store, dir, reports)
    assert.deepEqual([hb.seen, hb.listed.get(3)?.keys], [[3], 1], 'counted once expired: listed with the key written')
    t.mock.restoreAll()
    hb = await heartbeat(store, dir, reports)
    assert.ok(!hb.listed.has(3))

    // A read applies nothing: the request served marks the range.
    assert.equal(await store.get(2, b('r001-k')), undefined)
    hb = await heartbeat(store, dir, reports)
    assert.deepEqual([hb.seen, hb.listed.get(2)?.reads], [[2], 1], 'a range that served a read is listed with its rate')
    hb = await heartbeat(store, dir, reports)
    assert.deepEqual([hb.seen, hb.listed.get(2)?.reads], [[2], 0], 'and once more with its rate fallen to zero')
  } finally {
    await stop()
  }
})

test('a store heartbeat lists a range whose GC lock report changed without a command', async () => {
  // Ranges at the GC floor take the PD's first targets with no command: only the GC queue's
  // pass over their locks changes what their leader reports.
  const floor = composeTimestamp(Date.now() - 60_000)
  const { store, dir, stop } = await singleStore(3, floor)
  try {
    const reports = new LeadReports(store.watchChanges())
    const gc = new GcQueue({ store, resolveLocks: async () => true, pauseMs: 0 })
    let hb = await heartbeat(store, dir, reports, gc)
    for (let i = 0; hb.seen.length > 0; i++) {
      assert.ok(i < 100, `idle ranges still looked at: ${hb.seen.join(', ')}`)
      hb = await heartbeat(store, dir, reports, gc)
    }
    gc.setTargets({ fence: floor, safePoint: floor })
    await gc.runOnce()
    hb = await heartbeat(store, dir, reports, gc)
    assert.deepEqual([...hb.listed].map(([id, l]) => [id, l.locksClear]), [1, 2, 3].map((id) => [id, floor.toString()]))
  } finally {
    await stop()
  }
})

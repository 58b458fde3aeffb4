import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PdErrorCode } from './errors.js'
import { applyPdCommand } from './pd-apply.js'
import { decodePdEntry, encodePdCommand, type PdCommand, type PdResult } from './pd-command.js'
import { emptyPdState, MAX_RANGE_ID, PdState, PdStateEdit, type RangeRecord, type StoreRecord } from './pd-state.js'

const b = (s: string) => new Uint8Array(Buffer.from(s))
const store = (storeId: number, state: StoreRecord['state'] = 'up'): StoreRecord => ({ storeId, address: `127.0.0.1:${26000 + storeId}`, state })
const range = (rangeId: number, start: string, end: string, generation: number, nodes = [1, 2, 3]): RangeRecord => ({
  rangeId,
  startKey: b(start),
  endKey: b(end),
  generation,
  replicas: nodes.map((n) => ({ replicaId: n + rangeId * 10, nodeId: n, role: 'voter' as const })),
})

/** Applies commands one by one as the replica does, each through the entry codec, committing after each. */
class Harness {
  readonly state = PdState.from(emptyPdState())

  run(command: PdCommand): PdResult {
    const decoded = decodePdEntry(encodePdCommand({ proposalId: 7, nodeId: 1, command }))
    assert.ok(decoded, 'the envelope decodes')
    const edit = new PdStateEdit(this.state)
    const result: PdResult = decoded.command instanceof Error ? { ok: false, error: decoded.command } : applyPdCommand(edit, decoded.command)
    this.state.commit(edit)
    return result
  }

  /** Runs a command that must fail with `code` and must leave the state as it was. */
  rejects(command: PdCommand, code: string): void {
    const before = this.state.toData()
    const r = this.run(command)
    assert.ok(!r.ok && r.error.code === code, `${command.kind}: want ${code}, got ${JSON.stringify(r.ok ? r : r.error.code)}`)
    assert.deepEqual(this.state.toData(), before, `${command.kind} rejected with ${code} changes nothing`)
  }

  bootstrapped(): Harness {
    const r = this.run({ kind: 'bootstrap', clusterId: 'c1', stores: [store(1), store(2), store(3)], ranges: [range(1, '', '', 1)], nextRangeId: 2 })
    assert.deepEqual(r, { ok: true })
    return this
  }
}

test('bootstrap sets the cluster up once, checked whole', () => {
  const h = new Harness()
  h.rejects({ kind: 'putStore', store: store(1) }, PdErrorCode.NOT_BOOTSTRAPPED)
  h.rejects({ kind: 'allocIds', idKind: 'range', count: 1 }, PdErrorCode.NOT_BOOTSTRAPPED)
  h.rejects({ kind: 'bootstrap', clusterId: '', stores: [], ranges: [], nextRangeId: 1 }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'bootstrap', clusterId: 'c1', stores: [store(1)], ranges: [range(1, '', '', 1)], nextRangeId: 2 }, PdErrorCode.STORE_NOT_FOUND)
  h.rejects({ kind: 'bootstrap', clusterId: 'c1', stores: [store(1), store(2), store(3)], ranges: [range(1, '', '', 1)], nextRangeId: 1 }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'bootstrap', clusterId: 'c1', stores: [store(1), store(1)], ranges: [], nextRangeId: 1 }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects(
    { kind: 'bootstrap', clusterId: 'c1', stores: [store(1), store(2), store(3)], ranges: [range(1, '', 'q', 1), range(2, 'm', '', 1)], nextRangeId: 3 },
    PdErrorCode.INVALID_ARGUMENT,
  )
  // Overlaps found whatever the order given, also between ranges that are not neighbours by start key.
  h.rejects(
    { kind: 'bootstrap', clusterId: 'c1', stores: [store(1), store(2), store(3)], ranges: [range(3, 'd', 'e', 1), range(1, 'a', 'z', 1), range(2, 'b', 'c', 1)], nextRangeId: 4 },
    PdErrorCode.INVALID_ARGUMENT,
  )
  h.rejects(
    { kind: 'bootstrap', clusterId: 'c1', stores: [store(1), store(2), store(3)], ranges: [range(1, '', 'c', 1), range(2, 'c', 'f', 1), range(3, 'e', '', 1)], nextRangeId: 4 },
    PdErrorCode.INVALID_ARGUMENT,
  )
  h.bootstrapped()
  const data = h.state.toData()
  assert.equal(data.clusterId, 'c1')
  assert.equal(data.nextRangeId, 2)
  assert.equal(data.nextReplicaId, 14, 'replica ids start above those of the initial ranges')
  assert.deepEqual(data.stores, [store(1), store(2), store(3)])
  assert.deepEqual(data.ranges, [range(1, '', '', 1)])
  h.rejects({ kind: 'bootstrap', clusterId: 'c2', stores: [], ranges: [], nextRangeId: 1 }, PdErrorCode.ALREADY_BOOTSTRAPPED)
})

test('a bootstrap of 20,000 ranges is checked for overlaps without comparing every pair', () => {
  // Every pair: about 10 s here (2.4 s for 10,000); in start key order: well under one.
  const key = (i: number) => (i === 0 || i === 20_000 ? '' : `k${String(i).padStart(5, '0')}`)
  const ranges = Array.from({ length: 20_000 }, (_, i) => range(i + 1, key(i), key(i + 1), 1))
  const started = performance.now()
  assert.deepEqual(new Harness().run({ kind: 'bootstrap', clusterId: 'c1', stores: [store(1), store(2), store(3)], ranges, nextRangeId: 20_001 }), { ok: true })
  const ms = performance.now() - started
  assert.ok(ms < 5_000, `${ms.toFixed(0)} ms`)
})

test('stores: put, change state; a removed store stays removed', () => {
  const h = new Harness().bootstrapped()
  assert.deepEqual(h.run({ kind: 'putStore', store: store(4) }), { ok: true })
  assert.deepEqual(h.run({ kind: 'putStore', store: { ...store(4), address: 'n4:1' } }), { ok: true })
  assert.equal(h.state.store(4)?.address, 'n4:1')
  h.rejects({ kind: 'putStore', store: { ...store(5), address: '' } }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'putStore', store: { ...store(5), storeId: 0 } }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'putStore', store: { ...store(5), state: 'gone' as never } }, PdErrorCode.INVALID_ARGUMENT)
  assert.deepEqual(h.run({ kind: 'setStoreState', storeId: 4, state: 'decommissioning' }), { ok: true })
  assert.equal(h.state.store(4)?.state, 'decommissioning')
  h.rejects({ kind: 'setStoreState', storeId: 9, state: 'up' }, PdErrorCode.STORE_NOT_FOUND)
  assert.deepEqual(h.run({ kind: 'setStoreState', storeId: 4, state: 'removed' }), { ok: true })
  assert.deepEqual(h.run({ kind: 'setStoreState', storeId: 4, state: 'removed' }), { ok: true }, 'removing twice is fine')
  h.rejects({ kind: 'setStoreState', storeId: 4, state: 'up' }, PdErrorCode.STORE_REMOVED)
  h.rejects({ kind: 'putStore', store: store(4) }, PdErrorCode.STORE_REMOVED)
})

test('ranges: newer generations win, stale ones are no-ops, overlapped older ranges are replaced', () => {
  const h = new Harness().bootstrapped()
  assert.deepEqual(h.run({ kind: 'allocIds', idKind: 'range', count: 1 }), { ok: true, first: 2 })
  // A split of range 1 at 'm', reported right half first: it replaces the old whole range.
  assert.deepEqual(h.run({ kind: 'putRange', range: range(2, 'm', '', 2) }), { ok: true, stale: false, replaced: [1] })
  assert.deepEqual(h.run({ kind: 'putRange', range: range(1, '', 'm', 2) }), { ok: true, stale: false, replaced: [] })
  // The pre-split record arrives late: stale by id, and stale against the overlapping newer range 2.
  assert.deepEqual(h.run({ kind: 'putRange', range: range(1, '', '', 1) }), { ok: true, stale: true, replaced: [] })
  assert.deepEqual(h.state.range(1), range(1, '', 'm', 2))
  assert.deepEqual(h.state.range(2), range(2, 'm', '', 2))
  // Same generation again (a heartbeat) re-records; a membership change (higher generation) updates.
  assert.deepEqual(h.run({ kind: 'putRange', range: range(1, '', 'm', 2) }), { ok: true, stale: false, replaced: [] })
  assert.deepEqual(h.run({ kind: 'putRange', range: range(1, '', 'm', 3, [1, 2]) }), { ok: true, stale: false, replaced: [] })
  assert.deepEqual(h.state.range(1)?.replicas.map((r) => r.nodeId), [1, 2])
  assert.deepEqual(h.run({ kind: 'putRange', range: range(1, '', 'm', 2) }), { ok: true, stale: true, replaced: [] }, 'older than the stored record of its id')
  assert.deepEqual(h.state.range(1)?.generation, 3)
  // An id the PD does not hold, overlapping a newer range (a late report of a range merged away): stale.
  assert.deepEqual(h.run({ kind: 'allocIds', idKind: 'range', count: 1 }), { ok: true, first: 3 })
  assert.deepEqual(h.run({ kind: 'putRange', range: range(3, 'a', 'b', 2) }), { ok: true, stale: true, replaced: [] })
  assert.equal(h.state.range(3), undefined)

  h.rejects({ kind: 'putRange', range: range(4, 'x', 'y', 1) }, PdErrorCode.INVALID_ARGUMENT) // id 4 never allocated
  h.rejects({ kind: 'putRange', range: range(2, 'm', '', 3, [1, 9]) }, PdErrorCode.STORE_NOT_FOUND)
  h.rejects({ kind: 'putRange', range: range(2, 'z', 'm', 3) }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'putRange', range: { ...range(2, 'm', '', 3), replicas: [] } }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'putRange', range: { ...range(2, 'm', '', 3), replicas: [{ replicaId: 1, nodeId: 1, role: 'learner' }] } }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'putRange', range: range(2, 'm', '', 3, [1, 1]) }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'putRange', range: { ...range(2, 'm', '', 3), startKey: 'm' as never } }, PdErrorCode.INVALID_ARGUMENT)

  // A merge of 1 and 2 into 1 replaces 2; removing 2 is then unknown.
  assert.deepEqual(h.run({ kind: 'putRange', range: range(1, '', '', 4) }), { ok: true, stale: false, replaced: [2] })
  h.rejects({ kind: 'removeRange', rangeId: 2, generation: 3 }, PdErrorCode.RANGE_NOT_FOUND)
  assert.deepEqual(h.run({ kind: 'removeRange', rangeId: 1, generation: 3 }), { ok: true, stale: true })
  assert.ok(h.state.range(1), 'a stale removal keeps the range')
  assert.deepEqual(h.run({ kind: 'removeRange', rangeId: 1, generation: 4 }), { ok: true, stale: false })
  assert.equal(h.state.range(1), undefined)
  h.rejects({ kind: 'removeRange', rangeId: 1, generation: -1 }, PdErrorCode.INVALID_ARGUMENT)
})

test('allocIds hands out consecutive blocks; range ids never reach the PD group id', () => {
  const h = new Harness().bootstrapped()
  assert.deepEqual(h.run({ kind: 'allocIds', idKind: 'range', count: 10 }), { ok: true, first: 2 })
  assert.deepEqual(h.run({ kind: 'allocIds', idKind: 'range', count: 1 }), { ok: true, first: 12 })
  assert.deepEqual(h.run({ kind: 'allocIds', idKind: 'replica', count: 3 }), { ok: true, first: 14 })
  assert.deepEqual(h.run({ kind: 'allocIds', idKind: 'replica', count: 1 }), { ok: true, first: 17 })
  h.rejects({ kind: 'allocIds', idKind: 'range', count: 0 }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'allocIds', idKind: 'range', count: 1.5 }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'allocIds', idKind: 'node' as never, count: 1 }, PdErrorCode.INVALID_ARGUMENT)

  const full = new Harness()
  assert.deepEqual(full.run({ kind: 'bootstrap', clusterId: 'c', stores: [], ranges: [], nextRangeId: MAX_RANGE_ID - 1 }), { ok: true })
  assert.deepEqual(full.run({ kind: 'allocIds', idKind: 'range', count: 2 }), { ok: true, first: MAX_RANGE_ID - 1 })
  full.rejects({ kind: 'allocIds', idKind: 'range', count: 1 }, PdErrorCode.IDS_EXHAUSTED)
})

test('raiseTsoLimit keeps the maximum; malformed commands are rejected with a code', () => {
  const h = new Harness().bootstrapped()
  assert.deepEqual(h.run({ kind: 'raiseTsoLimit', limit: 1000n }), { ok: true, limit: 1000n })
  assert.deepEqual(h.run({ kind: 'raiseTsoLimit', limit: 10n }), { ok: true, limit: 1000n })
  assert.equal(h.state.counters.tsoLimit, 1000n)
  h.rejects({ kind: 'raiseTsoLimit', limit: -1n }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'raiseTsoLimit', limit: 1n << 64n }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'raiseTsoLimit', limit: 5 as never }, PdErrorCode.INVALID_ARGUMENT)
  h.rejects({ kind: 'explode' } as never, PdErrorCode.INVALID_ARGUMENT)
  assert.equal(decodePdEntry(b('not json')), undefined, 'an unreadable envelope has nobody to answer')
  assert.equal(decodePdEntry(b('{"nodeId":1,"command":{}}')), undefined)
})

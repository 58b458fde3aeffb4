import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { IndexDesc, TableDesc } from './catalog.js'
import { advance, extendRow, firstState, jobState, nextState, reverse, startAddColumn, startAddIndex, startDropColumn, startDropIndex, writeView } from './schema-state.js'
import { decodeRow, encodeRow, rowLayout } from './table-codec.js'

const int = { base: 'int' } as const
const text = { base: 'text' } as const

/** A table as CREATE TABLE writes it: no ids, versions or mutations. */
const T: TableDesc = {
  id: 100,
  name: 't',
  columns: [
    { name: 'id', type: int, nullable: false, defaultValue: null, hidden: false },
    { name: 'a', type: text, nullable: true, defaultValue: null, hidden: false },
    { name: 'b', type: int, nullable: true, defaultValue: null, hidden: false },
  ],
  primaryKey: [0],
  indexes: [{ id: 101, name: 't_b', columns: [2], unique: false }],
}

test('an addition goes delete-only → write-only → backfill → public; a drop write-only → delete-only → removed', () => {
  const walk = (direction: 'add' | 'drop') => {
    const states: string[] = [firstState(direction)]
    for (;;) {
      const next = nextState(direction, states.at(-1) as never)
      states.push(next)
      if (next === 'public' || next === 'removed') return states
    }
  }
  assert.deepEqual(walk('add'), ['delete-only', 'write-only', 'backfill', 'public'])
  assert.deepEqual(walk('drop'), ['write-only', 'delete-only', 'removed'])
})

test('a new index is written from write-only on, only deleted in delete-only, and public after three steps, one version each', () => {
  const index: IndexDesc = { id: 102, name: 't_a', columns: [1], unique: false }
  let t = startAddIndex(T, index, 7)
  assert.equal(t.version, 1)
  assert.deepEqual(jobState(t, 7), { direction: 'add', state: 'delete-only' })
  assert.deepEqual(writeView(t).deleteOnly.map((i) => i.name), ['t_a'])
  assert.deepEqual(writeView(t).table.indexes.map((i) => i.name), ['t_b'])
  t = advance(t, 7)
  assert.deepEqual(jobState(t, 7), { direction: 'add', state: 'write-only' })
  assert.deepEqual(writeView(t).table.indexes.map((i) => i.name), ['t_b', 't_a'])
  assert.deepEqual(t.indexes.map((i) => i.name), ['t_b'], 'readers do not see it')
  t = advance(t, 7)
  assert.deepEqual(jobState(t, 7), { direction: 'add', state: 'backfill' })
  t = advance(t, 7)
  assert.equal(jobState(t, 7), null)
  assert.deepEqual(t.indexes.map((i) => i.name), ['t_b', 't_a'])
  assert.equal(t.version, 4)
  assert.equal(advance(t, 7), t, 'a finished job changes nothing')
})

test('a new column is invisible until public, writers write its default from write-only on, and stored rows keep decoding', () => {
  const oldRow = encodeRow(T, rowLayout(T), [1n, 'x', 5n])
  let t = startAddColumn(T, { name: 'c', type: int, nullable: true, defaultValue: 9n, hidden: false }, 3)
  assert.deepEqual(t.storage, [2, 3, 4])
  assert.deepEqual(writeView(t).newValues, [null], 'delete-only writes nothing')
  t = advance(t, 3)
  const view = writeView(t)
  assert.deepEqual(view.newValues, [9n])
  assert.deepEqual(extendRow(view, [2n, 'y', 6n]), [2n, 'y', 6n, 9n])
  assert.deepEqual(decodeRow(rowLayout(t), oldRow.key, oldRow.value), [1n, 'x', 5n], 'readers see the public columns')
  assert.deepEqual(decodeRow(rowLayout(view.table), oldRow.key, oldRow.value), [1n, 'x', 5n, null], 'a row not yet backfilled has no value')
  t = advance(advance(t, 3), 3)
  assert.deepEqual(t.columns.map((c) => [c.name, c.id]), [['id', 1], ['a', 2], ['b', 3], ['c', 4]])
  const row = encodeRow(t, rowLayout(t), [3n, 'z', 7n, 8n])
  assert.deepEqual(decodeRow(rowLayout(t), row.key, row.value), [3n, 'z', 7n, 8n])
})

test('dropping a column takes its indexes along, keeps the other indexes on their columns, and leaves a hole in the row layout', () => {
  const withIndexOnA = { ...T, indexes: [...T.indexes, { id: 102, name: 't_a', columns: [1], unique: true }] }
  const stored = encodeRow(withIndexOnA, rowLayout(withIndexOnA), [1n, 'x', 5n])
  let t = startDropColumn(withIndexOnA, 'a', 4)
  assert.deepEqual(t.columns.map((c) => c.name), ['id', 'b'])
  assert.deepEqual(t.indexes, [{ id: 101, name: 't_b', columns: [1], unique: false }], 't_b follows b to position 1')
  const view = writeView(t)
  assert.deepEqual(view.table.columns.map((c) => c.name), ['id', 'b', 'a'])
  assert.deepEqual(view.table.indexes.map((i) => [i.name, i.columns]), [['t_b', [1]], ['t_a', [2]]], 'write-only: still maintained')
  assert.deepEqual(decodeRow(rowLayout(view.table), stored.key, stored.value), [1n, 5n, 'x'])
  t = advance(t, 4)
  assert.deepEqual(writeView(t).deleteOnly.map((i) => i.name), ['t_a'])
  t = advance(t, 4)
  assert.equal(jobState(t, 4), null)
  assert.deepEqual(t.storage, [0, 3], "a's place is a hole")
  assert.deepEqual(decodeRow(rowLayout(t), stored.key, stored.value), [1n, 5n])
  assert.throws(() => startDropColumn(T, 'id', 1), /primary key/)
  assert.throws(() => startDropColumn(T, 'nope', 1), /does not exist/)
})

test('a failed addition is reversed into a drop from the state it reached', () => {
  const index: IndexDesc = { id: 102, name: 't_a', columns: [1], unique: true }
  let t = advance(advance(startAddIndex(T, index, 2), 2), 2)
  assert.deepEqual(jobState(t, 2), { direction: 'add', state: 'backfill' })
  t = reverse(t, 2)
  assert.deepEqual(jobState(t, 2), { direction: 'drop', state: 'write-only' })
  t = advance(advance(t, 2), 2)
  assert.equal(jobState(t, 2), null)
  assert.deepEqual(t.indexes.map((i) => i.name), ['t_b'])
})

test('dropping an index: write-only, then delete-only, then gone', () => {
  let t = startDropIndex(T, 't_b', 5)
  assert.deepEqual(t.indexes, [])
  assert.deepEqual(writeView(t).table.indexes.map((i) => i.name), ['t_b'])
  t = advance(t, 5)
  assert.deepEqual(writeView(t).deleteOnly.map((i) => i.name), ['t_b'])
  t = advance(t, 5)
  assert.deepEqual(t.mutations, [])
})

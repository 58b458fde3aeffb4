import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SqlEngine } from './engine.js'
import { MemoryKv } from './testing/memory-kv.js'
import { decodeUniqueRowId } from './unique-rowid.js'

test('a DML with RETURNING has a SELECT-like result and keeps its command and count', async () => {
  const s = new SqlEngine(new MemoryKv()).session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, name TEXT DEFAULT \'x\', f DOUBLE)')
  const inserted = await s.execute('INSERT INTO t (id, f) VALUES (1, 1.5), (2, 2) RETURNING id, name AS label, f * 2')
  assert.equal(inserted.command, 'INSERT')
  assert.equal(inserted.rowsAffected, 2)
  // The same columns, names and types as the SELECT of the same list.
  const selected = await s.execute('SELECT id, name AS label, f * 2 FROM t')
  assert.deepEqual(inserted.columns, selected.columns)
  assert.deepEqual(inserted.columns.map((c) => c.name), ['id', 'label', '(f * 2)'])
  assert.deepEqual(inserted.rows, [
    [1n, 'x', 3],
    [2n, 'x', 4],
  ])
  const updated = await s.execute('UPDATE t SET f = 0 WHERE id = 9 RETURNING *')
  assert.equal(updated.command, 'UPDATE')
  assert.equal(updated.rowsAffected, 0)
  assert.deepEqual(updated.columns.map((c) => c.name), ['id', 'name', 'f'])
  assert.deepEqual(updated.rows, [])
  const deleted = await s.execute('DELETE FROM t WHERE id = 1 RETURNING name')
  assert.deepEqual([deleted.command, deleted.rowsAffected, deleted.rows], ['DELETE', 1, [['x']]])
  // Without RETURNING: no columns, as before.
  const plain = await s.execute('DELETE FROM t WHERE id = 2')
  assert.deepEqual([plain.columns, plain.rows, plain.rowsAffected], [[], [], 1])
})

test('SERIAL ids made through an engine carry its node id', async () => {
  const s = new SqlEngine(new MemoryKv(), { nodeId: 77 }).session()
  await s.execute('CREATE TABLE e (id SERIAL PRIMARY KEY, v INT)')
  const { rows } = await s.execute('INSERT INTO e (v) VALUES (1), (2), (3) RETURNING id')
  const ids = rows.map((r) => r[0] as bigint)
  assert.equal(new Set(ids).size, 3)
  for (const id of ids) assert.equal(decodeUniqueRowId(id).nodeId, 77)
  assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!)
  const described = await s.execute('SHOW COLUMNS FROM e')
  assert.deepEqual(described.rows[0], ['id', 'BIGINT', 'NO', 'PRI', 'unique_rowid()'])
})

test('SqlSession.describe plans RETURNING without writing', async () => {
  const s = new SqlEngine(new MemoryKv()).session()
  await s.execute('CREATE TABLE d (id INT PRIMARY KEY, name TEXT)')
  assert.deepEqual(await s.describe('INSERT INTO d VALUES (NULL, NULL) RETURNING id, upper(name) AS u'), [
    { name: 'id', type: (await s.execute('SELECT id FROM d')).columns[0]!.type },
    { name: 'u', type: 'TEXT' },
  ])
  assert.deepEqual(await s.describe('DELETE FROM d WHERE id = NULL'), [])
  assert.equal(await s.describe('SELECT 1'), null)
  await assert.rejects(s.describe('UPDATE d SET name = NULL RETURNING nope'), { code: '42703' })
  assert.deepEqual((await s.execute('SELECT COUNT(*) FROM d')).rows, [[0n]])
  // Inside a transaction, on a table it created.
  await s.execute('BEGIN')
  await s.execute('CREATE TABLE e (k INT PRIMARY KEY)')
  assert.deepEqual((await s.describe('DELETE FROM e RETURNING k'))!.map((c) => c.name), ['k'])
  await s.execute('ROLLBACK')
})

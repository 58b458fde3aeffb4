import assert from 'node:assert/strict'
import { test } from 'node:test'
import { memoryEngine } from './testing/memory-engine.js'

async function table(rows: number) {
  const s = memoryEngine().session()
  await s.execute('CREATE TABLE a (id INT PRIMARY KEY, v INT)')
  await s.execute(`INSERT INTO a VALUES ${Array.from({ length: rows }, (_, i) => `(${i}, ${i % 7})`).join(', ')}`)
  return s
}

test('a join keeps yielding to the event loop, and a cancel stops it with 57014', async () => {
  const s = await table(1500)
  const ac = new AbortController()
  // The timer can only fire if the join lets the event loop run.
  setTimeout(() => ac.abort(), 50)
  await assert.rejects(s.execute('SELECT COUNT(*) FROM a x, a y, a z WHERE x.v + y.v + z.v = 3', { signal: ac.signal }), { code: '57014' })
  assert.deepEqual((await s.execute('SELECT COUNT(*) FROM a')).rows, [[1500n]])
})

test('WHERE conditions across joined tables are applied at the join (equalities as hash keys), with the same answer', async () => {
  const s = await table(300)
  const viaWhere = await s.execute('SELECT COUNT(*), SUM(x.id) FROM a x, a y WHERE x.id = y.id + 1 AND x.v = 3')
  const viaOn = await s.execute('SELECT COUNT(*), SUM(x.id) FROM a x JOIN a y ON x.id = y.id + 1 WHERE x.v = 3')
  assert.deepEqual(viaWhere.rows, viaOn.rows)
  const plan = (await s.execute('EXPLAIN SELECT COUNT(*) FROM a x, a y WHERE x.id = y.id')).rows.flat().join('\n')
  assert.match(plan, /merge join on #0 = y\.#0/)
  // Not past a later RIGHT JOIN, which would extend the removed pairs with NULLs.
  const right = await s.execute('SELECT COUNT(*) FROM a x CROSS JOIN a y RIGHT JOIN a z ON z.id = x.id WHERE x.id IS NULL OR x.id = y.id')
  assert.deepEqual(right.rows, [[300n]])
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SqlEngine, SqlSession } from './engine.js'
import { SqlError } from './errors.js'
import { runSchemaChange, type JobRecord, type SchemaChange } from './schema-change.js'
import { memoryEngine } from './testing/memory-engine.js'

async function setup(rows = 10): Promise<{ engine: SqlEngine; s: SqlSession }> {
  const engine = memoryEngine()
  const s = engine.session()
  await s.execute('CREATE TABLE t (id INT PRIMARY KEY, v INT, w TEXT)')
  await s.execute(`INSERT INTO t VALUES ${Array.from({ length: rows }, (_, i) => `(${i}, ${i % 3}, 'r${i}')`).join(', ')}`)
  return { engine, s }
}

function parse(engine: SqlEngine, sql: string): SchemaChange {
  return engine.statements.parse(sql)[0] as SchemaChange
}

async function checkIndexes(s: SqlSession): Promise<void> {
  const r = await s.execute('CHECK INDEXES')
  for (const row of r.rows) assert.equal(row[6], 'ok', `index ${String(row[1])}: ${JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`)
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (e) {
    if (e instanceof SqlError) return e.code
    throw e
  }
}

test('a transaction that began before CREATE INDEX and commits after it is refused with 40001 (it wrote no entries)', async () => {
  const { engine, s } = await setup()
  const old = engine.session()
  await old.execute('BEGIN')
  await old.execute("INSERT INTO t VALUES (100, 1, 'late')")
  await old.execute('UPDATE t SET v = 2 WHERE id = 1')
  await s.execute('CREATE INDEX t_v ON t (v)')
  assert.equal(await code(old.execute('COMMIT')), '40001')
  await checkIndexes(s)
  const r = await s.execute('SELECT COUNT(*) FROM t WHERE v = 1')
  assert.deepEqual(r.rows, [[3n]])
})

test('transactions planned one state behind commit while writers run at every step; every entry is there at the end', async () => {
  const { engine, s } = await setup()
  const open: Array<{ phase: string; session: SqlSession }> = []
  const outcomes: string[] = []
  let n = 1000
  let last = ''
  const onStep = async (job: JobRecord) => {
    // Autocommit writers at every step and chunk.
    await s.execute(`INSERT INTO t VALUES (${n++}, 2, 'y')`)
    await s.execute(`UPDATE t SET v = v + 1 WHERE id = ${n % 10}`)
    await s.execute(`DELETE FROM t WHERE id = ${(n + 5) % 10}`)
    if (job.phase === last) return
    last = job.phase
    // At each new state: commit the transactions planned one and two states back, then plan one here.
    for (const [back, o] of [...open].reverse().entries()) {
      if (back > 1) continue
      outcomes.push(`${o.phase} -> ${job.phase}: ${await code(o.session.execute('COMMIT'))}`)
      open.splice(open.indexOf(o), 1)
    }
    for (let i = 0; i < 2; i++) {
      const w = engine.session()
      await w.execute('BEGIN')
      await w.execute(`INSERT INTO t VALUES (${n++}, 1, 'x')`)
      open.push({ phase: job.phase, session: w })
    }
  }
  await runSchemaChange(engine.db, parse(engine, 'CREATE INDEX t_v ON t (v)'), { chunkSize: 3, onStep })
  assert.deepEqual(outcomes, [
    'adding: delete-only -> adding: write-only: ok',
    'adding: delete-only -> adding: write-only: ok',
    'adding: write-only -> adding: backfill: ok',
    'adding: write-only -> adding: backfill: ok',
    'adding: backfill -> done: ok',
    'adding: backfill -> done: ok',
  ])
  await checkIndexes(s)
  const all = await s.execute('SELECT COUNT(*) FROM t')
  const viaIndex = await s.execute('SELECT COUNT(*) FROM t WHERE v >= 0')
  assert.deepEqual(all.rows, viaIndex.rows)
})

test('a delete-only writer cannot commit once the backfill state is published', async () => {
  const { engine, s } = await setup()
  let early: SqlSession | null = null
  let outcome = ''
  await runSchemaChange(engine.db, parse(engine, 'CREATE INDEX t_v ON t (v)'), {
    chunkSize: 4,
    onStep: async (job) => {
      if (job.phase === 'adding: delete-only') {
        early = engine.session()
        await early.execute('BEGIN')
        await early.execute("INSERT INTO t VALUES (500, 7, 'e')")
      }
      if (job.phase === 'adding: backfill' && outcome === '') outcome = await code(early!.execute('COMMIT'))
    },
  })
  assert.equal(outcome, '40001')
  await checkIndexes(s)
})

test('ADD COLUMN under concurrent writes: every row has the default or the value written, the backfill runs in chunks and reports progress', async () => {
  const { engine, s } = await setup(25)
  const progress: number[] = []
  let n = 200
  await runSchemaChange(engine.db, parse(engine, 'ALTER TABLE t ADD COLUMN z INT NOT NULL DEFAULT 42'), {
    chunkSize: 4,
    onStep: async (job) => {
      if (job.phase === 'adding: backfill') progress.push(job.progress)
      await s.execute(`INSERT INTO t (id, v, w) VALUES (${n++}, 0, 'c')`)
      await s.execute(`UPDATE t SET w = 'u' WHERE id = ${n % 25}`)
    },
  })
  assert.ok(progress.length >= 6, `progress reported per chunk: ${progress.join(', ')}`)
  assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!), 'progress never goes back')
  const r = await s.execute('SELECT COUNT(*), MIN(z), MAX(z) FROM t')
  assert.deepEqual(r.rows, [[BigInt(25 + n - 200), 42n, 42n]])
  const jobs = await s.execute('SHOW JOBS')
  assert.deepEqual(jobs.rows.at(-1)!.slice(1, 5), ['ALTER TABLE t ADD COLUMN z', 'succeeded', 'done', 1])
})

test('a unique index whose backfill meets duplicates fails with 23505, rolls back and leaves no entries', async () => {
  const { s } = await setup()
  assert.equal(await code(s.execute('CREATE UNIQUE INDEX t_v ON t (v)')), '23505')
  await checkIndexes(s)
  const jobs = await s.execute('SHOW JOBS')
  assert.equal(jobs.rows.at(-1)![2], 'failed')
  await s.execute('CREATE UNIQUE INDEX t_v ON t (w)')
  assert.equal(await code(s.execute("INSERT INTO t VALUES (99, 0, 'r1')")), '23505')
})

test('a second schema change on a table while a job runs is 55000', async () => {
  const { engine, s } = await setup()
  const outcomes: string[] = []
  await runSchemaChange(engine.db, parse(engine, 'CREATE INDEX t_v ON t (v)'), {
    chunkSize: 100,
    onStep: async (job) => {
      if (job.phase === 'adding: write-only') outcomes.push(await code(s.execute('ALTER TABLE t ADD COLUMN q INT')))
    },
  })
  assert.deepEqual(outcomes, ['55000'])
})

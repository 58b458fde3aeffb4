// Applications' PostgreSQL libraries against real nodes: knex (schema migrations, inserts with
// RETURNING, joins, a transaction rolled back) and postgres.js (tagged-template queries with
// parameters, a transaction), as an application would use them.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import knexFactory from 'knex'
import postgres from 'postgres'
import { ProcessCluster } from '../testing/process-cluster.js'

test('knex and postgres.js: migrations, inserts, joins and transactions through any node', async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 4 })
  const knex = knexFactory({ client: 'pg', connection: cluster.sqlUrl(1), pool: { min: 0, max: 4 } })
  const sql = postgres(cluster.sqlUrl(2), { max: 2, onnotice: () => undefined })
  try {
    // A migration as knex runs it: its own bookkeeping tables, a lock, then the schema.
    // SERIAL is BIGINT DEFAULT unique_rowid() (docs/decisions.md), so references are BIGINT.
    await knex.migrate.latest({
      migrationSource: {
        getMigrations: async () => ['001_library'],
        getMigrationName: (m: string) => m,
        getMigration: async () => ({
          up: async (k: typeof knex) => {
            await k.schema.createTable('authors', (t) => {
              t.increments('id')
              t.string('name').notNullable().unique()
              t.timestamp('created_at').defaultTo(k.fn.now())
            })
            await k.schema.createTable('books', (t) => {
              t.increments('id')
              t.bigInteger('author_id').notNullable()
              t.string('title').notNullable()
              t.decimal('price', 8, 2)
            })
          },
          down: async (k: typeof knex) => {
            await k.schema.dropTable('books')
            await k.schema.dropTable('authors')
          },
        }),
      },
    })
    assert.equal(await knex.schema.hasTable('books'), true)
    assert.deepEqual((await knex('knex_migrations').select('name')).map((r: { name: string }) => r.name), ['001_library'])

    const [ada] = await knex('authors').insert({ name: 'ada' }).returning('id')
    const [grace] = await knex('authors').insert({ name: 'grace' }).returning('id')
    await knex('books').insert([
      { author_id: ada.id, title: 'notes on the engine', price: 9.5 },
      { author_id: grace.id, title: 'cobol', price: 12 },
      { author_id: grace.id, title: 'nanoseconds', price: null },
    ])
    const joined = await knex('books').join('authors', 'books.author_id', 'authors.id').select('authors.name', 'books.title', 'books.price').orderBy('books.title')
    assert.deepEqual(joined, [
      { name: 'grace', title: 'cobol', price: '12.00' },
      { name: 'grace', title: 'nanoseconds', price: null },
      { name: 'ada', title: 'notes on the engine', price: '9.50' },
    ])
    const perAuthor = await knex('books').join('authors', 'books.author_id', 'authors.id').groupBy('authors.name').select('authors.name').count('* as n').orderBy('authors.name')
    assert.deepEqual(perAuthor, [
      { name: 'ada', n: '1' },
      { name: 'grace', n: '2' },
    ])

    // A transaction that fails is rolled back whole; a duplicate is the unique violation's code.
    await assert.rejects(
      knex.transaction(async (trx) => {
        await trx('authors').insert({ name: 'ghost' })
        await trx('authors').insert({ name: 'ada' })
      }),
      (e: { code?: string }) => e.code === '23505',
    )
    assert.deepEqual(await knex('authors').where({ name: 'ghost' }).select('id'), [])

    // postgres.js, through another node: parameters, RETURNING, a transaction.
    const found = await sql`SELECT name FROM authors WHERE id = ${ada.id}`
    assert.deepEqual([...found], [{ name: 'ada' }])
    const [linus] = await sql`INSERT INTO authors (name) VALUES (${'linus'}) RETURNING id, name`
    assert.equal(linus!.name, 'linus')
    const titles = await sql.begin(async (tx) => {
      await tx`INSERT INTO books (author_id, title) VALUES (${linus!.id}, ${'kernels'})`
      return tx`SELECT title FROM books WHERE author_id = ${linus!.id}`
    })
    assert.deepEqual([...titles], [{ title: 'kernels' }])
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`DELETE FROM books`
        await tx`SELECT 1 / 0`
      }),
      (e: { code?: string }) => e.code === '22012',
    )
    assert.equal((await knex('books').count('* as n'))[0]!.n, '4')
  } finally {
    await sql.end({ timeout: 5 }).catch(() => undefined)
    await knex.destroy().catch(() => undefined)
    await cluster.stop()
  }
})

// Joins and index plans on a 3-node cluster (issue #14 items 3 and 4): an equality join with
// COUNT(*) of two N-row tables — on their primary keys (a merge join) and on an unindexed
// column holding the same values (a hash join, the algorithm every equality join used before) —
// a lookup join from a few rows, and an indexed BETWEEN returning 1% of a table, plain and
// covering, before and after ANALYZE.
//
// Usage: node packages/bench/dist/join-bench.js [--rows 2000,100000] [--runs 3]

import { parseArgs } from 'node:util'
import { ProcessCluster } from '@mrdb/cli/testing'
import { SqlClient } from '@mrdb/server'
import { settled } from './cluster-settle.js'
import { loadRows } from './table-load.js'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000,100000' },
    runs: { type: 'string', default: '3' },
  },
})
const sizes = values.rows.split(',').map(Number)
const runs = Number(values.runs)
if (sizes.some((n) => !Number.isInteger(n) || n < 100) || !Number.isInteger(runs) || runs < 1) {
  console.error('--rows takes table sizes of at least 100 (comma-separated), --runs a count')
  process.exit(2)
}

/** Loads `rows` rows into `name` (id, v = id, w = id, grp = id % 100) through multi-row INSERTs from the given clients. */
async function load(clients: readonly SqlClient[], name: string, rows: number): Promise<void> {
  await clients[0]!.query(`CREATE TABLE ${name} (id INT PRIMARY KEY, v INT NOT NULL, w INT NOT NULL, grp INT NOT NULL)`)
  await loadRows(clients, name, 'id, v, w, grp', rows, (i) => `(${i}, ${i}, ${i}, ${i % 100})`, () => undefined)
}

/** Runs `sql` `runs` times; the median time in ms and the first row. */
async function time(client: SqlClient, sql: string): Promise<{ ms: number; first: unknown[] }> {
  const times: number[] = []
  let first: unknown[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    const r = await client.query(sql)
    times.push(performance.now() - t0)
    first = r.rows[0] ?? []
  }
  times.sort((a, b) => a - b)
  return { ms: times[Math.floor(times.length / 2)]!, first }
}

async function planLine(client: SqlClient, sql: string, pattern: RegExp): Promise<string> {
  const lines = (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => String(r[0]).trim())
  return lines.find((l) => pattern.test(l)) ?? lines.join(' / ')
}

console.log(`Joins and index plans: 3 node processes, fsync on, median of ${runs} runs`)
const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
try {
  await settled(cluster, 1)
  const loaders = cluster.sqlAddresses().slice(0, 2).map((a) => new SqlClient(a))
  const client = new SqlClient(cluster.sqlAddress(1))
  try {
    for (const n of sizes) {
      const [a, b] = [`ja${n}`, `jb${n}`]
      const t0 = performance.now()
      await load(loaders, a, n)
      await load(loaders, b, n)
      await client.query(`CREATE INDEX ${a}_v ON ${a} (v)`)
      console.log(`${n} × ${n} rows (loaded both in ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
      const lo = Math.floor(n / 2)
      const between = (cols: string) => `SELECT ${cols} FROM ${a} WHERE v BETWEEN ${lo} AND ${lo + Math.floor(n / 100) - 1}`
      const wide = `SELECT COUNT(grp) FROM ${a} WHERE v > 1`
      const queries: Array<[string, string, RegExp]> = [
        ['v > 1 (no statistics)', wide, /scan/],
        ['ANALYZE', `ANALYZE ${a}`, /$^/],
        ['ANALYZE', `ANALYZE ${b}`, /$^/],
        ['v > 1 (after ANALYZE)', wide, /scan/],
        ['join on primary keys', `SELECT COUNT(*) FROM ${a} JOIN ${b} ON ${a}.id = ${b}.id`, /join/],
        ['join on unindexed columns', `SELECT COUNT(*) FROM ${a} JOIN ${b} ON ${a}.w = ${b}.w`, /join/],
        ['lookup join from 100 rows', `SELECT COUNT(*) FROM ${b} JOIN ${a} ON ${a}.v = ${b}.id WHERE ${b}.id < 100`, /join/],
        ['BETWEEN 1% (row lookups)', between('*'), /scan/],
        ['BETWEEN 1% (covering)', between('id, v'), /scan/],
      ]
      for (const [name, sql, pattern] of queries) {
        if (name === 'ANALYZE') {
          const t1 = performance.now()
          await client.query(sql)
          console.log(`  ${sql.padEnd(28)} ${(performance.now() - t1).toFixed(0).padStart(7)} ms`)
          continue
        }
        const r = await time(client, sql).catch((e: Error) => e)
        if (r instanceof Error) {
          console.log(`  ${name.padEnd(28)}  failed: ${r.message.slice(0, 120)}  ${await planLine(client, sql, pattern)}`)
          continue
        }
        const count = name.startsWith('BETWEEN') ? '' : `(${String(r.first[0])}) `
        console.log(`  ${name.padEnd(28)} ${r.ms.toFixed(0).padStart(7)} ms  ${count}${await planLine(client, sql, pattern)}`)
      }
    }
  } finally {
    for (const l of loaders) l.close()
    client.close()
  }
} finally {
  await cluster.stop()
}

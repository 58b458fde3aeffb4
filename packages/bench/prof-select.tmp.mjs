// Profiles the nodes while 32 clients run one SQL workload (argv[2]: select|insert) for 10 s.
import { closedLoop } from '@mrdb/cli/bench'
import { ProcessCluster } from '@mrdb/cli/testing'
import { SqlClient } from '@mrdb/server'
const kind = process.argv[2] ?? 'select'
const cluster = await ProcessCluster.start({ nodes: 3 })
try {
  const hosts = cluster.sqlAddresses()
  const sessions = Array.from({ length: 32 }, (_, i) => new SqlClient(hosts[i % 3]))
  await sessions[0].query('CREATE TABLE b (id INT PRIMARY KEY, v TEXT)')
  for (let f = 0; f < 5000; f += 250) await sessions[0].query(`INSERT INTO b (id, v) VALUES ${Array.from({ length: 250 }, (_, i) => `(${f + i}, '${'x'.repeat(100)}')`).join(', ')}`)
  let next = 5000
  const op = kind === 'select'
    ? async (c) => { if ((await sessions[c].query(`SELECT id, v FROM b WHERE id = ${Math.floor(Math.random() * 5000)}`)).rows.length !== 1) throw new Error('missing') }
    : async (c) => { await sessions[c].query(`INSERT INTO b (id, v) VALUES (${next++}, '${'x'.repeat(100)}')`) }
  await closedLoop('warm', 32, 2, op)
  const r = await closedLoop(kind, 32, 10, op)
  console.log(kind, Math.round(r.opsPerSec), 'ops/s p50', r.p50Ms.toFixed(1), 'p99', r.p99Ms.toFixed(1))
  for (const s of sessions) s.close()
  for (const id of [1, 2, 3]) await cluster.terminate(id)
} finally {
  await cluster.stop().catch(() => {})
}

// Password logins on nodes started without --insecure: `mrdb init --root-password` creates
// root; root creates, alters and drops users; node-postgres, psql (PGPASSWORD) and mrdb sql log
// in with SCRAM-SHA-256; a wrong password or an unknown user gets 28P01 after a delay, and
// the node goes on serving the sessions it has.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { MRDB_BIN, ProcessCluster } from '../testing/process-cluster.js'
import { run } from './helpers.js'

const ROOT_PASSWORD = 'r00t pass'

function client(address: string, user: string, password: string): pg.Client {
  const at = address.lastIndexOf(':')
  return new pg.Client({ host: address.slice(0, at), port: Number(address.slice(at + 1)), user, password, database: 'mrdb' })
}

/** Tries a login; resolves with the error code (undefined when it got in) and how long it took. */
async function login(address: string, user: string, password: string): Promise<{ code: string | undefined; ms: number }> {
  const c = client(address, user, password)
  c.on('error', () => undefined)
  const t0 = performance.now()
  try {
    await c.connect()
    await c.query('SELECT 1')
    return { code: undefined, ms: performance.now() - t0 }
  } catch (err) {
    return { code: (err as { code?: string }).code, ms: performance.now() - t0 }
  } finally {
    await c.end().catch(() => undefined)
  }
}

test('SCRAM-SHA-256 logins: root from mrdb init, CREATE/ALTER/DROP USER, node-postgres, psql and mrdb sql; wrong passwords get 28P01, slowed', { timeout: 240_000 }, async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1, insecure: false, rootPassword: ROOT_PASSWORD })
  const root = client(cluster.sqlAddress(1), 'root', ROOT_PASSWORD)
  try {
    await root.connect()
    await root.query("CREATE USER app WITH PASSWORD 'app-secret'")
    await root.query('CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)')
    await root.query("INSERT INTO notes VALUES (1, 'hello')")

    // The right password, through another node: users live in the cluster, not on one node.
    assert.equal((await login(cluster.sqlAddress(2), 'app', 'app-secret')).code, undefined)

    const wrong = await login(cluster.sqlAddress(2), 'app', 'not-it')
    assert.equal(wrong.code, '28P01')
    assert.ok(wrong.ms >= 900, `a failed login is slowed down (${wrong.ms.toFixed(0)} ms)`)
    assert.equal((await login(cluster.sqlAddress(3), 'nobody', 'x')).code, '28P01', 'an unknown user fails the same way')
    assert.equal((await login(cluster.sqlAddress(1), 'root', 'r00t')).code, '28P01')
    assert.deepEqual((await root.query('SELECT body FROM notes')).rows, [{ body: 'hello' }], 'the node and its sessions go on')

    // psql with PGPASSWORD, right and wrong.
    const url = `postgresql://app@${cluster.sqlAddress(3)}/mrdb`
    const ok = await runWithEnv('psql', [url, '-XAtc', 'SELECT body FROM notes'], { PGPASSWORD: 'app-secret' })
    assert.equal(ok.code, 0, ok.err)
    assert.equal(ok.out, 'hello\n')
    const bad = await runWithEnv('psql', [url, '-XAtc', 'SELECT 1'], { PGPASSWORD: 'nope' })
    assert.equal(bad.code, 2)
    assert.match(bad.err, /password authentication failed for user "app"/)

    // mrdb sql: --host finds the SQL port, the password comes from PGPASSWORD.
    const shell = await runWithEnv(process.execPath, [MRDB_BIN, 'sql', '--host', cluster.address(2), '--user', 'app', '-e', 'SELECT COUNT(*) AS n FROM notes'], { PGPASSWORD: 'app-secret' })
    assert.equal(shell.code, 0, shell.err)
    assert.match(shell.out, / n\n---\n +1\n/)
    const refused = await runWithEnv(process.execPath, [MRDB_BIN, 'sql', '--host', cluster.address(2), '--user', 'app', '-e', 'SELECT 1'], { PGPASSWORD: 'wrong' })
    assert.equal(refused.code, 1)
    assert.match(refused.err, /^error: 28P01: password authentication failed for user "app"/m)

    // ALTER USER: the old password stops working; DROP USER: no login at all.
    await root.query("ALTER USER app WITH PASSWORD 'new-secret'")
    assert.equal((await login(cluster.sqlAddress(1), 'app', 'app-secret')).code, '28P01')
    assert.equal((await login(cluster.sqlAddress(1), 'app', 'new-secret')).code, undefined)
    await root.query('DROP USER app')
    assert.equal((await login(cluster.sqlAddress(1), 'app', 'new-secret')).code, '28P01')
    await assert.rejects(root.query('DROP USER root'), { code: '42501' })
  } finally {
    await root.end().catch(() => undefined)
    await cluster.stop()
  }
})

async function runWithEnv(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return await run(cmd, args)
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

// The command line as an operator meets it (issue #17, "a CLI that feels like etcdctl"):
// --version, $MRDB_HOST, a one-line error naming the host when nothing listens there, values
// from standard input or a file, `kv scan` without the cluster's own records, and `mrdb init`
// run the moment the nodes are started — then again.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MRDB_BIN, NodeProcess } from '../node-process.js'
import { run } from './helpers.js'

const mrdb = (args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}) => run(process.execPath, [MRDB_BIN, ...args], o.input ?? '', o.env)

/** A loopback port nothing listens on (it was free a moment ago). */
async function unusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

test('mrdb --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  const r = await mrdb(['--version'])
  assert.equal(r.code, 0, r.err)
  assert.equal(r.out.trim(), version)
})

test('a host where nothing listens: one line naming it and the setting it came from, at once', async () => {
  const port = await unusedPort()
  const viaFlag = await mrdb(['kv', 'get', 'k', '--host', `127.0.0.1:${port}`])
  assert.equal(viaFlag.code, 1)
  assert.equal(viaFlag.err, `error: UNAVAILABLE: cannot reach a node at 127.0.0.1:${port} (from --host): connection refused (is a node listening on that port?)\n`)
  const viaEnv = await mrdb(['range', 'list'], { env: { MRDB_HOST: `127.0.0.1:${port}` } })
  assert.equal(viaEnv.code, 1)
  assert.match(viaEnv.err, new RegExp(`^error: UNAVAILABLE: cannot reach a node at 127\\.0\\.0\\.1:${port} \\(from \\$MRDB_HOST\\): connection refused`))
  const malformed = await mrdb(['status', '--host', 'no-port-here'])
  assert.equal(malformed.err, "error: INVALID_ARGUMENT: --host must be HOST:PORT, got 'no-port-here'\n")
})

test('init the moment the nodes start, init again, then MRDB_HOST, kv put from stdin and --file, kv scan --system', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-cli-'))
  const host = `127.0.0.1:${await unusedPort()}`
  // All three start at once (nodes 2 and 3 join node 1's fixed address) and init does not wait for any of them.
  const starting = [1, 2, 3].map((id) =>
    NodeProcess.start({ storeId: id, listen: id === 1 ? host : '127.0.0.1:0', dataDir: join(dir, `node${id}`), join: id === 1 ? [] : [host], args: ['--insecure'] }),
  )
  try {
    const init = await mrdb(['init', '--host', host, '--root-password', 'secret'])
    assert.equal(init.code, 0, init.err)
    assert.match(init.out, /^cluster [0-9a-f-]{36} initialized: 1 range\(s\) on nodes 1, 2, 3; placement driver on nodes 1, 2, 3\n$/)
    const clusterId = /^cluster (\S+)/.exec(init.out)![1]!

    // A repeat is no failure: it says so, with the cluster's id.
    const again = await mrdb(['init'], { env: { MRDB_HOST: host } })
    assert.equal(again.code, 0, again.err)
    assert.equal(again.out, `cluster ${clusterId} is already initialized: nothing done\n`)
    const againJson = await mrdb(['init', '--host', host, '--json'])
    assert.deepEqual(JSON.parse(againJson.out), { alreadyInitialized: true, clusterId })

    const env = { MRDB_HOST: host }
    assert.equal((await mrdb(['kv', 'put', 'plain', 'value'], { env })).out, 'OK\n')
    assert.equal((await mrdb(['kv', 'put', 'piped', '-'], { env, input: 'from\nstdin' })).out, 'OK\n')
    const file = join(dir, 'value.txt')
    await writeFile(file, 'from a file')
    assert.equal((await mrdb(['kv', 'put', 'filed', '--file', file], { env })).out, 'OK\n')
    assert.equal((await mrdb(['kv', 'get', 'piped'], { env })).out, 'from\nstdin\n')
    assert.equal((await mrdb(['kv', 'get', 'filed'], { env })).out, 'from a file\n')
    const both = await mrdb(['kv', 'put', 'x', 'y', '--file', file], { env })
    assert.equal(both.err, 'error: INVALID_ARGUMENT: give the value as an argument or with --file, not both\n')
    const none = await mrdb(['kv', 'put', 'x'], { env })
    assert.equal(none.err, 'error: INVALID_ARGUMENT: no value: give it as an argument, - to read standard input, or --file PATH\n')

    // init wrote the root user under /sys: only --system shows it.
    const scan = await mrdb(['kv', 'scan', '--json'], { env })
    assert.deepEqual((JSON.parse(scan.out) as Array<{ key: string }>).map((r) => r.key), ['filed', 'piped', 'plain'])
    const all = (JSON.parse((await mrdb(['kv', 'scan', '--system', '--json'], { env })).out) as Array<{ key: string }>).map((r) => r.key)
    assert.ok(all.some((k) => k.includes('/sys') && k.includes('root')), `the root user's record is listed: ${all.join(', ')}`)
    assert.deepEqual(all.filter((k) => !k.includes('/sys')), ['filed', 'piped', 'plain'])
    const bounded = await mrdb(['kv', 'scan', 'p', 'q', '--json'], { env })
    assert.deepEqual((JSON.parse(bounded.out) as Array<{ key: string }>).map((r) => r.key), ['piped', 'plain'])
  } finally {
    const nodes = await Promise.allSettled(starting)
    await Promise.all(nodes.map((n) => (n.status === 'fulfilled' ? n.value.stop() : undefined)))
    await rm(dir, { recursive: true, force: true })
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { Command } from 'commander'
import { CliError } from './output.js'
import { DEFAULT_HOST, checkReachable, hostOption, nodeHost, splitHostPort } from './host-option.js'

/** Parses `argv` with one command taking --host, with `env` as MRDB_HOST; resolves with what nodeHost makes of it. */
function parsed(argv: string[], env: string | undefined) {
  const saved = process.env['MRDB_HOST']
  if (env === undefined) delete process.env['MRDB_HOST']
  else process.env['MRDB_HOST'] = env
  try {
    const cmd = new Command('x').addOption(hostOption()).exitOverride()
    cmd.parse(argv, { from: 'user' })
    return nodeHost(cmd)
  } finally {
    if (saved === undefined) delete process.env['MRDB_HOST']
    else process.env['MRDB_HOST'] = saved
  }
}

test('--host beats $MRDB_HOST, which beats the default; each names its source', () => {
  assert.deepEqual(parsed([], undefined), { address: DEFAULT_HOST, source: 'the default' })
  assert.deepEqual(parsed([], '10.1.2.3:26257'), { address: '10.1.2.3:26257', source: '$MRDB_HOST' })
  assert.deepEqual(parsed(['--host', 'db1:7000'], '10.1.2.3:26257'), { address: 'db1:7000', source: '--host' })
})

test('host:port is split, IPv6 in brackets; anything else is INVALID_ARGUMENT naming the setting', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:26257', '--host'), { host: '127.0.0.1', port: 26257 })
  assert.deepEqual(splitHostPort('[::1]:80', '--host'), { host: '::1', port: 80 })
  assert.deepEqual(splitHostPort('node-2.example:1', '--host'), { host: 'node-2.example', port: 1 })
  for (const bad of ['localhost', ':26257', 'h:0', 'h:65536', '::1:80', 'h:p']) {
    assert.throws(() => splitHostPort(bad, '$MRDB_HOST'), (e: CliError) => e.code === 'INVALID_ARGUMENT' && e.message === `$MRDB_HOST must be HOST:PORT, got '${bad}'`)
  }
})

test('checkReachable: a listening port passes; a closed one fails at once with UNAVAILABLE naming it', async () => {
  const server = createServer((s) => s.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  try {
    await checkReachable({ address: `127.0.0.1:${port}`, source: '--host' })
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  await assert.rejects(checkReachable({ address: `127.0.0.1:${port}`, source: '--host' }), (e: CliError) => {
    return e.code === 'UNAVAILABLE' && e.message === `cannot reach a node at 127.0.0.1:${port} (from --host): connection refused (is a node listening on that port?)`
  })
})

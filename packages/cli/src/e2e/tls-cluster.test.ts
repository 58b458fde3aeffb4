// A secure cluster: certificates made by `mrdb cert`, three node processes started with
// --certs-dir (mutual TLS between nodes, for the CLI, on the HTTP port, and TLS on the SQL
// port), init, KV and SQL through the CLI. Then what must be refused is: a gRPC client with no
// certificate, one with a certificate of another CA, a TLS client without a certificate,
// an HTTPS request without one, a plaintext SQL session, and a client certificate making a
// call only nodes make (a peer introduction, a store heartbeat).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, credentials, status, type ChannelCredentials, type MethodDefinition } from '@grpc/grpc-js'
import { unaryCall } from '@mrdb/kv'
import { NODE_SERVICE, PD_SERVICE } from '@mrdb/server'
import pg from 'pg'
import { MRDB_BIN, NodeProcess } from '../node-process.js'
import { run } from './helpers.js'

/** Runs `mrdb`; throws on failure. */
async function mrdb(args: string[]): Promise<string> {
  const r = await run(process.execPath, [MRDB_BIN, ...args])
  if (r.code !== 0) throw new Error(`mrdb ${args.join(' ')} exited ${r.code}: ${r.err}${r.out}`)
  return r.out
}

/** Whether a node's admin status call succeeds with these credentials. */
async function statusWith(address: string, creds: ChannelCredentials): Promise<boolean> {
  return (await callWith(address, creds, NODE_SERVICE.status, {})) === 'ok'
}

/** Makes one call with these credentials: 'ok', or the gRPC status code it failed with. */
async function callWith<Req, Res>(address: string, creds: ChannelCredentials, method: MethodDefinition<Req, Res>, req: Req): Promise<'ok' | number> {
  const channel = new Client(address, creds)
  try {
    await unaryCall(channel, method, req, Date.now() + 5000)
    return 'ok'
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  } finally {
    channel.close()
  }
}

/** GET /health over HTTPS with the given TLS options; resolves with the status code, or the error's text. */
function httpsHealth(address: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number | string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/health', ...tls, timeout: 5000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', (err) => resolve(err.message))
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end()
  })
}

test('a cluster with certificates: mutual TLS everywhere, and who is refused', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-tls-'))
  const certs = join(dir, 'certs')
  const otherCa = join(dir, 'other')
  const nodes: NodeProcess[] = []
  try {
    await mrdb(['cert', 'create-ca', '--certs-dir', certs])
    await mrdb(['cert', 'create-node', '127.0.0.1', 'localhost', '--certs-dir', certs])
    await mrdb(['cert', 'create-client', 'root', '--certs-dir', certs])
    await mrdb(['cert', 'create-ca', '--certs-dir', otherCa])
    await mrdb(['cert', 'create-client', 'root', '--certs-dir', otherCa])
    // The CA is never replaced by accident.
    await assert.rejects(mrdb(['cert', 'create-ca', '--certs-dir', certs]), /exists already/)

    for (let id = 1; id <= 3; id++) {
      nodes.push(
        await NodeProcess.start({
          storeId: id,
          listen: '127.0.0.1:0',
          sqlListen: '127.0.0.1:0',
          httpListen: '127.0.0.1:0',
          dataDir: join(dir, `node${id}`),
          join: id === 1 ? [] : [nodes[0]!.address],
          args: ['--certs-dir', certs, '--insecure'],
        }),
      )
    }
    const host = nodes[0]!.address
    await mrdb(['init', '--host', host, '--ranges', '2', '--certs-dir', certs])
    await mrdb(['kv', 'put', 'greeting', 'hello', '--host', nodes[1]!.address, '--certs-dir', certs])
    assert.equal((await mrdb(['kv', 'get', 'greeting', '--host', nodes[2]!.address, '--certs-dir', certs])).trim(), 'hello')
    await mrdb(['sql', '--host', host, '--certs-dir', certs, '-e', "CREATE TABLE t (k INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one')"])
    assert.match(await mrdb(['sql', '--host', nodes[2]!.address, '--certs-dir', certs, '--format', 'csv', '-e', 'SELECT v FROM t']), /one/)
    const stores = JSON.parse(await mrdb(['node', 'list', '--host', host, '--json', '--certs-dir', certs])) as Array<{ live: boolean }>
    assert.equal(stores.filter((s) => s.live).length, 3, 'the nodes reach each other over mutual TLS')

    // Without a certificate of the cluster's CA, nothing gets in.
    const ca = await readFile(join(certs, 'ca.crt'))
    const own = { cert: await readFile(join(certs, 'client.root.crt')), key: await readFile(join(certs, 'client.root.key')) }
    const foreign = { cert: await readFile(join(otherCa, 'client.root.crt')), key: await readFile(join(otherCa, 'client.root.key')) }
    assert.equal(await statusWith(host, credentials.createSsl(ca, own.key, own.cert)), true, 'a client with the cluster CA\'s certificate gets in')
    assert.equal(await statusWith(host, credentials.createInsecure()), false, 'a plaintext peer is refused')
    assert.equal(await statusWith(host, credentials.createSsl(ca)), false, 'a TLS peer without a certificate is refused')
    assert.equal(await statusWith(host, credentials.createSsl(ca, foreign.key, foreign.cert)), false, "a peer with another CA's certificate is refused")
    assert.equal(await statusWith(host, credentials.createSsl(await readFile(join(otherCa, 'ca.crt')), own.key, own.cert)), false, 'a client trusting another CA does not accept the node')
    await assert.rejects(mrdb(['kv', 'get', 'greeting', '--host', host]), 'the CLI without --certs-dir is refused')

    // A client certificate is no node's: calls only nodes make are refused, operators' calls pass.
    const node = { cert: await readFile(join(certs, 'node.crt')), key: await readFile(join(certs, 'node.key')) }
    const hello = { nodeId: 1, address: host, nodes: [] }
    assert.equal(await callWith(host, credentials.createSsl(ca, own.key, own.cert), NODE_SERVICE.hello, hello), status.PERMISSION_DENIED, 'a client may not introduce a peer')
    assert.equal(await callWith(host, credentials.createSsl(ca, own.key, own.cert), PD_SERVICE.heartbeat, {} as never), status.PERMISSION_DENIED, 'a client may not send a store heartbeat')
    assert.equal(await callWith(host, credentials.createSsl(ca, node.key, node.cert), NODE_SERVICE.hello, hello), 'ok', "a node's certificate may")
    assert.equal(await callWith(host, credentials.createSsl(ca, own.key, own.cert), PD_SERVICE.stores, {}), 'ok', 'an operator lists the stores')
    await assert.rejects(mrdb(['cert', 'create-client', 'node', '--certs-dir', certs]), /would pass for a node/)

    const http = nodes[0]!.httpAddress!
    assert.equal(await httpsHealth(http, { ca, ...own }), 200)
    assert.notEqual(await httpsHealth(http, { ca }), 200, 'HTTPS without a client certificate is refused')

    // SQL: TLS only, checked against the cluster's CA.
    const [sqlHost, sqlPort] = nodes[0]!.sqlAddress!.split(':')
    const plain = new pg.Client({ host: sqlHost, port: Number(sqlPort), user: 'root', database: 'mrdb' })
    await assert.rejects(plain.connect(), /over TLS only/)
    await plain.end().catch(() => undefined)
    const secure = new pg.Client({ host: sqlHost, port: Number(sqlPort), user: 'root', database: 'mrdb', ssl: { ca } })
    await secure.connect()
    assert.deepEqual((await secure.query('SELECT v FROM t WHERE k = 1')).rows, [{ v: 'one' }])
    await secure.end()
    const wrongCa = new pg.Client({ host: sqlHost, port: Number(sqlPort), user: 'root', database: 'mrdb', ssl: { ca: await readFile(join(otherCa, 'ca.crt')) } })
    await assert.rejects(wrongCa.connect(), 'a SQL client trusting another CA does not accept the node')
    await wrongCa.end().catch(() => undefined)
  } finally {
    await Promise.all(nodes.map((n) => n.stop()))
    await rm(dir, { recursive: true, force: true })
  }
})

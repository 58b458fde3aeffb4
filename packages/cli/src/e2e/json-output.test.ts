// Every `--json` output of the CLI against its schema (testing/json-shape.ts): exact field
// names and types, so scripts that parse them notice any change here first.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeProcess } from '../node-process.js'
import { shapeErrors, type Shape } from '../testing/json-shape.js'
import { ProcessCluster } from '../testing/process-cluster.js'

const REPLICA: Shape = { replicaId: 'number', nodeId: 'number', role: 'string' }
const DESCRIPTOR: Shape = { rangeId: 'number', startKey: 'string', endKey: 'string', generation: 'number', replicas: { arrayOf: REPLICA }, 'nextReplicaId?': 'number' }
const STORE: Shape = { storeId: 'number', address: 'string', state: 'string', live: 'boolean', lastHeartbeatMs: 'number', capacityBytes: 'number', usedBytes: 'number', replicaCount: 'number', leaderCount: 'number', 'pdRole?': 'string' }
const RANGE_HEALTH: Shape = { rangeId: 'number', voters: 'number', liveVoters: 'number', leaderNodeId: 'number' }

const BENCH_RESULT: Shape = { name: 'string', ops: 'number', seconds: 'number', opsPerSec: 'number', p50Ms: 'number', p99Ms: 'number', errors: 'number', 'firstError?': 'string' }

/** The schema of each command's --json output. */
export const SCHEMAS = {
  init: { clusterId: 'string', ranges: 'number', replicaNodes: { arrayOf: 'number' }, pdNodes: { arrayOf: 'number' }, 'rootPassword?': 'string' },
  'kv put': { ok: 'boolean' },
  'kv get': { key: 'string', value: { oneOf: ['string', 'null'] } },
  'kv del': { ok: 'boolean' },
  'kv scan': { arrayOf: { key: 'string', value: 'string' } },
  'range list': { arrayOf: { ...(DESCRIPTOR as object), leaderNodeId: 'number', approximateBytes: 'number', approximateKeys: 'number', queriesPerSecond: 'number', liveBytes: 'number', garbageBytes: 'number' } },
  'range split': { left: DESCRIPTOR, right: DESCRIPTOR },
  'range merge': DESCRIPTOR,
  'member add': DESCRIPTOR,
  'member remove': DESCRIPTOR,
  'member transfer-leader': DESCRIPTOR,
  'node list': { arrayOf: STORE },
  'node decommission': { storeId: 'number', state: 'string' },
  status: {
    status: 'string',
    stores: { total: 'number', live: 'number', dead: 'number', decommissioning: 'number', removed: 'number' },
    ranges: 'number',
    unavailable: { arrayOf: RANGE_HEALTH },
    underReplicated: { arrayOf: RANGE_HEALTH },
    storeList: { arrayOf: STORE },
    pd: { voters: { arrayOf: 'number' }, learners: { arrayOf: 'number' }, leaderNodeId: 'number', deadVoters: { arrayOf: 'number' } },
  },
  'bench kv': { arrayOf: BENCH_RESULT },
  'bench sql': { arrayOf: BENCH_RESULT },
  'sql --format json': { command: 'string', columns: { arrayOf: { name: 'string', type: 'string' } }, rows: { arrayOf: { arrayOf: 'any' } }, rowsAffected: 'number' },
} satisfies Record<string, Shape>

test('the shape checker finds missing, extra and mistyped fields', () => {
  assert.deepEqual(shapeErrors({ a: 1, b: [1, 'x'] }, { a: 'number', b: { arrayOf: 'number' } }), ['$.b[1]: expected number, got string'])
  assert.deepEqual(shapeErrors({ a: 1, c: 2 }, { a: 'number', 'b?': 'string', d: 'null' }), ['$.d: missing', '$.c: not in the schema'])
})

test('every --json output matches its schema', { timeout: 300_000 }, async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
  const loneDir = await mkdtemp(join(tmpdir(), 'mrdb-fresh-'))
  const fresh: NodeProcess[] = []
  const seen = new Set<string>()
  const check = async (name: keyof typeof SCHEMAS, args: string[]) => {
    const out = await cluster.mrdb(args).catch((err: Error) => {
      throw new Error(`mrdb ${args.join(' ')}: ${err.message}\nnode 1: ${cluster.logs(1)}`)
    })
    const lines = out.trim().split('\n')
    assert.ok(lines.length >= 1)
    for (const line of lines) {
      const value = JSON.parse(line) as unknown
      assert.deepEqual(shapeErrors(value, SCHEMAS[name]), [], `mrdb ${args.join(' ')} printed ${line}`)
    }
    seen.add(name)
    return JSON.parse(lines[0]!) as unknown
  }
  try {
    const host = ['--host', cluster.address(1), '--json']
    await cluster.mrdb(['status', '--wait', '--host', cluster.address(1)])
    await check('kv put', ['kv', 'put', 'k1', 'v1', ...host])
    await check('kv get', ['kv', 'get', 'k1', ...host])
    await check('kv get', ['kv', 'get', 'absent', ...host])
    await check('kv scan', ['kv', 'scan', ...host])
    await check('kv del', ['kv', 'del', 'k1', ...host])
    const split = (await check('range split', ['range', 'split', '--key', 'm', ...host])) as { left: { rangeId: number } }
    await check('range list', ['range', 'list', ...host])
    await check('member transfer-leader', ['member', 'transfer-leader', '--range', String(split.left.rangeId), '--store', '2', ...host])
    // The placement driver repairs the range on its own, and may put store 3 back before the
    // add does: then remove again and add at once.
    for (let attempt = 1; ; attempt++) {
      await check('member remove', ['member', 'remove', '--range', String(split.left.rangeId), '--store', '3', ...host])
      try {
        await check('member add', ['member', 'add', '--range', String(split.left.rangeId), '--store', '3', ...host])
        break
      } catch (err) {
        if (attempt >= 5 || !/already a voter/.test((err as Error).message)) throw err
      }
    }
    await check('range merge', ['range', 'merge', String(split.left.rangeId), ...host])
    await check('node list', ['node', 'list', ...host])
    await check('status', ['status', ...host])
    await check('status', ['status', '--wait', ...host])
    await check('sql --format json', ['sql', '--host', cluster.address(2), '--format', 'json', '-e', 'CREATE TABLE j (id INT PRIMARY KEY, s TEXT)', '-e', "INSERT INTO j VALUES (1, 'a')", '-e', 'SELECT * FROM j'])
    const benchHosts = ['--host', cluster.addresses().join(','), '--clients', '4', '--seconds', '1', '--json']
    const kvBench = (await check('bench kv', ['bench', 'kv', ...benchHosts])) as Array<{ name: string; ops: number }>
    assert.deepEqual(kvBench.map((r) => r.name), ['kv put', 'kv get'])
    const sqlBench = (await check('bench sql', ['bench', 'sql', ...benchHosts])) as Array<{ name: string; ops: number }>
    assert.deepEqual(sqlBench.map((r) => r.name), ['sql insert', 'sql point select', 'sql range select', 'sql txn'])
    assert.ok([...kvBench, ...sqlBench].every((r) => r.ops > 0))
    await check('node decommission', ['node', 'decommission', '3', ...host])

    // init needs nodes that are not initialised yet: three fresh ones (the others stop first).
    await cluster.stop()
    fresh.push(await NodeProcess.start({ storeId: 1, listen: '127.0.0.1:0', dataDir: join(loneDir, 'n1') }))
    for (const id of [2, 3]) fresh.push(await NodeProcess.start({ storeId: id, listen: '127.0.0.1:0', dataDir: join(loneDir, `n${id}`), join: [fresh[0]!.address] }))
    await check('init', ['init', '--host', fresh[0]!.address, '--json'])

    assert.deepEqual([...seen].sort(), Object.keys(SCHEMAS).sort(), 'every schema was exercised')
  } finally {
    await Promise.all(fresh.map((n) => n.stop()))
    await rm(loneDir, { recursive: true, force: true })
    await cluster.stop()
  }
})

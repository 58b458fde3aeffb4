import { test } from 'node:test'
import assert from 'node:assert/strict'
import { descriptorToJson } from '@mrdb/kv'
import { staticLayout } from './node-server.js'
import { NODE_REQUESTS, PD_REQUESTS } from './request-check.js'

const code = (c: string) => (e: { code?: string }) => e.code === c
const layout = staticLayout(4, [1, 2, 3]).map(descriptorToJson)

test('real node admin requests pass their checks unchanged', () => {
  const hello = { nodeId: 2, address: '127.0.0.1:4000', nodes: [[1, '127.0.0.1:3999'] as [number, string]] }
  assert.deepEqual(NODE_REQUESTS.hello(hello), hello)
  assert.deepEqual(NODE_REQUESTS.hello({ nodeId: 2, address: 'node-2.local:4000' }), { nodeId: 2, address: 'node-2.local:4000', nodes: [] })
  const bootstrap = { clusterId: 'c0ffee', ranges: layout, nodes: [[1, '[::1]:1'] as [number, string]], pdNodes: [1, 2, 3] }
  assert.deepEqual(NODE_REQUESTS.bootstrap(bootstrap), bootstrap)
  assert.deepEqual(NODE_REQUESTS.bootstrap({ ...bootstrap, gcFloor: '123456789' }), { ...bootstrap, gcFloor: '123456789' })
  assert.deepEqual(NODE_REQUESTS.createReplica({ descriptor: { ...layout[0]!, nextReplicaId: 9 } }), { descriptor: { ...layout[0]!, nextReplicaId: 9 } })
  assert.deepEqual(NODE_REQUESTS.member({ rangeId: 3, op: 'move', storeId: 1, toStoreId: 4, forwarded: true }), { rangeId: 3, op: 'move', storeId: 1, toStoreId: 4, forwarded: true })
  assert.deepEqual(NODE_REQUESTS.split({ key: 'AQ==' }), { key: 'AQ==', rangeId: undefined, newRangeId: undefined, forwarded: undefined })
  assert.deepEqual(NODE_REQUESTS.status({}), { resetLoopDelay: undefined })
})

test('checked requests keep only the fields their method reads', () => {
  assert.deepEqual(NODE_REQUESTS.merge({ rangeId: 2, extra: { deep: [1] }, __proto__: { polluted: true } }), { rangeId: 2, forwarded: undefined })
  const d = NODE_REQUESTS.createReplica({ descriptor: { ...layout[1]!, junk: 'x' } }).descriptor
  assert.deepEqual(Object.keys(d).sort(), ['endKey', 'generation', 'rangeId', 'replicas', 'startKey'])
})

test('a hello that would poison the address book is refused: bad ids, addresses that are no host:port, malformed pairs', () => {
  const bad: unknown[] = [
    null, 5, [], 'hello',
    { nodeId: 'x', address: '127.0.0.1:1' },
    { nodeId: -1, address: '127.0.0.1:1' },
    { nodeId: 1.5, address: '127.0.0.1:1' },
    { nodeId: 2 ** 53, address: '127.0.0.1:1' },
    { nodeId: 2, address: 5 },
    { nodeId: 2, address: '' },
    { nodeId: 2, address: 'no-port' },
    { nodeId: 2, address: 'host:0' },
    { nodeId: 2, address: 'host:70000' },
    { nodeId: 2, address: 'ho st:1' },
    { nodeId: 2, address: `${'h'.repeat(2000)}:1` },
    { nodeId: 2, address: '127.0.0.1:1', nodes: 7 },
    { nodeId: 2, address: '127.0.0.1:1', nodes: [[3]] },
    { nodeId: 2, address: '127.0.0.1:1', nodes: [[3, '127.0.0.1:2', 'extra']] },
    { nodeId: 2, address: '127.0.0.1:1', nodes: [['3', '127.0.0.1:2']] },
    { nodeId: 2, address: '127.0.0.1:1', nodes: [null] },
  ]
  for (const body of bad) assert.throws(() => NODE_REQUESTS.hello(body), code('INVALID_ARGUMENT'), JSON.stringify(body))
})

test('range actions and bootstraps with malformed ids, ops, keys or descriptors are refused', () => {
  assert.throws(() => NODE_REQUESTS.split({ key: 5 }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.split({ rangeId: 0 }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.split({ key: 'AQ==', forwarded: 'yes' }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.member({ rangeId: 1, op: 'toString', storeId: 1 }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.member({ rangeId: 1, op: 'add' }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.freeze({ rangeId: '1' }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.init({ ranges: -3 }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.status({ resetLoopDelay: 1 }), code('INVALID_ARGUMENT'))
  const d = layout[0]!
  for (const descriptor of [undefined, {}, { ...d, rangeId: -1 }, { ...d, startKey: 'zz' }, { ...d, startKey: '02', endKey: '01' }, { ...d, replicas: [] }, { ...d, replicas: [{ replicaId: 1, nodeId: 1, role: 'boss' }] }, { ...d, generation: 1.5 }, { ...d, nextReplicaId: 0 }]) {
    assert.throws(() => NODE_REQUESTS.createReplica({ descriptor }), code('INVALID_ARGUMENT'), JSON.stringify(descriptor))
  }
  assert.throws(() => NODE_REQUESTS.bootstrap({ clusterId: '', ranges: layout, nodes: [], pdNodes: [] }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.bootstrap({ clusterId: 'c', ranges: [{}], nodes: [], pdNodes: [] }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.bootstrap({ clusterId: 'c', ranges: layout, nodes: [], pdNodes: [0] }), code('INVALID_ARGUMENT'))
  assert.throws(() => NODE_REQUESTS.bootstrap({ clusterId: 'c', ranges: layout, nodes: [], pdNodes: [], gcFloor: -1 }), code('INVALID_ARGUMENT'))
})

test('real placement driver requests pass; malformed ones are refused with PD_INVALID_ARGUMENT', () => {
  const heartbeat = {
    storeId: 1,
    address: '127.0.0.1:4000',
    capacityBytes: 10 ** 12,
    usedBytes: 10 ** 9,
    replicaCount: 4,
    leading: [{ descriptor: layout[0]!, approximateBytes: 0, approximateKeys: 0, readsPerSecond: 0.5, writesPerSecond: 12.25 }],
    quarantined: [{ rangeId: 2, replicaId: 5 }],
    forwarded: undefined,
  }
  assert.deepEqual(PD_REQUESTS.heartbeat(heartbeat), heartbeat, 'a heartbeat keeps its quarantined replicas (the PD replaces them)')
  assert.deepEqual(PD_REQUESTS.heartbeat({ ...heartbeat, quarantined: undefined }), { ...heartbeat, quarantined: undefined })
  assert.deepEqual(PD_REQUESTS.tso({ count: 16 }), { count: 16, forwarded: undefined })
  assert.deepEqual(PD_REQUESTS.routing({ forwarded: true }), { forwarded: true })
  assert.deepEqual(PD_REQUESTS.setStoreState({ storeId: 3, state: 'decommissioning' }), { storeId: 3, state: 'decommissioning', forwarded: undefined })
  assert.deepEqual(PD_REQUESTS.reportRanges({ ranges: layout, leaderNodeId: 2 }), { ranges: layout, leaderNodeId: 2, forwarded: undefined })

  const bad: Array<[keyof typeof PD_REQUESTS, unknown]> = [
    ['heartbeat', {}],
    ['heartbeat', { ...heartbeat, leading: 'all' }],
    ['heartbeat', { ...heartbeat, capacityBytes: -1 }],
    ['heartbeat', { ...heartbeat, storeId: 'x' }],
    ['heartbeat', { ...heartbeat, quarantined: [{ rangeId: 2 }] }],
    ['heartbeat', { ...heartbeat, leading: [{ ...heartbeat.leading[0], readsPerSecond: '1' }] }],
    ['heartbeat', { ...heartbeat, leading: [{ ...heartbeat.leading[0], descriptor: { rangeId: 1 } }] }],
    ['reportRanges', { ranges: {}, leaderNodeId: 1 }],
    ['reportRanges', { ranges: layout, leaderNodeId: 0 }],
    ['tso', { count: 0 }],
    ['tso', {}],
    ['setStoreState', { storeId: 1, state: 'gone' }],
    ['routing', { forwarded: 1 }],
    ['stores', [true]],
  ]
  for (const [method, body] of bad) assert.throws(() => PD_REQUESTS[method](body), code('PD_INVALID_ARGUMENT'), `${method} ${JSON.stringify(body)}`)
})

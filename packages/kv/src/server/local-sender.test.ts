// The local sender against the gRPC path: every request kind, sent to one store both ways,
// gets the same answer — results, errors with their hints and descriptors, refusals of bad
// requests — and a KvClient routing through a RoutingSender serves its own node in-process.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_TIMESTAMP } from '@mrdb/storage'
import { KvError, KvErrorCode } from '../api/errors.js'
import type { KvRequest, KvResponse, NodeAddress } from '../api/requests.js'
import { GrpcSender } from '../client/grpc-sender.js'
import { KvClient } from '../client/kv-client.js'
import { RoutingSender, type KvSender } from '../client/sender.js'
import { loopbackRoles as roles, withLoopbackCluster as withCluster, type LoopbackNode as Node } from '../testing/loopback-cluster.js'

const b = (s: string) => Buffer.from(s)

/** An answer as comparable data: bytes as hex, bigints as strings, errors as their fields, absent fields dropped. */
function plain(v: unknown): unknown {
  if (v instanceof KvError) return plain({ code: v.code, message: v.message, leaderHint: v.leaderHint, lock: v.lock, locks: v.locks, key: v.key, descriptor: v.descriptor })
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`
  if (typeof v === 'bigint') return `${v}n`
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]))
  return v
}

async function sendBoth(node: Node, requests: KvRequest[]): Promise<{ local: unknown; remote: unknown }> {
  const to: NodeAddress = { nodeId: node.id, address: node.address }
  const deadline = Date.now() + 20_000
  const local = plain(await node.local.send(to, requests, deadline))
  const remote = plain(await node.remote.send(to, requests, deadline))
  return { local, remote }
}

/** Sends a scenario to `node` locally with keys under prefix 'g/' and remotely under 'h/' (both in range 1); its answers, keys named alike. */
async function scenarioBoth(node: Node, scenario: (p: string) => KvRequest[]): Promise<{ local: unknown[]; remote: unknown[] }> {
  const to: NodeAddress = { nodeId: node.id, address: node.address }
  const run = async (sender: KvSender, prefix: string) => {
    const out: unknown[] = []
    for (const req of scenario(prefix)) {
      const [res] = await sender.send(to, [req], Date.now() + 20_000)
      // Keys, as text and as hex in messages, read alike whichever prefix made them.
      out.push(JSON.parse(JSON.stringify(plain(res)).replaceAll(Buffer.from(prefix).toString('hex'), 'PREFIX').replaceAll(prefix, 'PREFIX')))
    }
    return out
  }
  return { local: await run(node.local, 'g/'), remote: await run(node.remote, 'h/') }
}

test('every data request kind gets the same answers in-process as over gRPC', async () => {
  await withCluster(async (nodes) => {
    const { leader } = roles(nodes, 1)
    const { local, remote } = await scenarioBoth(leader, (p) => {
      const k = (s: string) => b(p + s)
      const at = { rangeId: 1, generation: 1 }
      return [
        { op: 'put', ...at, key: k('a'), value: b('1') },
        { op: 'get', ...at, key: k('a') },
        { op: 'get', ...at, key: k('none') },
        { op: 'cas', ...at, key: k('a'), expected: b('1'), value: b('2') },
        { op: 'cas', ...at, key: k('a'), expected: b('1'), value: b('3') },
        { op: 'cas', ...at, key: k('new') },
        { op: 'batch', ...at, writes: [{ key: k('b'), value: b('x') }, { key: k('c'), value: b('y') }, { key: k('new') }] },
        { op: 'delete', ...at, key: k('a') },
        { op: 'scan', ...at, start: k(''), end: k('~'), limit: 10 },
        { op: 'scan', ...at, start: k(''), end: k('~'), limit: 1 },
        { op: 'deleteRange', ...at, start: k('c'), end: k('~') },
        { op: 'prewrite', ...at, startTs: 100n, primary: k('t1'), ttlMs: 60_000, mutations: [{ key: k('t1'), kind: 'put', value: b('v'), assertAbsent: true }, { key: k('t2'), kind: 'delete', value: undefined, assertAbsent: false }] },
        { op: 'get', ...at, key: k('t1'), ts: 150n },
        { op: 'scan', ...at, start: k('t'), end: k('u'), ts: 150n },
        { op: 'heartbeat', ...at, primary: k('t1'), startTs: 100n, ttlMs: 90_000 },
        { op: 'checkTxn', ...at, primary: k('t1'), startTs: 100n, nowTs: 120n },
        { op: 'commit', ...at, startTs: 100n, commitTs: 110n, keys: [k('t1'), k('t2')] },
        { op: 'checkTxn', ...at, primary: k('t1'), startTs: 100n, nowTs: 120n },
        { op: 'get', ...at, key: k('t1'), ts: 115n },
        { op: 'prewrite', ...at, startTs: 105n, primary: k('t1'), ttlMs: 1000, mutations: [{ key: k('t1'), kind: 'put', value: b('w'), assertAbsent: false }] },
        { op: 'prewrite', ...at, startTs: 200n, primary: k('t1'), ttlMs: 1000, mutations: [{ key: k('t1'), kind: 'put', value: b('w'), assertAbsent: true }] },
        { op: 'prewrite', ...at, startTs: 300n, primary: k('t3'), ttlMs: 1000, mutations: [{ key: k('t3'), kind: 'lock', value: undefined, assertAbsent: false }] },
        { op: 'rollback', ...at, startTs: 300n, keys: [k('t3')] },
        { op: 'checkTxn', ...at, primary: k('t3'), startTs: 300n, nowTs: 400n },
        // These stores have no timestamp source: a one-phase commit is refused, with nothing written.
        { op: 'onePhaseCommit', ...at, startTs: 500n, mutations: [{ key: k('t4'), kind: 'put', value: b('v'), assertAbsent: false }], maxCommitTs: 600n },
      ]
    })
    assert.deepEqual(local, remote)
    // The scenario did what it says (so the comparison compares something).
    assert.deepEqual(local[1], { value: '0x31' })
    assert.deepEqual(local[4], { succeeded: false, current: '0x32' })
    assert.equal((local[12] as { error: { code: string } }).error.code, KvErrorCode.KEY_LOCKED)
    assert.deepEqual(local[17], { txn: { state: 'committed', commitTs: '110n' } })
    assert.equal((local[19] as { error: { code: string } }).error.code, KvErrorCode.WRITE_CONFLICT)
    assert.equal((local[20] as { error: { code: string } }).error.code, KvErrorCode.KEY_EXISTS)
    assert.deepEqual(local[23], { txn: { state: 'rolled-back' } })
    assert.equal((local[24] as { error: { code: string } }).error.code, KvErrorCode.ONE_PHASE_REFUSED)
  })
})

test('refusals are the same both ways: NOT_LEADER with a hint, KEY_NOT_IN_RANGE and a stale generation with the descriptor, RANGE_NOT_FOUND, INVALID_ARGUMENT', async () => {
  await withCluster(async (nodes) => {
    const { leader, follower } = roles(nodes, 1)
    const onFollower = await sendBoth(follower, [
      { op: 'get', rangeId: 1, key: b('a') },
      { op: 'put', rangeId: 1, key: b('a'), value: b('1') },
      { op: 'scan', rangeId: 1, start: b('a'), end: b('b') },
    ])
    assert.deepEqual(onFollower.local, onFollower.remote)
    for (const res of onFollower.local as Array<{ error: { code: string; leaderHint: number } }>) {
      assert.equal(res.error.code, KvErrorCode.NOT_LEADER)
      assert.equal(res.error.leaderHint, leader.id)
    }

    const bad: KvRequest[] = [
      { op: 'get', rangeId: 1, key: b('z') }, // KEY_NOT_IN_RANGE: range 1 ends at 'm'
      { op: 'put', rangeId: 1, generation: 0, key: b('a'), value: b('1') }, // a stale generation: the answer carries the descriptor
      // Away from the put beside it: the requests of one batch run concurrently, and a scan of 'a' may or may not see that put.
      { op: 'scan', rangeId: 1, generation: 0, start: b('c'), end: b('') },
      { op: 'get', rangeId: 7, key: b('a') }, // RANGE_NOT_FOUND
      { op: 'get', rangeId: 0, key: b('a') },
      { op: 'get', rangeId: 1, generation: -1, key: b('a') },
      { op: 'get', rangeId: 1, key: new Uint8Array(0) },
      { op: 'get', rangeId: 1, key: b('a'), ts: MAX_TIMESTAMP + 1n },
      { op: 'scan', rangeId: 1, start: b('a'), end: b('b'), limit: 0 },
      { op: 'batch', rangeId: 1, writes: [] },
      { op: 'commit', rangeId: 1, startTs: 1n, commitTs: 2n, keys: [] },
      { op: 'prewrite', rangeId: 1, startTs: 1n, primary: b('a'), ttlMs: 2 ** 32, mutations: [{ key: b('a'), kind: 'put', value: b('v'), assertAbsent: false }] },
      { op: 'heartbeat', rangeId: 1, primary: b('a'), startTs: 1n, ttlMs: -1 },
      { op: 'checksum', rangeId: 0 },
    ]
    const refused = await sendBoth(leader, bad)
    assert.deepEqual(refused.local, refused.remote)
    const answers = refused.local as Array<{ error?: { code: string; descriptor?: { generation: number } }; descriptor?: { rangeId: number } }>
    assert.equal(answers[0]!.error?.code, KvErrorCode.KEY_NOT_IN_RANGE)
    assert.equal(answers[0]!.error?.descriptor?.generation, 1)
    assert.equal(answers[1]!.error, undefined)
    assert.equal(answers[1]!.descriptor?.rangeId, 1)
    assert.equal(answers[2]!.descriptor?.rangeId, 1)
    assert.equal(answers[3]!.error?.code, KvErrorCode.RANGE_NOT_FOUND)
    for (const res of answers.slice(4)) assert.equal(res.error?.code, KvErrorCode.INVALID_ARGUMENT, JSON.stringify(res))
  })
})

test('the cluster map and a range checksum are the same both ways', async () => {
  await withCluster(async (nodes) => {
    const { follower } = roles(nodes, 1)
    const { local, remote } = await sendBoth(follower, [{ op: 'ranges' }, { op: 'checksum', rangeId: 2 }])
    assert.deepEqual(local, remote)
    const [map, sum] = local as [{ ranges: unknown[]; nodes: unknown[] }, { checksum: string }]
    assert.equal(map.ranges.length, 2)
    assert.equal(map.nodes.length, 3)
    assert.match(sum.checksum, /^[0-9a-f]{8}$/)
  })
})

test('a KvClient on a node serves that node in-process and every other node over gRPC', async () => {
  await withCluster(async (nodes) => {
    const { leader, follower } = roles(nodes, 1)
    const counted = (sender: KvSender, sent: KvRequest[]): KvSender => ({
      send: (node, requests, deadline): Promise<KvResponse[]> => {
        sent.push(...requests)
        return sender.send(node, requests, deadline)
      },
      close: () => sender.close(),
    })
    const viaLocal: KvRequest[] = []
    const viaRemote: KvRequest[] = []
    // The client lives on the follower of range 1: writes there go to the leader over gRPC.
    const sender = new RoutingSender({ nodeId: follower.id, address: follower.address }, counted(follower.local, viaLocal), counted(new GrpcSender(), viaRemote))
    const kv = new KvClient({ hosts: [follower.address], sender })
    try {
      await kv.put('a', '1')
      assert.equal(Buffer.from((await kv.get('a'))!).toString(), '1')
      assert.ok(viaLocal.some((r) => r.op === 'ranges'), 'the cluster map came from the node itself')
      assert.ok(viaRemote.some((r) => r.op === 'put'), 'the write went to the leader over gRPC')
      assert.ok(!viaLocal.some((r) => r.op === 'put'), 'nor was it served by a follower in-process')
    } finally {
      kv.close()
    }
    // A client on the leader serves itself in-process.
    const localOnly: KvRequest[] = []
    const remoteAny: KvRequest[] = []
    const own = new KvClient({ hosts: [leader.address], sender: new RoutingSender({ nodeId: leader.id, address: leader.address }, counted(leader.local, localOnly), counted(new GrpcSender(), remoteAny)) })
    try {
      await own.put('b', '2')
      assert.equal(Buffer.from((await own.get('b'))!).toString(), '2')
      assert.deepEqual(
        localOnly.map((r) => r.op),
        ['ranges', 'put', 'get'],
      )
      assert.deepEqual(remoteAny, [])
    } finally {
      own.close()
    }
  })
})

test('KvClient.onLeader runs an action on the range leader the cache names, following NOT_LEADER hints', async () => {
  await withCluster(async (nodes) => {
    const { leader, follower } = roles(nodes, 1)
    const kv = new KvClient({ hosts: [follower.address], sender: new RoutingSender({ nodeId: follower.id, address: follower.address }, follower.local, new GrpcSender()) })
    try {
      const tried: number[] = []
      // The first attempt is told another node leads (as a stale replica would say); the hint is followed.
      const ran = await kv.onLeader({ key: b('a') }, async (node, range) => {
        tried.push(node.nodeId)
        if (tried.length === 1) throw new KvError(KvErrorCode.NOT_LEADER, 'not here', follower.id)
        nodes.find((n) => n.id === node.nodeId)!.store.replica(range.rangeId).checkLeader()
        return { node: node.nodeId, rangeId: range.rangeId }
      })
      assert.deepEqual(ran, { node: leader.id, rangeId: 1 })
      assert.deepEqual(tried, [leader.id, follower.id, leader.id])
      // An error that is no routing error ends it at once.
      await assert.rejects(
        kv.onLeader({ rangeId: 2 }, async () => {
          throw new KvError(KvErrorCode.INVALID_ARGUMENT, 'bad split key')
        }),
        (e: KvError) => e.code === KvErrorCode.INVALID_ARGUMENT,
      )
    } finally {
      kv.close()
    }
  })
})

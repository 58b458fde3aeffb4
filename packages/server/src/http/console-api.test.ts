import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PdError, PdErrorCode } from '@mrdb/placement'
import type { PdHealthResponse, PdRoutingResponse, StoreViewJson } from '../pd-protocol.js'
import { clusterApiHandler, clusterView, SUSPECT_AFTER_MS, type ConsolePdSource } from './console-api.js'
import { addConsoleRoutes } from './console-routes.js'
import type { ConsoleClusterView, ConsoleError } from './console-view.js'
import { Router } from './router.js'

const NOW = 1_000_000

function store(storeId: number, live: boolean, ageMs: number, extra: Partial<StoreViewJson> = {}): StoreViewJson {
  return { storeId, address: `127.0.0.1:${26256 + storeId}`, state: 'up', live, lastHeartbeatMs: NOW - ageMs, capacityBytes: 100, usedBytes: 40, replicaCount: 3, leaderCount: 1, ...extra }
}

function range(rangeId: number, startKey: string, endKey: string, leaderNodeId: number) {
  const replicas = [1, 2, 3].map((nodeId) => ({ replicaId: nodeId, nodeId, role: 'voter' as const }))
  return { descriptor: { rangeId, startKey, endKey, generation: 2, replicas }, leaderNodeId, approximateBytes: 10 * rangeId, approximateKeys: rangeId, queriesPerSecond: 1.5, liveBytes: 0, garbageBytes: 0 }
}

const HEALTH: PdHealthResponse = {
  health: {
    status: 'degraded',
    stores: { total: 4, live: 2, dead: 1, decommissioning: 0, removed: 1 },
    ranges: 3,
    unavailable: [{ rangeId: 7, voters: 3, liveVoters: 1, leaderNodeId: 0 }],
    underReplicated: [{ rangeId: 5, voters: 3, liveVoters: 2, leaderNodeId: 1 }],
    pd: { voters: [1, 2, 3], learners: [], leaderNodeId: 2, deadVoters: [3] },
  },
  stores: [store(3, false, 40_000, { pdRole: 'voter' }), store(1, true, 200), store(2, true, SUSPECT_AFTER_MS + 1), store(4, false, 0, { state: 'removed' })],
}
const ROUTING: PdRoutingResponse = { ranges: [range(7, '6d', '', 0), range(5, '', '0a', 1), range(6, '0a', '6d', 2)], stores: [] }

const get = (path: string) => ({ method: 'GET', url: new URL(path, 'http://node') })

function pd(health: () => Promise<PdHealthResponse>, routing: () => Promise<PdRoutingResponse> = async () => ROUTING): ConsolePdSource {
  return { health, routing }
}

test('the cluster view: stores by id with liveness (suspect when heartbeats lag, dead as the PD judges), ranges in key order with their status', () => {
  const v = clusterView(1, NOW, HEALTH, ROUTING)
  assert.deepEqual(
    v.stores.map((s) => [s.storeId, s.liveness, s.heartbeatAgeMs]),
    [
      [1, 'live', 200],
      [2, 'suspect', SUSPECT_AFTER_MS + 1],
      [3, 'dead', 40_000],
      [4, 'removed', 0],
    ],
  )
  assert.equal(v.stores[2]!.pdRole, 'voter')
  assert.equal('pdRole' in v.stores[0]!, false)
  assert.deepEqual(
    v.ranges.map((r) => [r.rangeId, r.startKey, r.status, r.leaderStoreId]),
    [
      [5, '', 'under-replicated', 1],
      [6, '0a', 'ok', 2],
      [7, '6d', 'unavailable', 0],
    ],
  )
  assert.deepEqual(v.ranges[0]!.replicas[0], { storeId: 1, replicaId: 1, role: 'voter' })
  assert.deepEqual([v.status, v.rangeCount, v.unavailableRanges, v.underReplicatedRanges, v.pd], ['degraded', 3, 1, 1, { voters: [1, 2, 3], learners: [], leaderStoreId: 2 }])
})

test('GET /api/cluster: limit cuts the range list; a bad query is a 400 with a code', async () => {
  const handler = clusterApiHandler({ nodeId: 1, pd: pd(async () => HEALTH), now: () => NOW })
  const answer = async (path: string) => {
    const r = await handler(get(path))
    return { status: r.status, body: JSON.parse(String(r.body)) as ConsoleClusterView & ConsoleError }
  }
  const all = await answer('/api/cluster')
  assert.equal(all.status, 200)
  assert.equal(all.body.ranges.length, 3)
  const one = await answer('/api/cluster?limit=1')
  assert.deepEqual([one.body.ranges.map((r) => r.rangeId), one.body.rangeCount], [[5], 3])
  for (const bad of ['/api/cluster?limit=-1', '/api/cluster?limit=1.5', '/api/cluster?limit=', '/api/cluster?limit=100001', '/api/cluster?range=1']) {
    const r = await answer(bad)
    assert.equal(r.status, 400, bad)
    assert.equal(r.body.code, 'INVALID_ARGUMENT', bad)
    assert.match(r.body.error, /limit/, bad)
  }
})

test('GET /api/cluster: no PD leader is a 503 with the PD\'s code; other failures a 500; polls share one read', async () => {
  const unavailable = clusterApiHandler({ nodeId: 1, pd: pd(() => Promise.reject(new PdError(PdErrorCode.UNAVAILABLE, 'no PD leader answered'))) })
  const r = await unavailable(get('/api/cluster'))
  assert.equal(r.status, 503)
  assert.deepEqual(JSON.parse(String(r.body)), { code: PdErrorCode.UNAVAILABLE, error: 'the placement driver did not answer: no PD leader answered' })

  const answered = clusterApiHandler({ nodeId: 1, pd: pd(async () => ({ error: { code: PdErrorCode.INVALID_ARGUMENT, message: 'bad' } })) })
  const a = await answered(get('/api/cluster'))
  assert.deepEqual([a.status, JSON.parse(String(a.body))], [500, { code: PdErrorCode.INVALID_ARGUMENT, error: 'bad' }])

  let reads = 0
  let release: (() => void) | undefined
  const slow = clusterApiHandler({
    nodeId: 1,
    pd: pd(async () => {
      reads++
      await new Promise<void>((resolve) => (release = resolve))
      return HEALTH
    }),
  })
  const polls = [slow(get('/api/cluster')), slow(get('/api/cluster?limit=2'))]
  await new Promise((resolve) => setImmediate(resolve))
  release!()
  const [first, second] = await Promise.all(polls)
  assert.equal(reads, 1)
  assert.deepEqual([first!.status, (JSON.parse(String(second!.body)) as ConsoleClusterView).ranges.length], [200, 2])
  release = undefined
  const third = slow(get('/api/cluster'))
  await new Promise((resolve) => setImmediate(resolve))
  release!()
  await third
  assert.equal(reads, 2, 'a poll after the shared read ends reads again')
})

test('the console routes: the page, its compiled script from the build, and JSON errors with codes for unknown paths', async () => {
  const router = addConsoleRoutes(new Router(), { nodeId: 1, pd: pd(async () => HEALTH), now: () => NOW })
  const page = await router.handle(get('/'))
  assert.deepEqual([page.status, page.contentType], [200, 'text/html; charset=utf-8'])
  assert.match(String(page.body), /<script type="module" src="\/console.js">/)
  const script = await router.handle(get('/console.js'))
  assert.equal(script.status, 200, String(script.body))
  assert.equal(script.contentType, 'text/javascript; charset=utf-8')
  assert.match(String(script.body), /\/api\/cluster/)
  const missing = await router.handle(get('/api/nowhere'))
  assert.deepEqual([missing.status, JSON.parse(String(missing.body))], [404, { code: 'NOT_FOUND', error: 'no such path: /api/nowhere' }])
  const post = await router.handle({ method: 'POST', url: new URL('/api/cluster', 'http://node') })
  assert.equal((JSON.parse(String(post.body)) as ConsoleError).code, 'METHOD_NOT_ALLOWED')
})

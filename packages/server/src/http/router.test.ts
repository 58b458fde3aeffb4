import { test } from 'node:test'
import assert from 'node:assert/strict'
import { healthHandler, type Readiness } from './health.js'
import { Router, jsonReply } from './router.js'

const request = (method: string, path: string) => ({ method, url: new URL(path, 'http://node') })

test('the router answers by exact path and method: GET and HEAD, else 404 or 405', async () => {
  const router = new Router().get('/a', () => jsonReply(200, { a: 1 }))
  assert.equal((await router.handle(request('GET', '/a'))).body, '{"a":1}\n')
  assert.equal((await router.handle(request('HEAD', '/a'))).status, 200)
  assert.equal((await router.handle(request('GET', '/a/'))).status, 404)
  assert.equal((await router.handle(request('POST', '/a'))).status, 405)
  assert.throws(() => router.get('/a', () => jsonReply(200, {})), /routed twice/)
})

test('/health is liveness; /health?ready=1 is readiness, 503 with the reason', async () => {
  let readiness: Readiness = { ready: false, reason: 'not initialized' }
  const router = new Router().get('/health', healthHandler(7, () => readiness))
  const answer = async (path: string) => {
    const r = await router.handle(request('GET', path))
    return [r.status, JSON.parse(String(r.body)) as unknown]
  }
  assert.deepEqual(await answer('/health'), [200, { nodeId: 7, status: 'ok' }])
  assert.deepEqual(await answer('/health?ready=0'), [200, { nodeId: 7, status: 'ok' }])
  assert.deepEqual(await answer('/health?ready=1'), [503, { nodeId: 7, status: 'not ready', reason: 'not initialized' }])
  readiness = { ready: true }
  assert.deepEqual(await answer('/health?ready=1'), [200, { nodeId: 7, status: 'ready' }])
})

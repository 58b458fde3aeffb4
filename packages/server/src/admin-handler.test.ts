import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ServerUnaryCall } from '@grpc/grpc-js'
import { decodeRequestBody } from '@mrdb/kv'
import { admin } from './admin-handler.js'
import { NodeError, NodeErrorCode } from './errors.js'

/** Runs an admin handler on `body` as it would arrive off the wire; resolves with its answer. */
function answer(handler: ReturnType<typeof admin<{ n: number }, { doubled: number }>>, body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const call = { request: decodeRequestBody(Buffer.from(body)) } as ServerUnaryCall<unknown, { doubled: number }>
    handler(call, (err, value) => (err ? reject(err) : resolve(value)))
  })
}

const check = (j: unknown): { n: number } => {
  const n = (j as { n?: unknown }).n
  if (typeof n !== 'number') throw new NodeError(NodeErrorCode.INVALID_ARGUMENT, 'n must be a number')
  return { n }
}

test('an admin handler runs on the checked request, and answers every failure with a coded error body', async () => {
  let ran = 0
  const handler = admin(check, async (req) => {
    ran++
    if (req.n < 0) throw new Error('negative')
    return { doubled: req.n * 2 }
  })
  assert.deepEqual(await answer(handler, '{"n":21,"junk":true}'), { doubled: 42 })
  assert.deepEqual(await answer(handler, '{"n":"21"}'), { error: { code: 'INVALID_ARGUMENT', message: 'n must be a number' } })
  const garbage = (await answer(handler, 'not json')) as { error: { code: string; message: string } }
  assert.equal(garbage.error.code, 'INVALID_ARGUMENT')
  assert.match(garbage.error.message, /^malformed request body: /)
  assert.deepEqual(await answer(handler, '0'), { error: { code: 'INVALID_ARGUMENT', message: 'malformed request body: it must be a JSON object or array' } })
  assert.equal(ran, 1, 'the handler never saw a body that failed its check')
  assert.deepEqual(await answer(handler, '{"n":-1}'), { error: { code: 'UNAVAILABLE', message: 'negative' } })
})

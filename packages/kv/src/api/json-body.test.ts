import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KvErrorCode } from './errors.js'
import { decodeJsonBody, decodeRequestBody, jsonMethod, MAX_BODY_DEPTH } from './json-body.js'

const body = (text: string) => Buffer.from(text)
const refused = (why: RegExp) => (e: { code?: string; message?: string }) => e.code === KvErrorCode.INVALID_ARGUMENT && why.test(e.message ?? '')

test('a JSON object or array decodes as JSON.parse decodes it', () => {
  assert.deepEqual(decodeJsonBody(body('{"rangeId":1,"key":"AQ==","s":"[{,:\\"]}"}')), { rangeId: 1, key: 'AQ==', s: '[{,:"]}' })
  assert.deepEqual(decodeJsonBody(body(' [1, [2, {"a": []}]] ')), [1, [2, { a: [] }]])
})

test('what is not a JSON object or array is refused with INVALID_ARGUMENT', () => {
  for (const text of ['', 'not json', '{"rangeId":1', '{"a":1}}', '\u0000\u00ff', '5', '"a string"', 'null', 'true']) {
    assert.throws(() => decodeJsonBody(body(text)), refused(/^malformed request body: /), JSON.stringify(text))
  }
  assert.throws(() => decodeJsonBody(Buffer.from([0xff, 0xfe, 0x7b])), refused(/malformed/))
})

test(`nesting deeper than ${MAX_BODY_DEPTH} levels is refused before parsing; brackets inside strings do not count`, () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`
  assert.deepEqual(decodeJsonBody(body(deep(MAX_BODY_DEPTH))), JSON.parse(deep(MAX_BODY_DEPTH)))
  assert.throws(() => decodeJsonBody(body(deep(MAX_BODY_DEPTH + 1))), refused(/nests deeper than 32/))
  // 1,000,000 levels: refused at level 33, whatever follows.
  assert.throws(() => decodeJsonBody(body('['.repeat(1_000_000))), refused(/nests deeper/))
  assert.deepEqual(decodeJsonBody(body(JSON.stringify({ s: '['.repeat(10_000) }))), { s: '['.repeat(10_000) })
})

test('a body denser in brackets, commas and colons than real requests is refused before parsing', () => {
  // 4 MiB of empty objects: about 1.4 million objects for the parser to build.
  const objects = `[${'{},'.repeat(4 << 18)}{}]`
  assert.throws(() => decodeJsonBody(body(objects)), refused(/more than 4096 \+ 1 per 4 bytes/))
  assert.throws(() => decodeJsonBody(body(`[${'0,'.repeat(1 << 20)}0]`)), refused(/more than/))
  // Short bodies may be as dense as they like.
  assert.equal((decodeJsonBody(body(`[${'{},'.repeat(1000)}{}]`)) as unknown[]).length, 1001)
})

test('real requests at their densest decode: a big batch of one-byte deletes, a command batch of gets, a 65,536-range bootstrap', () => {
  const deletes = { rangeId: 1, writes: Array.from({ length: 200_000 }, () => ({ key: 'AQ==' })) }
  assert.equal((decodeJsonBody(body(JSON.stringify(deletes))) as typeof deletes).writes.length, 200_000)
  const gets = Array.from({ length: 100_000 }, (_, i) => ({ id: i + 1, op: 'get', body: { rangeId: 1, key: 'AQ==' } }))
  assert.equal((decodeJsonBody(body(JSON.stringify(gets))) as unknown[]).length, 100_000)
  const replicas = [1, 2, 3].map((n) => ({ replicaId: n, nodeId: n, role: 'voter' }))
  const ranges = Array.from({ length: 65_536 }, (_, i) => ({ rangeId: i + 1, startKey: i.toString(16), endKey: (i + 1).toString(16), generation: 1, replicas }))
  const bootstrap = { clusterId: 'c', ranges, nodes: [[1, '127.0.0.1:1']], pdNodes: [1, 2, 3] }
  assert.equal((decodeJsonBody(body(JSON.stringify(bootstrap))) as typeof bootstrap).ranges.length, 65_536)
})

test('the server side of a JSON method never throws: a bad body becomes the INVALID_ARGUMENT to answer with', () => {
  const method = jsonMethod<{ rangeId: number }, object>('mrdb.test.Test', 'Method')
  const decoded = method.requestDeserialize(body('{"rangeId":')) as unknown
  assert.ok(decoded instanceof Error && (decoded as { code?: string }).code === KvErrorCode.INVALID_ARGUMENT, method.path)
  assert.deepEqual(method.requestDeserialize(body('{"rangeId":7}')), { rangeId: 7 }, method.path)
  assert.ok(decodeRequestBody(body('[[[[')) instanceof Error)
})

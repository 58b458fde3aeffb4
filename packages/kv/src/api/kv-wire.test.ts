import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { KvError, KvErrorCode } from './errors.js'
import { KV_SCHEMA } from './kv-schema.js'
import { decodeRequest, decodeRequests, decodeResponse, decodeResponses, encodeRequest, encodeRequests, encodeResponse, encodeResponses, responseFromWire } from './kv-wire.js'
import type { RangeDescriptor } from './range-descriptor.js'
import type { KvOp, KvRequest, KvResponse } from './requests.js'

const b = (s: string) => Buffer.from(s)
const TS = 470_969_924_024_270_850n
const MAX = 2n ** 64n - 1n
const descriptor: RangeDescriptor = {
  rangeId: 7,
  startKey: b('a'),
  endKey: new Uint8Array(0),
  generation: 12,
  replicas: [
    { replicaId: 1, nodeId: 1, role: 'voter' },
    { replicaId: 4, nodeId: 3, role: 'learner' },
  ],
  nextReplicaId: 5,
}
const at = { rangeId: 7, generation: 3 }
const mutations = [
  { key: b('k1'), kind: 'put' as const, value: b('v'), assertAbsent: true },
  { key: b('k2'), kind: 'delete' as const, value: undefined, assertAbsent: false },
  { key: b('k3'), kind: 'lock' as const, value: undefined, assertAbsent: false },
]

/** Every request kind, with optional fields both present and absent, and extreme values. */
const REQUESTS: KvRequest[] = [
  { op: 'get', ...at, key: b('k'), ts: TS },
  { op: 'get', rangeId: 1, key: b('k') },
  { op: 'get', rangeId: 2 ** 53 - 1, generation: 0, key: b('k'), ts: MAX },
  { op: 'put', ...at, key: b('k'), value: new Uint8Array(0) },
  { op: 'delete', ...at, key: b('k') },
  { op: 'cas', ...at, key: b('k'), expected: b('1'), value: b('2') },
  { op: 'cas', ...at, key: b('k') },
  { op: 'scan', ...at, start: b(''), end: b('z'), limit: 100, ts: 0n },
  { op: 'scan', ...at, start: b('a'), end: b('') },
  { op: 'deleteRange', ...at, start: b('a'), end: b('b') },
  { op: 'batch', ...at, writes: [{ key: b('a'), value: b('1') }, { key: b('b'), value: undefined }] },
  { op: 'prewrite', ...at, startTs: TS, primary: b('k1'), ttlMs: 0xffff_ffff, mutations },
  { op: 'onePhaseCommit', ...at, startTs: TS, mutations, maxCommitTs: TS + 5n },
  { op: 'onePhaseCommit', ...at, startTs: 1n, mutations },
  { op: 'commit', ...at, startTs: 1n, commitTs: 2n, keys: [b('a'), b('b')] },
  { op: 'rollback', ...at, startTs: 1n, keys: [b('a')] },
  { op: 'checkTxn', ...at, primary: b('p'), startTs: 1n, nowTs: TS },
  { op: 'heartbeat', ...at, primary: b('p'), startTs: 1n, ttlMs: 0 },
  { op: 'checksum', rangeId: 9 },
  { op: 'ranges' },
]

/** Comparable data: bytes as hex, errors as their fields, absent fields dropped. */
function plain(v: unknown): unknown {
  if (v instanceof KvError) return plain({ kvError: true, code: v.code, message: v.message, leaderHint: v.leaderHint, lock: v.lock, locks: v.locks, key: v.key, descriptor: v.descriptor })
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`
  if (typeof v === 'bigint') return `${v}n`
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]))
  return v
}

test('kv-schema.ts is the JSON descriptor of proto/kv.proto (rerun scripts/gen-schema.mjs after editing it)', () => {
  const proto = fileURLToPath(new URL('../../proto/kv.proto', import.meta.url))
  const parsed = protobuf.parse(readFileSync(proto, 'utf8')).root.toJSON()
  assert.deepEqual(JSON.parse(JSON.stringify(KV_SCHEMA)), JSON.parse(JSON.stringify(parsed)))
})

test('every request kind survives the command stream and a unary call unchanged', () => {
  const frame = encodeRequests(REQUESTS.map((request, i) => ({ id: i + 1, request })))
  const decoded = decodeRequests(frame)
  assert.ok(Array.isArray(decoded), String(decoded))
  assert.deepEqual(plain(decoded), plain(REQUESTS.map((request, i) => ({ id: i + 1, request }))))
  for (const r of REQUESTS) assert.deepEqual(plain(decodeRequest(encodeRequest(r))), plain(r), r.op)
})

test('every answer kind survives unchanged, errors with their codes, hints, locks, keys and descriptors', () => {
  const lock = { key: b('k'), primary: b('p'), startTs: TS, ttlMs: 3000 }
  const answers: Array<[KvOp, KvResponse]> = [
    ['get', { value: b('v') }],
    ['get', { value: new Uint8Array(0) }],
    ['get', {}],
    ['put', {}],
    ['put', { descriptor }],
    ['cas', { succeeded: true }],
    ['cas', { succeeded: false, current: b('c') }],
    ['scan', { pairs: [[b('a'), b('1')], [b('b'), new Uint8Array(0)]], rangeEnd: new Uint8Array(0), resume: b('c') }],
    ['scan', { pairs: [], rangeEnd: b('z'), descriptor }],
    ['deleteRange', { deleted: 10_000, resume: b('r') }],
    ['deleteRange', { deleted: 0 }],
    ['onePhaseCommit', { commitTs: TS }],
    ['checkTxn', { txn: { state: 'committed', commitTs: TS } }],
    ['checkTxn', { txn: { state: 'rolled-back' } }],
    ['checkTxn', { txn: { state: 'locked', ttlMs: 1234 } }],
    ['checksum', { appliedIndex: 17, checksum: '0a1b2c3d', keys: 3 }],
    ['ranges', { ranges: [{ descriptor, leaderNodeId: 3 }, { descriptor: { ...descriptor, rangeId: 8, nextReplicaId: undefined }, leaderNodeId: 0 }], nodes: [{ nodeId: 1, address: '127.0.0.1:26257' }] }],
    ['get', { error: new KvError(KvErrorCode.NOT_LEADER, 'not the leader', 2) }],
    ['get', { error: new KvError(KvErrorCode.KEY_NOT_IN_RANGE, 'outside', undefined, { descriptor }) }],
    ['scan', { error: new KvError(KvErrorCode.KEY_LOCKED, 'locked', undefined, { locks: [lock, { ...lock, key: b('k2') }] }) }],
    ['prewrite', { error: new KvError(KvErrorCode.KEY_LOCKED, 'locked', undefined, { lock }) }],
    ['prewrite', { error: new KvError(KvErrorCode.KEY_EXISTS, 'exists', undefined, { key: b('k') }) }],
    ['ranges', { error: new KvError(KvErrorCode.UNAVAILABLE, 'no PD') }],
    ['cas', { error: new KvError(KvErrorCode.INVALID_ARGUMENT, 'bad') }],
  ]
  for (const code of Object.values(KvErrorCode)) answers.push(['commit', { error: new KvError(code, `a ${code}`) }])
  const frame = decodeResponses(encodeResponses(answers.map(([, response], i) => ({ id: i + 1, response }))))
  assert.deepEqual(
    frame.map((w, i) => plain(responseFromWire(answers[i]![0], w))),
    answers.map(([, r]) => plain(r)),
  )
  for (const [op, r] of answers) assert.deepEqual(plain(decodeResponse(op, encodeResponse(r))), plain(r))
})

/** The command-stream messages' types, to forge messages with. */
const root = protobuf.Root.fromJSON(KV_SCHEMA)
const Requests = root.lookupType('mrdb.kv.Requests')

/** The error each request of `frame` got, by id (or the frame's own error). */
function refusals(frame: Uint8Array): Array<[number, string]> | string {
  const decoded = decodeRequests(frame)
  if (decoded instanceof KvError) return `${decoded.code}: ${decoded.message}`
  return decoded.map((d) => [d.id, d.error ? `${d.error.code}: ${d.error.message}` : `ok ${d.request.op}`])
}

test('a request that lacks a field its kind needs, or names no kind, is refused with INVALID_ARGUMENT and its id', () => {
  const frame = Requests.encode({
    requests: [
      { id: 1, rangeId: 1, put: { key: b('k') } },
      { id: 2, rangeId: 1 },
      { id: 3, rangeId: 1, prewrite: { primary: b('k'), ttlMs: 1, mutations: [{ key: b('k'), kind: 1 }] } },
      { id: 4, rangeId: 1, prewrite: { startTs: 1, primary: b('k'), mutations: [] } },
      { id: 5, rangeId: 1, commit: { startTs: 1, keys: [b('k')] } },
      { id: 6, rangeId: 1, onePhaseCommit: { startTs: 1, mutations: [{ key: b('k') }] } },
      { id: 7, rangeId: 1, onePhaseCommit: { startTs: 1, mutations: [{ key: b('k'), kind: 9 }] } },
      { id: 8, rangeId: 1, heartbeat: { primary: b('k'), startTs: 1 } },
      { id: 9, rangeId: 1, checkTxn: { primary: b('k'), startTs: 1 } },
      { id: 10, rangeId: 1, get: {} },
    ],
  }).finish()
  assert.deepEqual(refusals(frame), [
    [1, 'INVALID_ARGUMENT: value is missing'],
    [2, 'INVALID_ARGUMENT: the request names no operation'],
    [3, 'INVALID_ARGUMENT: startTs is missing'],
    [4, 'INVALID_ARGUMENT: ttlMs is missing'],
    [5, 'INVALID_ARGUMENT: commitTs is missing'],
    [6, "INVALID_ARGUMENT: a mutation's kind must be put, delete or lock, got 0"],
    [7, "INVALID_ARGUMENT: a mutation's kind must be put, delete or lock, got 9"],
    [8, 'INVALID_ARGUMENT: ttlMs is missing'],
    [9, 'INVALID_ARGUMENT: nowTs is missing'],
    // Decoded; its empty key is request-check.ts's to refuse.
    [10, 'ok get'],
  ])
  const get = decodeRequests(Requests.encode({ requests: [{ id: 1, get: {} }] }).finish())
  assert.ok(Array.isArray(get) && get[0]!.request?.op === 'get')
  assert.deepEqual(get[0]!.request, { op: 'get', rangeId: undefined, generation: undefined, key: new Uint8Array(0), ts: undefined })
})

test('bytes that are no well-formed message are refused whole, unparsed: truncated, wrong wire types, 32-bit overflow, groups, too dense', () => {
  const good = encodeRequests([{ id: 1, request: { op: 'put', rangeId: 1, key: b('key'), value: b('value') } }])
  assert.ok(Array.isArray(decodeRequests(good)))
  const refused = (bytes: number[] | Uint8Array, why: RegExp) => {
    const r = decodeRequests(Uint8Array.from(bytes))
    assert.ok(r instanceof KvError, `decoded: ${JSON.stringify(plain(r))}`)
    assert.equal(r.code, KvErrorCode.INVALID_ARGUMENT)
    assert.match(r.message, why)
  }
  for (let cut = 1; cut < good.length; cut++) {
    const r = decodeRequests(good.subarray(0, cut))
    assert.ok(r instanceof KvError && r.code === KvErrorCode.INVALID_ARGUMENT, `cut at ${cut}: ${JSON.stringify(plain(r))}`)
  }
  // Request.id (field 1) sent length-delimited; Requests.requests (field 1) sent as a varint.
  refused([0x0a, 0x03, 0x0a, 0x01, 0x00], /Request\.id has wire type 2, expected 0/)
  refused([0x08, 0x01], /Requests\.requests has wire type 0, expected 2/)
  // Put.key (bytes) as a varint.
  refused([0x0a, 0x04, 0x5a, 0x02, 0x08, 0x01], /Put\.key has wire type 0/)
  // Request.id beyond 32 bits.
  refused([0x0a, 0x06, 0x08, 0x80, 0x80, 0x80, 0x80, 0x10], /over 32 bits/)
  // A varint of 11 bytes, a group, a fixed64 cut short.
  refused([0x0a, 0x0c, 0x08, ...Array<number>(10).fill(0xff), 0x01], /longer than 10 bytes/)
  refused([0x0b, 0x0c], /wire type 3/)
  refused([0x0a, 0x03, 0x29, 0x01, 0x02], /fixed-width value runs past/)
  // A length past its message.
  refused([0x0a, 0x05, 0x08, 0x01], /runs past the end/)
  // 9 MiB of empty requests: 4.7 million values.
  refused(Buffer.alloc(9 * 1024 * 1024, Buffer.from([0x0a, 0x00])), /more than 4194304 values/)
  // Field number 0.
  refused([0x0a, 0x02, 0x00, 0x01], /field number 0/)
  // Unknown fields of every wire type but groups are skipped, as protobuf wants.
  const unknown = Buffer.concat([Buffer.from([0x0a, 0x0f, 0x08, 0x05, 0xf8, 0x01, 0x07, 0x82, 0x02, 0x01, 0x00, 0x85, 0x02, 1, 2, 3, 4]), Buffer.from([0x98, 0x03, 0x01])])
  assert.deepEqual(refusals(unknown), [[5, 'INVALID_ARGUMENT: the request names no operation']])
})

test('real requests at their densest decode: a batch of 200,000 one-byte deletes, 512 gets of one-byte keys', () => {
  const writes = Array.from({ length: 200_000 }, () => ({ key: Uint8Array.of(1), value: undefined }))
  const batch = decodeRequests(encodeRequests([{ id: 1, request: { op: 'batch', rangeId: 1, writes } }]))
  const decoded = Array.isArray(batch) ? batch[0]?.request : undefined
  assert.ok(decoded?.op === 'batch' && decoded.writes.length === 200_000)
  const gets = decodeRequests(encodeRequests(Array.from({ length: 512 }, (_, i) => ({ id: i + 1, request: { op: 'get', rangeId: 1, generation: 1, key: Uint8Array.of(i) } }))))
  assert.ok(Array.isArray(gets) && gets.length === 512 && gets.every((g) => g.request?.op === 'get'))
})

test('a unary call\'s body is checked alike; garbage never throws', () => {
  assert.ok(decodeRequest(Uint8Array.from([0x08])) instanceof KvError)
  for (let seed = 1; seed <= 2000; seed++) {
    let x = seed
    const bytes = Uint8Array.from({ length: seed % 64 }, () => (x = (x * 1103515245 + 12345) % 2 ** 31) & 0xff)
    const one = decodeRequest(bytes)
    const many = decodeRequests(bytes)
    assert.ok(one instanceof KvError || typeof one.op === 'string')
    assert.ok(many instanceof KvError || Array.isArray(many))
  }
})

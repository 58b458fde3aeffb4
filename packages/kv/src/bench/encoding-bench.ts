// `pnpm bench:encoding`: what the remote path's encoding costs per request — the command
// stream's former JSON bodies (bytes in base64, timestamps as decimal strings, the structural
// check before JSON.parse and the field type checks after it; the codec is kept here, and only
// here, for the comparison) against what production now uses, the binary messages of
// proto/kv.proto (api/kv-wire.ts: the structural check, protobufjs, the typed conversions) —
// over a mix of a point get, a put of 100 bytes, a scan page of 100 rows and a prewrite of 10
// mutations. Each sample is a whole round of codec work for one request: the client encodes
// it, the server decodes it into a typed request and encodes the typed answer, the client
// decodes that. Prints µs per request and bytes on the wire, each kind and the mix. Usage:
//   node packages/kv/dist/bench/encoding-bench.js [--iterations 20000]
import { parseArgs } from 'node:util'
import { KvError, KvErrorCode } from '../api/errors.js'
import { decodeJsonBody, fromWire, toWire } from '../api/json-body.js'
import { decodeRequests, decodeResponses, encodeRequests, encodeResponses, responseFromWire } from '../api/kv-wire.js'
import type { KvRequest, KvResponse } from '../api/requests.js'
import type { KeyValue, TxnMutation } from '../api/types.js'

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20000' } } })
const iterations = Number(values.iterations)
if (!Number.isSafeInteger(iterations) || iterations <= 0) {
  console.error('--iterations must be a positive integer')
  process.exit(2)
}

// ---- the mix: SQL-shaped keys (/table/<id>/<index>/<pk>, ~20 bytes), 100-byte values ----

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
const key = (i: number) => Uint8Array.from([0x12, 0x2f, 0x74, 0x61, 0x62, 0x6c, 0x65, 0x00, 0x01, 0x10, 0x80, 0, 0, 0, 0, 0, 0, 0x64, (i >> 8) & 0xff, i & 0xff])
const TS = 470_969_924_024_270_850n

interface Case {
  name: string
  request: KvRequest
  response: KvResponse
}

const CASES: Case[] = [
  { name: 'point get', request: { op: 'get', rangeId: 12, generation: 3, key: key(7), ts: TS }, response: { value: bytesOf(100, 1) } },
  { name: 'put 100 B', request: { op: 'put', rangeId: 12, generation: 3, key: key(7), value: bytesOf(100, 2) }, response: {} },
  {
    name: 'scan page of 100 rows',
    request: { op: 'scan', rangeId: 12, generation: 3, start: key(0), end: key(1000), limit: 100, ts: TS },
    response: { pairs: Array.from({ length: 100 }, (_, i) => [key(i), bytesOf(100, i)] as [Uint8Array, Uint8Array]), rangeEnd: key(5000), resume: key(100) },
  },
  {
    name: 'prewrite of 10',
    request: {
      op: 'prewrite',
      rangeId: 12,
      generation: 3,
      startTs: TS,
      primary: key(0),
      ttlMs: 3000,
      mutations: Array.from({ length: 10 }, (_, i): TxnMutation => ({ key: key(i), kind: 'put', value: bytesOf(100, i), assertAbsent: i % 2 === 0 })),
    },
    response: {},
  },
]

// ---- JSON: the command stream as it was, for the kinds of the mix ----

type Body = Record<string, unknown>

function jsonRequestBody(r: KvRequest): Body {
  const at = 'generation' in r ? { rangeId: r.rangeId, generation: r.generation } : {}
  switch (r.op) {
    case 'get':
      return { ...at, key: toWire(r.key), ts: r.ts?.toString() }
    case 'put':
      return { ...at, key: toWire(r.key), value: toWire(r.value) }
    case 'scan':
      return { ...at, start: toWire(r.start), end: toWire(r.end), limit: r.limit, ts: r.ts?.toString() }
    case 'prewrite':
      return {
        ...at,
        startTs: r.startTs.toString(),
        primary: toWire(r.primary),
        ttlMs: r.ttlMs,
        mutations: r.mutations.map((m) => ({ key: toWire(m.key), kind: m.kind, value: m.value && toWire(m.value), assertAbsent: m.assertAbsent || undefined })),
      }
    default:
      throw new Error(`${r.op} is not in the benchmark's mix`)
  }
}

const invalid = (what: string) => new KvError(KvErrorCode.INVALID_ARGUMENT, `${what} has the wrong type`)
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw invalid(what)
  return v
}
const int = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(what)
  return v
}
const ts = (v: unknown): bigint => {
  if (typeof v !== 'string' || !/^[0-9]{1,20}$/.test(v)) throw invalid('a timestamp')
  return BigInt(v)
}

/** The server's decoding of a body, with the type checks it made. */
function jsonRequestFrom(op: string, b: Body): KvRequest {
  const at = { rangeId: int(b.rangeId, 'rangeId'), generation: b.generation === undefined ? undefined : int(b.generation, 'generation') }
  switch (op) {
    case 'get':
      return { op, ...at, key: fromWire(str(b.key, 'key')), ts: b.ts === undefined ? undefined : ts(b.ts) }
    case 'put':
      return { op, ...at, key: fromWire(str(b.key, 'key')), value: fromWire(str(b.value, 'value')) }
    case 'scan':
      return { op, ...at, start: fromWire(str(b.start, 'start')), end: fromWire(str(b.end, 'end')), limit: b.limit === undefined ? undefined : int(b.limit, 'limit'), ts: b.ts === undefined ? undefined : ts(b.ts) }
    default: {
      if (!Array.isArray(b.mutations)) throw invalid('mutations')
      const mutations = (b.mutations as Body[]).map((m): TxnMutation => {
        if (m.kind !== 'put' && m.kind !== 'delete' && m.kind !== 'lock') throw invalid('kind')
        return { key: fromWire(str(m.key, 'key')), kind: m.kind, value: m.value === undefined ? undefined : fromWire(str(m.value, 'value')), assertAbsent: m.assertAbsent === true }
      })
      return { op: 'prewrite', ...at, startTs: ts(b.startTs), primary: fromWire(str(b.primary, 'primary')), ttlMs: int(b.ttlMs, 'ttlMs'), mutations }
    }
  }
}

function jsonResponseBody(r: KvResponse): Body {
  const f = r as { value?: Uint8Array; pairs?: KeyValue[]; rangeEnd?: Uint8Array; resume?: Uint8Array }
  return { value: f.value && toWire(f.value), pairs: f.pairs?.map(([k, v]) => [toWire(k), toWire(v)]), rangeEnd: f.rangeEnd && toWire(f.rangeEnd), resume: f.resume && toWire(f.resume) }
}

function jsonResponseFrom(w: Body): KvResponse {
  const bytes = (v: unknown) => (typeof v === 'string' ? fromWire(v) : undefined)
  return { value: bytes(w.value), pairs: (w.pairs as Array<[string, string]> | undefined)?.map(([k, v]) => [fromWire(k), fromWire(v)]), rangeEnd: bytes(w.rangeEnd), resume: bytes(w.resume) } as KvResponse
}

function jsonRound(c: Case): number {
  const req = Buffer.from(JSON.stringify([{ id: 1, op: c.request.op, body: jsonRequestBody(c.request) }]))
  const arrived = decodeJsonBody(req) as Array<{ id: number; op: string; body: Body }>
  jsonRequestFrom(arrived[0]!.op, arrived[0]!.body)
  const res = Buffer.from(JSON.stringify([{ id: 1, body: jsonResponseBody(c.response) }]))
  const back = JSON.parse(res.toString('utf8')) as Array<{ id: number; body: Body }>
  jsonResponseFrom(back[0]!.body)
  return req.byteLength + res.byteLength
}

// ---- binary: what production uses (api/kv-wire.ts) ----

function binaryRound(c: Case): number {
  const req = encodeRequests([{ id: 1, request: c.request }])
  const arrived = decodeRequests(req)
  if (arrived instanceof KvError || arrived[0]!.error) throw new Error(`${c.name}: refused`)
  const res = encodeResponses([{ id: 1, response: c.response }])
  responseFromWire(c.request.op, decodeResponses(res)[0]!)
  return req.byteLength + res.byteLength
}

// ---- measure ----

/** µs per round and bytes per round of `round` on `c`, after a warm-up. */
function measure(round: (c: Case) => number, c: Case): { us: number; bytes: number } {
  for (let i = 0; i < Math.min(iterations, 2000); i++) round(c)
  let bytes = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) bytes = round(c)
  return { us: Number(process.hrtime.bigint() - start) / 1000 / iterations, bytes }
}

// Both rounds must carry the request unchanged.
for (const c of CASES) {
  const expected = JSON.stringify(jsonRequestBody(c.request))
  const viaJson = jsonRequestFrom(c.request.op, JSON.parse(JSON.stringify(jsonRequestBody(c.request))) as Body)
  const viaBinary = decodeRequests(encodeRequests([{ id: 1, request: c.request }]))
  if (viaBinary instanceof KvError || !viaBinary[0]!.request) throw new Error(`${c.name}: the binary encoding refused the request`)
  for (const [path, typed] of [['JSON', viaJson], ['binary', viaBinary[0]!.request]] as const) {
    if (JSON.stringify(jsonRequestBody(typed)) !== expected) throw new Error(`${c.name}: the ${path} encoding changed the request`)
  }
}

console.log(`KV request encoding: ${iterations} rounds per kind (client encode → server decode → answer encode → client decode)`)
console.log(`  ${'request'.padEnd(22)} ${'JSON µs'.padStart(9)} ${'binary µs'.padStart(10)} ${'×'.padStart(6)}   ${'JSON B'.padStart(7)} ${'binary B'.padStart(9)}`)
let jsonTotal = 0
let binaryTotal = 0
let jsonBytes = 0
let binaryBytes = 0
for (const c of CASES) {
  const j = measure(jsonRound, c)
  const b = measure(binaryRound, c)
  jsonTotal += j.us
  binaryTotal += b.us
  jsonBytes += j.bytes
  binaryBytes += b.bytes
  console.log(`  ${c.name.padEnd(22)} ${j.us.toFixed(2).padStart(9)} ${b.us.toFixed(2).padStart(10)} ${(j.us / b.us).toFixed(2).padStart(6)}   ${String(j.bytes).padStart(7)} ${String(b.bytes).padStart(9)}`)
}
const n = CASES.length
console.log(
  `  ${'mix (one of each)'.padEnd(22)} ${(jsonTotal / n).toFixed(2).padStart(9)} ${(binaryTotal / n).toFixed(2).padStart(10)} ${(jsonTotal / binaryTotal).toFixed(2).padStart(6)}   ${String(Math.round(jsonBytes / n)).padStart(7)} ${String(Math.round(binaryBytes / n)).padStart(9)}`,
)

// `pnpm bench:encoding`: what the remote path's encoding costs per request — the command
// stream's JSON bodies (bytes in base64, the structural check before JSON.parse) against a
// schema'd binary encoding (protobufjs over proto/kv.proto) — over a mix of a point get, a put
// of 100 bytes, a scan page of 100 rows and a prewrite of 10 mutations. Each sample is a whole
// round of codec work for one request: the client encodes it, the server decodes it into a
// typed request and encodes the typed answer, the client decodes that; both sides include the
// conversion to and from the typed values (api/requests.ts). Prints µs per request and bytes
// on the wire, each kind and the mix. Usage:
//   node packages/kv/dist/bench/encoding-bench.js [--iterations 20000]
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import protobuf from 'protobufjs'
import { decodeJsonBody } from '../api/json-body.js'
import type { CommandRequest, CommandResponse } from '../api/protocol.js'
import type { KvRequest, KvResponse } from '../api/requests.js'
import type { TxnMutation } from '../api/types.js'
import { decodeRequestFromBody, decodeResponseBody, encodeRequestBody, encodeResponseBody } from '../api/wire-codec.js'

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

// ---- JSON: the command stream as it is ----

function jsonRound(c: Case): number {
  const req = Buffer.from(JSON.stringify([{ id: 1, op: c.request.op, body: encodeRequestBody(c.request) }] satisfies CommandRequest[]))
  const arrived = decodeJsonBody(req) as CommandRequest[]
  decodeRequestFromBody(arrived[0]!.op, arrived[0]!.body)
  const res = Buffer.from(JSON.stringify([{ id: 1, body: encodeResponseBody(c.request.op, c.response) }] satisfies CommandResponse[]))
  const back = JSON.parse(res.toString('utf8')) as CommandResponse[]
  decodeResponseBody(c.request.op, back[0]!.body)
  return req.byteLength + res.byteLength
}

// ---- binary: protobufjs over proto/kv.proto ----

const root = protobuf.loadSync(fileURLToPath(new URL('../../proto/kv.proto', import.meta.url)))
const Requests = root.lookupType('mrdb.kv.Requests')
const Responses = root.lookupType('mrdb.kv.Responses')
const KINDS = ['put', 'delete', 'lock'] as const
type Long = protobuf.Long

/** protobufjs's Long class (the `long` package), which its typings give only as a constructor. */
const LongClass = protobuf.util.Long as unknown as { fromBits(low: number, high: number, unsigned: boolean): Long }
const toLong = (t: bigint): Long => LongClass.fromBits(Number(t & 0xffff_ffffn), Number(t >> 32n), true)
const fromLong = (l: Long | number): bigint => (typeof l === 'number' ? BigInt(l) : (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0))

/** A typed request as the schema's message object. */
function requestMessage(id: number, r: KvRequest): object {
  const base = { id, rangeId: 'rangeId' in r ? r.rangeId : 0, generation: 'generation' in r ? r.generation : undefined }
  switch (r.op) {
    case 'get':
      return { ...base, get: { key: r.key, ts: r.ts === undefined ? undefined : toLong(r.ts) } }
    case 'put':
      return { ...base, put: { key: r.key, value: r.value } }
    case 'scan':
      return { ...base, scan: { start: r.start, end: r.end, limit: r.limit, ts: r.ts === undefined ? undefined : toLong(r.ts) } }
    case 'prewrite':
      return {
        ...base,
        prewrite: { startTs: toLong(r.startTs), primary: r.primary, ttlMs: r.ttlMs, mutations: r.mutations.map((m) => ({ key: m.key, kind: KINDS.indexOf(m.kind), value: m.value, assertAbsent: m.assertAbsent })) },
      }
    default:
      throw new Error(`${r.op} is not in the benchmark's schema`)
  }
}

interface MessageFields {
  [field: string]: unknown
}

/** A decoded request message back as a typed request. */
function requestFromMessage(m: MessageFields): KvRequest {
  const at = { rangeId: Number(m.rangeId), generation: m.generation == null ? undefined : Number(m.generation) }
  const get = m.get as MessageFields | undefined
  if (get) return { op: 'get', ...at, key: get.key as Uint8Array, ts: get.ts == null ? undefined : fromLong(get.ts as Long) }
  const put = m.put as MessageFields | undefined
  if (put) return { op: 'put', ...at, key: put.key as Uint8Array, value: put.value as Uint8Array }
  const scan = m.scan as MessageFields | undefined
  if (scan) return { op: 'scan', ...at, start: scan.start as Uint8Array, end: scan.end as Uint8Array, limit: scan.limit as number | undefined, ts: scan.ts == null ? undefined : fromLong(scan.ts as Long) }
  const p = m.prewrite as MessageFields
  return {
    op: 'prewrite',
    ...at,
    startTs: fromLong(p.startTs as Long),
    primary: p.primary as Uint8Array,
    ttlMs: p.ttlMs as number,
    mutations: (p.mutations as MessageFields[]).map((x) => ({ key: x.key as Uint8Array, kind: KINDS[x.kind as number]!, value: (x.value as Uint8Array | null) ?? undefined, assertAbsent: x.assertAbsent === true })),
  }
}

function responseMessage(id: number, r: KvResponse): object {
  const f = r as { value?: Uint8Array; pairs?: Array<[Uint8Array, Uint8Array]>; rangeEnd?: Uint8Array; resume?: Uint8Array }
  return { id, value: f.value, pairs: f.pairs?.map(([k, v]) => ({ key: k, value: v })), rangeEnd: f.rangeEnd, resume: f.resume }
}

function responseFromMessage(m: MessageFields): KvResponse {
  const pairs = m.pairs as MessageFields[]
  return {
    value: (m.value as Uint8Array | null) ?? undefined,
    pairs: pairs.length === 0 ? undefined : pairs.map((p) => [p.key as Uint8Array, p.value as Uint8Array]),
    rangeEnd: (m.rangeEnd as Uint8Array | null) ?? undefined,
    resume: (m.resume as Uint8Array | null) ?? undefined,
  }
}

function binaryRound(c: Case): number {
  const req = Requests.encode({ requests: [requestMessage(1, c.request)] }).finish()
  const arrived = Requests.decode(req) as unknown as { requests: MessageFields[] }
  requestFromMessage(arrived.requests[0]!)
  const res = Responses.encode({ responses: [responseMessage(1, c.response)] }).finish()
  const back = Responses.decode(res) as unknown as { responses: MessageFields[] }
  responseFromMessage(back.responses[0]!)
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

// The binary round must carry what the JSON one does.
for (const c of CASES) {
  const req = Requests.decode(Requests.encode({ requests: [requestMessage(1, c.request)] }).finish()) as unknown as { requests: MessageFields[] }
  const typed = requestFromMessage(req.requests[0]!)
  if (JSON.stringify(encodeRequestBody(typed)) !== JSON.stringify(encodeRequestBody(c.request))) throw new Error(`${c.name}: the binary encoding changed the request`)
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

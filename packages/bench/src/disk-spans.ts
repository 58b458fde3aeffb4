// Where a node's disk bytes are, by span of its keyspace: a copy of the data directory (so a
// running node is not disturbed) is opened and every key scanned; each span shows its live
// key and value bytes (before LevelDB's compression) and what LevelDB's table files hold for
// it (approximateSize: live data, plus deleted and overwritten data no compaction dropped
// yet). The Raft log spans of groups cut to nothing show up too, through their metadata.
// Usage: node packages/bench/dist/disk-spans.js DATA_DIR…

import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { open, prefixEnd } from '@mrdb/storage'

/** One span's bytes. */
export interface SpanBytes {
  /** What the span holds: `raft log g7`, `mvcc history`, … */
  label: string
  /** Live keys. */
  keys: number
  /** Live key plus value bytes, uncompressed. */
  liveBytes: number
  /** Bytes of LevelDB's table files in the span (LevelDB's own estimate). */
  tableBytes: number
}

/** Copies of a live directory retried when a file vanished mid-copy (a compaction deleted it). */
const COPY_ATTEMPTS = 5

/** The span a key falls in: its label and bounds (`[gte, lt)`, copies: the engine's keys may share one buffer). */
function spanOf(key: Uint8Array): { label: string; gte: Uint8Array; lt: Uint8Array } {
  const head = key[0]
  if (head === 0x01 && (key[1] === 0x00 || key[1] === 0x01) && key.length >= 10) {
    // Range-local Raft state: 01 00|01 <group u64> …
    const group = new DataView(key.buffer, key.byteOffset + 2, 8)
    const id = group.getUint32(0) * 0x1_0000_0000 + group.getUint32(4)
    const gte = new Uint8Array(key.subarray(0, 10))
    return { label: `raft ${key[1] === 0x00 ? 'meta' : 'log'} g${id}`, gte, lt: prefixEnd(gte)! }
  }
  const named = NAMED_SPANS.find((s) => s.prefix.length === 2 && s.prefix[0] === head && s.prefix[1] === key[1]) ?? NAMED_SPANS.find((s) => s.prefix.length === 1 && s.prefix[0] === head)
  if (named !== undefined) return { label: named.label, gte: named.prefix, lt: prefixEnd(named.prefix)! }
  const one = new Uint8Array(key.subarray(0, 1))
  return { label: `other ${Buffer.from(one).toString('hex')}`, gte: one, lt: prefixEnd(one) ?? Uint8Array.of(0xff, 0xff) }
}

/** Spans measured whether or not they hold a live key (GC may have emptied them, leaving only deleted entries in the tables). */
const NAMED_SPANS = [
  { label: 'replica state', prefix: Uint8Array.of(0x01, 0x02) },
  { label: 'node meta', prefix: Uint8Array.of(0x01, 0x03) },
  { label: 'mvcc latest', prefix: Uint8Array.of(0x02, 0x6d) },
  { label: 'mvcc history', prefix: Uint8Array.of(0x02, 0x68) },
  { label: 'mvcc rollback', prefix: Uint8Array.of(0x02, 0x72) },
  { label: 'placement driver', prefix: Uint8Array.of(0x03) },
]

/** The bytes of every span of the LevelDB directory `dataDir` (a node's data directory), then of all its keys. */
export async function spanBytes(dataDir: string): Promise<SpanBytes[]> {
  const copy = await mkdtemp(join(tmpdir(), 'mrdb-spans-'))
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await cp(dataDir, copy, { recursive: true, filter: (src) => !src.startsWith(join(dataDir, 'logs')) && !src.startsWith(join(dataDir, 'sql-spill')) })
        break
      } catch (err) {
        if (attempt >= COPY_ATTEMPTS || (err as { code?: string }).code !== 'ENOENT') throw err
        await rm(copy, { recursive: true, force: true })
      }
    }
    const engine = await open(copy)
    try {
      const spans = new Map<string, SpanBytes & { gte: Uint8Array; lt: Uint8Array }>()
      const add = (label: string, gte: Uint8Array, lt: Uint8Array) => {
        let s = spans.get(label)
        if (s === undefined) spans.set(label, (s = { label, keys: 0, liveBytes: 0, tableBytes: 0, gte, lt }))
        return s
      }
      for (const { label, prefix } of NAMED_SPANS) add(label, prefix, prefixEnd(prefix)!)
      for await (const [key, value] of engine.scan()) {
        const { label, gte, lt } = spanOf(key)
        const s = add(label, gte, lt)
        s.keys++
        s.liveBytes += key.length + value.length
        // A group's metadata names its log span, which may hold no live entry (cut to nothing).
        if (label.startsWith('raft meta ')) {
          const logStart = Uint8Array.of(0x01, 0x01, ...gte.subarray(2))
          add(label.replace('meta', 'log'), logStart, prefixEnd(logStart)!)
        }
      }
      for (const s of spans.values()) s.tableBytes = await engine.approximateSize(s.gte, s.lt)
      const all = { label: 'all keys', keys: 0, liveBytes: 0, tableBytes: await engine.approximateSize(Uint8Array.of(0x00), Uint8Array.of(0xff, 0xff)) }
      for (const s of spans.values()) {
        all.keys += s.keys
        all.liveBytes += s.liveBytes
      }
      return [...[...spans.values()].map(({ label, keys, liveBytes, tableBytes }) => ({ label, keys, liveBytes, tableBytes })), all]
    } finally {
      await engine.close()
    }
  } finally {
    await rm(copy, { recursive: true, force: true })
  }
}

/**
 * Lines for the spans holding at least `minBytes` (live or in tables), largest first, then one
 * line summing the others (the last span, all keys, stays last).
 */
export function formatSpans(all: readonly SpanBytes[], minBytes = 64 * 1024): string[] {
  const spans = all.slice(0, -1)
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`.padStart(10)
  const big = spans.filter((s) => Math.max(s.liveBytes, s.tableBytes) >= minBytes).sort((a, b) => b.tableBytes - a.tableBytes)
  const rest = spans.filter((s) => !big.includes(s))
  const line = (label: string, keys: number, live: number, table: number) => `${label.padEnd(22)} ${String(keys).padStart(8)} keys, live ${kib(live)}, in tables ${kib(table)}`
  const sum = (f: (s: SpanBytes) => number) => rest.reduce((n, s) => n + f(s), 0)
  const total = all.at(-1)!
  return [
    ...big.map((s) => line(s.label, s.keys, s.liveBytes, s.tableBytes)),
    line(`${rest.length} other spans`, sum((s) => s.keys), sum((s) => s.liveBytes), sum((s) => s.tableBytes)),
    line(total.label, total.keys, total.liveBytes, total.tableBytes),
  ]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const dir of process.argv.slice(2)) {
    console.log(dir)
    for (const l of formatSpans(await spanBytes(dir))) console.log(`  ${l}`)
  }
}

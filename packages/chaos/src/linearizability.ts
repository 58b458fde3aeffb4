// A linearizability checker for registers: the Wing–Gong search with Lowe's memoisation
// (the algorithm of Knossos and Porcupine), run on each key's history separately since
// registers are independent. The history becomes a list of call and return entries in
// time order; the search repeatedly picks an operation whose call comes before every
// pending return, applies it to the register if the register allows it, and backtracks
// when a return is reached whose operation is not yet placed. A (placed set, value) pair
// already explored is not explored again.
//
// Outcomes: `fail` operations had no effect and are left out; reads that did not answer are
// left out too (they observed nothing), and so is a compare-and-swap that did not swap
// without saying what it found. A write or compare-and-swap with an `unknown` outcome may
// take effect at any time after its call, or never: it gets no return entry, and the search
// succeeds once every operation that answered is placed. An unknown one whose value nobody
// observed (no answer, and no compare-and-swap kept, depended on it) is left out as well:
// if a linearization places it, the same order without it is one too, and each unknown
// operation kept can double the search.
//
// The memo keys on a 64-bit Zobrist hash of the placed set (two random 32-bit words per
// operation, XORed in and out), so a step costs O(1) rather than O(operations).

import { describeRegisterOp, type RegisterOp, type RegisterValue } from './history.js'

/** The verdict on one key's history. */
export interface LinearizabilityResult {
  key: string
  /** Operations checked (after leaving out those that cannot matter). */
  operations: number
  /** `true`: a linearization exists; `false`: none does; `undefined`: the search ran out of steps. */
  linearizable: boolean | undefined
  /** When not linearizable: the operation no order could place, and what was placed before it. */
  explanation?: string[]
}

/** Options of {@link checkRegister}. */
export interface CheckOptions {
  /** The register's value before the first operation; default null (absent). */
  initial?: RegisterValue
  /** Search steps before giving up (the verdict is then `undefined`); default 20 million. */
  maxSteps?: number
}

interface Entry {
  op: number
  isCall: boolean
  timeMs: number
  /** The matching return of a call (undefined for an operation that never answered). */
  match: Entry | undefined
  prev: Entry | undefined
  next: Entry | undefined
}

/** Checks that `ops` (all on one key) are linearizable as a read/write/compare-and-swap register. */
export function checkRegister(key: string, ops: readonly RegisterOp[], options: CheckOptions = {}): LinearizabilityResult {
  const kept = relevant(ops.filter((o) => o.key === key))
  const head = buildEntries(kept)
  const zobrist = zobristWords(kept.length)
  let hashLow = 0
  let hashHigh = 0
  const seen = new Set<string>()
  const stack: Array<{ entry: Entry; value: RegisterValue }> = []
  let value: RegisterValue = options.initial ?? null
  const maxSteps = options.maxSteps ?? 20_000_000
  let deepest: { depth: number; blocked: number; placed: number[]; value: RegisterValue } | undefined
  let entry = head.next
  for (let steps = 0; entry !== undefined; steps++) {
    if (steps > maxSteps) return { key, operations: kept.length, linearizable: undefined }
    if (entry.isCall) {
      const next = step(kept[entry.op]!, value)
      if (next !== undefined) {
        const low = hashLow ^ zobrist[2 * entry.op]!
        const high = hashHigh ^ zobrist[2 * entry.op + 1]!
        const memo = `${low},${high},${next ?? '\u0000'}`
        if (!seen.has(memo)) {
          seen.add(memo)
          stack.push({ entry, value })
          hashLow = low
          hashHigh = high
          value = next
          lift(entry)
          entry = head.next
          continue
        }
      }
      entry = entry.next
      continue
    }
    // A return whose operation could not be placed before it: backtrack.
    if (deepest === undefined || stack.length > deepest.depth) {
      deepest = { depth: stack.length, blocked: entry.op, placed: stack.map((s) => s.entry.op), value }
    }
    const top = stack.pop()
    if (top === undefined) return { key, operations: kept.length, linearizable: false, explanation: explain(kept, deepest!) }
    hashLow ^= zobrist[2 * top.entry.op]!
    hashHigh ^= zobrist[2 * top.entry.op + 1]!
    value = top.value
    unlift(top.entry)
    entry = top.entry.next
  }
  return { key, operations: kept.length, linearizable: true }
}

/** Checks every key's history; see {@link checkRegister}. */
export function checkRegisters(ops: readonly RegisterOp[], options: CheckOptions = {}): LinearizabilityResult[] {
  const keys = [...new Set(ops.map((o) => o.key))].sort()
  return keys.map((key) => checkRegister(key, ops, options))
}

/** The operations of one key that can matter to the verdict; see the file comment. */
function relevant(ops: readonly RegisterOp[]): RegisterOp[] {
  const informative = ops.filter((o) => o.outcome === 'ok' && !(o.kind === 'cas' && o.swapped === false && o.observed === undefined))
  const observed = new Set<RegisterValue>()
  for (const o of informative) {
    if (o.kind === 'read') observed.add(o.value)
    else if (o.kind === 'cas') observed.add(o.swapped ? o.expected! : o.observed!)
  }
  // An unknown compare-and-swap kept needs the value it expects: whatever wrote that is kept too.
  const unknown = ops.filter((o) => o.outcome === 'unknown' && o.kind !== 'read')
  const kept = new Set<RegisterOp>()
  for (let grew = true; grew; ) {
    grew = false
    for (const o of unknown) {
      if (kept.has(o) || !observed.has(o.value)) continue
      kept.add(o)
      if (o.kind === 'cas') observed.add(o.expected!)
      grew = true
    }
  }
  return [...informative, ...kept]
}

/** Two random 32-bit words per operation, for the Zobrist hash of a placed set. */
function zobristWords(n: number): Uint32Array {
  const words = new Uint32Array(2 * n)
  let s = 0x9e3779b9
  for (let i = 0; i < words.length; i++) {
    // xorshift32: fixed seed, so a verdict never depends on the run.
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    words[i] = s >>> 0
  }
  return words
}

/** The register's value after `op` when `op` may run on `value`; undefined when it may not. */
function step(op: RegisterOp, value: RegisterValue): RegisterValue | undefined {
  switch (op.kind) {
    case 'read':
      return op.value === value ? value : undefined
    case 'write':
      return op.value
    case 'cas':
      if (op.outcome === 'ok' && op.swapped === false) return op.observed === value && op.expected !== value ? value : undefined
      return op.expected === value ? op.value : undefined
  }
}

/**
 * The history as a doubly linked list of entries after a sentinel head, in time order. At
 * equal times calls come first, so operations that touch in time count as concurrent (the
 * lenient reading: it never invents an anomaly).
 */
function buildEntries(ops: readonly RegisterOp[]): Entry {
  const entries: Entry[] = []
  ops.forEach((op, i) => {
    const call: Entry = { op: i, isCall: true, timeMs: op.invokeMs, match: undefined, prev: undefined, next: undefined }
    entries.push(call)
    if (op.outcome === 'ok') {
      const ret: Entry = { op: i, isCall: false, timeMs: op.completeMs, match: undefined, prev: undefined, next: undefined }
      call.match = ret
      entries.push(ret)
    }
  })
  entries.sort((a, b) => a.timeMs - b.timeMs || Number(b.isCall) - Number(a.isCall))
  const head: Entry = { op: -1, isCall: false, timeMs: -Infinity, match: undefined, prev: undefined, next: undefined }
  let last = head
  for (const e of entries) {
    last.next = e
    e.prev = last
    last = e
  }
  return head
}

/** Takes a call and its return out of the list. */
function lift(call: Entry): void {
  call.prev!.next = call.next
  if (call.next) call.next.prev = call.prev
  const ret = call.match
  if (ret) {
    ret.prev!.next = ret.next
    if (ret.next) ret.next.prev = ret.prev
  }
}

/** Puts a lifted call and its return back (in the reverse order of {@link lift}). */
function unlift(call: Entry): void {
  const ret = call.match
  if (ret) {
    ret.prev!.next = ret
    if (ret.next) ret.next.prev = ret
  }
  call.prev!.next = call
  if (call.next) call.next.prev = call
}

function explain(ops: readonly RegisterOp[], deepest: { blocked: number; placed: number[]; value: RegisterValue }): string[] {
  const lastPlaced = deepest.placed.slice(-8).map((i) => `  ${describeRegisterOp(ops[i]!)}`)
  return [
    `no order places: ${describeRegisterOp(ops[deepest.blocked]!)}`,
    `the register then holds ${deepest.value ?? 'nil'}, after ${deepest.placed.length} placed operations, the last of them:`,
    ...lastPlaced,
  ]
}

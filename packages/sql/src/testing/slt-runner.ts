// A sqllogictest runner for mrdb's own files and for the SQLite project's corpus.
//
// Records: `statement ok`, `statement error [pattern]`, `query <types> [nosort|rowsort|
// valuesort] [label]` with `----` and the expected values one per line, `query error
// [pattern]`, `hash-threshold N`, `halt`. `skipif <engine>` / `onlyif <engine>` before a
// record skip it on (or run it only on) the named engine; mrdb answers to `memory` (the
// in-memory test database, whose range layout is fixed) or `cluster` (a real cluster), and to
// `postgresql` on both, since its dialect is PostgreSQL's: the corpus's `onlyif sqlite|mysql|
// mssql|oracle` records are skipped, its `skipif postgresql` ones too.
//
// Results follow the original sqllogictest (sqlite.org/sqllogictest, src/sqllogictest.c):
// values as printf("%d") for I, printf("%.3f") for R, NULL as "NULL", '' as "(empty)",
// control characters in text as "@"; rowsort sorts rows by comparing their values column by
// column as byte strings, valuesort sorts all values alike; once a result has more values
// than the hash threshold (0 = never), it is written as "N values hashing to <md5>", the MD5
// of every value followed by "\n". A query with a label must hash like earlier queries with
// the same label. It drives any session, so it runs against either engine.

import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { formatTyped, isTypedValue, typedBaseOf } from '../types/typed.js'
import { isArrayValue } from '../types/array.js'
import { castText } from '../cast.js'
import type { SqlResult } from '../engine.js'
import type { SqlValue } from '../values.js'

/** The directory of mrdb's own sqllogictest files. */
export const SLT_DIR = fileURLToPath(new URL('../../testdata/', import.meta.url))

/** What the runner needs from a SQL connection. */
export interface SltSession {
  execute(sql: string): Promise<SqlResult>
  close(): Promise<void>
}

/** One failed record. */
export interface SltFailure {
  readonly line: number
  readonly sql: string
  readonly message: string
}

/** The outcome of one file. */
export interface SltFileResult {
  readonly file: string
  readonly passed: number
  readonly failed: number
  readonly skipped: number
  /** Records left unrun because the time limit ran out (0 when the file ran to its end). */
  readonly notRun: number
  readonly failures: readonly SltFailure[]
}

/** How {@link runSlt} runs a file. */
export interface SltOptions {
  /** The engine name `skipif`/`onlyif` test besides `postgresql` (default `memory`). */
  readonly engine?: string
  /** Stop starting records after this many milliseconds; the rest count as not run. */
  readonly timeLimitMs?: number
  /**
   * The hash threshold before any `hash-threshold` record: 0 (never hash) for mrdb's files,
   * 8 for the SQLite corpus, whose files were written by a sqllogictest with that default.
   */
  readonly hashThreshold?: number
  /**
   * Resume a file after a crash: before this line only statements run, silently, to rebuild
   * the database; the record at this line (the one that crashed) is left out; counting and
   * events start after it.
   */
  readonly resumeAtLine?: number
  /** Told of each record as it starts and ends (a progress feed for long corpus files). */
  readonly onEvent?: (event: SltEvent) => void
}

/** What {@link SltOptions.onEvent} hears: the record count, then each record's start and end. */
export type SltEvent =
  | { readonly kind: 'begin'; readonly records: number }
  | { readonly kind: 'start'; readonly line: number; readonly sql: string }
  | { readonly kind: 'passed' | 'skipped'; readonly line: number }
  | { readonly kind: 'failed'; readonly failure: SltFailure }

type SortMode = 'nosort' | 'rowsort' | 'valuesort'

interface SltRecord {
  readonly line: number
  readonly kind: 'statement-ok' | 'statement-error' | 'query' | 'halt' | 'skip'
  readonly sql: string
  readonly pattern: string
  readonly types: string
  readonly sort: SortMode
  readonly label: string
  /** The hash threshold in force at this record (0: never hash). */
  readonly hashThreshold: number
  readonly expected: readonly string[]
}

const SORT_MODES: readonly string[] = ['nosort', 'rowsort', 'valuesort']

/** Parses sqllogictest text into records; `engines` are the names this run answers to. */
function parseSlt(text: string, engines: ReadonlySet<string>, initialHashThreshold: number): SltRecord[] {
  const lines = text.split(/\r?\n/)
  const records: SltRecord[] = []
  let i = 0
  let skipNext = false
  let hashThreshold = initialHashThreshold
  const plain = { pattern: '', types: '', sort: 'nosort', label: '' } as const
  while (i < lines.length) {
    const header = lines[i]!.trim()
    const line = i + 1
    i++
    if (header === '' || header.startsWith('#')) continue
    const words = header.split(/\s+/)
    if (words[0] === 'skipif' || words[0] === 'onlyif') {
      skipNext ||= (words[0] === 'skipif') === engines.has((words[1] ?? '').toLowerCase())
      continue
    }
    // skipif/onlyif govern control records too: "onlyif mssql" + "halt" ends the file there only.
    if (words[0] === 'halt' || words[0] === 'hash-threshold') {
      if (skipNext) skipNext = false
      else if (words[0] === 'halt') records.push({ line, kind: 'halt', sql: '', ...plain, hashThreshold, expected: [] })
      else hashThreshold = Number.parseInt(words[1] ?? '0', 10) || 0
      continue
    }
    const sqlLines: string[] = []
    while (i < lines.length && lines[i]!.trim() !== '' && lines[i]!.trim() !== '----') sqlLines.push(lines[i++]!)
    const expected: string[] = []
    if (i < lines.length && lines[i]!.trim() === '----') {
      i++
      while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!.trimEnd())
    }
    const sql = sqlLines.join('\n')
    const base = { line, sql, hashThreshold, expected }
    let record: SltRecord
    if (words[0] === 'statement' && words[1] === 'ok') record = { ...base, kind: 'statement-ok', ...plain }
    else if (words[0] === 'statement' && words[1] === 'error') record = { ...base, kind: 'statement-error', ...plain, pattern: words.slice(2).join(' ') }
    else if (words[0] === 'query' && words[1] === 'error') record = { ...base, kind: 'statement-error', ...plain, pattern: words.slice(2).join(' ') }
    else if (words[0] === 'query') {
      const sort = (SORT_MODES.includes(words[2] ?? '') ? words[2] : 'nosort') as SortMode
      record = { ...base, kind: 'query', pattern: '', types: words[1] ?? '', sort, label: words[3] ?? '' }
    } else throw new Error(`line ${line}: unknown record "${header}"`)
    if (skipNext) {
      record = { ...record, kind: 'skip' }
      skipNext = false
    }
    records.push(record)
  }
  return records
}

/**
 * Formats a value the way expected results are written: I as an integer (reals truncated,
 * booleans 1 or 0), R with 3 decimals, NULL as "NULL", '' as "(empty)", control characters
 * in text as "@".
 */
export function formatValue(v: SqlValue, type: string): string {
  if (v === null) return 'NULL'
  const numeric = isTypedValue(v) && typedBaseOf(v) === 'numeric'
  if (type === 'R' && (typeof v === 'number' || typeof v === 'bigint' || numeric)) return printfFixed3(Number(numeric ? formatTyped(v) : v))
  if (type === 'I' && typeof v === 'number') return Number.isFinite(v) ? String(Math.trunc(v)) : String(v)
  if (type === 'I' && numeric) return formatTyped(v).replace(/\..*$/, '')
  if (type === 'I' && typeof v === 'boolean') return v ? '1' : '0'
  // A text value under I or R is read as the original harness reads it (sqlite3_column_int,
  // sqlite3_column_double): its leading number, or 0. The corpus has such type strings.
  if (type === 'I' && typeof v === 'string') return String(Math.trunc(leadingNumber(v)))
  if (type === 'R' && typeof v === 'string') return printfFixed3(leadingNumber(v))
  if (v === '') return '(empty)'
  // Control characters only: the corpus is ASCII, and mrdb's files print non-ASCII text as is.
  if (typeof v === 'string') return v.replace(/[\x00-\x1f\x7f]/g, '@')
  if (isTypedValue(v)) return formatTyped(v)
  if (isArrayValue(v)) return castText(v)
  return String(v)
}

/** The number at the start of `text` (after blanks), or 0: "12abc" is 12, "abc" is 0. */
function leadingNumber(text: string): number {
  const m = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text)
  return m === null ? 0 : Number(m[0])
}

/**
 * printf("%.3f", x) as C libraries print it. toFixed rounds a value exactly halfway between
 * two outputs away from zero, C to even; such halfway doubles are the odd multiples of 1/16.
 */
export function printfFixed3(x: number): string {
  const fixed = x.toFixed(3)
  const m = Math.abs(x) * 16
  if (!(Math.abs(x) < 2 ** 40) || !Number.isInteger(m) || m % 2 === 0) return fixed
  // |x| * 1000 is n + 0.5 exactly: round n + 0.5 to the even neighbour.
  const n = Math.floor(Math.abs(x) * 1000)
  const even = n % 2 === 0 ? n : n + 1
  return (x < 0 ? '-' : '') + (even / 1000).toFixed(3)
}

/** Runs one file's text on a fresh session from `open`; a string option is the engine name. */
export async function runSlt(file: string, text: string, open: () => Promise<SltSession> | SltSession, options: string | SltOptions = {}): Promise<SltFileResult> {
  const opts: SltOptions = typeof options === 'string' ? { engine: options } : options
  const engines = new Set([(opts.engine ?? 'memory').toLowerCase(), 'postgresql'])
  const deadline = opts.timeLimitMs === undefined ? Infinity : Date.now() + opts.timeLimitMs
  const labels = new Map<string, string>()
  const session = await open()
  let passed = 0
  let skipped = 0
  let notRun = 0
  const failures: SltFailure[] = []
  try {
    const all = parseSlt(text, engines, opts.hashThreshold ?? 0)
    const halt = all.findIndex((r) => r.kind === 'halt')
    const records = halt < 0 ? all : all.slice(0, halt)
    const tell = opts.onEvent ?? (() => {})
    tell({ kind: 'begin', records: records.filter((r) => r.line > (opts.resumeAtLine ?? 0)).length })
    for (let k = 0; k < records.length; k++) {
      const r = records[k]!
      if (opts.resumeAtLine !== undefined && r.line <= opts.resumeAtLine) {
        if (r.line < opts.resumeAtLine && (r.kind === 'statement-ok' || r.kind === 'statement-error')) await session.execute(r.sql).catch(() => undefined)
        continue
      }
      if (Date.now() > deadline) {
        notRun = records.slice(k).filter((x) => x.kind !== 'skip').length
        skipped += records.length - k - notRun
        break
      }
      if (r.kind === 'skip') {
        skipped++
        tell({ kind: 'skipped', line: r.line })
        continue
      }
      tell({ kind: 'start', line: r.line, sql: r.sql })
      const problem = await runRecord(session, r, labels)
      if (problem === null) {
        passed++
        tell({ kind: 'passed', line: r.line })
      } else {
        const failure = { line: r.line, sql: r.sql, message: problem }
        failures.push(failure)
        tell({ kind: 'failed', failure })
      }
    }
  } finally {
    await session.close()
  }
  return { file, passed, failed: failures.length, skipped, notRun, failures }
}

const HASHED = /^(\d+) values hashing to ([0-9a-f]{32})$/

async function runRecord(session: SltSession, r: SltRecord, labels: Map<string, string>): Promise<string | null> {
  let result: SqlResult
  try {
    result = await session.execute(r.sql)
  } catch (e) {
    const err = e as { code?: string; message?: string }
    if (r.kind !== 'statement-error') return `unexpected error ${err.code ?? ''}: ${err.message ?? String(e)}`
    if (r.pattern === '' || err.code === r.pattern || (err.message ?? '').includes(r.pattern) || safeRegex(r.pattern)?.test(err.message ?? '')) return null
    return `error ${err.code}: ${err.message} does not match "${r.pattern}"`
  }
  if (r.kind === 'statement-error') return `expected an error matching "${r.pattern}", but the statement succeeded`
  if (r.kind === 'statement-ok') return null
  const types = r.types
  if (types.length !== result.columns.length) return `expected ${types.length} columns (${types}), got ${result.columns.length}`
  const rows = result.rows.map((row) => row.map((v, i) => formatValue(v, types[i] ?? 'T')))
  if (r.sort === 'rowsort') rows.sort(compareRows)
  const values = rows.flat()
  if (r.sort === 'valuesort') values.sort(compareStrings)
  const hashed = r.label !== '' || (r.hashThreshold > 0 && values.length > r.hashThreshold) ? hashValues(values) : ''
  if (r.label !== '') {
    const earlier = labels.get(r.label)
    if (earlier === undefined) labels.set(r.label, hashed)
    else if (earlier !== hashed) return `result differs from the earlier query labelled ${r.label}: ${hashed} vs ${earlier}`
  }
  if (r.hashThreshold > 0 && values.length > r.hashThreshold) {
    if (r.expected.length === 1 && r.expected[0] === hashed) return null
    const exp = r.expected.length === 1 ? HASHED.exec(r.expected[0]!) : null
    return `result differs\n- ${r.expected.length === 1 ? r.expected[0] : `${r.expected.length} values`}\n+ ${hashed}${exp !== null && Number(exp[1]) === values.length ? ' (same count)' : ''}\n${preview(values)}`
  }
  if (values.length === r.expected.length && values.every((v, i) => v === r.expected[i])) return null
  return `result differs\n${diff(r.expected, values)}`
}

/** "N values hashing to <md5>": the MD5 of every value followed by a newline. */
export function hashValues(values: readonly string[]): string {
  const md5 = createHash('md5')
  for (const v of values) md5.update(v + '\n')
  return `${values.length} values hashing to ${md5.digest('hex')}`
}

/** strcmp on the UTF-8 bytes (ASCII text compares the same as UTF-16 code units). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareRows(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareStrings(a[i]!, b[i] ?? '')
    if (c !== 0) return c
  }
  return 0
}

function preview(values: readonly string[]): string {
  const head = values.slice(0, 12).join(' ')
  return `  got: ${head}${values.length > 12 ? ' …' : ''}`
}

function safeRegex(pattern: string): RegExp | null {
  try {
    return new RegExp(pattern)
  } catch {
    return null
  }
}

function diff(expected: readonly string[], actual: readonly string[]): string {
  const out: string[] = []
  const n = Math.max(expected.length, actual.length)
  for (let i = 0; i < n; i++) {
    const e = expected[i]
    const a = actual[i]
    if (e === a) out.push(`  ${e}`)
    else {
      if (e !== undefined) out.push(`- ${e}`)
      if (a !== undefined) out.push(`+ ${a}`)
    }
  }
  return out.join('\n')
}

/**
 * What kind of failure a message reports, for grouping many failures: `wrong result`, or the
 * SQLSTATE and the error message with names, strings and numbers blanked out.
 */
export function failureCause(message: string): string {
  if (message.startsWith('result differs')) return 'wrong result'
  const unexpected = /^unexpected error ([^:]*): (.*)$/s.exec(message)
  if (unexpected !== null) {
    const text = unexpected[2]!.split('\n')[0]!
      .replace(/"[^"]*"/g, '"…"')
      .replace(/'[^']*'/g, "'…'")
      .replace(/\b\d+(\.\d+)?\b/g, 'N')
    return `error ${unexpected[1] === '' ? '(no code)' : unexpected[1]}: ${text.slice(0, 90)}`
  }
  if (message.startsWith('expected an error')) return 'statement succeeded where an error was expected'
  if (/^expected \d+ columns/.test(message)) return 'wrong number of columns'
  return message.split('\n')[0]!.slice(0, 90)
}

/** A short report of results: per file, failures with line and diff, and the total. */
export function formatReport(results: readonly SltFileResult[]): string {
  const out: string[] = []
  let passed = 0
  let failed = 0
  for (const r of results) {
    passed += r.passed
    failed += r.failed
    out.push(`${r.file}: ${r.passed} passed, ${r.failed} failed${r.skipped > 0 ? `, ${r.skipped} skipped` : ''}${r.notRun > 0 ? `, ${r.notRun} not run (time limit)` : ''}`)
    for (const f of r.failures) out.push(`  line ${f.line}: ${f.sql.split('\n').join(' ')}\n    ${f.message.split('\n').join('\n    ')}`)
  }
  out.push(`total: ${passed} passed, ${failed} failed`)
  return out.join('\n')
}

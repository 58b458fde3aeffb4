// A sqllogictest runner: `statement ok`, `statement error [pattern]`, `query <types>
// [nosort|rowsort|valuesort] [label]` with `----` and expected values one per line, `halt`;
// `skipif <engine>` / `onlyif <engine>` before a record skip it on (or run it only on) the
// named engine: `memory` (the in-memory test database, whose range layout is fixed) or
// `cluster` (a real cluster). It drives any session, so it runs against either.

import { formatTyped, isTypedValue, typedBaseOf } from '../types/typed.js'
import { fileURLToPath } from 'node:url'
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
  readonly failures: readonly SltFailure[]
}

interface SltRecord {
  readonly line: number
  readonly kind: 'statement-ok' | 'statement-error' | 'query' | 'halt' | 'skip'
  readonly sql: string
  readonly pattern: string
  readonly types: string
  readonly sort: 'nosort' | 'rowsort' | 'valuesort'
  readonly expected: readonly string[]
}

/** Parses sqllogictest text into records. */
function parseSlt(text: string, engine: string): SltRecord[] {
  const lines = text.split(/\r?\n/)
  const records: SltRecord[] = []
  let i = 0
  let skipNext = false
  while (i < lines.length) {
    const header = lines[i]!.trim()
    const line = i + 1
    i++
    if (header === '' || header.startsWith('#')) continue
    const words = header.split(/\s+/)
    if (words[0] === 'halt') {
      records.push({ line, kind: 'halt', sql: '', pattern: '', types: '', sort: 'nosort', expected: [] })
      continue
    }
    if (words[0] === 'skipif' || words[0] === 'onlyif') {
      skipNext ||= (words[0] === 'skipif') === (words[1] === engine)
      continue
    }
    if (words[0] === 'hash-threshold') continue
    const sqlLines: string[] = []
    while (i < lines.length && lines[i]!.trim() !== '' && lines[i]!.trim() !== '----') sqlLines.push(lines[i++]!)
    const expected: string[] = []
    if (i < lines.length && lines[i]!.trim() === '----') {
      i++
      while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!.trimEnd())
    }
    const sql = sqlLines.join('\n')
    let record: SltRecord
    if (words[0] === 'statement' && words[1] === 'ok') record = { line, kind: 'statement-ok', sql, pattern: '', types: '', sort: 'nosort', expected }
    else if (words[0] === 'statement' && words[1] === 'error') record = { line, kind: 'statement-error', sql, pattern: words.slice(2).join(' '), types: '', sort: 'nosort', expected }
    else if (words[0] === 'query') {
      const sort = (['rowsort', 'valuesort', 'nosort'].includes(words[2] ?? '') ? words[2] : 'nosort') as SltRecord['sort']
      if (words[1] === 'error') record = { line, kind: 'statement-error', sql, pattern: words.slice(2).join(' '), types: '', sort, expected }
      else record = { line, kind: 'query', sql, pattern: '', types: words[1] ?? '', sort, expected }
    } else throw new Error(`line ${line}: unknown record "${header}"`)
    if (skipNext) {
      record = { ...record, kind: 'skip' }
      skipNext = false
    }
    records.push(record)
  }
  return records
}

/** Formats a value the way expected results are written (R with 3 decimals, NULL, (empty)). */
export function formatValue(v: SqlValue, type: string): string {
  if (v === null) return 'NULL'
  const numeric = isTypedValue(v) && typedBaseOf(v) === 'numeric'
  if (type === 'R' && (typeof v === 'number' || typeof v === 'bigint' || numeric)) return Number(numeric ? formatTyped(v) : v).toFixed(3)
  if (type === 'I' && typeof v === 'number') return String(Math.trunc(v))
  if (type === 'I' && numeric) return formatTyped(v).replace(/\..*$/, '')
  if (v === '') return '(empty)'
  if (isTypedValue(v)) return formatTyped(v)
  return String(v)
}

/** Runs one file's text on a fresh session from `open`, as engine `engine` (for skipif/onlyif). */
export async function runSlt(file: string, text: string, open: () => Promise<SltSession> | SltSession, engine = 'memory'): Promise<SltFileResult> {
  const session = await open()
  let passed = 0
  let skipped = 0
  const failures: SltFailure[] = []
  try {
    for (const r of parseSlt(text, engine)) {
      if (r.kind === 'halt') break
      if (r.kind === 'skip') {
        skipped++
        continue
      }
      const problem = await runRecord(session, r)
      if (problem === null) passed++
      else failures.push({ line: r.line, sql: r.sql, message: problem })
    }
  } finally {
    await session.close()
  }
  return { file, passed, failed: failures.length, skipped, failures }
}

async function runRecord(session: SltSession, r: SltRecord): Promise<string | null> {
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
  let rows = result.rows.map((row) => row.map((v, i) => formatValue(v, types[i] ?? 'T')))
  let values: string[]
  if (r.sort === 'rowsort') rows = rows.sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : a.join(' ') > b.join(' ') ? 1 : 0))
  values = rows.flat()
  if (r.sort === 'valuesort') values = values.sort()
  if (values.length === r.expected.length && values.every((v, i) => v === r.expected[i])) return null
  return `result differs\n${diff(r.expected, values)}`
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

/** A short report of results: per file, failures with line and diff, and the total. */
export function formatReport(results: readonly SltFileResult[]): string {
  const out: string[] = []
  let passed = 0
  let failed = 0
  for (const r of results) {
    passed += r.passed
    failed += r.failed
    out.push(`${r.file}: ${r.passed} passed, ${r.failed} failed${r.skipped > 0 ? `, ${r.skipped} skipped` : ''}`)
    for (const f of r.failures) out.push(`  line ${f.line}: ${f.sql.split('\n').join(' ')}\n    ${f.message.split('\n').join('\n    ')}`)
  }
  out.push(`total: ${passed} passed, ${failed} failed`)
  return out.join('\n')
}

// How `mrdb sql` prints a statement's result: an aligned table with a row count (the
// default), CSV (RFC 4180 quoting, a header line), or JSON (one object per statement).

import type { SqlClientResult } from '@mrdb/server'
import type { SqlValue } from '@mrdb/sql'

/** The output formats `mrdb sql --format` accepts. */
export const RESULT_FORMATS = ['table', 'csv', 'json'] as const
/** One of {@link RESULT_FORMATS}. */
export type ResultFormat = (typeof RESULT_FORMATS)[number]

/** The text printed for one result in `format`, ending in a newline. */
export function formatResult(r: SqlClientResult, format: ResultFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify({ command: r.command, columns: r.columns, rows: r.rows.map((row) => row.map(jsonValue)), rowsAffected: r.rowsAffected })}\n`
    case 'csv':
      if (r.columns.length === 0) return ''
      return [r.columns.map((c) => csvField(c.name)), ...r.rows.map((row) => row.map((v) => (v === null ? '' : csvField(text(v)))))].map((l) => `${l.join(',')}\n`).join('')
    case 'table':
      return r.columns.length === 0 ? `${r.command}${r.rowsAffected > 0 || /INSERT|UPDATE|DELETE/.test(r.command) ? ` ${r.rowsAffected}` : ''}\n` : table(r)
  }
}

function table(r: SqlClientResult): string {
  const header = r.columns.map((c) => c.name)
  const body = r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : text(v))))
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const numeric = r.columns.map((c) => /INT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC/i.test(c.type))
  const line = (cells: string[], alignNumbers: boolean) =>
    ` ${cells.map((cell, i) => (alignNumbers && numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')}`.trimEnd()
  const out = [line(header, false), `-${widths.map((w) => '-'.repeat(w)).join('-+-')}-`, ...body.map((row) => line(row, true))]
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`)
  return `${out.join('\n')}\n`
}

function text(v: Exclude<SqlValue, null>): string {
  return typeof v === 'string' ? v : String(v)
}

function jsonValue(v: SqlValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  return v
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

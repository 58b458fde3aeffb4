// COPY … TO STDOUT: which rows a COPY statement sends (a query's, or a table's columns), and
// each row in COPY's text format. COPY … FROM STDIN is not supported (0A000).

import type { SqlValue } from '@mrdb/sql'
import { PgWireError, PgWireState } from './errors.js'
import { textValue } from './types.js'

const NAME = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`
const QUALIFIED = String.raw`(?:${NAME}\s*\.\s*)?${NAME}`
const COPY_TABLE = new RegExp(String.raw`^\s*copy\s+(${QUALIFIED})\s*(\(([^()]*)\))?\s+to\s+stdout\b([\s\S]*?);?\s*$`, 'i')
const COPY_QUERY = /^\s*copy\s*\(([\s\S]*)\)\s*to\s+stdout\b([\s\S]*?);?\s*$/i

/**
 * The query whose rows a `COPY (query) TO STDOUT` or `COPY table [(columns)] TO STDOUT`
 * sends, or undefined when `sql` is no COPY. Only the text format is supported; other
 * options, other targets and COPY … FROM are 0A000.
 */
export function copyToStdoutQuery(sql: string): string | undefined {
  if (!/^\s*copy\b/i.test(sql)) return undefined
  const query = COPY_QUERY.exec(sql)
  if (query !== null) return checkOptions(query[2]!) ?? query[1]!
  const table = COPY_TABLE.exec(sql)
  if (table !== null) return checkOptions(table[4]!) ?? `SELECT ${table[3]?.trim() || '*'} FROM ${table[1]}`
  throw new PgWireError(PgWireState.FEATURE_NOT_SUPPORTED, 'only COPY … TO STDOUT is supported (COPY … FROM and COPY to a file are not)')
}

/** Undefined when the options ask for the text format (or nothing); raises 0A000 otherwise. */
function checkOptions(options: string): undefined {
  const o = options.trim().replace(/^with\s*/i, '')
  if (o === '' || /^\(\s*format\s+text\s*\)$/i.test(o)) return undefined
  throw new PgWireError(PgWireState.FEATURE_NOT_SUPPORTED, `COPY options other than FORMAT text are not supported: ${o}`)
}

/** One row in COPY's text format: tab-separated, \N for NULL, backslash escapes, ending in a newline. */
export function copyTextRow(row: readonly SqlValue[]): Buffer {
  const fields = row.map((v) => (v === null ? '\\N' : textValue(v).replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!)))
  return Buffer.from(`${fields.join('\t')}\n`, 'utf8')
}

const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

// INSERT … ON CONFLICT, cut off before parsing: node-sql-parser's postgresql mode does not
// read the clause, so the INSERT is parsed without it and the clause is read here (its SET
// list and WHERE by the parser, as an UPDATE's).

import { fail, SqlState } from './errors.js'
import { skipQuotedOrComment } from './split-statements.js'

/** An INSERT statement's text with its ON CONFLICT clause taken apart. */
export interface OnConflictText {
  /** The INSERT without the clause (RETURNING, if any, kept at its end). */
  readonly insert: string
  /** The conflict target's column names as written (`ON CONFLICT (a, b)`), or null. */
  readonly columns: readonly string[] | null
  /** The constraint named by `ON CONFLICT ON CONSTRAINT name`, or null. */
  readonly constraint: string | null
  /** `DO UPDATE SET …`'s text after SET (assignments, and a WHERE if any); null for DO NOTHING. */
  readonly set: string | null
}

/**
 * `sql` (one statement) split at its top-level ON CONFLICT clause, or null when it is not an
 * INSERT with one; a clause that does not read as ON CONFLICT [target] DO NOTHING | DO UPDATE
 * SET … raises 42601. Quoted text, comments and parenthesised parts are never taken for the clause.
 */
export function splitOnConflict(sql: string): OnConflictText | null {
  if (!/^\s*insert\b/i.test(sql) || !/\bon\s+conflict\b/i.test(sql)) return null
  const at = topLevelWord(sql, /^on\s+conflict\b/i, 0)
  if (at < 0) return null
  const returning = topLevelWord(sql, /^returning\b/i, at)
  const clause = sql.slice(at, returning < 0 ? undefined : returning).trim()
  const tail = returning < 0 ? '' : ` ${sql.slice(returning)}`
  const m = /^on\s+conflict\s*(?:\(([^()]*)\)|on\s+constraint\s+("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))?\s*do\s+(?:(nothing)|update\s+set\s+([\s\S]+?))\s*;?\s*$/i.exec(clause)
  if (m === null) fail(SqlState.SYNTAX_ERROR, 'syntax error in ON CONFLICT: expected ON CONFLICT [(columns) | ON CONSTRAINT name] DO NOTHING | DO UPDATE SET …')
  return {
    insert: `${sql.slice(0, at).trimEnd()}${tail}`,
    columns: m[1] === undefined ? null : m[1].split(',').map((c) => identifier(c.trim())),
    constraint: m[2] === undefined ? null : identifier(m[2]),
    set: m[3] !== undefined ? null : m[4]!,
  }
}

/** An identifier as PostgreSQL reads it: quoted ones as written, others in lower case. */
function identifier(text: string): string {
  const quoted = /^"(.*)"$/.exec(text)
  if (quoted !== null) return quoted[1]!.replaceAll('""', '"')
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(text)) fail(SqlState.SYNTAX_ERROR, `syntax error in ON CONFLICT: "${text}" is not a column name`)
  return text.toLowerCase()
}

/** Where `word` first matches at parenthesis depth 0 from `from`, outside quotes and comments; -1 if nowhere. */
export function topLevelWord(sql: string, word: RegExp, from: number): number {
  let depth = 0
  for (let i = from; i < sql.length; ) {
    const next = skipQuotedOrComment(sql, i)
    if (next !== i) {
      i = next
      continue
    }
    const c = sql[i]
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (depth === 0 && /[A-Za-z]/.test(c!) && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? ' ') && word.test(sql.slice(i, i + 40))) return i
    i++
  }
  return -1
}

// PostgreSQL spellings the parser does not read, rewritten to equivalent ones it does before
// parsing. Each rule is a general rewrite of a syntactic form (never of a particular query);
// the text keeps its length (a rewrite is padded with spaces) so that syntax error positions
// still point into what the client sent. Quoted strings, quoted identifiers and comments are
// left untouched.

import { skipQuotedOrComment } from './split-statements.js'

/**
 * The rules, each a sticky regular expression tried where an identifier or `::` starts and
 * what replaces its match:
 * - `OPERATOR(schema.op)` names an operator by schema (psql qualifies every operator it uses):
 *   mrdb has one schema of operators, so it is `op`;
 * - `COLLATE pg_catalog.default` / `"default"` / `"C"` / `"POSIX"`: mrdb compares text by code
 *   point, which is the C collation and the database default, so these change nothing;
 * - `::pg_catalog.name` and `CAST(… AS pg_catalog.name)`: built-in types live in pg_catalog;
 * - `SELECT ALL …` and an aggregate's `(ALL x)`: ALL is the default that DISTINCT overrides.
 */
const RULES: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => string]> = [
  [/OPERATOR\s*\(\s*(?:pg_catalog\s*\.\s*)?([-+*/<>=~!@#%^&|`?]+)\s*\)/iy, (m) => ` ${m[1]!} `],
  [/COLLATE\s+(?:(?:pg_catalog|"pg_catalog")\s*\.\s*)?(?:default|"default"|"C"|"POSIX"|C|POSIX)(?![A-Za-z0-9_$])/iy, () => ''],
  [/::\s*(?:pg_catalog|"pg_catalog")\s*\.\s*/y, () => '::'],
  [/AS\s+(?:pg_catalog|"pg_catalog")\s*\.\s*/iy, () => 'AS '],
  [/SELECT\s+ALL(?![A-Za-z0-9_$])/iy, () => 'SELECT'],
  [/(?<=\(\s*)ALL(?=\s)/iy, () => ''],
]

const WORD_CHAR = /[A-Za-z0-9_$]/

/** `sql` with the forms above rewritten (same length); the same text when none occurs. */
export function normalisePgSyntax(sql: string): string {
  if (!/operator|collate|pg_catalog|\ball\b/i.test(sql)) return sql
  let out = ''
  let copied = 0
  for (let i = 0; i < sql.length; ) {
    const next = skipQuotedOrComment(sql, i)
    if (next !== i) {
      i = next
      continue
    }
    const atWordStart = sql[i] === ':' || ((i === 0 || !WORD_CHAR.test(sql[i - 1]!)) && /[A-Za-z]/.test(sql[i]!))
    let matched = false
    if (atWordStart) {
      for (const [re, replace] of RULES) {
        re.lastIndex = i
        const m = re.exec(sql)
        if (m === null) continue
        const replacement = replace(m)
        out += sql.slice(copied, i) + replacement.padEnd(m[0].length, ' ')
        i += m[0].length
        copied = i
        matched = true
        break
      }
    }
    if (!matched) i += WORD_CHAR.test(sql[i]!) ? wordLength(sql, i) : 1
  }
  return copied === 0 ? sql : out + sql.slice(copied)
}

function wordLength(sql: string, i: number): number {
  let j = i
  while (j < sql.length && WORD_CHAR.test(sql[j]!)) j++
  return j - i
}

// PostgreSQL spellings the parser does not read, rewritten to equivalent ones it does before
// parsing. Each rule is a general rewrite of a syntactic form (never of a particular query);
// the text keeps its length (a rewrite is padded with spaces) so that syntax error positions
// still point into what the client sent — except for subscripts, the one rewrite that must
// add text (see SUBSCRIPT_WRAPPER): after a subscript whose index is not a number, a syntax
// error's position is in the rewritten text. Quoted strings, quoted identifiers and comments
// are left untouched.

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

/**
 * The parser reads a subscript only when its index is a number, a string or a function call
 * (`a[1]`, `a[f(i)]`, not `a[i]` or `a[i + 1]`): such an index is wrapped in a call of this
 * name, which parse.ts unwraps.
 */
export const SUBSCRIPT_WRAPPER = 'mrdb_subscript'

/** `sql` with the forms above rewritten (same length but for subscripts); the same text when none occurs. */
export function normalisePgSyntax(sql: string): string {
  if (!/operator|collate|pg_catalog|\ball\b|\[/i.test(sql)) return sql
  let out = ''
  let copied = 0
  for (let i = 0; i < sql.length; ) {
    const next = skipQuotedOrComment(sql, i)
    if (next !== i) {
      i = next
      continue
    }
    if (sql[i] === '[') {
      const end = subscriptEnd(sql, i)
      if (end !== null) {
        out += `${sql.slice(copied, i)}[${SUBSCRIPT_WRAPPER}(${normalisePgSyntax(sql.slice(i + 1, end))})]`
        i = end + 1
        copied = i
        continue
      }
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

/**
 * Where the subscript opening at `open` closes, when its index needs wrapping: the bracket
 * follows an expression (a name, `)`, `]` or a quoted name; not the keyword ARRAY), and holds
 * something other than a number (not a type's `[]` or `[3]`, nor a slice `[1:2]`). Null otherwise.
 */
function subscriptEnd(sql: string, open: number): number | null {
  const before = /(?:([A-Za-z_][A-Za-z0-9_$]*)|[)\]"])\s*$/.exec(sql.slice(Math.max(0, open - 64), open))
  if (before === null || before[1]?.toUpperCase() === 'ARRAY') return null
  let depth = 0
  for (let i = open; i < sql.length; ) {
    const next = skipQuotedOrComment(sql, i)
    if (next !== i) {
      i = next
      continue
    }
    const c = sql[i]!
    if (c === '[' || c === '(') depth++
    else if (c === ']' || c === ')') depth--
    else if (c === ':' && depth === 1 && sql[i + 1] !== ':' && sql[i - 1] !== ':') return null
    if (depth === 0) {
      const index = sql.slice(open + 1, i).trim()
      return c === ']' && index !== '' && !/^\d+$/.test(index) ? i : null
    }
    i++
  }
  return null
}

function wordLength(sql: string, i: number): number {
  let j = i
  while (j < sql.length && WORD_CHAR.test(sql[j]!)) j++
  return j - i
}

// Statement templates: a statement's text with its plain literals (small integers, simple
// single-quoted strings) replaced by sentinel literals, so that statements differing only in
// those literals share one parse (see StatementCache in parse.ts and docs/decisions.md, "The
// parse cache across literals"). The parsed template is instantiated by putting each
// statement's literal nodes where the sentinels' nodes are. This module only scans text and
// rewrites trees; whether a template may stand for a direct parse is decided by comparing the
// two (StatementCache), never assumed.

import type { Statement } from './ast.js'

/**
 * A statement text with its plain literals taken out: `text` is the template (each literal
 * replaced by its slot's sentinel), `values` the literals' values in slot order (a bigint for
 * an integer, a string for a string).
 */
export interface LiteralTemplate {
  readonly text: string
  readonly values: readonly (bigint | string)[]
}

/** Integer slot i's sentinel is this plus i: nine digits, like the integers templated. */
const SENTINEL_INT_BASE = 987_650_000
/** At most this many slots in a template (the integer sentinels must stay nine digits long). */
const MAX_SLOTS = 10_000
/** String slot i's sentinel is this character followed by i; texts containing it are not templated. */
const SENTINEL_MARK = '\u0001'
/** Integers of at most this many digits are templated: they fit a JS number and 32 bits. */
const MAX_INT_DIGITS = 9
/**
 * Strings matching this stay in the template: parse.ts looks for these words in the raw text
 * before parsing (RETURNING, ON CONFLICT, DEFAULT VALUES, OFFSET … LIMIT, EXPLAIN, USING), so a
 * string holding one could take another path there than its sentinel does. So do strings
 * holding a quote or a semicolon, which the text-level matchers (parse-alter.ts, parse-user.ts,
 * on-conflict.ts) might read differently.
 */
const TEXT_LEVEL_WORDS = /returning|conflict|values|offset|limit|explain|using/i

const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isWordChar = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24 || c >= 0x80

/**
 * The template of `sql`, or null when it has no literal to take out or holds something this
 * scanner does not read with certainty (a backslash, E'' or other prefixed strings, dollar
 * quotes, `$n` parameters, block comments, the sentinel mark, a number running into a word).
 * A literal that is not plain (a decimal, an exponent, a longer integer, a string with a
 * backslash-free but unusual content) stays in the template text, so it is part of the key.
 */
export function literalTemplate(sql: string): LiteralTemplate | null {
  if (sql.includes(SENTINEL_MARK)) return null
  const values: (bigint | string)[] = []
  let out = ''
  let copied = 0
  const slot = (start: number, end: number, value: bigint | string): boolean => {
    if (values.length >= MAX_SLOTS) return false
    out += sql.slice(copied, start) + (typeof value === 'bigint' ? String(SENTINEL_INT_BASE + values.length) : `'${SENTINEL_MARK}${values.length}'`)
    copied = end
    values.push(value)
    return true
  }
  const n = sql.length
  for (let i = 0; i < n; ) {
    const c = sql.charCodeAt(i)
    if (c === 0x27 /* ' */) {
      // A prefix (E'', B'', X'', N'', U&'') is read differently: give up.
      if (i > 0 && (isWordChar(sql.charCodeAt(i - 1)) || sql[i - 1] === '&')) return null
      let j = i + 1
      let content = ''
      for (;;) {
        if (j >= n) return null
        const d = sql[j]!
        if (d === '\\') return null
        if (d === "'") {
          if (sql[j + 1] === "'") {
            content += "'"
            j += 2
            continue
          }
          break
        }
        content += d
        j++
      }
      const end = j + 1
      // eslint-disable-next-line no-control-regex
      const plain = !/[\u0000-\u001f'";]/.test(content) && !TEXT_LEVEL_WORDS.test(content)
      if (plain && !slot(i, end, content)) return null
      i = end
    } else if (c === 0x22 /* " */) {
      const close = sql.indexOf('"', i + 1)
      if (close === -1) return null
      i = close + 1 // "" inside is two quoted names back to back for this scan: the same skip
    } else if (c === 0x24 /* $ */) {
      return null // $n parameters and $tag$ quotes
    } else if (c === 0x2d /* - */ && sql.charCodeAt(i + 1) === 0x2d) {
      const eol = sql.indexOf('\n', i)
      i = eol === -1 ? n : eol + 1
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      return null
    } else if (isDigit(c) || (c === 0x2e /* . */ && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i
      while (j < n && isDigit(sql.charCodeAt(j))) j++
      const integer = j > i && sql[j] !== '.' && sql[j] !== 'e' && sql[j] !== 'E'
      if (sql[j] === '.') {
        j++
        while (j < n && isDigit(sql.charCodeAt(j))) j++
      }
      if (sql[j] === 'e' || sql[j] === 'E') {
        j++
        if (sql[j] === '+' || sql[j] === '-') j++
        while (j < n && isDigit(sql.charCodeAt(j))) j++
      }
      // 1abc, 0x1f, 1_000: not read the same way by every parser.
      if (j < n && isWordChar(sql.charCodeAt(j))) return null
      if (integer && j - i <= MAX_INT_DIGITS && !slot(i, j, BigInt(sql.slice(i, j)))) return null
      i = j
    } else if (isWordChar(c)) {
      while (i < n && isWordChar(sql.charCodeAt(i))) i++
    } else {
      i++
    }
  }
  if (values.length === 0) return null
  return { text: out + sql.slice(copied), values }
}

/**
 * `statements` (the parse of a template) with each sentinel literal node replaced by the
 * literal of `values` in its slot, as new objects (the template's tree is left as it was).
 * Null unless every slot's sentinel occurs exactly once, as a literal node of its own kind:
 * a sentinel folded into something else (a type's length, a negative number, a typed
 * literal's value) or copied by a rewrite means the template does not stand for the statement.
 */
export function instantiate(statements: readonly Statement[], values: readonly (bigint | string)[]): readonly Statement[] | null {
  const seen = new Uint8Array(values.length)
  let bad = false
  const slotOf = (value: unknown): number => {
    if (typeof value === 'bigint') {
      const i = Number(value - BigInt(SENTINEL_INT_BASE))
      return i >= 0 && i < values.length && typeof values[i] === 'bigint' ? i : -1
    }
    if (typeof value === 'string' && value.startsWith(SENTINEL_MARK)) {
      const i = Number(value.slice(1))
      if (Number.isInteger(i) && i >= 0 && i < values.length && typeof values[i] === 'string') return i
      bad = true // a mangled sentinel
    }
    return -1
  }
  const copy = (node: unknown): unknown => {
    if (node === null || typeof node !== 'object') {
      if (typeof node === 'string' && node.includes(SENTINEL_MARK)) bad = true // a sentinel outside a literal node
      return node
    }
    if (Array.isArray(node)) return node.map(copy)
    if (Object.getPrototypeOf(node) !== Object.prototype) return node // a value (NUMERIC, bytes…), not a tree node
    const o = node as Record<string, unknown>
    if (o.kind === 'literal' && Object.keys(o).length === 2) {
      const i = slotOf(o.value)
      if (i >= 0) {
        if (seen[i] === 1) bad = true
        seen[i] = 1
        return { kind: 'literal', value: values[i] }
      }
      if (typeof o.value === 'bigint' || typeof o.value === 'string') return { kind: 'literal', value: o.value }
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(o)) out[key] = copy(o[key])
    return out
  }
  const result = statements.map(copy) as Statement[]
  if (bad || seen.some((s) => s !== 1)) return null
  return result
}

// JSONB: JSON kept in PostgreSQL's canonical form — object keys sorted (shorter keys first,
// then bytewise) with the last duplicate winning, numbers as NUMERIC prints them, and
// PostgreSQL's spacing (`{"a": 1, "b": [1, 2]}`) — so equal documents have equal text.
// Numbers are never floats: they keep their exact decimal text.

import { fail, SqlState } from '../errors.js'
import { compareNumeric, parseNumeric } from './numeric.js'

/** A JSONB value: `text` is its canonical form. */
export interface JsonbValue {
  readonly type: 'jsonb'
  readonly text: string
}

/** A parsed JSON document; numbers keep their canonical NUMERIC text. */
export type Json = null | boolean | string | { readonly num: string } | readonly Json[] | { readonly obj: ReadonlyMap<string, Json> }

function invalid(text: string, why: string): never {
  return fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type json: ${why} in "${text.length > 60 ? `${text.slice(0, 60)}…` : text}"`)
}

/** Parses JSON text (RFC 8259) into a {@link Json} tree; 22P02 when it is not JSON. */
export function parseJson(text: string): Json {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const value = (depth: number): Json => {
    if (depth > 1000) fail(SqlState.STATEMENT_TOO_COMPLEX, 'json nests too deeply')
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const obj = new Map<string, Json>()
      ws()
      if (text[i] === '}') {
        i++
        return { obj: sortKeys(obj) }
      }
      for (;;) {
        ws()
        if (text[i] !== '"') invalid(text, 'expected a string key')
        const k = string()
        ws()
        if (text[i++] !== ':') invalid(text, 'expected ":"')
        obj.delete(k)
        obj.set(k, value(depth + 1))
        ws()
        const sep = text[i++]
        if (sep === '}') return { obj: sortKeys(obj) }
        if (sep !== ',') invalid(text, 'expected "," or "}"')
      }
    }
    if (c === '[') {
      i++
      const arr: Json[] = []
      ws()
      if (text[i] === ']') {
        i++
        return arr
      }
      for (;;) {
        arr.push(value(depth + 1))
        ws()
        const sep = text[i++]
        if (sep === ']') return arr
        if (sep !== ',') invalid(text, 'expected "," or "]"')
      }
    }
    if (c === '"') return string()
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length
        return v
      }
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))
    if (m === null) return invalid(text, 'unexpected token')
    i += m[0].length
    return { num: parseNumeric(m[0]).text }
  }
  const string = (): string => {
    i++ // the opening quote
    let out = ''
    for (;;) {
      if (i >= text.length) invalid(text, 'unterminated string')
      const c = text[i++]!
      if (c === '"') return out
      if (c < ' ') invalid(text, 'control character in a string')
      if (c !== '\\') {
        out += c
        continue
      }
      const e = text[i++]
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
      if (e !== undefined && e in simple) out += simple[e]
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) {
        const code = parseInt(text.slice(i, i + 4), 16)
        if (code === 0) fail(SqlState.INVALID_TEXT_REPRESENTATION, 'unsupported Unicode escape sequence: \\u0000 cannot be converted to text')
        out += String.fromCharCode(code)
        i += 4
      } else invalid(text, 'bad escape')
    }
  }
  const v = value(0)
  ws()
  if (i !== text.length) invalid(text, 'trailing characters')
  return v
}

/** jsonb's key order: shorter keys first, then bytewise (UTF-8). */
function compareKeys(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length - y.length || Buffer.compare(x, y)
}

function sortKeys(m: Map<string, Json>): ReadonlyMap<string, Json> {
  return new Map([...m].sort(([a], [b]) => compareKeys(a, b)))
}

function quote(s: string): string {
  let out = '"'
  for (const c of s) {
    const code = c.charCodeAt(0)
    if (c === '"') out += '\\"'
    else if (c === '\\') out += '\\\\'
    else if (c === '\n') out += '\\n'
    else if (c === '\r') out += '\\r'
    else if (c === '\t') out += '\\t'
    else if (c === '\b') out += '\\b'
    else if (c === '\f') out += '\\f'
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`
    else out += c
  }
  return out + '"'
}

/** The canonical text of a {@link Json} tree, as PostgreSQL's jsonb output prints it. */
export function jsonText(j: Json): string {
  if (j === null) return 'null'
  if (typeof j === 'boolean') return j ? 'true' : 'false'
  if (typeof j === 'string') return quote(j)
  if (Array.isArray(j)) return `[${j.map(jsonText).join(', ')}]`
  if ('num' in j) return j.num
  return `{${[...(j as { obj: ReadonlyMap<string, Json> }).obj].map(([k, v]) => `${quote(k)}: ${jsonText(v)}`).join(', ')}}`
}

/** JSONB from text; 22P02 when it is not JSON. */
export function parseJsonb(text: string): JsonbValue {
  return { type: 'jsonb', text: jsonText(parseJson(text)) }
}

function isObj(j: Json): j is { readonly obj: ReadonlyMap<string, Json> } {
  return j !== null && typeof j === 'object' && !Array.isArray(j) && 'obj' in j
}

/** `doc -> key` (an object's field) or `doc -> index` (an array's element, negative from the end); null when absent. */
export function jsonGet(doc: JsonbValue, key: string | bigint): Json | undefined {
  const j = parseJson(doc.text)
  if (typeof key === 'string') return isObj(j) ? j.obj.get(key) : undefined
  if (!Array.isArray(j)) return undefined
  const arr = j as readonly Json[]
  const n = Number(key)
  return arr[n < 0 ? arr.length + n : n]
}

/** The jsonb of a tree. */
export function jsonbOf(j: Json): JsonbValue {
  return { type: 'jsonb', text: jsonText(j) }
}

/** `->>`'s text of a value: a string unquoted, JSON null as SQL NULL, anything else its JSON text. */
export function jsonAsText(j: Json): string | null {
  if (j === null) return null
  if (typeof j === 'string') return j
  return jsonText(j)
}

/** Whether `a` contains `b` (`a @> b`), by PostgreSQL's rules (a top-level array contains a scalar it has). */
export function jsonContains(a: JsonbValue, b: JsonbValue): boolean {
  const x = parseJson(a.text)
  const y = parseJson(b.text)
  if (Array.isArray(x) && !Array.isArray(y) && !isObj(y)) return (x as readonly Json[]).some((e) => jsonEqual(e, y))
  return contains(x, y)
}

function contains(a: Json, b: Json): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return (b as readonly Json[]).every((e) => (a as readonly Json[]).some((f) => (isContainer(e) ? contains(f, e) : jsonEqual(f, e))))
  if (isObj(a) && isObj(b)) {
    for (const [k, v] of b.obj) {
      const w = a.obj.get(k)
      if (w === undefined || !(isContainer(v) ? contains(w, v) : jsonEqual(w, v))) return false
    }
    return true
  }
  return jsonEqual(a, b)
}

function isContainer(j: Json): boolean {
  return Array.isArray(j) || isObj(j)
}

function jsonEqual(a: Json, b: Json): boolean {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && 'num' in a && 'num' in b) {
    return compareNumeric({ type: 'numeric', text: a.num }, { type: 'numeric', text: b.num }) === 0
  }
  return jsonText(a) === jsonText(b)
}

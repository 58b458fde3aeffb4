// PostgreSQL's arrays, one-dimensional with lower bound 1: the values `ARRAY[…]`,
// `ARRAY(subquery)`, `'{…}'::type[]` and the system catalog's array columns hold. Here: their
// text form (array_in / array_out), order and grouping key. Elements are any non-array value or
// NULL; how an element prints, compares and keys is the caller's (values.ts, cast.ts), so this
// file imports no other value module. Arrays are not stored in tables (no column or key codec).

import { fail, SqlState } from '../errors.js'
import type { TypedValue } from './typed.js'

/** An element of an array: any SQL value but an array, or NULL. */
export type ArrayElement = null | bigint | number | string | boolean | Uint8Array | TypedValue

/** A one-dimensional array; element i (1-based in SQL) is `elements[i - 1]`. */
export interface ArrayValue {
  readonly type: 'array'
  readonly elements: readonly ArrayElement[]
}

/** Whether `v` is an array value. */
export function isArrayValue(v: unknown): v is ArrayValue {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'array'
}

/** An array of `elements`. */
export function arrayOf(elements: readonly ArrayElement[]): ArrayValue {
  return { type: 'array', elements }
}

/**
 * array_out: `{a,b,NULL}`, an element double-quoted (with `"` and `\` escaped) when it is
 * empty, is the word NULL, or holds a brace, comma, quote, backslash or white space.
 */
export function formatArray(v: ArrayValue, text: (e: Exclude<ArrayElement, null>) => string): string {
  const parts = v.elements.map((e) => {
    if (e === null) return 'NULL'
    const s = text(e)
    return s === '' || /^null$/i.test(s) || /[{}",\\\s]/.test(s) ? `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"` : s
  })
  return `{${parts.join(',')}}`
}

/**
 * array_in for one dimension: the elements' texts of `{a, "b c", NULL}` (null for an unquoted
 * NULL), white space around elements dropped. 22P02 for a malformed literal, 0A000 for nested
 * braces (multidimensional arrays).
 */
export function parseArrayText(text: string): Array<string | null> {
  const malformed = (): never => fail(SqlState.INVALID_TEXT_REPRESENTATION, `malformed array literal: "${text}"`)
  const s = text.trim()
  if (!s.startsWith('{') || !s.endsWith('}')) malformed()
  const body = s.slice(1, -1)
  if (body.trim() === '') return []
  const out: Array<string | null> = []
  let i = 0
  for (;;) {
    while (i < body.length && /\s/.test(body[i]!)) i++
    let value = ''
    let quoted = false
    if (body[i] === '"') {
      quoted = true
      for (i++; i < body.length && body[i] !== '"'; i++) value += body[i] === '\\' ? (body[++i] ?? malformed()) : body[i]
      if (body[i++] !== '"') malformed()
      while (i < body.length && /\s/.test(body[i]!)) i++
    } else {
      for (; i < body.length && body[i] !== ','; i++) {
        const c = body[i]!
        if (c === '{' || c === '}') fail(SqlState.FEATURE_NOT_SUPPORTED, `multidimensional arrays are not supported: "${text}"`)
        if (c === '"') malformed()
        value += c === '\\' ? (body[++i] ?? malformed()) : c
      }
      value = value.trim()
      if (value === '') malformed()
    }
    out.push(!quoted && /^null$/i.test(value) ? null : value)
    if (i >= body.length) return out
    if (body[i] !== ',') malformed()
    i++
  }
}

/**
 * The order of two arrays: element by element (a NULL element after any value, as
 * PostgreSQL's btree orders them), then the shorter first.
 */
export function compareArrays(a: ArrayValue, b: ArrayValue, compare: (x: Exclude<ArrayElement, null>, y: Exclude<ArrayElement, null>) => number): number {
  const n = Math.min(a.elements.length, b.elements.length)
  for (let i = 0; i < n; i++) {
    const x = a.elements[i]!
    const y = b.elements[i]!
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1
      continue
    }
    const c = compare(x, y)
    if (c !== 0) return c
  }
  return a.elements.length - b.elements.length
}

/** A string equal for equal arrays, given the elements' keys. */
export function arrayKey(v: ArrayValue, key: (e: ArrayElement) => string): string {
  return `a${JSON.stringify(v.elements.map(key))}`
}

/** The 1-based element `index` of `v`, NULL outside its bounds (as PostgreSQL's subscripts). */
export function arrayElement(v: ArrayValue, index: bigint): ArrayElement {
  return index >= 1n && index <= BigInt(v.elements.length) ? v.elements[Number(index) - 1]! : null
}

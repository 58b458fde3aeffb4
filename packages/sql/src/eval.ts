// Evaluation of bound expressions over one row: pure functions over plain data, with SQL's
// three-valued logic (NULL is "unknown"; WHERE keeps only TRUE).

import type { CompareOp, Expr } from './ast.js'
import { fail, SqlState } from './errors.js'
import { castText, castValue } from './cast.js'
import { callFunction } from './functions.js'
import { arithmetic, compareValues, negate, textLike, valueKey, valueTypeName, type SqlValue } from './values.js'
import { arrayElement, arrayOf, isArrayValue, type ArrayElement, type ArrayValue } from './types/array.js'

/** The value of a bound expression (columns already resolved to slots) over `row`. */
export function evaluate(e: Expr, row: readonly SqlValue[]): SqlValue {
  switch (e.kind) {
    case 'literal':
      return e.value
    case 'slot':
      return row[e.index] ?? null
    case 'negate':
      return negate(evaluate(e.operand, row))
    case 'not': {
      const v = asBool(evaluate(e.operand, row), 'NOT')
      return v === null ? null : !v
    }
    case 'arithmetic':
      return arithmetic(e.op, evaluate(e.left, row), evaluate(e.right, row))
    case 'concat': {
      const l = evaluate(e.left, row)
      const r = evaluate(e.right, row)
      if (isArrayValue(l) || isArrayValue(r)) return concatArrays(l, r)
      return l === null || r === null ? null : castText(l) + castText(r)
    }
    case 'compare': {
      const l = evaluate(e.left, row)
      const r = evaluate(e.right, row)
      if (l === null || r === null) return null
      return holds(e.op, compareValues(l, r))
    }
    case 'quantified':
      return quantified(e, evaluate(e.operand, row), evaluate(e.array, row))
    case 'array':
      return arrayOf(
        e.elements.map((x) => {
          const v = evaluate(x, row)
          return isArrayValue(v) ? fail(SqlState.FEATURE_NOT_SUPPORTED, 'multidimensional arrays are not supported') : v
        }),
      )
    case 'subscript': {
      const a = evaluate(e.operand, row)
      const i = evaluate(e.index, row)
      if (a === null || i === null) return null
      if (!isArrayValue(a)) return fail(SqlState.DATATYPE_MISMATCH, `cannot subscript type ${valueTypeName(a)} because it is not an array`)
      if (typeof i !== 'bigint') return fail(SqlState.DATATYPE_MISMATCH, `array subscript must have type integer, not ${valueTypeName(i)}`)
      return arrayElement(a, i)
    }
    case 'and': {
      const l = asBool(evaluate(e.left, row), 'AND')
      if (l === false) return false
      const r = asBool(evaluate(e.right, row), 'AND')
      if (r === false) return false
      return l === null || r === null ? null : true
    }
    case 'or': {
      const l = asBool(evaluate(e.left, row), 'OR')
      if (l === true) return true
      const r = asBool(evaluate(e.right, row), 'OR')
      if (r === true) return true
      return l === null || r === null ? null : false
    }
    case 'between': {
      const v = evaluate(e.operand, row)
      const lo = evaluate(e.low, row)
      const hi = evaluate(e.high, row)
      const geLow = v === null || lo === null ? null : compareValues(v, lo) >= 0
      const leHigh = v === null || hi === null ? null : compareValues(v, hi) <= 0
      const inside = geLow === false || leHigh === false ? false : geLow === null || leHigh === null ? null : true
      return inside === null ? null : inside !== e.negated
    }
    case 'in-list': {
      const v = evaluate(e.operand, row)
      if (v === null) return null
      let sawNull = false
      for (const item of e.list) {
        const x = evaluate(item, row)
        if (x === null) sawNull = true
        else if (compareValues(v, x) === 0) return !e.negated
      }
      return sawNull ? null : e.negated
    }
    case 'value-set': {
      const v = evaluate(e.operand, row)
      // NULL IN (no rows) is false (NOT IN: true); NULL IN (some rows) is unknown.
      if (v === null) return e.keys.length === 0 && !e.hasNull ? e.negated : null
      if (keySet(e.keys).has(valueKey(v))) return !e.negated
      return e.hasNull ? null : e.negated
    }
    case 'like': {
      const v = evaluate(e.operand, row)
      const p = evaluate(e.pattern, row)
      if (v === null || p === null) return null
      if (typeof v !== 'string' || typeof p !== 'string') fail(SqlState.DATATYPE_MISMATCH, `LIKE needs TEXT operands, not ${valueTypeName(v)} and ${valueTypeName(p)}`)
      return likeRegex(p, e.caseInsensitive).test(v) !== e.negated
    }
    case 'case': {
      const operand = e.operand === null ? undefined : evaluate(e.operand, row)
      for (const w of e.whens) {
        const when = evaluate(w.when, row)
        const hit = operand === undefined ? asBool(when, 'CASE/WHEN') === true : operand !== null && when !== null && compareValues(operand, when) === 0
        if (hit) return evaluate(w.then, row)
      }
      return e.otherwise === null ? null : evaluate(e.otherwise, row)
    }
    case 'cast':
      return castValue(evaluate(e.operand, row), e.type)
    case 'is-null':
      return (evaluate(e.operand, row) === null) !== e.negated
    case 'function':
      // COALESCE evaluates its arguments only until one is not NULL (COALESCE(1, 1/0) is 1).
      if (e.name === 'COALESCE') {
        for (const a of e.args) {
          const v = evaluate(a, row)
          if (v !== null) return v
        }
        return null
      }
      return callFunction(e.name, e.args.map((a) => evaluate(a, row)))
    case 'column':
    case 'in-subquery':
    case 'subquery':
    case 'exists':
    case 'array-subquery':
    case 'window':
    case 'aggregate':
      return fail(SqlState.INTERNAL_ERROR, `unbound ${e.kind} in evaluation`)
  }
}

/**
 * `||` with an array: array || array appends, array || element and element || array add one
 * element, as PostgreSQL's array_cat, array_append and array_prepend. A NULL beside an array
 * counts as an empty array (mrdb does not tell an untyped NULL from a NULL element).
 */
function concatArrays(l: SqlValue, r: SqlValue): ArrayValue {
  const elements = (v: SqlValue, other: SqlValue): readonly ArrayElement[] => (isArrayValue(v) ? v.elements : v === null && isArrayValue(other) ? [] : [v as ArrayElement])
  return arrayOf([...elements(l, r), ...elements(r, l)])
}

/** Whether a comparison whose order is `c` satisfies `op`. */
function holds(op: CompareOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0
    case '<>':
      return c !== 0
    case '<':
      return c < 0
    case '<=':
      return c <= 0
    case '>':
      return c > 0
    case '>=':
      return c >= 0
  }
}

/**
 * `v op ANY (array)` / `v op ALL (array)`: true when some (every) element satisfies it, false
 * when none (some does not), otherwise NULL; an empty array gives false (ALL: true). An
 * untyped literal (`= ANY ('{1,2}')`) is read as an array of `v`'s type.
 */
function quantified(e: Extract<Expr, { kind: 'quantified' }>, v: SqlValue, a: SqlValue): boolean | null {
  if (a === null) return null
  const array: ArrayValue = typeof a === 'string' ? (castValue(a, { base: 'array' }) as ArrayValue) : isArrayValue(a) ? a : fail(SqlState.DATATYPE_MISMATCH, `op ${e.all ? 'ALL' : 'ANY'} requires an array on its right, not ${valueTypeName(a)}`)
  let sawNull = false
  for (const x of array.elements) {
    if (v === null || x === null) {
      sawNull = true
      continue
    }
    const element: ArrayElement = typeof x === 'string' && typeof v !== 'string' ? textLike(x, v) : x
    if (holds(e.op, compareValues(v, element)) !== e.all) return !e.all
  }
  return sawNull ? null : e.all
}

const keySets = new WeakMap<readonly string[], ReadonlySet<string>>()

/** The keys of a value-set as a set, built once per value-set. */
function keySet(keys: readonly string[]): ReadonlySet<string> {
  let set = keySets.get(keys)
  if (set === undefined) keySets.set(keys, (set = new Set(keys)))
  return set
}

/** Whether a bound condition is TRUE over `row` (FALSE and NULL both reject). */
export function isTrue(e: Expr, row: readonly SqlValue[]): boolean {
  return asBool(evaluate(e, row), 'WHERE') === true
}

function asBool(v: SqlValue, context: string): boolean | null {
  if (v === null || typeof v === 'boolean') return v
  return fail(SqlState.DATATYPE_MISMATCH, `argument of ${context} must be BOOLEAN, not ${valueTypeName(v)}`)
}

const likeCache = new Map<string, RegExp>()

function likeRegex(pattern: string, caseInsensitive: boolean): RegExp {
  const cacheKey = caseInsensitive ? `i${pattern}` : `s${pattern}`
  let re = likeCache.get(cacheKey)
  if (re !== undefined) return re
  let src = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '\\' && i + 1 < pattern.length) src += escapeRegex(pattern[++i]!)
    else if (c === '%') src += '[\\s\\S]*'
    else if (c === '_') src += '[\\s\\S]'
    else src += escapeRegex(c)
  }
  re = new RegExp(src + '$', caseInsensitive ? 'iu' : 'u')
  if (likeCache.size > 1000) likeCache.clear()
  likeCache.set(cacheKey, re)
  return re
}

function escapeRegex(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? '\\' + c : c
}

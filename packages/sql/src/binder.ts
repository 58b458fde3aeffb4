// Name resolution and static type checks: turns `column` references into `slot`s of a row
// layout (a Scope) and rejects type mismatches before any row is read.

import { childExprs, exprToSql, type Expr } from './ast.js'
import { fail, SqlState } from './errors.js'
import { comparable, typeName, type BaseType, type ColumnType } from './values.js'

/** One column visible to expressions: which table (alias) it comes from and its type. */
export interface ScopeColumn {
  readonly table: string
  readonly name: string
  readonly type: ColumnType | null
  readonly hidden: boolean
}

/** The columns of the rows an expression is evaluated over, in row order. */
export class Scope {
  constructor(readonly columns: readonly ScopeColumn[]) {}

  /** The slot of a column reference; raises 42703, 42702 or 42P01. */
  resolve(table: string | null, name: string): number {
    let found = -1
    let tableSeen = table === null
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i]!
      if (table !== null && c.table !== table) continue
      tableSeen = true
      if (c.hidden || c.name !== name) continue
      if (found >= 0) fail(SqlState.AMBIGUOUS_COLUMN, `column reference "${name}" is ambiguous`)
      found = i
    }
    if (!tableSeen) fail(SqlState.UNDEFINED_TABLE, `missing FROM-clause entry for table "${table}"`)
    if (found < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${table === null ? name : `${table}.${name}`}" does not exist`)
    return found
  }
}

/** An empty scope (SELECT without FROM, VALUES lists). */
export const EMPTY_SCOPE = new Scope([])

/**
 * Binds `e` against `scope`: columns become slots. Aggregates and subqueries must have been
 * replaced before (see select.ts); finding one raises `what` as a 42803 grouping error.
 */
export function bind(e: Expr, scope: Scope, context: string): Expr {
  switch (e.kind) {
    case 'column': {
      const index = scope.resolve(e.table, e.name)
      return { kind: 'slot', index, label: exprToSql(e) }
    }
    case 'literal':
    case 'slot':
    case 'value-set':
      return e.kind === 'value-set' ? { ...e, operand: bind(e.operand, scope, context) } : e
    case 'aggregate':
      return fail(SqlState.GROUPING_ERROR, `aggregate functions are not allowed in ${context}`)
    case 'in-subquery':
      return fail(SqlState.INTERNAL_ERROR, 'subquery not evaluated before binding')
    case 'negate':
    case 'not':
    case 'is-null':
      return { ...e, operand: bind(e.operand, scope, context) }
    case 'arithmetic':
    case 'concat':
    case 'compare':
    case 'and':
    case 'or':
      return { ...e, left: bind(e.left, scope, context), right: bind(e.right, scope, context) }
    case 'between':
      return { ...e, operand: bind(e.operand, scope, context), low: bind(e.low, scope, context), high: bind(e.high, scope, context) }
    case 'in-list':
      return { ...e, operand: bind(e.operand, scope, context), list: e.list.map((x) => bind(x, scope, context)) }
    case 'like':
      return { ...e, operand: bind(e.operand, scope, context), pattern: bind(e.pattern, scope, context) }
    case 'function':
      return { ...e, args: e.args.map((x) => bind(x, scope, context)) }
  }
}

/** The static type of a bound expression: a base type, 'null' for a NULL literal, or null if unknown. */
export type StaticType = BaseType | 'null' | null

/**
 * The static type of bound `e` over rows with `slotTypes`; raises 42804 where operand types
 * can never match (e.g. comparing a BIGINT column with text, adding text).
 */
export function typeCheck(e: Expr, slotTypes: readonly (BaseType | null)[]): StaticType {
  const t = (x: Expr): StaticType => typeCheck(x, slotTypes)
  switch (e.kind) {
    case 'literal':
      return e.value === null ? 'null' : typeof e.value === 'bigint' ? 'int' : typeof e.value === 'number' ? 'float' : typeof e.value === 'string' ? 'text' : 'bool'
    case 'slot':
      return slotTypes[e.index] ?? null
    case 'negate':
      return expectNumeric(t(e.operand), '-')
    case 'not':
      expectType(t(e.operand), 'bool', 'NOT')
      return 'bool'
    case 'arithmetic': {
      const l = expectNumeric(t(e.left), e.op)
      const r = expectNumeric(t(e.right), e.op)
      if (l === 'float' || r === 'float') return 'float'
      return l === 'int' && r === 'int' ? 'int' : l === 'null' || r === 'null' ? 'null' : null
    }
    case 'concat':
      t(e.left)
      t(e.right)
      return 'text'
    case 'compare':
      checkComparable(t(e.left), t(e.right), e.op)
      return 'bool'
    case 'and':
    case 'or':
      expectType(t(e.left), 'bool', e.kind.toUpperCase())
      expectType(t(e.right), 'bool', e.kind.toUpperCase())
      return 'bool'
    case 'between': {
      const v = t(e.operand)
      checkComparable(v, t(e.low), 'BETWEEN')
      checkComparable(v, t(e.high), 'BETWEEN')
      return 'bool'
    }
    case 'in-list': {
      const v = t(e.operand)
      for (const x of e.list) checkComparable(v, t(x), 'IN')
      return 'bool'
    }
    case 'value-set':
    case 'is-null':
      t(e.operand)
      return 'bool'
    case 'like':
      expectType(t(e.operand), 'text', 'LIKE')
      expectType(t(e.pattern), 'text', 'LIKE')
      return 'bool'
    case 'function': {
      const args = e.args.map(t)
      switch (e.name) {
        case 'LOWER':
        case 'UPPER':
        case 'CONCAT':
          return 'text'
        case 'LENGTH':
        case 'CHAR_LENGTH':
          return 'int'
        case 'ABS':
          return args[0] ?? null
        case 'COALESCE':
          return args.find((a) => a !== 'null' && a !== null) ?? null
        default:
          return null
      }
    }
    case 'column':
    case 'aggregate':
    case 'in-subquery':
      return null
  }
}

function expectNumeric(t: StaticType, op: string): StaticType {
  if (t === 'text' || t === 'bool') fail(SqlState.DATATYPE_MISMATCH, `operator ${op} does not apply to ${typeName({ base: t })}`)
  return t
}

function expectType(t: StaticType, want: BaseType, context: string): void {
  if (t !== null && t !== 'null' && t !== want) {
    fail(SqlState.DATATYPE_MISMATCH, `argument of ${context} must be ${typeName({ base: want })}, not ${typeName({ base: t })}`)
  }
}

function checkComparable(a: StaticType, b: StaticType, op: string): void {
  if (a === null || b === null || a === 'null' || b === 'null') return
  if (!comparable(a, b)) fail(SqlState.DATATYPE_MISMATCH, `operator ${op} cannot compare ${typeName({ base: a })} with ${typeName({ base: b })}`)
}

/** Replaces every `slot` with the slot `map[index]` (moving an expression to another row layout). */
export function remapSlots(e: Expr, map: (index: number) => number): Expr {
  if (e.kind === 'slot') return { ...e, index: map(e.index) }
  if (childExprs(e).length === 0) return e
  switch (e.kind) {
    case 'negate':
    case 'not':
    case 'is-null':
    case 'value-set':
      return { ...e, operand: remapSlots(e.operand, map) }
    case 'arithmetic':
    case 'concat':
    case 'compare':
    case 'and':
    case 'or':
      return { ...e, left: remapSlots(e.left, map), right: remapSlots(e.right, map) }
    case 'between':
      return { ...e, operand: remapSlots(e.operand, map), low: remapSlots(e.low, map), high: remapSlots(e.high, map) }
    case 'in-list':
      return { ...e, operand: remapSlots(e.operand, map), list: e.list.map((x) => remapSlots(x, map)) }
    case 'like':
      return { ...e, operand: remapSlots(e.operand, map), pattern: remapSlots(e.pattern, map) }
    case 'function':
      return { ...e, args: e.args.map((x) => remapSlots(x, map)) }
    default:
      return e
  }
}

/** The slots a bound expression reads. */
export function slotsOf(e: Expr, into: Set<number> = new Set()): Set<number> {
  if (e.kind === 'slot') into.add(e.index)
  for (const c of childExprs(e)) slotsOf(c, into)
  return into
}

// Name resolution and static type checks: turns `column` references into `slot`s of a row
// layout (a Scope) and rejects type mismatches before any row is read.

import { childExprs, exprToSql, mapChildren, type Expr } from './ast.js'
import { castValue } from './cast.js'
import { fail, SqlState } from './errors.js'
import { functionType } from './functions.js'
import { arithmeticType, isTypedBase } from './types/typed.js'
import { baseTypeOf, comparable, typeName, type BaseType, type ColumnType, type SqlValue } from './values.js'

/** One column visible to expressions: which table (alias) it comes from and its type. */
export interface ScopeColumn {
  readonly table: string
  readonly name: string
  readonly type: ColumnType | null
  readonly hidden: boolean
  /** A joined table's copy of a JOIN … USING column: reachable only qualified, and not in `*`. */
  readonly mergedByUsing?: boolean
}

/**
 * The enclosing query of a correlated subquery: its scope, and the row the subquery runs
 * for (null while it is planned only to learn what it reads). Which of its slots were read
 * is recorded in `used`.
 */
export interface OuterScope {
  readonly scope: Scope
  readonly row: readonly SqlValue[] | null
  readonly used: Set<number>
}

/** The columns of the rows an expression is evaluated over, in row order. */
export class Scope {
  constructor(
    readonly columns: readonly ScopeColumn[],
    /** For a subquery: the enclosing query, whose columns a name may also refer to. */
    readonly outer: OuterScope | null = null,
  ) {}

  /** The slot of a column reference; raises 42703, 42702 or 42P01. */
  resolve(table: string | null, name: string): number {
    const found = this.find(table, name)
    if (found === 'no-table') fail(SqlState.UNDEFINED_TABLE, `missing FROM-clause entry for table "${table}"`)
    if (found < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${table === null ? name : `${table}.${name}`}" does not exist`)
    return found
  }

  /** The slot of a column reference: -1 if no column has that name, 'no-table' if no table has that alias; raises 42702. */
  find(table: string | null, name: string): number | 'no-table' {
    let found = -1
    let tableSeen = table === null
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i]!
      if (table !== null && c.table !== table) continue
      tableSeen = true
      if (c.hidden || c.name !== name || (table === null && c.mergedByUsing === true)) continue
      if (found >= 0) fail(SqlState.AMBIGUOUS_COLUMN, `column reference "${name}" is ambiguous`)
      found = i
    }
    return tableSeen ? found : 'no-table'
  }

  /**
   * A reference this scope cannot resolve, looked up in the enclosing queries, nearest first:
   * that row's value (NULL while the subquery is only being planned), or undefined if none has it.
   */
  outerValue(table: string | null, name: string): { value: SqlValue } | undefined {
    const outer = this.outer
    if (outer === null) return undefined
    const found = outer.scope.find(table, name)
    if (typeof found !== 'number' || found < 0) return outer.scope.outerValue(table, name)
    outer.used.add(found)
    return { value: outer.row === null ? null : (outer.row[found] ?? null) }
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
      const found = scope.find(e.table, e.name)
      if (typeof found === 'number' && found >= 0) return { kind: 'slot', index: found, label: exprToSql(e) }
      // A correlated subquery's reference to the enclosing query: that row's value.
      const outer = scope.outerValue(e.table, e.name)
      if (outer !== undefined) return { kind: 'literal', value: outer.value }
      return { kind: 'slot', index: scope.resolve(e.table, e.name), label: exprToSql(e) }
    }
    case 'aggregate':
      return fail(SqlState.GROUPING_ERROR, `aggregate functions are not allowed in ${context}`)
    case 'in-subquery':
    case 'subquery':
    case 'exists':
    case 'array-subquery':
      return fail(SqlState.INTERNAL_ERROR, 'subquery not evaluated before binding')
    case 'window':
      return fail(SqlState.WINDOWING_ERROR, `window functions are not allowed in ${context}`)
    case 'compare': {
      const left = bind(e.left, scope, context)
      const right = bind(e.right, scope, context)
      return { ...e, left: literalFor(left, right, scope), right: literalFor(right, left, scope) }
    }
    case 'in-list': {
      const operand = bind(e.operand, scope, context)
      return { ...e, operand, list: e.list.map((x) => literalFor(bind(x, scope, context), operand, scope)) }
    }
    default:
      return mapChildren(e, (child) => bind(child, scope, context))
  }
}

/**
 * A quoted literal compared with a column of a number or boolean type, read as that type
 * (PostgreSQL's literals have no type until their context gives one: `oid = '16384'`,
 * `flag = 't'`); 22P02 when it does not read as one. Any other expression as it is.
 */
function literalFor(e: Expr, other: Expr, scope: Scope): Expr {
  if (e.kind !== 'literal' || typeof e.value !== 'string' || other.kind !== 'slot') return e
  const type = scope.columns[other.index]?.type
  if (type === null || type === undefined || (type.base !== 'int' && type.base !== 'float' && type.base !== 'bool')) return e
  return { kind: 'literal', value: castValue(e.value, { base: type.base }) }
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
      return e.value === null ? 'null' : baseTypeOf(e.value)
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
      // NUMERIC, dates and times, intervals: PostgreSQL's operators (types/typed.ts).
      if ((l !== null && l !== 'null' && isTypedBase(l)) || (r !== null && r !== 'null' && isTypedBase(r))) {
        return l === null || r === null ? null : l === 'null' || r === 'null' ? 'null' : (arithmeticType(e.op, l, r) as BaseType)
      }
      if (l === 'float' || r === 'float') return 'float'
      return l === 'int' && r === 'int' ? 'int' : l === 'null' || r === 'null' ? 'null' : null
    }
    case 'concat': {
      const l = t(e.left)
      const r = t(e.right)
      return l === 'array' || r === 'array' ? 'array' : 'text'
    }
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
    case 'like': {
      const op = e.caseInsensitive ? 'ILIKE' : 'LIKE'
      expectType(t(e.operand), 'text', op)
      expectType(t(e.pattern), 'text', op)
      return 'bool'
    }
    case 'case': {
      const operand = e.operand === null ? null : t(e.operand)
      for (const w of e.whens) {
        if (e.operand === null) expectType(t(w.when), 'bool', 'CASE/WHEN')
        else checkComparable(operand, t(w.when), 'CASE/WHEN')
      }
      return commonType([...e.whens.map((w) => t(w.then)), ...(e.otherwise === null ? [] : [t(e.otherwise)])], 'CASE')
    }
    case 'cast':
      t(e.operand)
      return e.type.base
    case 'array':
      commonType(e.elements.map(t), 'ARRAY')
      return 'array'
    case 'subscript':
      expectType(t(e.operand), 'array', 'a subscript')
      expectType(t(e.index), 'int', 'an array subscript')
      return null
    case 'quantified': {
      const a = t(e.array)
      if (a !== 'text') expectType(a, 'array', `${e.op} ${e.all ? 'ALL' : 'ANY'}`)
      t(e.operand)
      return 'bool'
    }
    case 'function':
      return functionType(e.name, e.args.map(t))
    case 'column':
    case 'aggregate':
    case 'in-subquery':
    case 'subquery':
    case 'exists':
    case 'array-subquery':
    case 'window':
      return null
  }
}

/**
 * The type the values of several expressions share (CASE branches, COALESCE's arguments…):
 * one type, or INT and FLOAT mixed (FLOAT); any other mix is 42804, as in PostgreSQL.
 */
export function commonType(types: readonly StaticType[], context: string): StaticType {
  let common: StaticType = 'null'
  for (const t of types) {
    if (t === null) return null
    if (t === 'null' || t === common) continue
    if (common === 'null') common = t
    else if (comparable(common, t) && (common === 'float' || t === 'float')) common = 'float'
    else if ((common === 'int' || common === 'numeric') && (t === 'int' || t === 'numeric')) common = 'numeric'
    else if (isTemporalPair(common, t)) common = common === 'timestamptz' || t === 'timestamptz' ? 'timestamptz' : 'timestamp'
    else fail(SqlState.DATATYPE_MISMATCH, `${context} types ${typeName({ base: common })} and ${typeName({ base: t })} cannot be matched`)
  }
  return common
}

function isTemporalPair(a: BaseType, b: BaseType): boolean {
  const temporal = (x: BaseType) => x === 'date' || x === 'timestamp' || x === 'timestamptz'
  return temporal(a) && temporal(b)
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
  return mapChildren(e, (child) => remapSlots(child, map))
}

/** The slots a bound expression reads. */
export function slotsOf(e: Expr, into: Set<number> = new Set()): Set<number> {
  if (e.kind === 'slot') into.add(e.index)
  for (const c of childExprs(e)) slotsOf(c, into)
  return into
}

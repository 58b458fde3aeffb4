// mrdb's own SQL syntax tree: readonly tagged unions (`kind`), produced from node-sql-parser's
// output by parse.ts. Nothing else in the engine sees the parser's shapes. Expressions are
// plain data (structured-cloneable), so they can be sent to worker threads.

import { formatTyped, isTypedValue, typedBaseOf } from './types/typed.js'
import { typeName, type ArithmeticOp, type ColumnType, type SqlValue } from './values.js'

/** Comparison operators. */
export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>='

/** Aggregate function names. */
export type AggregateFn = 'COUNT' | 'SUM' | 'AVG' | 'MIN' | 'MAX' | 'STRING_AGG'

/** A scalar or aggregate expression. `slot` and `value-set` appear only after binding. */
export type Expr =
  | { readonly kind: 'literal'; readonly value: SqlValue }
  | { readonly kind: 'column'; readonly table: string | null; readonly name: string }
  | { readonly kind: 'slot'; readonly index: number; readonly label: string }
  | { readonly kind: 'negate'; readonly operand: Expr }
  | { readonly kind: 'not'; readonly operand: Expr }
  | { readonly kind: 'arithmetic'; readonly op: ArithmeticOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'concat'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'and'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'between'; readonly operand: Expr; readonly low: Expr; readonly high: Expr; readonly negated: boolean }
  | { readonly kind: 'in-list'; readonly operand: Expr; readonly list: readonly Expr[]; readonly negated: boolean }
  | { readonly kind: 'in-subquery'; readonly operand: Expr; readonly query: QueryStmt; readonly negated: boolean }
  /** A scalar subquery: the one value of its one column (NULL without rows; 21000 for more than one). */
  | { readonly kind: 'subquery'; readonly query: QueryStmt }
  /** EXISTS (subquery). */
  | { readonly kind: 'exists'; readonly query: QueryStmt }
  /** ARRAY(subquery): the values of its one column as an array (empty without rows). */
  | { readonly kind: 'array-subquery'; readonly query: QueryStmt }
  /** ARRAY[e1, e2, …]. */
  | { readonly kind: 'array'; readonly elements: readonly Expr[] }
  /** `operand[index]`: an array's element (1-based; NULL outside its bounds). */
  | { readonly kind: 'subscript'; readonly operand: Expr; readonly index: Expr }
  /** `operand op ANY (array)` (`all`: `op ALL (array)`), with SQL's three-valued logic over the elements. */
  | { readonly kind: 'quantified'; readonly op: CompareOp; readonly operand: Expr; readonly array: Expr; readonly all: boolean }
  | { readonly kind: 'value-set'; readonly operand: Expr; readonly keys: readonly string[]; readonly hasNull: boolean; readonly negated: boolean }
  /** LIKE, or ILIKE when `caseInsensitive`. */
  | { readonly kind: 'like'; readonly operand: Expr; readonly pattern: Expr; readonly negated: boolean; readonly caseInsensitive: boolean }
  | { readonly kind: 'is-null'; readonly operand: Expr; readonly negated: boolean }
  | { readonly kind: 'function'; readonly name: string; readonly args: readonly Expr[] }
  /** An aggregate call; `separator` is STRING_AGG's delimiter. */
  | { readonly kind: 'aggregate'; readonly fn: AggregateFn; readonly arg: Expr | null; readonly distinct: boolean; readonly separator?: string }
  /** CASE: with an operand, each `when` is compared to it (simple CASE); without, each is a condition. */
  | { readonly kind: 'case'; readonly operand: Expr | null; readonly whens: readonly CaseWhen[]; readonly otherwise: Expr | null }
  /** A window function call: `fn(args) OVER (PARTITION BY … ORDER BY …)` (fn upper case; an aggregate or a ranking function). */
  | {
      readonly kind: 'window'
      readonly fn: string
      readonly args: readonly Expr[]
      readonly distinct: boolean
      readonly partitionBy: readonly Expr[]
      readonly orderBy: readonly OrderKey[]
    }
  /** CAST(operand AS type), also written `operand::type`. */
  | { readonly kind: 'cast'; readonly operand: Expr; readonly type: ColumnType }

/** One WHEN … THEN … of a CASE. */
export interface CaseWhen {
  readonly when: Expr
  readonly then: Expr
}

/** A column in CREATE TABLE. */
export interface ColumnDef {
  readonly name: string
  readonly type: ColumnType
  readonly notNull: boolean
  readonly primaryKey: boolean
  readonly unique: boolean
  readonly defaultValue: Expr | null
}

/** One item of a SELECT list: `*`, `t.*`, or an expression with an optional alias. */
export type SelectItem =
  | { readonly kind: 'star'; readonly table: string | null }
  | { readonly kind: 'expr'; readonly expr: Expr; readonly alias: string | null }

/** How a table of FROM is joined to the ones before it ('first' for the first). */
export type JoinKind = 'first' | 'inner' | 'left' | 'right' | 'full' | 'cross'

/**
 * A table in FROM: a table or common table expression by name, a subquery (a derived
 * table, which needs an alias) or a set-returning function; every one after the first carries
 * how it is joined.
 */
export interface TableRef {
  readonly table: string
  readonly query: QueryStmt | null
  readonly alias: string | null
  readonly join: JoinKind
  readonly on: Expr | null
  /** JOIN … USING (columns): equality of the named columns, each shown once by `*`. */
  readonly using: readonly string[] | null
  /** A set-returning function read as the table (`generate_series(1, 3) AS s(i)`); `table` is then empty. */
  readonly setFunction?: SetFunctionCall
}

/**
 * A set-returning function in FROM: its name (upper case), arguments, and the name of its one
 * column (the alias's column list, else the alias, else the function's name, as in PostgreSQL).
 */
export interface SetFunctionCall {
  readonly name: string
  readonly args: readonly Expr[]
  readonly column: string
}

/** ORDER BY key; `nulls` null is PostgreSQL's default (NULLs sort as larger than any value). */
export interface OrderKey {
  readonly expr: Expr
  readonly desc: boolean
  readonly nulls: 'first' | 'last' | null
}

/** WITH name [(columns)] AS (query). */
export interface CommonTable {
  readonly name: string
  readonly columns: readonly string[] | null
  readonly query: QueryStmt
}

/** UNION / INTERSECT / EXCEPT [ALL] of two queries, with the ORDER BY and LIMIT of the whole. */
export interface SetOpStmt {
  readonly kind: 'set-op'
  readonly op: 'union' | 'intersect' | 'except'
  readonly all: boolean
  readonly left: QueryStmt
  readonly right: QueryStmt
  readonly with: readonly CommonTable[]
  readonly orderBy: readonly OrderKey[]
  readonly limit: Expr | null
  readonly offset: Expr | null
}

/** A query: a SELECT, or set operations over queries. */
export type QueryStmt = SelectStmt | SetOpStmt

/** SET column = expr. */
export interface Assignment {
  readonly column: string
  readonly value: Expr
}

/**
 * INSERT's `ON CONFLICT [target] DO NOTHING | DO UPDATE SET … [WHERE …]`. The target is the
 * columns of the primary key or a unique index, or a constraint's name; DO UPDATE needs one.
 * In `set` and `where`, `excluded.col` is the row the INSERT proposed, other columns the existing row's.
 */
export interface OnConflict {
  readonly columns: readonly string[] | null
  readonly constraint: string | null
  readonly action: 'nothing' | 'update'
  readonly set: readonly UpdateAssignment[]
  readonly where: Expr | null
}

/** The keyword DEFAULT where a value may be written: an item of INSERT's VALUES, or `SET col = DEFAULT`. */
export interface DefaultMarker {
  readonly kind: 'default'
}

/** An item of an INSERT's VALUES row: an expression, or DEFAULT (the column's default). */
export type InsertValue = Expr | DefaultMarker

/**
 * INSERT. Its rows come from VALUES (`rows`; `DEFAULT VALUES` is one empty row with an empty
 * column list) or from a query (`query`, with `rows` empty). `returning` lists what
 * RETURNING projects from each inserted or updated row (null without RETURNING).
 */
export interface InsertStmt {
  readonly kind: 'insert'
  readonly table: string
  readonly columns: readonly string[] | null
  readonly rows: readonly (readonly InsertValue[])[]
  readonly query: QueryStmt | null
  readonly onConflict: OnConflict | null
  readonly returning: readonly SelectItem[] | null
}

/** UPDATE; `returning` projects from each row's new values. A `DEFAULT` value sets the column's default. */
export interface UpdateStmt {
  readonly kind: 'update'
  readonly table: string
  readonly assignments: readonly UpdateAssignment[]
  readonly where: Expr | null
  readonly returning: readonly SelectItem[] | null
}

/** SET column = expr | DEFAULT in an UPDATE. */
export interface UpdateAssignment {
  readonly column: string
  readonly value: InsertValue
}

/** DELETE; `returning` projects from each deleted row's old values. */
export interface DeleteStmt {
  readonly kind: 'delete'
  readonly table: string
  readonly where: Expr | null
  readonly returning: readonly SelectItem[] | null
}

/** SELECT. */
export interface SelectStmt {
  readonly kind: 'select'
  readonly with: readonly CommonTable[]
  readonly distinct: boolean
  readonly items: readonly SelectItem[]
  readonly from: readonly TableRef[]
  readonly where: Expr | null
  readonly groupBy: readonly Expr[]
  readonly having: Expr | null
  readonly orderBy: readonly OrderKey[]
  readonly limit: Expr | null
  readonly offset: Expr | null
}

/** The one change an ALTER TABLE makes (schema-change.ts runs it as an online schema change). */
export type AlterAction =
  | { readonly kind: 'add-column'; readonly column: ColumnDef; readonly ifNotExists: boolean }
  | { readonly kind: 'drop-column'; readonly name: string; readonly ifExists: boolean }
  | { readonly kind: 'rename-column'; readonly from: string; readonly to: string }
  | { readonly kind: 'rename-table'; readonly to: string }
  | { readonly kind: 'add-unique'; readonly name: string | null; readonly columns: readonly string[] }
  | { readonly kind: 'drop-constraint'; readonly name: string; readonly ifExists: boolean }

/** Statements of online schema changes and their jobs: ALTER TABLE, SHOW JOBS, CHECK INDEXES. */
export type SchemaChangeStatement =
  | { readonly kind: 'alter-table'; readonly table: string; readonly action: AlterAction }
  | { readonly kind: 'show-jobs' }
  /** Verifies that every row has its index entries and every entry its row (all tables, or one). */
  | { readonly kind: 'check-indexes'; readonly table: string | null }

/** CREATE / ALTER / DROP USER (parse-user.ts; executed by users.ts). `password` null: none. */
export type UserStatement =
  | { readonly kind: 'create-user'; readonly name: string; readonly ifNotExists: boolean; readonly password: string | null }
  | { readonly kind: 'alter-user'; readonly name: string; readonly password: string | null }
  | { readonly kind: 'drop-user'; readonly names: readonly string[]; readonly ifExists: boolean }

/** A statement mrdb executes. */
export type Statement =
  | SchemaChangeStatement
  | UserStatement
  | {
      readonly kind: 'create-table'
      readonly name: string
      readonly ifNotExists: boolean
      readonly columns: readonly ColumnDef[]
      readonly primaryKey: readonly string[] | null
      readonly uniques: readonly (readonly string[])[]
    }
  | { readonly kind: 'drop-table'; readonly names: readonly string[]; readonly ifExists: boolean }
  | { readonly kind: 'create-index'; readonly name: string; readonly table: string; readonly columns: readonly string[]; readonly unique: boolean }
  | { readonly kind: 'drop-index'; readonly name: string; readonly table: string | null }
  | { readonly kind: 'show-tables' }
  /** Collects table statistics (all tables, or one) for the planner: stats.ts. */
  | { readonly kind: 'analyze'; readonly table: string | null }
  | { readonly kind: 'show-columns'; readonly table: string }
  | InsertStmt
  | UpdateStmt
  | DeleteStmt
  | SelectStmt
  | SetOpStmt
  | { readonly kind: 'explain'; readonly statement: Statement }
  | { readonly kind: 'begin' }
  /** A session setting: `SET name = value`. */
  | { readonly kind: 'set'; readonly name: string; readonly value: string }
  | { readonly kind: 'commit' }
  | { readonly kind: 'rollback' }

/** Visits every direct child expression of `e`. */
export function childExprs(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'literal':
    case 'column':
    case 'slot':
      return []
    case 'negate':
    case 'not':
    case 'is-null':
    case 'value-set':
      return [e.operand]
    case 'arithmetic':
    case 'concat':
    case 'compare':
    case 'and':
    case 'or':
      return [e.left, e.right]
    case 'between':
      return [e.operand, e.low, e.high]
    case 'in-list':
      return [e.operand, ...e.list]
    case 'in-subquery':
      return [e.operand]
    case 'subquery':
    case 'exists':
    case 'array-subquery':
      return []
    case 'array':
      return e.elements
    case 'subscript':
      return [e.operand, e.index]
    case 'quantified':
      return [e.operand, e.array]
    case 'like':
      return [e.operand, e.pattern]
    case 'function':
      return e.args
    case 'aggregate':
      return e.arg === null ? [] : [e.arg]
    case 'case':
      return [...(e.operand === null ? [] : [e.operand]), ...e.whens.flatMap((w) => [w.when, w.then]), ...(e.otherwise === null ? [] : [e.otherwise])]
    case 'cast':
      return [e.operand]
    case 'window':
      return [...e.args, ...e.partitionBy, ...e.orderBy.map((o) => o.expr)]
  }
}

/** Whether `e` contains an aggregate call. */
export function hasAggregate(e: Expr): boolean {
  return e.kind === 'aggregate' || childExprs(e).some(hasAggregate)
}

/** Whether `e` refers to no column (so it can be evaluated once, at plan time). */
export function isConstant(e: Expr): boolean {
  if (e.kind === 'column' || e.kind === 'slot' || e.kind === 'aggregate' || e.kind === 'in-subquery' || e.kind === 'subquery' || e.kind === 'exists' || e.kind === 'array-subquery') return false
  return childExprs(e).every(isConstant)
}

/** Splits a condition into its AND-ed parts. */
export function conjuncts(e: Expr | null): Expr[] {
  if (e === null) return []
  if (e.kind === 'and') return [...conjuncts(e.left), ...conjuncts(e.right)]
  return [e]
}

/** SQL text of an expression, for column names and EXPLAIN. */
export function exprToSql(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return literalToSql(e.value)
    case 'column':
      return e.table === null ? e.name : `${e.table}.${e.name}`
    case 'slot':
      return e.label
    case 'negate':
      return `-${exprToSql(e.operand)}`
    case 'not':
      return `NOT ${exprToSql(e.operand)}`
    case 'arithmetic':
      return `(${exprToSql(e.left)} ${e.op} ${exprToSql(e.right)})`
    case 'concat':
      return `(${exprToSql(e.left)} || ${exprToSql(e.right)})`
    case 'compare':
      return `(${exprToSql(e.left)} ${e.op} ${exprToSql(e.right)})`
    case 'and':
      return `(${exprToSql(e.left)} AND ${exprToSql(e.right)})`
    case 'or':
      return `(${exprToSql(e.left)} OR ${exprToSql(e.right)})`
    case 'between':
      return `(${exprToSql(e.operand)}${e.negated ? ' NOT' : ''} BETWEEN ${exprToSql(e.low)} AND ${exprToSql(e.high)})`
    case 'in-list':
      return `(${exprToSql(e.operand)}${e.negated ? ' NOT' : ''} IN (${e.list.map(exprToSql).join(', ')}))`
    case 'in-subquery':
      return `(${exprToSql(e.operand)}${e.negated ? ' NOT' : ''} IN (subquery))`
    case 'subquery':
      return '(subquery)'
    case 'exists':
      return 'EXISTS (subquery)'
    case 'array-subquery':
      return 'ARRAY(subquery)'
    case 'array':
      return `ARRAY[${e.elements.map(exprToSql).join(', ')}]`
    case 'subscript':
      return `${exprToSql(e.operand)}[${exprToSql(e.index)}]`
    case 'quantified':
      return `(${exprToSql(e.operand)} ${e.op} ${e.all ? 'ALL' : 'ANY'} (${exprToSql(e.array)}))`
    case 'value-set':
      return `(${exprToSql(e.operand)}${e.negated ? ' NOT' : ''} IN (${e.keys.length + (e.hasNull ? 1 : 0)} values))`
    case 'like':
      return `(${exprToSql(e.operand)}${e.negated ? ' NOT' : ''} ${e.caseInsensitive ? 'ILIKE' : 'LIKE'} ${exprToSql(e.pattern)})`
    case 'is-null':
      return `(${exprToSql(e.operand)} IS ${e.negated ? 'NOT ' : ''}NULL)`
    case 'function':
      return `${e.name.toLowerCase()}(${e.args.map(exprToSql).join(', ')})`
    case 'aggregate':
      return `${e.fn.toLowerCase()}(${e.distinct ? 'DISTINCT ' : ''}${e.arg === null ? '*' : exprToSql(e.arg)})`
    case 'case': {
      const whens = e.whens.map((w) => ` WHEN ${exprToSql(w.when)} THEN ${exprToSql(w.then)}`).join('')
      return `CASE${e.operand === null ? '' : ` ${exprToSql(e.operand)}`}${whens}${e.otherwise === null ? '' : ` ELSE ${exprToSql(e.otherwise)}`} END`
    }
    case 'cast':
      return `CAST(${exprToSql(e.operand)} AS ${typeName(e.type)})`
    case 'window': {
      const partition = e.partitionBy.length === 0 ? '' : `PARTITION BY ${e.partitionBy.map(exprToSql).join(', ')}`
      const order = e.orderBy.length === 0 ? '' : `ORDER BY ${e.orderBy.map((o) => `${exprToSql(o.expr)}${o.desc ? ' DESC' : ''}`).join(', ')}`
      return `${e.fn.toLowerCase()}(${e.args.map(exprToSql).join(', ')}) OVER (${[partition, order].filter((x) => x !== '').join(' ')})`
    }
  }
}

/** SQL text of a value. */
export function literalToSql(v: SqlValue): string {
  if (v === null) return 'NULL'
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE'
  if (isTypedValue(v)) {
    const text = formatTyped(v)
    return typedBaseOf(v) === 'numeric' ? text : `'${text.replaceAll("'", "''")}'::${typedBaseOf(v)}`
  }
  return String(v)
}

/** `e` with each direct child replaced by `f(child)` (same node when it has no children). */
export function mapChildren(e: Expr, f: (child: Expr) => Expr): Expr {
  switch (e.kind) {
    case 'literal':
    case 'column':
    case 'slot':
    case 'aggregate':
    case 'subquery':
    case 'exists':
    case 'array-subquery':
      return e
    case 'array':
      return { ...e, elements: e.elements.map(f) }
    case 'subscript':
      return { ...e, operand: f(e.operand), index: f(e.index) }
    case 'quantified':
      return { ...e, operand: f(e.operand), array: f(e.array) }
    case 'negate':
    case 'not':
    case 'is-null':
    case 'value-set':
    case 'in-subquery':
      return { ...e, operand: f(e.operand) }
    case 'arithmetic':
    case 'concat':
    case 'compare':
    case 'and':
    case 'or':
      return { ...e, left: f(e.left), right: f(e.right) }
    case 'between':
      return { ...e, operand: f(e.operand), low: f(e.low), high: f(e.high) }
    case 'in-list':
      return { ...e, operand: f(e.operand), list: e.list.map(f) }
    case 'like':
      return { ...e, operand: f(e.operand), pattern: f(e.pattern) }
    case 'function':
      return { ...e, args: e.args.map(f) }
    case 'case':
      return {
        ...e,
        operand: e.operand === null ? null : f(e.operand),
        whens: e.whens.map((w) => ({ when: f(w.when), then: f(w.then) })),
        otherwise: e.otherwise === null ? null : f(e.otherwise),
      }
    case 'cast':
      return { ...e, operand: f(e.operand) }
    case 'window':
      return { ...e, args: e.args.map(f), partitionBy: e.partitionBy.map(f), orderBy: e.orderBy.map((o) => ({ ...o, expr: f(o.expr) })) }
  }
}

/** A string equal for structurally equal expressions. */
export function exprKey(e: Expr): string {
  // A slot is its index: its label only says how it was written (`t.a` or `a`).
  return JSON.stringify(e, (k, v: unknown) => (k === 'label' ? undefined : typeof v === 'bigint' ? `${v}n` : v))
}

// One neutral form for an expression tree, from mrdb's AST and from PostgreSQL's own parse
// tree (libpg-query), so that a test can compare how each grouped the same text, and hand
// PostgreSQL's grouping, fully parenthesised, to another engine.
//
// Chains of AND and of OR are flattened (both are associative, and PostgreSQL flattens them
// itself), `!=` is `<>`, and a unary minus on a number literal is the negative literal (both
// parsers fold it).

import type { Expr } from '../ast.js'

/** An expression tree: a leaf (a column name, a literal as SQL writes it), or an operator and its operands. */
export type Tree = string | { readonly op: string; readonly args: readonly Tree[] }

const node = (op: string, ...args: Tree[]): Tree => ({ op, args })

/** The tree as an S-expression: `(and a (or b c))`. */
export function sexpr(t: Tree): string {
  return typeof t === 'string' ? t : `(${[t.op, ...t.args.map(sexpr)].join(' ')})`
}

/** The tree as SQL text with every operator parenthesised, as SQLite reads it. */
export function fullyParenthesised(t: Tree): string {
  if (typeof t === 'string') return t === 'null' || t === 'true' || t === 'false' ? t.toUpperCase() : t
  const a = t.args.map(fullyParenthesised)
  const negated = t.op.startsWith('not-') ? 'NOT ' : ''
  switch (t.op.replace(/^not-/, '')) {
    case 'neg':
      return `(- ${a[0]})`
    case 'not':
      return `(NOT ${a[0]})`
    case 'and':
    case 'or':
      return `(${a.join(` ${t.op.toUpperCase()} `)})`
    case 'between':
      return `(${a[0]} ${negated}BETWEEN ${a[1]} AND ${a[2]})`
    case 'in':
      return `(${a[0]} ${negated}IN (${a.slice(1).join(', ')}))`
    case 'like':
      return `(${a[0]} ${negated}LIKE ${a[1]})`
    case 'is-null':
      return `(${a[0]} IS NULL)`
    case 'is-not-null':
      return `(${a[0]} IS NOT NULL)`
    default:
      return a.length === 2 ? `(${a[0]} ${t.op} ${a[1]})` : `${t.op}(${a.join(', ')})`
  }
}

/** The tree of an mrdb expression. */
export function mrdbTree(e: Expr): Tree {
  const not = (negated: boolean) => (negated ? 'not-' : '')
  switch (e.kind) {
    case 'literal':
      return e.value === null ? 'null' : typeof e.value === 'string' ? `'${e.value}'` : String(e.value)
    case 'column':
      return e.name
    case 'negate':
      return node('neg', mrdbTree(e.operand))
    case 'not':
      return node('not', mrdbTree(e.operand))
    case 'arithmetic':
    case 'compare':
      return node(e.op, mrdbTree(e.left), mrdbTree(e.right))
    case 'concat':
      return node('||', mrdbTree(e.left), mrdbTree(e.right))
    case 'and':
    case 'or':
      return node(e.kind, ...flatten(e, e.kind).map(mrdbTree))
    case 'between':
      return node(`${not(e.negated)}between`, mrdbTree(e.operand), mrdbTree(e.low), mrdbTree(e.high))
    case 'in-list':
      return node(`${not(e.negated)}in`, mrdbTree(e.operand), ...e.list.map(mrdbTree))
    case 'like':
      return node(`${not(e.negated)}like`, mrdbTree(e.operand), mrdbTree(e.pattern))
    case 'is-null':
      return node(e.negated ? 'is-not-null' : 'is-null', mrdbTree(e.operand))
    case 'function':
      return node(e.name.toLowerCase(), ...e.args.map(mrdbTree))
    default:
      return node(`unexpected ${e.kind}`)
  }
}

function flatten(e: Expr, kind: 'and' | 'or'): Expr[] {
  return e.kind === kind ? [...flatten(e.left, kind), ...flatten(e.right, kind)] : [e]
}

/** A node of libpg-query's JSON parse tree. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PgNode = any

/** The tree of an expression node of PostgreSQL's raw parse tree. */
export function pgTree(pg: PgNode): Tree {
  const [type, n] = Object.entries(pg as object)[0] as [string, PgNode]
  switch (type) {
    case 'A_Const':
      if (n.isnull) return 'null'
      if (n.ival !== undefined) return String(n.ival.ival ?? 0)
      if (n.boolval !== undefined) return String(n.boolval.boolval ?? false)
      if (n.sval !== undefined) return `'${n.sval.sval ?? ''}'`
      if (n.fval !== undefined) return String(Number(n.fval.fval))
      return node(`unexpected constant ${JSON.stringify(n)}`)
    case 'ColumnRef':
      return (n.fields as PgNode[]).map((f) => f.String.sval).at(-1)
    case 'BoolExpr':
      if (n.boolop === 'NOT_EXPR') return node('not', pgTree(n.args[0]))
      return node(n.boolop === 'AND_EXPR' ? 'and' : 'or', ...pgBoolOperands(n).map(pgTree))
    case 'NullTest':
      return node(n.nulltesttype === 'IS_NULL' ? 'is-null' : 'is-not-null', pgTree(n.arg))
    case 'A_Expr':
      return pgOperator(n)
    default:
      return node(`unexpected ${type}`)
  }
}

/** The operands of an AND or OR, with nested ones of the same operator flattened into it. */
function pgBoolOperands(n: PgNode): PgNode[] {
  return (n.args as PgNode[]).flatMap((a) => (a.BoolExpr?.boolop === n.boolop ? pgBoolOperands(a.BoolExpr) : [a]))
}

function pgOperator(n: PgNode): Tree {
  const op = String(n.name?.[0]?.String?.sval)
  const list = (l: PgNode): PgNode[] => l.List?.items ?? l
  switch (n.kind) {
    case 'AEXPR_OP':
      if (n.lexpr === undefined) return op === '+' ? pgTree(n.rexpr) : node(op === '-' ? 'neg' : op, pgTree(n.rexpr))
      return node(op, pgTree(n.lexpr), pgTree(n.rexpr))
    case 'AEXPR_IN':
      return node(op === '<>' ? 'not-in' : 'in', pgTree(n.lexpr), ...list(n.rexpr).map(pgTree))
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN':
      return node(n.kind === 'AEXPR_NOT_BETWEEN' ? 'not-between' : 'between', pgTree(n.lexpr), ...list(n.rexpr).map(pgTree))
    case 'AEXPR_LIKE':
      return node(op === '!~~' ? 'not-like' : 'like', pgTree(n.lexpr), pgTree(n.rexpr))
    default:
      return node(`unexpected ${String(n.kind)}`)
  }
}

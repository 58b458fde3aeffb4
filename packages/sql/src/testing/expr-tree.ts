// One printed form for an expression tree, from mrdb's AST and from PostgreSQL's own parse
// tree (libpg-query), so that a test can compare how each grouped the same text.
//
// The form is an S-expression: `(and a (or b c))`. Chains of AND and of OR are flattened
// (both are associative, and PostgreSQL flattens them itself), `!=` is `<>`, and a unary
// minus on a number literal is the negative literal (both parsers fold it).

import type { Expr } from '../ast.js'

/** The S-expression of an mrdb expression. */
export function mrdbTree(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return literal(e.value)
    case 'column':
      return e.name
    case 'negate':
      return `(neg ${mrdbTree(e.operand)})`
    case 'not':
      return `(not ${mrdbTree(e.operand)})`
    case 'arithmetic':
    case 'compare':
      return `(${e.op} ${mrdbTree(e.left)} ${mrdbTree(e.right)})`
    case 'concat':
      return `(|| ${mrdbTree(e.left)} ${mrdbTree(e.right)})`
    case 'and':
    case 'or':
      return `(${e.kind} ${flatten(e, e.kind).map(mrdbTree).join(' ')})`
    case 'between':
      return `(${e.negated ? 'not-' : ''}between ${mrdbTree(e.operand)} ${mrdbTree(e.low)} ${mrdbTree(e.high)})`
    case 'in-list':
      return `(${e.negated ? 'not-' : ''}in ${mrdbTree(e.operand)} ${e.list.map(mrdbTree).join(' ')})`
    case 'like':
      return `(${e.negated ? 'not-' : ''}like ${mrdbTree(e.operand)} ${mrdbTree(e.pattern)})`
    case 'is-null':
      return `(is-${e.negated ? 'not-' : ''}null ${mrdbTree(e.operand)})`
    case 'function':
      return `(${e.name.toLowerCase()} ${e.args.map(mrdbTree).join(' ')})`
    default:
      return `(${e.kind} …)`
  }
}

function flatten(e: Expr, kind: 'and' | 'or'): Expr[] {
  return e.kind === kind ? [...flatten(e.left, kind), ...flatten(e.right, kind)] : [e]
}

function literal(v: unknown): string {
  if (v === null) return 'null'
  if (typeof v === 'string') return `'${v}'`
  return String(v)
}

/** A node of libpg-query's JSON parse tree. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PgNode = any

/** The S-expression of a node of PostgreSQL's raw parse tree (an expression). */
export function pgTree(node: PgNode): string {
  const [type, n] = Object.entries(node as object)[0] as [string, PgNode]
  switch (type) {
    case 'A_Const':
      if (n.isnull) return 'null'
      if (n.ival !== undefined) return String(n.ival.ival ?? 0)
      if (n.boolval !== undefined) return String(n.boolval.boolval ?? false)
      if (n.sval !== undefined) return `'${n.sval.sval ?? ''}'`
      if (n.fval !== undefined) return String(Number(n.fval.fval))
      return `(const ${JSON.stringify(n)})`
    case 'ColumnRef':
      return (n.fields as PgNode[]).map((f) => f.String.sval).at(-1)
    case 'BoolExpr': {
      if (n.boolop === 'NOT_EXPR') return `(not ${pgTree(n.args[0])})`
      return `(${n.boolop === 'AND_EXPR' ? 'and' : 'or'} ${pgBoolOperands(n).map(pgTree).join(' ')})`
    }
    case 'NullTest':
      return `(${n.nulltesttype === 'IS_NULL' ? 'is-null' : 'is-not-null'} ${pgTree(n.arg)})`
    case 'A_Expr':
      return pgOperator(n)
    default:
      return `(${type} …)`
  }
}

/** The operands of an AND or OR, with nested ones of the same operator flattened into it. */
function pgBoolOperands(n: PgNode): PgNode[] {
  return (n.args as PgNode[]).flatMap((a) => (a.BoolExpr?.boolop === n.boolop ? pgBoolOperands(a.BoolExpr) : [a]))
}

function pgOperator(n: PgNode): string {
  const op = String(n.name?.[0]?.String?.sval)
  switch (n.kind) {
    case 'AEXPR_OP':
      if (n.lexpr === undefined) return op === '-' ? `(neg ${pgTree(n.rexpr)})` : op === '+' ? pgTree(n.rexpr) : `(${op} ${pgTree(n.rexpr)})`
      return `(${op} ${pgTree(n.lexpr)} ${pgTree(n.rexpr)})`
    case 'AEXPR_IN':
      return `(${op === '<>' ? 'not-in' : 'in'} ${pgTree(n.lexpr)} ${(n.rexpr.List?.items ?? n.rexpr).map(pgTree).join(' ')})`
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN': {
      const [low, high] = (n.rexpr.List?.items ?? n.rexpr) as PgNode[]
      return `(${n.kind === 'AEXPR_NOT_BETWEEN' ? 'not-' : ''}between ${pgTree(n.lexpr)} ${pgTree(low)} ${pgTree(high)})`
    }
    case 'AEXPR_LIKE':
      return `(${op === '!~~' ? 'not-like' : 'like'} ${pgTree(n.lexpr)} ${pgTree(n.rexpr)})`
    default:
      return `(${String(n.kind)} …)`
  }
}

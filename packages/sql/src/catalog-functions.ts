// The system catalog's functions that read the catalog, defined as PostgreSQL defines views:
// in SQL over the virtual tables (system-tables.ts). A call is replaced by a scalar subquery
// when the statement is parsed, so it reads the statement's own catalog snapshot like any
// other query of pg_catalog, and a function of a column is a correlated subquery.

import type { Expr, SelectStmt } from './ast.js'
import { fail, SqlState } from './errors.js'

const DEFINITIONS = 'pg_catalog.mrdb_definitions'
/** The inner alias: no query of PostgreSQL's clients uses it, so the arguments' names never resolve to it. */
const ALIAS = 'mrdb_def'

/** `(SELECT mrdb_definition FROM mrdb_definitions WHERE mrdb_object = oid AND mrdb_kind = kind AND mrdb_column = column)`. */
function definitionOf(oid: Expr, kind: 'index' | 'constraint', column: Expr): Expr {
  const col = (name: string): Expr => ({ kind: 'column', table: ALIAS, name })
  const eq = (left: Expr, right: Expr): Expr => ({ kind: 'compare', op: '=', left, right })
  const and = (left: Expr, right: Expr): Expr => ({ kind: 'and', left, right })
  const query: SelectStmt = {
    kind: 'select',
    with: [],
    distinct: false,
    items: [{ kind: 'expr', expr: col('mrdb_definition'), alias: null }],
    from: [{ table: DEFINITIONS, query: null, alias: ALIAS, join: 'first', on: null, using: null }],
    where: and(and(eq(col('mrdb_object'), oid), eq(col('mrdb_kind'), { kind: 'literal', value: kind })), eq(col('mrdb_column'), column)),
    groupBy: [],
    having: null,
    orderBy: [],
    limit: null,
    offset: null,
  }
  return { kind: 'subquery', query }
}

const ZERO: Expr = { kind: 'literal', value: 0n }

function arity(name: string, args: readonly Expr[], min: number, max: number): void {
  if (args.length < min || args.length > max) fail(SqlState.UNDEFINED_FUNCTION, `function ${name.toLowerCase()} does not take ${args.length} argument${args.length === 1 ? '' : 's'}`)
}

/**
 * The expression a call of catalog function `name` (upper case) stands for, or undefined when
 * `name` is not one: pg_get_indexdef(index [, column, pretty]) — the CREATE INDEX statement,
 * or the column-th key's name — and pg_get_constraintdef(constraint [, pretty]). The `pretty`
 * flag changes nothing in mrdb's definitions.
 */
export function catalogFunction(name: string, args: readonly Expr[]): Expr | undefined {
  switch (name) {
    case 'PG_GET_INDEXDEF':
      arity(name, args, 1, 3)
      if (args.length === 2) fail(SqlState.UNDEFINED_FUNCTION, 'function pg_get_indexdef does not take 2 arguments')
      return definitionOf(args[0]!, 'index', args[1] ?? ZERO)
    case 'PG_GET_CONSTRAINTDEF':
      arity(name, args, 1, 2)
      return definitionOf(args[0]!, 'constraint', ZERO)
    default:
      return undefined
  }
}

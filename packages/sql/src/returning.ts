// RETURNING of INSERT, UPDATE and DELETE: a SELECT list over the rows a statement wrote (the
// inserted or updated rows' new values, the deleted rows' old values). Planned before the
// statement writes anything, so a bad list (42703, 42803…) fails it without effects.

import { exprToSql, type SelectItem } from './ast.js'
import { bind, Scope, typeCheck, type StaticType } from './binder.js'
import type { TableDesc } from './catalog.js'
import { fail, SqlState } from './errors.js'
import { evaluate } from './eval.js'
import { resolveSubqueries, TOP_LEVEL } from './select.js'
import type { StatementContext } from './statement-context.js'
import { typeName, type SqlValue } from './values.js'

/** A planned RETURNING list. */
export interface ReturningPlan {
  /** The result's columns: name and SQL type name, as a SELECT's. */
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>
  /** The output row for one written row (the table's public columns, in order). */
  project(row: readonly SqlValue[]): SqlValue[]
}

/**
 * Plans `items` over rows of `table` (named by the table's name): `*` and `table.*` are its
 * visible columns; expressions may use its columns and uncorrelated subqueries.
 */
export async function planReturning(ctx: StatementContext, table: TableDesc, items: readonly SelectItem[]): Promise<ReturningPlan> {
  const scope = new Scope(table.columns.map((c) => ({ table: table.name, name: c.name, type: c.type, hidden: c.hidden })))
  const slotTypes = table.columns.map((c) => c.type.base)
  const outputs: Array<{ name: string; type: string; expr: ReturnType<typeof bind> }> = []
  for (const item of items) {
    if (item.kind === 'star') {
      if (item.table !== null && item.table !== table.name) fail(SqlState.UNDEFINED_TABLE, `missing FROM-clause entry for table "${item.table}"`)
      table.columns.forEach((c, i) => {
        if (!c.hidden) outputs.push({ name: c.name, type: typeName(c.type), expr: { kind: 'slot', index: i, label: c.name } })
      })
      continue
    }
    const expr = bind(await resolveSubqueries(ctx, item.expr, TOP_LEVEL, scope, null), scope, 'RETURNING')
    const name = item.alias ?? (item.expr.kind === 'column' ? item.expr.name : exprToSql(item.expr))
    outputs.push({ name, type: staticTypeName(typeCheck(expr, slotTypes)), expr })
  }
  return {
    columns: outputs.map(({ name, type }) => ({ name, type })),
    project: (row) => outputs.map((o) => evaluate(o.expr, row)),
  }
}

function staticTypeName(t: StaticType): string {
  return t === null || t === 'null' ? 'NULL' : typeName({ base: t })
}

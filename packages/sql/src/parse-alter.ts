// ALTER TABLE, SHOW JOBS and CHECK INDEXES: node-sql-parser's ALTER object (the same shape
// in its postgresql and mysql modes, as far as used here) → mrdb's AST. Statements the
// parser does not read in one mode or the other (`RENAME COLUMN a TO b` in postgresql mode,
// `SHOW JOBS` in mysql mode, `CHECK INDEXES`) are recognised from the text first.

import type { AlterAction, ColumnDef, Expr, Statement } from './ast.js'
import { fail, SqlState } from './errors.js'
import type { ColumnType } from './values.js'

// The parser's output: untyped JSON-like objects.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any

/** What parse.ts lends this converter: its converters of the parts ALTER shares with CREATE TABLE. */
export interface AlterHelpers {
  readonly ident: (name: unknown) => string
  readonly tableName: (t: Raw) => string
  readonly columnType: (def: Raw, column: string) => ColumnType
  readonly expr: (e: Raw) => Expr
}

const NAME = String.raw`(?:"([^"]+)"|\`([^\`]+)\`|([A-Za-z_][A-Za-z0-9_]*))`

function nameOf(m: RegExpExecArray, at: number): string {
  return m[at] ?? m[at + 1] ?? m[at + 2]!.toLowerCase()
}

/**
 * The statement `sql` is, when it is one of the forms read without the parser: `SHOW JOBS`,
 * `CHECK INDEXES [table]`, `ALTER TABLE t RENAME COLUMN a TO b`; null otherwise.
 */
export function parseSchemaChangeText(sql: string): Statement | null {
  if (/^\s*show\s+jobs\s*;?\s*$/i.test(sql)) return { kind: 'show-jobs' }
  const check = new RegExp(String.raw`^\s*check\s+indexes(?:\s+${NAME})?\s*;?\s*$`, 'i').exec(sql)
  if (check !== null) return { kind: 'check-indexes', table: check[1] ?? check[2] ?? check[3] ? nameOf(check, 1) : null }
  const rename = new RegExp(String.raw`^\s*alter\s+table\s+${NAME}\s+rename\s+column\s+${NAME}\s+to\s+${NAME}\s*;?\s*$`, 'i').exec(sql)
  if (rename !== null) return { kind: 'alter-table', table: nameOf(rename, 1), action: { kind: 'rename-column', from: nameOf(rename, 4), to: nameOf(rename, 7) } }
  return null
}

/** Converts the parser's ALTER statement; one action per ALTER TABLE, else 0A000. */
export function convertAlter(s: Raw, h: AlterHelpers): Statement {
  if (s.keyword !== undefined && s.keyword !== 'table') fail(SqlState.FEATURE_NOT_SUPPORTED, `ALTER ${String(s.keyword).toUpperCase()} is not supported`)
  const tables = Array.isArray(s.table) ? s.table : [s.table]
  if (tables.length !== 1) fail(SqlState.FEATURE_NOT_SUPPORTED, 'ALTER TABLE of several tables is not supported')
  const table = h.tableName(tables[0])
  const actions = (s.expr ?? []) as Raw[]
  if (actions.length !== 1) fail(SqlState.FEATURE_NOT_SUPPORTED, 'ALTER TABLE with several actions is not supported: run one ALTER TABLE per change')
  return { kind: 'alter-table', table, action: convertAction(actions[0], h) }
}

function convertAction(a: Raw, h: AlterHelpers): AlterAction {
  const action = String(a.action ?? '').toLowerCase()
  const resource = String(a.resource ?? '').toLowerCase()
  if (action === 'add' && resource === 'column') return { kind: 'add-column', column: columnDef(a, h), ifNotExists: Boolean(a.if_not_exists) }
  if (action === 'drop' && resource === 'column') return { kind: 'drop-column', name: h.ident(a.column), ifExists: Boolean(a.if_exists) }
  if (action === 'rename' && resource === 'table') return { kind: 'rename-table', to: h.ident(a.table) }
  if (action === 'rename' && resource === 'column') return { kind: 'rename-column', from: h.ident(a.old_column), to: h.ident(a.column) }
  if (action === 'add' && resource === 'constraint') {
    const d = a.create_definitions as Raw
    const type = String(d?.constraint_type ?? '').toLowerCase()
    if (!type.startsWith('unique')) fail(SqlState.FEATURE_NOT_SUPPORTED, `ADD CONSTRAINT … ${type.toUpperCase()} is not supported (only UNIQUE)`)
    return { kind: 'add-unique', name: d.constraint ? h.ident(d.constraint) : null, columns: (d.definition as Raw[]).map((c) => h.ident(c)) }
  }
  if (action === 'drop' && resource === 'constraint') return { kind: 'drop-constraint', name: h.ident(a.constraint), ifExists: Boolean(a.if_exists) }
  return fail(SqlState.FEATURE_NOT_SUPPORTED, `ALTER TABLE … ${action.toUpperCase()} ${resource.toUpperCase()} is not supported`)
}

function columnDef(a: Raw, h: AlterHelpers): ColumnDef {
  const name = h.ident(a.column)
  if (a.primary_key) fail(SqlState.FEATURE_NOT_SUPPORTED, 'ADD COLUMN … PRIMARY KEY is not supported')
  if (a.unique || a.unique_or_primary) fail(SqlState.FEATURE_NOT_SUPPORTED, 'ADD COLUMN … UNIQUE is not supported: add the column, then ADD CONSTRAINT … UNIQUE')
  if (a.auto_increment || a.check || a.reference_definition) fail(SqlState.FEATURE_NOT_SUPPORTED, 'ADD COLUMN with AUTO_INCREMENT, CHECK or REFERENCES is not supported')
  return {
    name,
    type: h.columnType(a.definition, name),
    notNull: a.nullable?.type === 'not null',
    primaryKey: false,
    unique: false,
    defaultValue: a.default_val ? h.expr(a.default_val.value) : null,
  }
}

// The parser adapter: node-sql-parser (postgresql mode) → mrdb's AST (ast.ts). The parser's loose
// output shapes live only in this file; anything not understood is rejected with 0A000.

import { isDeepStrictEqual } from 'node:util'
import sqlParser from 'node-sql-parser/build/postgresql.js'
import type { AggregateFn, SetFunctionCall, ColumnDef, CommonTable, CompareOp, Expr, InsertValue, OnConflict, OrderKey, QueryStmt, SelectItem, SelectStmt, SetOpStmt, Statement, TableRef, UpdateAssignment } from './ast.js'
import { fail, SqlError, SqlState } from './errors.js'
import { instantiate, literalTemplate, type LiteralTemplate } from './literal-template.js'
import { LruCache } from './lru-cache.js'
import { scalarFunctionName } from './functions.js'
import { fixPrecedence } from './precedence.js'
import { checkWindowCall } from './window.js'
import { convertAlter, parseSchemaChangeText } from './parse-alter.js'
import { parseUserStatement } from './parse-user.js'
import { normalisePgSyntax, SUBSCRIPT_WRAPPER } from './pg-syntax.js'
import { isSetFunction } from './set-functions.js'
import { catalogFunction } from './catalog-functions.js'
import { splitOnConflict, type OnConflictText } from './on-conflict.js'
import { isEscapeString, skipQuotedOrComment, splitStatements } from './split-statements.js'
import { topLevelWord } from './on-conflict.js'
import { columnTypeOf } from './types/column-types.js'
import { parseNumeric, type NumericValue } from './types/numeric.js'
import { parseDate, parseTimestamp } from './types/datetime.js'
import { parseIntervalLiteral } from './types/typed.js'
import { INT64_MAX, INT64_MIN, type ColumnType } from './values.js'

/** The largest SQL text (in UTF-16 code units) a statement may have: 1 MiB. Longer raises 54000. */
export const MAX_STATEMENT_SIZE = 1 << 20

/**
 * How deep parentheses may nest in a statement (outside quoted strings and comments): 64.
 * Deeper raises 54001 before the parser sees the text.
 */
export const MAX_NESTING_DEPTH = 64

/**
 * How deep a statement's syntax tree may be, in nested objects and arrays: 1000. Deeper
 * raises 54001. Without parentheses the depth is unbounded (`1+1+…+1` is a tree as deep as it
 * has terms), and Node's main thread, which receives the tree from the executor pool and
 * binds and evaluates it recursively, runs out of stack deserializing one 1,600 to 2,000
 * levels deep (the pool's message is then dropped, and the statement would hang).
 */
export const MAX_SYNTAX_TREE_DEPTH = 1000

/** The longest statement text the {@link StatementCache} keeps: bigger ones are rarely repeated. */
const MAX_CACHED_LENGTH = 16 * 1024

/**
 * The longest statement text whose template the {@link StatementCache} parses: a template's
 * parse costs as much as the statement's, and bulk statements (a many-row INSERT) rarely
 * repeat their shape.
 */
const MAX_TEMPLATED_LENGTH = 4 * 1024

// The parser's output: untyped JSON-like objects. Only this file touches them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any

const parser = new sqlParser.Parser()
const PARSE_OPTIONS = { database: 'postgresql' }

/**
 * What the cache knows of a template (see literal-template.ts): its parse, instantiated for a
 * statement by putting the statement's literals in; `unusable` once a direct parse showed
 * that the template does not stand for its statements (or the template did not parse), and
 * `pending` while its parse runs in the executor pool.
 */
type TemplateEntry = { readonly kind: 'usable'; readonly statements: readonly Statement[] } | { readonly kind: 'unusable' } | { readonly kind: 'pending' }

/**
 * Parses SQL text into statements, remembering the last `capacity` distinct texts and the
 * last `capacity` templates: statements that differ only in plain literals (small integers,
 * simple strings) share one parse of their template, checked against a direct parse before
 * it is ever used (docs/decisions.md, "The parse cache across literals").
 */
export class StatementCache {
  private readonly cache: LruCache<string, readonly Statement[]>
  private readonly templates: LruCache<string, TemplateEntry>
  /** Statements answered from a template, for tests and counters. */
  templateHits = 0
  /** Texts handed to the parser (statements and templates): what the cache did not save. */
  parses = 0

  constructor(capacity = 1000) {
    this.cache = new LruCache(capacity)
    this.templates = new LruCache(capacity)
  }

  /** The statements of `sql` (one or more separated by `;`); raises 54000, 54001, 42601 or 0A000. */
  parse(sql: string): readonly Statement[] {
    const found = this.lookup(sql)
    if ('statements' in found) return found.statements
    this.parses++
    const statements = parseSql(sql)
    const { template } = found
    if (template === null) return this.remember(sql, statements)
    if (this.templates.get(template.text) === undefined) {
      let parsed: readonly Statement[] | null = null
      try {
        this.parses++
        parsed = parseSql(template.text)
      } catch {
        // the template does not parse: its statements are parsed directly
      }
      this.learn(template, parsed, statements)
    }
    return statements
  }

  /**
   * {@link parse}, with a text not in the cache parsed by `parseElsewhere` (the executor pool,
   * so that the parser's cost never falls on the caller's thread). A new template is parsed
   * there too, after the statement has its answer.
   */
  async parseWith(sql: string, parseElsewhere: (sql: string) => Promise<readonly Statement[]>): Promise<readonly Statement[]> {
    checkSize(sql)
    const found = this.lookup(sql)
    if ('statements' in found) return found.statements
    this.parses++
    const statements = await parseElsewhere(sql)
    const { template } = found
    if (template === null) return this.remember(sql, statements)
    if (this.templates.get(template.text) === undefined) {
      this.templates.set(template.text, { kind: 'pending' })
      this.parses++
      parseElsewhere(template.text).then(
        (parsed) => this.learn(template, parsed, statements),
        () => this.learn(template, null, statements),
      )
    }
    return statements
  }

  /** The statements of `sql` from the cache (its text, else its template), or its template (null: none) when it must be parsed. */
  private lookup(sql: string): { statements: readonly Statement[] } | { template: LiteralTemplate | null } {
    const cached = this.cache.get(sql)
    if (cached !== undefined) return { statements: cached }
    const template = sql.length <= MAX_TEMPLATED_LENGTH ? literalTemplate(sql) : null
    const hit = template === null ? null : this.fromTemplate(template)
    return hit !== null ? { statements: hit } : { template }
  }

  /** The statements of `template`'s statement from its template's parse, or null when there is none to use. */
  private fromTemplate(template: LiteralTemplate): readonly Statement[] | null {
    const entry = this.templates.get(template.text)
    if (entry?.kind !== 'usable') return null
    const statements = instantiate(entry.statements, template.values)
    if (statements === null) return null
    this.templateHits++
    return statements
  }

  /**
   * Keeps the parse of `template` (null: it failed) if, instantiated with the literals of the
   * statement it came from, it gives exactly that statement's direct parse `direct`.
   */
  private learn(template: LiteralTemplate, parsed: readonly Statement[] | null, direct: readonly Statement[]): void {
    const instance = parsed === null ? null : instantiate(parsed, template.values)
    const usable = instance !== null && isDeepStrictEqual(instance, direct)
    this.templates.set(template.text, usable ? { kind: 'usable', statements: parsed! } : { kind: 'unusable' })
  }

  private remember(sql: string, statements: readonly Statement[]): readonly Statement[] {
    if (sql.length <= MAX_CACHED_LENGTH) this.cache.set(sql, statements)
    return statements
  }
}

/** Parses SQL text without caching (see {@link StatementCache}); raises 54000, 54001, 42601 or 0A000. */
export function parseSql(sql: string): readonly Statement[] {
  checkSize(sql)
  const depth = nestingDepth(sql)
  if (depth > MAX_NESTING_DEPTH) {
    fail(SqlState.STATEMENT_TOO_COMPLEX, `statement too complex: parentheses nest ${depth} deep; the limit is ${MAX_NESTING_DEPTH}`)
  }
  // Spellings of PostgreSQL the parser does not read, rewritten in place (pg-syntax.ts).
  return parseChecked(normalisePgSyntax(sql))
}

function checkSize(sql: string): void {
  if (sql.length > MAX_STATEMENT_SIZE) {
    fail(SqlState.PROGRAM_LIMIT_EXCEEDED, `statement is ${sql.length} characters long; the limit is ${MAX_STATEMENT_SIZE}`)
  }
}

/**
 * How deep parentheses nest in `sql`, outside quoted strings and comments (as
 * {@link skipQuotedOrComment} finds them). A parenthesis closing more than were opened is not counted.
 */
function nestingDepth(sql: string): number {
  let depth = 0
  let deepest = 0
  for (let i = 0; i < sql.length; ) {
    const next = skipQuotedOrComment(sql, i)
    if (next !== i) {
      i = next
      continue
    }
    const c = sql.charCodeAt(i++)
    if (c === OPEN_PAREN) deepest = Math.max(deepest, ++depth)
    else if (c === CLOSE_PAREN && depth > 0) depth--
  }
  return deepest
}

const OPEN_PAREN = 0x28
const CLOSE_PAREN = 0x29

/** parseSql of a text whose size and nesting are checked. */
function parseChecked(sql: string): readonly Statement[] {
  const explain = /^\s*explain\s+/i.exec(sql)
  if (explain !== null) {
    const inner = parseChecked(sql.slice(explain[0].length))
    if (inner.length !== 1) fail(SqlState.FEATURE_NOT_SUPPORTED, 'EXPLAIN takes exactly one statement')
    const statement = inner[0]!
    if (statement.kind === 'explain' || statement.kind === 'begin' || statement.kind === 'commit' || statement.kind === 'rollback' || statement.kind === 'set') {
      fail(SqlState.FEATURE_NOT_SUPPORTED, `EXPLAIN ${statement.kind.toUpperCase()} is not supported`)
    }
    return [{ kind: 'explain', statement }]
  }
  // The parser takes ON for a keyword, so `SET name = on` does not parse.
  const setWord = /^\s*set\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(on|off)\s*;?\s*$/i.exec(sql)
  if (setWord !== null) return [{ kind: 'set', name: setWord[1]!.toLowerCase(), value: setWord[2]!.toLowerCase() }]
  const analyze = /^\s*analyze(?:\s+(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*)))?\s*;?\s*$/i.exec(sql) // PostgreSQL's ANALYZE [table]
  if (analyze !== null) return [{ kind: 'analyze', table: analyze[1]?.replaceAll('""', '"') ?? analyze[2]?.toLowerCase() ?? null }]
  const schemaChange = parseSchemaChangeText(sql) // forms the parser does not read (parse-alter.ts)
  if (schemaChange !== null) return [schemaChange]
  const user = parseUserStatement(sql) // CREATE/ALTER/DROP USER, which the parser does not read (parse-user.ts)
  if (user !== null) return [user]
  // Index names are unique per database: PostgreSQL's DROP INDEX names no table.
  const dropIndex = /^\s*drop\s+index\s+(?:if\s+exists\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*;?\s*$/i.exec(sql)
  if (dropIndex !== null) return [{ kind: 'drop-index', name: dropIndex[1]!.toLowerCase(), table: null }]
  // The parser drops the LIMIT of `… OFFSET m LIMIT n` (LIMIT first is read right).
  if (/\boffset\s+[^\s;]+\s+limit\b/i.test(sql)) unsupported('OFFSET before LIMIT (write LIMIT n OFFSET m)')
  // CockroachDB's SHOW COLUMNS FROM, which the parser does not read (the shell's \d uses it).
  const showColumns = /^\s*show\s+columns\s+from\s+([A-Za-z_][A-Za-z0-9_]*)\s*;?\s*$/i.exec(sql)
  if (showColumns !== null) return [{ kind: 'show-columns', table: showColumns[1]!.toLowerCase() }]
  if (/\bon\s+conflict\b/i.test(sql)) {
    // The parser does not read ON CONFLICT: cut it off (statement by statement).
    const { statements, rest } = splitStatements(sql)
    if (statements.length + (rest === '' ? 0 : 1) > 1) return [...statements, rest].filter((t) => t !== '').flatMap(parseChecked)
    const upsert = splitOnConflict(sql)
    if (upsert !== null) return [withOnConflict(upsert)]
  }
  if (/\bdefault\s+values\b/i.test(sql)) {
    const { statements, rest } = splitStatements(sql)
    if (statements.length + (rest === '' ? 0 : 1) > 1) return [...statements, rest].filter((t) => t !== '').flatMap(parseChecked)
    const defaultValues = parseDefaultValues(sql)
    if (defaultValues !== null) return [defaultValues]
  }
  // The parser does not read DELETE … USING.
  if (/^\s*delete\s+from\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(\s+(as\s+)?[A-Za-z_][A-Za-z0-9_$]*)?\s+using\b/i.test(sql)) unsupported('DELETE … USING (write the other table as a subquery: WHERE EXISTS (SELECT … WHERE u.k = t.k))')
  if (/^\s*insert\b/i.test(sql) && /\breturning\b/i.test(sql)) {
    const { statements, rest } = splitStatements(sql)
    if (statements.length + (rest === '' ? 0 : 1) > 1) return [...statements, rest].filter((t) => t !== '').flatMap(parseChecked)
    const split = withReturning(sql)
    if (split !== null) return [split]
  }
  // The parser takes RETURNING right after DELETE's table for an alias.
  const deleteReturning = /^(\s*delete\s+from\s+(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))(\s+returning\b[\s\S]*)$/i.exec(sql)
  if (deleteReturning !== null) return parseChecked(`${deleteReturning[1]} WHERE TRUE${deleteReturning[2]}`)
  let raw: Raw
  try {
    raw = parser.astify(hideBackslashes(sql), PARSE_OPTIONS)
  } catch (cause) {
    // The parser ran out of stack or memory (it backtracks, and recurses per nesting level).
    if (cause instanceof RangeError) throw tooComplex(cause)
    const arity = insertArityMismatch(sql, cause)
    if (arity !== null) return [arity]
    throw syntaxError(cause, sql)
  }
  const list: Raw[] = Array.isArray(raw) ? raw : [raw]
  let statements: Statement[]
  try {
    quotedIdentifiers = sql.includes('"') ? quotedNamesIn(sql) : new Set()
    statements = list.filter((s) => s !== null && s !== undefined).map((s) => convertStatement(fixPrecedence(s)))
  } catch (e) {
    // A syntax tree too deep to walk recursively, e.g. 1+1+…+1 with thousands of terms.
    if (e instanceof RangeError && e.message === STACK_OVERFLOW) throw tooComplex(e)
    throw e
  }
  if (statements.length === 0) fail(SqlState.SYNTAX_ERROR, 'empty statement')
  for (const statement of statements) {
    const depth = treeDepth(statement, MAX_SYNTAX_TREE_DEPTH)
    if (depth > MAX_SYNTAX_TREE_DEPTH) {
      fail(SqlState.STATEMENT_TOO_COMPLEX, `statement too complex: its syntax tree is over ${MAX_SYNTAX_TREE_DEPTH} levels deep`)
    }
  }
  return statements
}

/**
 * How many objects and arrays deep `root` nests, counted without recursion (the tree may be
 * deeper than the stack), up to `limit` + 1: the walk stops at the first level beyond it.
 */
function treeDepth(root: unknown, limit: number): number {
  const isNode = (v: unknown): v is object => v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)
  if (!isNode(root)) return 0
  // Two parallel stacks of nodes still to visit and their depths.
  const nodes: object[] = [root]
  const depths: number[] = [1]
  let deepest = 0
  while (nodes.length > 0 && deepest <= limit) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    deepest = Math.max(deepest, depth)
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (!isNode(child)) continue
      nodes.push(child)
      depths.push(depth + 1)
    }
  }
  return deepest
}

/** V8's message for a stack overflow. */
const STACK_OVERFLOW = 'Maximum call stack size exceeded'

/** The INSERT of `upsert` with its ON CONFLICT clause. */
function withOnConflict(upsert: OnConflictText): Statement {
  const [insert, ...more] = parseChecked(upsert.insert)
  if (insert?.kind !== 'insert' || more.length > 0) return fail(SqlState.SYNTAX_ERROR, 'ON CONFLICT belongs to a single INSERT statement')
  let set: UpdateAssignment[] = []
  let where: Expr | null = null
  if (upsert.set !== null) {
    if (upsert.columns === null && upsert.constraint === null) {
      fail(SqlState.SYNTAX_ERROR, 'ON CONFLICT DO UPDATE requires inference specification or constraint name')
    }
    const [update] = parseChecked(`UPDATE excluded SET ${upsert.set}`)
    if (update?.kind !== 'update') return fail(SqlState.SYNTAX_ERROR, 'syntax error in ON CONFLICT DO UPDATE SET')
    set = [...update.assignments]
    where = update.where
  }
  const onConflict: OnConflict = { columns: upsert.columns, constraint: upsert.constraint, action: upsert.set === null ? 'nothing' : 'update', set, where }
  return { ...insert, onConflict }
}

function tooComplex(cause: RangeError): SqlError {
  return new SqlError(SqlState.STATEMENT_TOO_COMPLEX, 'statement too complex: it nests too deeply to parse', { cause })
}

/**
 * The parser's complaint as PostgreSQL words it: `syntax error at or near "word"` (the whole
 * token where the parser stopped, not a character) or `at end of input`, with the line and
 * column, and the 1-based position in the text for clients that point at it.
 */
function syntaxError(cause: unknown, sql: string): SqlError {
  const start = (cause as { location?: { start?: { offset?: number; line?: number; column?: number } } }).location?.start
  if (start?.offset === undefined) return new SqlError(SqlState.SYNTAX_ERROR, 'syntax error', { cause })
  const token = /^(?:"(?:[^"]|"")*"|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d*)?|::|<>|<=|>=|!=|\|\||\S)/.exec(sql.slice(start.offset))?.[0]
  const near = token === undefined ? 'at end of input' : `at or near "${token.length > 40 ? `${token.slice(0, 40)}…` : token}"`
  return new SqlError(SqlState.SYNTAX_ERROR, `syntax error ${near} (line ${start.line}, column ${start.column})`, { cause, position: start.offset + 1 })
}

function unsupported(what: string): never {
  return fail(SqlState.FEATURE_NOT_SUPPORTED, `${what} is not supported`)
}

/**
 * The double-quoted identifiers of the statement being converted. The parser hands table
 * names and aliases over as bare strings, quoted or not; a name spelled exactly as one of
 * these was quoted (PostgreSQL keeps its case), any other folds to lower case.
 */
let quotedIdentifiers: ReadonlySet<string> = new Set()

/** Every "quoted identifier" in `sql`, outside string literals and comments. */
function quotedNamesIn(sql: string): Set<string> {
  const names = new Set<string>()
  for (let i = 0; i < sql.length; ) {
    if (sql[i] === '"') {
      let j = i + 1
      let name = ''
      while (j < sql.length && !(sql[j] === '"' && sql[j + 1] !== '"')) {
        name += sql[j]
        j += sql[j] === '"' ? 2 : 1
      }
      names.add(name)
      i = j + 1
      continue
    }
    const next = skipQuotedOrComment(sql, i)
    i = next === i ? i + 1 : next
  }
  return names
}

function ident(name: unknown): string {
  if (typeof name === 'string') return quotedIdentifiers.has(name) ? name : name.toLowerCase()
  const n = name as Raw
  if (n !== null && typeof n === 'object') {
    // A quoted identifier keeps its case; others fold to lower case, as in PostgreSQL.
    if (n.type === 'double_quote_string' && typeof n.value === 'string') return n.value
    if (typeof n.value === 'string') return n.value.toLowerCase()
    if (n.expr !== undefined) return ident(n.expr)
    if (typeof n.column === 'string' || typeof n.column === 'object') return ident(n.column)
  }
  return unsupported('this identifier form')
}

function convertStatement(s: Raw): Statement {
  checkDefaultKeyword(s)
  switch (s.type) {
    case 'select':
      return convertQuery(s)
    case 'insert':
      return convertInsert(s)
    case 'update':
      return convertUpdate(s)
    case 'delete':
      return convertDelete(s)
    case 'create':
      if (s.keyword === 'table') return convertCreateTable(s)
      if (s.keyword === 'index') return convertCreateIndex(s)
      return unsupported(`CREATE ${String(s.keyword).toUpperCase()}`)
    case 'drop':
      if (s.keyword === 'table') {
        return { kind: 'drop-table', names: (s.name as Raw[]).map((t) => tableName(t)), ifExists: /if exists/i.test(s.prefix ?? '') }
      }
      if (s.keyword === 'index') return { kind: 'drop-index', name: ident(s.name), table: s.table ? tableName(s.table) : null }
      return unsupported(`DROP ${String(s.keyword).toUpperCase()}`)
    case 'show':
      if (s.keyword === 'tables') return { kind: 'show-tables' }
      if (s.keyword === 'columns' && Array.isArray(s.from) && s.from.length === 1) return { kind: 'show-columns', table: tableName(s.from[0]) }
      return unsupported(`SHOW ${String(s.keyword).toUpperCase()}`)
    case 'transaction': {
      const action = String(s.expr?.action?.value ?? '').toLowerCase()
      if (action === 'begin' || action === 'start') return { kind: 'begin' }
      if (action === 'commit') return { kind: 'commit' }
      if (action === 'rollback') return { kind: 'rollback' }
      return unsupported(`transaction statement ${action}`)
    }
    case 'alter':
      return convertAlter(s, { ident, tableName, columnType: columnDefinitionType, expr: convertExpr })
    case 'explain':
      return { kind: 'explain', statement: convertStatement(s.expr) }
    case 'set':
      return convertSet(s)
    default:
      return unsupported(`the ${String(s.type).toUpperCase()} statement`)
  }
}

/** `SET name = value`: one setting, its value a word, a string or a number (kept as lower-case text). */
function convertSet(s: Raw): Statement {
  const assigns = (s.expr ?? []) as Raw[]
  const a = assigns[0]
  if (assigns.length !== 1 || a?.type !== 'assign' || a.left?.type !== 'var' || a.left.prefix !== null || (a.left.members ?? []).length > 0) {
    return unsupported('this form of SET (use SET name = value)')
  }
  const r = a.right as Raw
  const value =
    r.type === 'column_ref' ? ident(r.column) : r.type === 'var' ? r.name : r.type === 'number' || r.type === 'bool' || /string/.test(String(r.type)) ? r.value : unsupported('this SET value')
  return { kind: 'set', name: String(a.left.name).toLowerCase(), value: String(value).toLowerCase() }
}

function tableName(t: Raw): string {
  // The system catalog's schemas name their virtual tables (system-tables.ts).
  if (t.db === 'pg_catalog' || t.db === 'information_schema') return `${t.db}.${ident(t.table)}`
  if (t.db !== null && t.db !== undefined && t.db !== 'public') unsupported('a database-qualified table name')
  if (t.expr !== undefined) unsupported('a subquery here')
  return ident(t.table)
}

/**
 * A query: one SELECT, or a chain of them joined by UNION / INTERSECT / EXCEPT (the parser
 * links them through `_next`). INTERSECT binds tighter than UNION and EXCEPT, as in SQL; the
 * last SELECT's ORDER BY and LIMIT belong to the whole chain unless it is parenthesised, the
 * first one's WITH to the chain.
 */
function convertQuery(s: Raw): QueryStmt {
  const withClause = convertWith(s.with)
  if (!s._next) return convertSelect(s, withClause)
  const selects: Raw[] = []
  const ops: string[] = []
  for (let node = s; node; node = node._next) {
    selects.push(node)
    if (node._next) ops.push(String(node.set_op ?? '').toLowerCase())
  }
  const last = selects.at(-1)!
  // A parenthesised last SELECT keeps its own ORDER BY and LIMIT, and the chain's come as the
  // first node's `_orderby` and `_limit`; they were taken for the chain's, and the chain's lost.
  const ownClauses = last.parentheses_symbol === true
  const operands: QueryStmt[] = selects.map((node, i) => convertSelect({ ...node, with: null, _next: null, ...(i === selects.length - 1 && !ownClauses ? { orderby: null, limit: null } : {}) }, []))
  const setOp = (op: string, left: QueryStmt, right: QueryStmt): SetOpStmt => {
    const m = /^(union|intersect|except)(?: (all|distinct))?$/.exec(op)
    if (m === null) return unsupported(`set operation ${op.toUpperCase()}`)
    return { kind: 'set-op', op: m[1] as SetOpStmt['op'], all: m[2] === 'all', left, right, with: [], orderBy: [], limit: null, offset: null }
  }
  // INTERSECT first, then UNION and EXCEPT from left to right.
  const terms: QueryStmt[] = [operands[0]!]
  const termOps: string[] = []
  ops.forEach((op, i) => {
    if (op.startsWith('intersect')) terms.push(setOp(op, terms.pop()!, operands[i + 1]!))
    else {
      termOps.push(op)
      terms.push(operands[i + 1]!)
    }
  })
  let query = terms[0]!
  termOps.forEach((op, i) => (query = setOp(op, query, terms[i + 1]!)))
  const [limit, offset] = convertLimit(ownClauses ? s._limit : last.limit)
  return { ...(query as SetOpStmt), with: withClause, orderBy: convertOrderBy(ownClauses ? s._orderby : last.orderby), limit, offset }
}

function convertWith(w: Raw): CommonTable[] {
  if (!Array.isArray(w)) return []
  return w.map((c: Raw): CommonTable => {
    if (c.recursive) unsupported('WITH RECURSIVE')
    return { name: ident(c.name), columns: Array.isArray(c.columns) && c.columns.length > 0 ? (c.columns as Raw[]).map(ident) : null, query: convertQuery(c.stmt?.ast ?? c.stmt) }
  })
}

function convertOrderBy(orderby: Raw): OrderKey[] {
  return ((orderby ?? []) as Raw[]).map((o): OrderKey => {
    const nulls = String(o.nulls ?? '').toUpperCase()
    return { expr: convertExpr(o.expr), desc: String(o.type ?? '').toUpperCase() === 'DESC', nulls: nulls === 'NULLS FIRST' ? 'first' : nulls === 'NULLS LAST' ? 'last' : null }
  })
}

function convertSelect(s: Raw, withClause: readonly CommonTable[]): SelectStmt {
  if (s.into?.position) unsupported('SELECT … INTO')
  if (s.locking_read) unsupported('locking reads (FOR UPDATE / FOR SHARE)')
  if (s.window) unsupported('window functions')
  const from: TableRef[] = joinWords((s.from ?? []) as Raw[]).map((f, i) => convertFrom(f, i))
  const groupRaw: Raw[] = s.groupby === null || s.groupby === undefined ? [] : Array.isArray(s.groupby) ? s.groupby : (s.groupby.columns ?? [])
  const [limit, offset] = convertLimit(s.limit)
  const items: SelectItem[] = (s.columns as Raw[]).map((c): SelectItem => {
    const e = c.expr
    if (e?.type === 'column_ref' && e.column === '*') return { kind: 'star', table: e.table ? ident(e.table) : null }
    if (e?.type === 'star') return { kind: 'star', table: null }
    return { kind: 'expr', expr: convertExpr(e), alias: c.as ? ident(c.as) : null }
  })
  return {
    kind: 'select',
    with: withClause,
    distinct: distinctOf(s.distinct),
    items,
    from,
    where: s.where ? convertExpr(s.where) : null,
    groupBy: groupRaw.map(convertExpr),
    having: s.having ? convertExpr(s.having) : null,
    orderBy: convertOrderBy(s.orderby),
    limit,
    offset,
  }
}

/** Whether a SELECT says DISTINCT (DISTINCT ON is not supported). */
function distinctOf(d: Raw): boolean {
  const type = typeof d === 'string' ? d : d?.type
  if (type === null || type === undefined || type === '') return false
  if (String(type).toUpperCase() !== 'DISTINCT') unsupported(String(type).toUpperCase())
  if (Array.isArray(d?.columns) && d.columns.length > 0) unsupported('DISTINCT ON')
  return true
}

/**
 * The parser reads `t CROSS JOIN u` and `t NATURAL JOIN u` as table t aliased "cross" or
 * "natural" (reserved words, never aliases in PostgreSQL) followed by a plain JOIN: read them back.
 */
function joinWords(from: Raw[]): Raw[] {
  return from.map((f, i) => {
    const word = String(f.as ?? '').toUpperCase()
    const next = from[i + 1]
    if (word === 'NATURAL') unsupported('NATURAL JOIN')
    if (word === 'CROSS' && next !== undefined) return { ...f, as: null }
    const previous = String(from[i - 1]?.as ?? '').toUpperCase()
    if (previous === 'CROSS' && /^(INNER )?JOIN$/i.test(String(f.join ?? '')) && !f.on && !f.using) return { ...f, join: 'CROSS JOIN' }
    return f
  })
}

function convertFrom(f: Raw, index: number): TableRef {
  const subquery = f.expr?.ast
  const query = subquery ? convertQuery(subquery) : null
  const setFunction = f.expr?.type === 'function' ? convertSetFunction(f) : undefined
  if (f.expr && !subquery && setFunction === undefined) unsupported('this FROM item')
  const table = query === null && setFunction === undefined ? tableName(f) : ''
  // The parser hands an alias with a column list over as one text: `s(i)`.
  const aliasText = typeof f.as === 'string' ? /^([^()]+)\(/.exec(f.as)?.[1] ?? f.as : f.as
  const alias = aliasText ? ident(aliasText) : query !== null ? 'unnamed_subquery' : setFunction !== undefined ? setFunction.name.toLowerCase() : null
  const on = f.on ? convertExpr(f.on) : null
  const using = Array.isArray(f.using) ? (f.using as Raw[]).map(ident) : null
  const base = { table, query, alias, on, using, ...(setFunction === undefined ? {} : { setFunction }) }
  if (index === 0) return { ...base, join: 'first' }
  const join = String(f.join ?? '').toUpperCase().replace(' OUTER', '')
  if (join === '' || join === 'CROSS JOIN') {
    if (on !== null || using !== null) fail(SqlState.SYNTAX_ERROR, 'syntax error: CROSS JOIN takes no ON or USING condition')
    return { ...base, join: 'cross' }
  }
  const kinds: Record<string, TableRef['join']> = { 'INNER JOIN': 'inner', JOIN: 'inner', 'LEFT JOIN': 'left', 'RIGHT JOIN': 'right', 'FULL JOIN': 'full' }
  const kind = kinds[join]
  if (kind === undefined) return unsupported(join)
  if (on === null && using === null) fail(SqlState.SYNTAX_ERROR, `syntax error: ${join} needs an ON or USING condition`)
  return { ...base, join: kind }
}

/** A set-returning function in FROM, `fn(args) [AS alias[(column)]]` (0A000 for functions that return no set). */
function convertSetFunction(f: Raw): SetFunctionCall {
  const name = String(f.expr.name?.name?.at(-1)?.value ?? '').toUpperCase()
  if (!isSetFunction(name)) unsupported(`function ${name.toLowerCase()} in FROM (only generate_series and unnest)`)
  const args = ((f.expr.args?.value ?? []) as Raw[]).map(convertExpr)
  const m = typeof f.as === 'string' ? /^[^()]+\(([^()]*)\)$/.exec(f.as) : null
  const columns = m === null ? [] : m[1]!.split(',').map((c) => ident(c.trim().replace(/^"(.*)"$/, '$1')))
  if (columns.length > 1) fail(SqlState.SYNTAX_ERROR, `function ${name.toLowerCase()} returns one column, not ${columns.length}`)
  const column = columns[0] ?? (f.as ? ident(typeof f.as === 'string' ? f.as.replace(/\(.*$/, '') : f.as) : name.toLowerCase())
  return { name, args, column }
}

/** [LIMIT, OFFSET]: the parser gives `OFFSET n` alone as one value after the separator "offset"; `LIMIT ALL` is no limit. */
function convertLimit(limit: Raw): [Expr | null, Expr | null] {
  if (!limit || !Array.isArray(limit.value) || limit.value.length === 0) return [null, null]
  const values = (limit.value as Raw[]).map((v) => (v?.type === 'origin' && String(v.value).toUpperCase() === 'ALL' ? null : convertExpr(v)))
  if (values.length === 1) return limit.seperator === 'offset' ? [null, values[0]!] : [values[0]!, null]
  return [values[0]!, values[1]!]
}

function convertInsert(s: Raw): Statement {
  if (!Array.isArray(s.table) || s.table.length !== 1) unsupported('INSERT into several tables')
  const table = tableName(s.table[0])
  const columns = Array.isArray(s.columns) ? (s.columns as Raw[]).map(ident) : null
  const returning = convertReturning(s.returning)
  if (s.values?.type === 'select') {
    return { kind: 'insert', table, columns, rows: [], query: convertQuery(s.values), onConflict: null, returning }
  }
  if (s.values?.type !== 'values') unsupported('this INSERT form')
  const rows = (s.values.values as Raw[]).map((r) => (r.value as Raw[]).map(convertInsertValue))
  return { kind: 'insert', table, columns, rows, query: null, onConflict: null, returning }
}

/** Whether a raw expression is the keyword DEFAULT (the parser hands it over as a column reference). */
function isDefaultKeyword(e: Raw): boolean {
  return e?.type === 'column_ref' && e.table === null && e.column?.expr?.type === 'default' && String(e.column.expr.value).toUpperCase() === 'DEFAULT'
}

/** An item of VALUES or a SET value: DEFAULT, or an expression (in which DEFAULT may not appear). */
function convertInsertValue(e: Raw): InsertValue {
  return isDefaultKeyword(e) ? { kind: 'default' } : convertExpr(e)
}

/**
 * Raises 42601 if the keyword DEFAULT appears anywhere in `raw` but where it is allowed: as a
 * whole item of INSERT's VALUES or a whole SET value (PostgreSQL's "DEFAULT is not allowed in
 * this context"). Elsewhere the parser would hand it over as a column named "default".
 */
function checkDefaultKeyword(raw: Raw, allowedHere = false): void {
  if (raw === null || typeof raw !== 'object') return
  if (!allowedHere && isDefaultKeyword(raw)) fail(SqlState.SYNTAX_ERROR, 'DEFAULT is not allowed in this context')
  if (Array.isArray(raw)) {
    for (const item of raw) checkDefaultKeyword(item)
    return
  }
  const valuesRows = raw.type === 'insert' && raw.values?.type === 'values' ? raw.values.values : null
  for (const [key, child] of Object.entries(raw as Record<string, Raw>)) {
    if (raw.type === 'update' && key === 'set' && Array.isArray(child)) {
      for (const a of child as Raw[]) checkDefaultKeyword(a.value, true)
    } else if (child === raw.values && valuesRows !== null) {
      for (const row of valuesRows as Raw[]) for (const item of (row.value ?? []) as Raw[]) checkDefaultKeyword(item, true)
    } else checkDefaultKeyword(child)
  }
}

/** RETURNING's list, as a SELECT list (null without RETURNING). */
function convertReturning(r: Raw): SelectItem[] | null {
  if (r === null || r === undefined) return null
  return ((r.columns ?? []) as Raw[]).map((c): SelectItem => {
    const e = c.expr
    if (e?.type === 'column_ref' && e.column === '*') return { kind: 'star', table: e.table ? ident(e.table) : null }
    if (e?.type === 'star') return { kind: 'star', table: null }
    return { kind: 'expr', expr: convertExpr(e), alias: c.as ? ident(c.as) : null }
  })
}

function convertAssignment(a: Raw): UpdateAssignment {
  return { column: ident(a.column), value: convertInsertValue(a.value) }
}

function convertUpdate(s: Raw): Statement {
  if (s.with) unsupported('WITH')
  if (s.from) unsupported('UPDATE … FROM (write the other table as subqueries: SET c = (SELECT … WHERE u.k = t.k) WHERE EXISTS (SELECT …))')
  if (!Array.isArray(s.table) || s.table.length !== 1) unsupported('UPDATE of several tables')
  if (s.orderby || s.limit) unsupported('UPDATE … ORDER BY / LIMIT')
  if (s.table[0].as) unsupported('an alias for the table of UPDATE')
  return {
    kind: 'update',
    table: tableName(s.table[0]),
    assignments: (s.set as Raw[]).map(convertAssignment),
    where: s.where ? convertExpr(s.where) : null,
    returning: convertReturning(s.returning),
  }
}

function convertDelete(s: Raw): Statement {
  if (s.with) unsupported('WITH')
  if (!Array.isArray(s.from) || s.from.length !== 1) unsupported('DELETE from several tables')
  if (s.orderby || s.limit) unsupported('DELETE … ORDER BY / LIMIT')
  if (s.from[0].as) unsupported('an alias for the table of DELETE')
  return { kind: 'delete', table: tableName(s.from[0]), where: s.where ? convertExpr(s.where) : null, returning: convertReturning(s.returning) }
}

/**
 * `INSERT INTO t DEFAULT VALUES [rest]` (which the parser does not read) as the INSERT of
 * one row of defaults, or null when `sql` is not of that form.
 */
function parseDefaultValues(sql: string): Statement | null {
  const m = /^\s*insert\s+into\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s+default\s+values\b/i.exec(sql)
  if (m === null) return null
  // The rest (RETURNING …) is parsed on a stand-in INSERT of that table.
  const [stand] = parseChecked(`INSERT INTO ${m[1]} (x) VALUES (NULL) ${sql.slice(m[0].length)}`)
  if (stand?.kind !== 'insert') return fail(SqlState.SYNTAX_ERROR, 'syntax error after DEFAULT VALUES')
  return { ...stand, columns: [], rows: [[]] }
}

/**
 * An INSERT with a RETURNING clause, the clause parsed apart as a SELECT list: after a query
 * the parser takes RETURNING for an alias (`INSERT … SELECT 1, 'x' RETURNING id`). Null when
 * there is no top-level RETURNING.
 */
function withReturning(sql: string): Statement | null {
  const at = topLevelWord(sql, /^returning\b/i, 0)
  if (at < 0) return null
  const [insert, ...more] = parseChecked(sql.slice(0, at))
  if (insert?.kind !== 'insert' || more.length > 0) return fail(SqlState.SYNTAX_ERROR, 'RETURNING belongs to a single INSERT statement')
  const list = sql.slice(at + 'returning'.length).replace(/;\s*$/, '')
  const [select, ...rest] = parseChecked(`SELECT ${list}`)
  if (select?.kind !== 'select' || rest.length > 0 || select.from.length > 0 || select.where !== null) return fail(SqlState.SYNTAX_ERROR, 'syntax error in RETURNING')
  return { ...insert, returning: select.items }
}

/**
 * An INSERT whose VALUES rows do not match its column list, which the parser refuses with a
 * message of its own ("column count doesn't match value count"): parsed without the list and
 * given it back, so that the INSERT fails with PostgreSQL's 42601 ("INSERT has more
 * expressions than target columns", or the reverse). Null for any other parse error.
 */
function insertArityMismatch(sql: string, cause: unknown): Statement | null {
  if (!/column count doesn't match value count/.test((cause as Error | null)?.message ?? '')) return null
  const m = /^(\s*insert\s+into\s+(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*)\(([^()]*)\)(\s*values\b[\s\S]*)$/i.exec(sql)
  if (m === null) return null
  const columns = m[2]!.split(',').map((c) => {
    const name = c.trim()
    const quoted = /^"(.*)"$/.exec(name)
    return quoted !== null ? quoted[1]!.replaceAll('""', '"') : name.toLowerCase()
  })
  const [insert, ...more] = parseChecked(`${m[1]}${m[3]}`)
  if (insert?.kind !== 'insert' || more.length > 0) return null
  return { ...insert, columns }
}

/** SERIAL, BIGSERIAL and SMALLSERIAL: as in CockroachDB, an INT8 NOT NULL column defaulting to unique_rowid(). */
const SERIAL_TYPES: ReadonlySet<string> = new Set(['SERIAL', 'SERIAL4', 'SERIAL8', 'BIGSERIAL', 'SMALLSERIAL', 'SERIAL2'])

/** The column a CREATE TABLE definition of type SERIAL declares, or null for other types. */
function serialColumn(d: Raw, name: string): ColumnDef | null {
  if (!SERIAL_TYPES.has(String(d.definition?.dataType ?? '').toUpperCase())) return null
  if (d.default_val) fail(SqlState.SYNTAX_ERROR, `multiple default values specified for column "${name}"`)
  return {
    name,
    type: convertType({ dataType: 'BIGINT' }, name),
    notNull: true,
    primaryKey: Boolean(d.primary_key),
    unique: Boolean(d.unique),
    defaultValue: { kind: 'function', name: 'UNIQUE_ROWID', args: [] },
  }
}

function convertType(def: Raw, column: string): ColumnType {
  if (def?.array) {
    // type[] (one dimension; PostgreSQL ignores a declared size).
    if (Number(def.array.dimension ?? 1) !== 1) unsupported(`multidimensional arrays (column ${column})`)
    return { base: 'array', element: convertType({ ...def, array: undefined }, column) }
  }
  const t = String(def?.dataType ?? '').toUpperCase()
  // The parser names some array types as one word (`TEXT[]`).
  if (t.endsWith('[]')) return convertType({ ...def, dataType: t.slice(0, -2), array: { dimension: 1 } }, column)
  const length = def?.length === undefined || def?.length === null ? undefined : Number(def.length)
  const scale = def?.scale === undefined || def?.scale === null ? undefined : Number(def.scale)
  const known = columnTypeOf(t, length, scale, Array.isArray(def?.suffix) ? def.suffix.map(String) : [], column)
  if (known !== undefined) return known
  switch (t) {
    case 'TEXT':
      return { base: 'text' }
    case 'VARCHAR':
    case 'CHARACTER VARYING': {
      const n = Number(def.length)
      if (!Number.isInteger(n) || n <= 0) fail(SqlState.SYNTAX_ERROR, `VARCHAR of column ${column} needs a positive length`)
      return { base: 'text', maxLength: n }
    }
    case 'BOOLEAN':
    case 'BOOL':
      return { base: 'bool' }
    default:
      return unsupported(`type ${t} (column ${column})`)
  }
}

/** A stored column's type: any but an array (rows and keys have no encoding for arrays). */
function columnDefinitionType(def: Raw, column: string): ColumnType {
  const type = convertType(def, column)
  if (type.base === 'array') unsupported(`array columns (column ${column})`)
  return type
}

function convertCreateTable(s: Raw): Statement {
  if (s.temporary) unsupported('TEMPORARY tables')
  if (s.as || s.query_expr) unsupported('CREATE TABLE … AS')
  if (s.like) unsupported('CREATE TABLE … LIKE')
  if (!Array.isArray(s.table) || s.table.length !== 1) unsupported('this CREATE TABLE form')
  const columns: ColumnDef[] = []
  let primaryKey: string[] | null = null
  const uniques: string[][] = []
  for (const d of (s.create_definitions ?? []) as Raw[]) {
    if (d.resource === 'column') {
      const name = ident(d.column)
      if (d.auto_increment) unsupported('AUTO_INCREMENT')
      if (d.check || d.reference_definition) unsupported('CHECK / REFERENCES')
      const serial = serialColumn(d, name)
      if (serial !== null) {
        columns.push(serial)
        continue
      }
      columns.push({
        name,
        type: columnDefinitionType(d.definition, name),
        notNull: d.nullable?.type === 'not null',
        primaryKey: Boolean(d.primary_key),
        unique: Boolean(d.unique),
        defaultValue: d.default_val ? convertExpr(d.default_val.value) : null,
      })
    } else if (d.resource === 'constraint') {
      const kind = String(d.constraint_type ?? '').toLowerCase()
      const cols = (d.definition as Raw[]).map(ident)
      if (kind === 'primary key') {
        if (primaryKey !== null) fail(SqlState.INVALID_TABLE_DEFINITION, 'multiple primary keys are not allowed')
        primaryKey = cols
      } else if (kind.startsWith('unique')) uniques.push(cols)
      else unsupported(`${kind.toUpperCase()} constraints`)
    } else unsupported(`${String(d.resource)} in CREATE TABLE`)
  }
  return { kind: 'create-table', name: tableName(s.table[0]), ifNotExists: Boolean(s.if_not_exists), columns, primaryKey, uniques }
}

function convertCreateIndex(s: Raw): Statement {
  const type = String(s.index_type ?? '').toLowerCase()
  if (type !== '' && type !== 'unique') unsupported(`${type.toUpperCase()} indexes`)
  if (s.index_using) unsupported('USING in CREATE INDEX')
  return {
    kind: 'create-index',
    name: ident(s.index),
    table: tableName(s.table),
    columns: (s.index_columns as Raw[]).map(ident),
    unique: type === 'unique',
  }
}

const COMPARE_OPS: Record<string, CompareOp> = { '=': '=', '<>': '<>', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' }
const AGGREGATES: ReadonlySet<string> = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'STRING_AGG'])

/** An expression with its subscripts (`a[1]`, `f(x)[i]`, `(ARRAY[…])[2]`) applied. */
function convertExpr(e: Raw): Expr {
  // pg-syntax.ts takes out COLLATE "C", "POSIX" and default, mrdb's one collation (code
  // point order); the parser hangs any other on a column, where it used to be ignored.
  if (e?.collate) unsupported('COLLATE with a collation other than "C" (text compares by code point)')
  const base = convertExprBase(e)
  const subscripts = Array.isArray(e?.array_index) ? (e.array_index as Raw[]) : []
  return subscripts.reduce((operand: Expr, s: Raw): Expr => {
    if (!s.brackets || s.property) unsupported('this subscript form')
    return { kind: 'subscript', operand, index: subscriptIndex(s.index) }
  }, base)
}

/** A subscript's index; one that is not a plain number arrives wrapped by pg-syntax.ts (SUBSCRIPT_WRAPPER). */
function subscriptIndex(raw: Raw): Expr {
  const wrapped = raw?.type === 'function' && String(raw.name?.name?.[0]?.value ?? '').toLowerCase() === SUBSCRIPT_WRAPPER
  return convertExpr(wrapped ? raw.args?.value?.[0] : raw)
}

function convertExprBase(e: Raw): Expr {
  if (e === null || e === undefined) return unsupported('an empty expression')
  // A parenthesised query in an expression: a scalar subquery.
  if (e.ast !== undefined && e.type === undefined) return { kind: 'subquery', query: convertQuery(e.ast) }
  switch (e.type) {
    case 'number':
      return { kind: 'literal', value: numberLiteral(e.value) }
    case 'bigint':
      return { kind: 'literal', value: numberLiteral(e.value) }
    case 'single_quote_string':
    case 'string':
      return { kind: 'literal', value: stringLiteral(e.value) }
    case 'default':
      // The parser hands an escape string constant E'…' over as its source text.
      if (typeof e.value === 'string' && /^[eE]'[\s\S]*'$/.test(e.value)) return { kind: 'literal', value: escapeString(e.value.slice(2, -1)) }
      return unsupported(`the expression ${String(e.value)}`)
    case 'double_quote_string':
      // "name" is an identifier in PostgreSQL, never a string.
      return { kind: 'column', table: null, name: String(e.value) }
    case 'bool':
      return { kind: 'literal', value: Boolean(e.value) }
    case 'null':
      return { kind: 'literal', value: null }
    case 'column_ref': {
      // The parser reads some string literals (e.g. 'a\\' in a select list) as a column named by a string.
      if (e.column?.expr?.type === 'single_quote_string') return { kind: 'literal', value: stringLiteral(e.column.expr.value) }
      const name = typeof e.column === 'string' ? e.column : ident(e.column)
      // The parser reads an exponent literal such as 3e2 as a column name.
      if (e.table === null && /^\d+(\.\d*)?e[+-]?\d+$/i.test(name)) return { kind: 'literal', value: parseNumeric(name) }
      if (name === '*') unsupported('* here')
      return { kind: 'column', table: e.table ? ident(e.table) : null, name }
    }
    case 'unary_expr': {
      const operand = convertExpr(e.expr)
      const op = String(e.operator).toUpperCase()
      if (op === '-') {
        if (operand.kind === 'literal' && (typeof operand.value === 'bigint' || typeof operand.value === 'number')) {
          return { kind: 'literal', value: -operand.value }
        }
        return { kind: 'negate', operand }
      }
      if (op === '+') return operand
      if (op === 'NOT' || op === '!') return { kind: 'not', operand }
      if (op === 'NOT EXISTS' && operand.kind === 'subquery') return { kind: 'not', operand: { kind: 'exists', query: operand.query } }
      return unsupported(`unary operator ${op}`)
    }
    case 'binary_expr':
      return convertBinary(e)
    case 'function':
      return convertFunction(e)
    case 'case': {
      const whens = ((e.args ?? []) as Raw[]).filter((a) => a.type === 'when').map((a) => ({ when: convertExpr(a.cond), then: convertExpr(a.result) }))
      const otherwise = ((e.args ?? []) as Raw[]).find((a) => a.type === 'else')
      return { kind: 'case', operand: e.expr ? convertExpr(e.expr) : null, whens, otherwise: otherwise ? convertExpr(otherwise.result) : null }
    }
    // Typed literals: DATE '…', TIMESTAMP '…', INTERVAL '…' [unit].
    case 'date':
      return { kind: 'literal', value: parseDate(String(e.value)) }
    case 'timestamp':
      return { kind: 'literal', value: parseTimestamp(String(e.value)) }
    case 'interval':
      if (e.expr?.type !== 'single_quote_string' && e.expr?.type !== 'string') return unsupported('this INTERVAL form')
      return { kind: 'literal', value: parseIntervalLiteral(stringLiteral(e.expr.value), e.unit ? String(e.unit) : null) }
    case 'extract': {
      // EXTRACT(field FROM source): the field as a text argument.
      const field = String(e.args?.field ?? '')
      return { kind: 'function', name: 'EXTRACT', args: [{ kind: 'literal', value: field.toLowerCase() }, convertExpr(e.args?.source)] }
    }
    case 'cast':
      // x::a::b comes as one cast with the targets in order.
      return ((e.target ?? []) as Raw[]).reduce((operand: Expr, target: Raw): Expr => ({ kind: 'cast', operand, type: convertType(target, 'CAST') }), convertExpr(e.expr))
    case 'aggr_func': {
      const fn = String(e.name).toUpperCase()
      if (!AGGREGATES.has(fn)) fail(SqlState.UNDEFINED_FUNCTION, `aggregate ${fn.toLowerCase()} does not exist`)
      const argRaw = e.args?.expr
      const star = argRaw?.type === 'star' || (argRaw?.type === 'column_ref' && argRaw.column === '*')
      if (star && fn !== 'COUNT') fail(SqlState.SYNTAX_ERROR, `${fn}(*) is not valid`)
      const input = star ? null : convertExpr(argRaw)
      // FILTER (WHERE c): every aggregate here skips NULL inputs, so it is the aggregate of
      // CASE WHEN c THEN input END (of 1 for COUNT(*)). The parser reads the clause; ignoring
      // it counted every row.
      const filter = e.filter?.where
      const arg: Expr | null =
        filter === undefined || filter === null ? input : { kind: 'case', operand: null, whens: [{ when: convertExpr(filter), then: input ?? { kind: 'literal', value: 1n } }], otherwise: null }
      if (e.args?.orderby) unsupported(`ORDER BY inside ${fn.toLowerCase()}(…)`)
      if (fn === 'STRING_AGG') {
        // string_agg(value, delimiter): the delimiter as a text constant.
        const delimiter = e.args?.separator?.delimiter
        if (delimiter === undefined || delimiter === null) fail(SqlState.UNDEFINED_FUNCTION, 'function string_agg takes two arguments: string_agg(value, delimiter)')
        const separator = convertExpr(delimiter)
        if (separator.kind !== 'literal' || (separator.value !== null && typeof separator.value !== 'string')) unsupported('a string_agg delimiter that is not a text constant')
        if (e.over) unsupported('string_agg as a window function')
        return { kind: 'aggregate', fn, arg, distinct: Boolean(e.args?.distinct), separator: (separator.value as string | null) ?? '' }
      }
      if (e.over) return convertWindow(fn, arg === null ? [] : [arg], Boolean(e.args?.distinct), e.over)
      return { kind: 'aggregate', fn: fn as AggregateFn, arg, distinct: Boolean(e.args?.distinct) }
    }
    case 'array':
      // ARRAY[e1, e2, …].
      if (!e.brackets) return unsupported('this ARRAY form')
      return { kind: 'array', elements: ((e.expr_list?.value ?? []) as Raw[]).map(convertExpr) }
    case 'window_func': {
      const fn = String(e.name).toUpperCase()
      const args = ((e.args?.value ?? []) as Raw[]).map(convertExpr)
      checkWindowCall(fn, args.length, false)
      return convertWindow(fn, args, false, e.over)
    }
    default:
      return unsupported(`expression type ${String(e.type)}`)
  }
}

/**
 * A function call. A few take SQL's special argument syntax, which the parser hands over as
 * words between the arguments: TRIM([BOTH | LEADING | TRAILING] [chars] FROM s), POSITION(a IN s).
 */
function convertFunction(e: Raw): Expr {
  const name = String(e.name?.name?.[0]?.value ?? e.name ?? '').toUpperCase()
  const raw = (e.args?.value ?? []) as Raw[]
  const isWord = (a: Raw, ...words: string[]) => a?.type === 'origin' && words.includes(String(a.value).toUpperCase())
  if (name === 'TRIM' && raw.some((a) => isWord(a, 'FROM', 'BOTH', 'LEADING', 'TRAILING'))) {
    const side = isWord(raw[0], 'BOTH', 'LEADING', 'TRAILING') ? String(raw[0].value).toUpperCase() : 'BOTH'
    const rest = raw.filter((a) => !isWord(a, 'BOTH', 'LEADING', 'TRAILING'))
    const from = rest.findIndex((a) => isWord(a, 'FROM'))
    const chars = from > 0 ? rest.slice(0, from) : []
    const source = rest.slice(from + 1)
    if (source.length !== 1 || chars.length > 1) return fail(SqlState.SYNTAX_ERROR, 'syntax error in TRIM')
    const fn = side === 'LEADING' ? 'LTRIM' : side === 'TRAILING' ? 'RTRIM' : 'TRIM'
    return { kind: 'function', name: fn, args: [convertExpr(source[0]), ...chars.map(convertExpr)] }
  }
  if (name === 'POSITION' && raw.length === 3 && isWord(raw[1], 'IN')) return { kind: 'function', name: 'STRPOS', args: [convertExpr(raw[2]), convertExpr(raw[0])] }
  if (name === 'EXISTS' && raw.length === 1 && raw[0]?.ast) return { kind: 'exists', query: convertQuery(raw[0].ast) }
  if (name === 'ARRAY') {
    if (raw.length !== 1 || !raw[0]?.ast) return fail(SqlState.SYNTAX_ERROR, 'ARRAY( … ) takes one subquery: ARRAY(SELECT …)')
    return { kind: 'array-subquery', query: convertQuery(raw[0].ast) }
  }
  if (name === 'ANY' || name === 'SOME' || name === 'ALL') return fail(SqlState.SYNTAX_ERROR, `${name} ( … ) must follow a comparison operator`)
  const args = raw.map(convertExpr)
  // The parser reads `NOT (…)` as a call of a function named NOT (see precedence.ts).
  if (name === 'NOT' && args.length === 1) return { kind: 'not', operand: args[0]! }
  // Functions that read the system catalog stand for subqueries of it (catalog-functions.ts).
  const catalogCall = catalogFunction(name, args)
  if (catalogCall !== undefined) return catalogCall
  const canonical = scalarFunctionName(name)
  if (canonical === undefined) return fail(SqlState.UNDEFINED_FUNCTION, `function ${name.toLowerCase()} does not exist`)
  return { kind: 'function', name: canonical, args }
}

/** `fn(args) OVER (…)`: PARTITION BY and ORDER BY; named windows and explicit frames are not supported. */
function convertWindow(fn: string, args: Expr[], distinct: boolean, over: Raw): Expr {
  const spec = over?.as_window_specification?.window_specification
  if (spec === undefined || spec === null) return unsupported('named windows (OVER name)')
  if (spec.window_frame_clause) unsupported('window frames (ROWS / RANGE …): the default frame is supported')
  if (distinct) unsupported('DISTINCT in a window function')
  const partitionBy = ((spec.partitionby ?? []) as Raw[]).map((p) => convertExpr(p.expr ?? p))
  return { kind: 'window', fn, args, distinct, partitionBy, orderBy: convertOrderBy(spec.orderby) }
}

/** The body of an escape string constant E'…': C-style backslash escapes, and '' for a quote. */
function escapeString(body: string): string {
  const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
  return body.replace(/''|\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\s\S])/g, (m, esc: string | undefined) => {
    if (esc === undefined) return "'"
    if (/^x/.test(esc)) return String.fromCodePoint(parseInt(esc.slice(1), 16))
    if (/^[0-7]/.test(esc)) return String.fromCodePoint(parseInt(esc, 8) & 0xff)
    if (/^[uU]/.test(esc)) return String.fromCodePoint(parseInt(esc.slice(1), 16))
    return simple[esc] ?? esc
  })
}

/** The text of a quoted string literal as the parser hands it over (quotes still doubled). */
function stringLiteral(v: unknown): string {
  return String(v).replaceAll("''", "'").replaceAll(BACKSLASH_STAND_IN, '\\')
}

/**
 * What stands for a backslash inside a standard string while the parser reads it. The parser
 * reads backslash escapes (`\n`, `\t`, `\b`, `\f`, `\r`, `\u…`, `\'`) in every quoted string,
 * as MySQL does; in PostgreSQL (standard_conforming_strings on) a backslash is an ordinary
 * character except in E'…' strings, so 'a\nb' is four characters and 'C:\' a whole string.
 * Read as escapes, 'a\nb' held a newline and `LIKE 'a\\b'` matched no backslash.
 */
const BACKSLASH_STAND_IN = '\uE000'

/**
 * `sql` with every backslash inside a standard string ('…', not E'…' or U&'…') replaced by
 * {@link BACKSLASH_STAND_IN}, same length, for the parser; {@link stringLiteral} turns them
 * back. A statement that already holds the stand-in character is refused rather than misread.
 */
function hideBackslashes(sql: string): string {
  if (!sql.includes('\\')) return sql
  const holdsStandIn = sql.includes(BACKSLASH_STAND_IN)
  let out = ''
  let copied = 0
  for (let i = 0; i < sql.length; ) {
    const next = skipQuotedOrComment(sql, i)
    if (next === i) {
      i++
      continue
    }
    const literal = sql.slice(i, next)
    if (sql[i] === "'" && !isEscapeString(sql, i) && literal.includes('\\')) {
      if (holdsStandIn) unsupported('a backslash in a string of a statement that holds the character U+E000')
      out += sql.slice(copied, i) + literal.replaceAll('\\', BACKSLASH_STAND_IN)
      copied = next
    }
    i = next
  }
  return copied === 0 ? sql : out + sql.slice(copied)
}

/**
 * A number literal as PostgreSQL types it: an integer that fits 64 bits is an integer, any
 * other number (a decimal point, an exponent, a bigger integer) is an exact NUMERIC.
 */
function numberLiteral(v: unknown): bigint | NumericValue {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      if (!Number.isSafeInteger(v)) {
        fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `integer literal ${v} cannot be represented exactly (write it as an expression, e.g. -9223372036854775807 - 1)`)
      }
      return BigInt(v)
    }
    return parseNumeric(String(v))
  }
  const text = String(v)
  if (/^[+-]?\d+$/.test(text)) {
    const n = BigInt(text)
    if (n < INT64_MIN || n > INT64_MAX) return parseNumeric(text)
    return n
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) fail(SqlState.SYNTAX_ERROR, `bad number literal ${text}`)
  return parseNumeric(text)
}

/**
 * `left op ANY|SOME|ALL (…)` (the parser reads the right side as a call of a function so
 * named): over an array, a quantified comparison; over a subquery, `= ANY` is IN and `<> ALL`
 * is NOT IN (other operators with a subquery are 0A000). Null when `right` is no such call.
 */
function quantifiedComparison(op: CompareOp, left: Expr, right: Raw): Expr | null {
  if (right?.type !== 'function' || right.array_index) return null
  const name = String(right.name?.name?.[0]?.value ?? '').toUpperCase()
  if (name !== 'ANY' && name !== 'SOME' && name !== 'ALL') return null
  const args = (right.args?.value ?? []) as Raw[]
  if (args.length !== 1) return fail(SqlState.SYNTAX_ERROR, `${name} takes one array or subquery`)
  const all = name === 'ALL'
  if (args[0]?.ast) {
    if (op === '=' && !all) return { kind: 'in-subquery', operand: left, query: convertQuery(args[0].ast), negated: false }
    if (op === '<>' && all) return { kind: 'in-subquery', operand: left, query: convertQuery(args[0].ast), negated: true }
    return unsupported(`${op} ${name} (subquery) (only = ANY and <> ALL take a subquery)`)
  }
  return { kind: 'quantified', op, operand: left, array: convertExpr(args[0]), all }
}

function convertBinary(e: Raw): Expr {
  const op = String(e.operator).toUpperCase()
  const left = convertExpr(e.left)
  const compare = COMPARE_OPS[op]
  if (compare !== undefined) return quantifiedComparison(compare, left, e.right) ?? { kind: 'compare', op: compare, left, right: convertExpr(e.right) }
  switch (op) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return { kind: 'arithmetic', op, left, right: convertExpr(e.right) }
    case 'MOD':
      return { kind: 'arithmetic', op: '%', left, right: convertExpr(e.right) }
    case '||':
      return { kind: 'concat', left, right: convertExpr(e.right) }
    // JSONB operators, as functions (types/type-functions.ts).
    case '->':
      return { kind: 'function', name: 'JSON_GET', args: [left, convertExpr(e.right)] }
    case '->>':
      return { kind: 'function', name: 'JSON_GET_TEXT', args: [left, convertExpr(e.right)] }
    case '@>':
      return { kind: 'function', name: 'JSON_CONTAINS', args: [left, convertExpr(e.right)] }
    case '<@':
      return { kind: 'function', name: 'JSON_CONTAINS', args: [convertExpr(e.right), left] }
    case 'AND':
    case '&&':
      return { kind: 'and', left, right: convertExpr(e.right) }
    case 'OR':
      return { kind: 'or', left, right: convertExpr(e.right) }
    case 'BETWEEN':
    case 'NOT BETWEEN': {
      const [low, high] = (e.right.value as Raw[]).map(convertExpr)
      return { kind: 'between', operand: left, low: low!, high: high!, negated: op === 'NOT BETWEEN' }
    }
    case 'IN':
    case 'NOT IN': {
      const negated = op === 'NOT IN'
      const list = (e.right?.value ?? []) as Raw[]
      if (list.length === 1 && list[0]?.ast) {
        const sub = list[0].ast
        if (sub.type !== 'select') unsupported('this subquery')
        return { kind: 'in-subquery', operand: left, query: convertQuery(sub), negated }
      }
      if (e.right?.ast) return { kind: 'in-subquery', operand: left, query: convertQuery(e.right.ast), negated }
      return { kind: 'in-list', operand: left, list: list.map(convertExpr), negated }
    }
    case 'LIKE':
    case 'NOT LIKE':
    case 'ILIKE':
    case 'NOT ILIKE':
      {
        // The parser hangs ESCAPE on the pattern; ignoring it matched with the wrong escape
        // character. Only the default one, a backslash, is supported.
        const escape = e.escape ?? e.right?.escape
        const backslash = escape?.value?.type === 'single_quote_string' && stringLiteral(escape.value.value) === '\\'
        if (e.right?.type === 'expr_list' || (escape && !backslash)) unsupported('LIKE … ESCAPE with an escape character other than a backslash')
      }
      return { kind: 'like', operand: left, pattern: convertExpr(e.right), negated: op.startsWith('NOT '), caseInsensitive: op.endsWith('ILIKE') }
    case '~':
    case '~*':
    case '!~':
    case '!~*': {
      // POSIX regular expression match: PostgreSQL's textregexeq / texticregexeq.
      const match: Expr = { kind: 'function', name: op.includes('*') ? 'TEXTICREGEXEQ' : 'TEXTREGEXEQ', args: [left, convertExpr(e.right)] }
      return op.startsWith('!') ? { kind: 'not', operand: match } : match
    }
    case 'IS':
    case 'IS NOT':
      if (e.right?.type !== 'null') unsupported(`IS ${op === 'IS NOT' ? 'NOT ' : ''}${String(e.right?.value ?? '').toUpperCase()}`)
      return { kind: 'is-null', operand: left, negated: op === 'IS NOT' }
    default:
      return unsupported(`operator ${op}`)
  }
}

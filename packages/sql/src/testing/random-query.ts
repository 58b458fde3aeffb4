// Random tables and queries for the query-shape differential test: small tables with NULLs,
// and SELECTs over them (joins, GROUP BY, HAVING, aggregates, DISTINCT, ORDER BY with NULLS
// FIRST/LAST, LIMIT/OFFSET, subqueries, set operations, derived tables, CASE, COALESCE,
// LIKE) written in the subset of SQL that PostgreSQL and SQLite read alike and answer alike,
// given the limits the generator keeps (see `RandomQuery`).

import type { SeededRandom } from '@mrdb/storage/testing'

/**
 * The types a generated column or expression may have. `num` is AVG's: NUMERIC in PostgreSQL,
 * a float in SQLite, so it is only shown, compared with literals or added to, never an operand
 * of `%` or `/` (SQLite's `%` truncates floats to integers first).
 */
export type QueryType = 'int' | 'num' | 'text' | 'bool'

/** A column a generated expression may name, already qualified (`p.a`). */
interface Column {
  readonly ref: string
  readonly type: QueryType
}

/** A table of the random schema: its name and its columns besides the primary key `id`. */
interface TableShape {
  readonly name: string
  readonly columns: readonly { readonly name: string; readonly type: QueryType }[]
}

/** The random schema: every table has `id INT PRIMARY KEY` and these columns. */
const TABLES: readonly TableShape[] = [
  { name: 't1', columns: [{ name: 'a', type: 'int' }, { name: 'b', type: 'int' }, { name: 's', type: 'text' }] },
  { name: 't2', columns: [{ name: 'a', type: 'int' }, { name: 'c', type: 'int' }, { name: 's', type: 'text' }] },
]

/**
 * Text values and literals: ASCII only, with an upper-case letter for LIKE and ordering, and
 * LIKE's wildcards and a backslash as characters (a standard string's backslash is no escape).
 */
const WORDS = ['a', 'b', 'ab', 'ba', 'A', 'aB', '', 'a%', 'a\\b']

/**
 * The statements that create and fill the random schema — the same text for every engine.
 * Values are small integers and short words, a quarter of them NULL; a table may be empty.
 */
export function randomTables(rng: SeededRandom): string[] {
  const maybe = (v: string) => (rng.next() < 0.25 ? 'NULL' : v)
  const statements: string[] = []
  for (const t of TABLES) {
    statements.push(`CREATE TABLE ${t.name} (id INT PRIMARY KEY, ${t.columns.map((c) => `${c.name} ${c.type === 'int' ? 'INT' : 'TEXT'}`).join(', ')})`)
    const n = rng.next() < 0.08 ? 0 : 1 + rng.int(rng.next() < 0.7 ? 12 : 25)
    if (n === 0) continue
    const rows = Array.from({ length: n }, (_, id) => {
      const values = t.columns.map((c) => maybe(c.type === 'int' ? String(rng.int(5)) : `'${rng.pick(WORDS)}'`))
      return `(${id}, ${values.join(', ')})`
    })
    statements.push(`INSERT INTO ${t.name} VALUES ${rows.join(', ')}`)
  }
  return statements
}

/** Secondary indexes that may be created on the random schema (they must not change answers). */
export const RANDOM_INDEXES: readonly string[] = ['CREATE INDEX t1_a ON t1 (a)', 'CREATE INDEX t1_s ON t1 (s)', 'CREATE INDEX t2_a ON t2 (a)', 'CREATE INDEX t2_c_s ON t2 (c, s)']

/** One generated query and the part of its answer's order that its ORDER BY fixes. */
export interface GeneratedQuery {
  readonly sql: string
  /**
   * Output positions (0-based) the ORDER BY sorts by, in order: the sequence of these values
   * is fixed, the rest of the answer is a multiset. Every position when there is a LIMIT, so
   * that the rows kept are fixed too.
   */
  readonly orderedBy: readonly number[]
  /** The same query as SQLite must be given it, when that is spelled differently. */
  readonly sqlite?: string
}

/** What an expression may name: the query's own columns and, for a subquery, outer ones. */
interface Scope {
  readonly columns: readonly Column[]
  readonly outer: readonly Column[]
  /** How many more levels of subquery an expression here may open. */
  readonly subqueries: number
}

/** An expression and its type. */
interface Typed {
  readonly sql: string
  readonly type: QueryType
}

/** A query's select list, DISTINCT, and what follows its FROM (WHERE, GROUP BY, HAVING). */
interface Shape {
  readonly items: readonly Typed[]
  readonly distinct: boolean
  readonly rest: string
}

/** `shape` as a SELECT from `source`. */
function selectSql(shape: Shape, source: Source): string {
  return `SELECT ${shape.distinct ? 'DISTINCT ' : ''}${shape.items.map((e) => e.sql).join(', ')} FROM ${source.sql}${shape.rest}`
}

/**
 * `expr` without the parentheses around it, if any: mrdb's parser (node-sql-parser) refuses
 * `CASE (x) WHEN …` and `IN (SELECT (x) FROM …)`, which is a refusal, not a wrong answer,
 * so the generator writes what it reads.
 */
function bare(expr: string): string {
  if (!expr.startsWith('(') || expr.startsWith('(SELECT')) return expr
  let depth = 0
  for (let i = 0; i < expr.length; i++) {
    if (expr[i] === '(') depth++
    else if (expr[i] === ')') depth--
    if (depth === 0 && i < expr.length - 1) return expr
  }
  return expr.slice(1, -1)
}

/** A FROM item: its SQL and the columns it brings into scope. */
interface Source {
  readonly sql: string
  readonly columns: readonly Column[]
}

/**
 * Writes random queries over the schema of `randomTables`. Kept out of the grammar, because
 * PostgreSQL (the truth) and SQLite (the oracle) answer them differently or because they are
 * not deterministic:
 * - comparisons of text with numbers (PostgreSQL refuses them; types are kept apart);
 * - division and modulo by anything but a positive literal (SQLite answers NULL for 22012),
 *   and of AVG at all (see `QueryType`); integers stay small, so nothing overflows;
 * - a scalar subquery that may return several rows (21000 in PostgreSQL, the first row in
 *   SQLite): scalar subqueries are aggregates, or one column's first row in a total order;
 * - an aggregate over only outer columns inside a subquery (PostgreSQL makes it the outer
 *   query's aggregate);
 * - INTERSECT after another set operator (it binds tighter in PostgreSQL, not in SQLite);
 * - LIMIT without an ORDER BY over every output column, ORDER BY without NULLS FIRST/LAST
 *   (PostgreSQL sorts NULLs last ascending, SQLite first), a literal as an ORDER BY
 *   expression and FULL JOIN without an equality (PostgreSQL refuses both);
 * - a LIKE pattern with a backslash but no ESCAPE '\' (PostgreSQL's default escape character;
 *   SQLite's LIKE has none); SQLite's LIKE must run with `PRAGMA case_sensitive_like = ON`;
 * - correlated subqueries in a grouped select list or HAVING (mrdb refuses them, 0A000),
 *   `SUM(DISTINCT x)` (mrdb's parser does not read it, 42601), and an ORDER BY expression
 *   holding a subquery under SELECT DISTINCT (mrdb does not see it in the select list, 42P10).
 * Text compares byte-wise (PostgreSQL's C collation, mrdb's only one, SQLite's BINARY).
 */
export class RandomQuery {
  private aliases = 0

  constructor(private readonly rng: SeededRandom) {}

  /** A random SELECT (or set operation of SELECTs) over the random schema. */
  query(): GeneratedQuery {
    this.aliases = 0
    this.ctes = []
    const r = this.rng.next()
    if (r < 0.15) return this.setOperation()
    if (r < 0.3) return this.scan()
    const source = this.from(true)
    const scope: Scope = { columns: source.columns, outer: [], subqueries: 2 }
    let shape = r < 0.55 ? this.select(scope, this.types()) : this.grouped(scope)
    let names = shape.items.map((e) => e.sql)
    if (this.rng.next() < 0.2) {
      // Output names, which ORDER BY may use.
      names = shape.items.map((_, i) => `o${i}`)
      shape = { ...shape, items: shape.items.map((e, i) => ({ sql: `${e.sql} AS o${i}`, type: e.type })) }
    }
    const query = this.ordered(selectSql(shape, source), shape.items.length, names)
    return this.ctes.length === 0 ? query : { ...query, sql: `WITH ${this.ctes.join(', ')} ${query.sql}` }
  }

  /** The WITH tables of the query being written (derived tables spelled as WITH). */
  private ctes: string[] = []

  /**
   * Columns of one table under simple conditions on them, mostly in ascending order: the
   * shapes that index paths, ordered scans and pushed-down LIMITs serve.
   */
  private scan(): GeneratedQuery {
    const r = this.rng
    const t = this.table(true)
    const columns = this.shuffled([...t.columns]).slice(0, 1 + r.int(3))
    const condition = (): string => {
      const c = r.pick(t.columns)
      const literal = () => (c.type === 'int' ? String(r.int(5)) : `'${r.pick(WORDS)}'`)
      switch (r.int(6)) {
        case 0:
          return `${c.ref} IS ${r.pick(['', 'NOT '])}NULL`
        case 1:
          return `${c.ref} IN (${literal()}, ${r.next() < 0.3 ? 'NULL' : literal()})`
        case 2:
          return `${c.ref} BETWEEN ${literal()} AND ${literal()}`
        case 3:
          return c.type === 'text' ? `${c.ref} LIKE ${this.pattern()}` : `${c.ref} = ${literal()}`
        default:
          return `${c.ref} ${r.pick(['=', '=', '<', '<=', '>', '>='])} ${literal()}`
      }
    }
    const where = r.next() < 0.2 ? '' : ` WHERE ${condition()}${r.next() < 0.4 ? ` ${r.pick(['AND', 'AND', 'OR'])} ${condition()}` : ''}`
    const sql = `SELECT ${columns.map((c) => c.ref).join(', ')} FROM ${t.sql}${where}`
    if (r.next() < 0.2) return { sql, orderedBy: [] }
    const width = columns.length
    const orderedBy = r.next() < 0.6 ? Array.from({ length: width }, (_, i) => i) : this.shuffled(Array.from({ length: width }, (_, i) => i))
    const direction = () => (r.next() < 0.6 ? 'ASC NULLS LAST' : `${r.pick(['ASC', 'DESC'])} NULLS ${r.pick(['FIRST', 'LAST'])}`)
    const limit = r.next() < 0.5 ? ` LIMIT ${r.int(6)}${r.next() < 0.3 ? ` OFFSET ${r.int(3)}` : ''}` : ''
    return { sql: `${sql} ORDER BY ${orderedBy.map((p) => `${p + 1} ${direction()}`).join(', ')}${limit}`, orderedBy }
  }

  /**
   * Adds ORDER BY (some or all positions) and, when it covers all, maybe LIMIT/OFFSET. A key
   * is written as its position, or sometimes as `names[position]` (the item's expression or
   * its output name).
   */
  private ordered(sql: string, width: number, names: readonly string[] = []): GeneratedQuery {
    const r = this.rng
    if (r.next() < 0.4) return { sql, orderedBy: [] }
    const positions = this.shuffled(Array.from({ length: width }, (_, i) => i))
    const total = r.next() < 0.6
    const orderedBy = total ? positions : positions.slice(0, 1 + r.int(width))
    // A literal is no expression to PostgreSQL's ORDER BY: an integer is a position, a string 42601.
    // mrdb does not match an ORDER BY expression holding a subquery to its select item (42P10).
    const spelled = (p: number) => names[p] !== undefined && !/^(\d|'|TRUE|FALSE)/.test(names[p]!) && !names[p]!.includes('(SELECT')
    const key = (p: number) => (spelled(p) && r.next() < 0.3 ? names[p]! : String(p + 1))
    const keys = orderedBy.map((p) => `${key(p)} ${r.pick(['ASC', 'DESC'])} NULLS ${r.pick(['FIRST', 'LAST'])}`)
    let limit = ''
    if (total && r.next() < 0.6) limit = ` LIMIT ${r.int(6)}${r.next() < 0.5 ? ` OFFSET ${r.int(5)}` : ''}`
    return { sql: `${sql} ORDER BY ${keys.join(', ')}${limit}`, orderedBy }
  }

  /** One to three output types. */
  private types(): QueryType[] {
    return Array.from({ length: 1 + this.rng.int(3) }, () => this.rng.pick<QueryType>(['int', 'int', 'text', 'text', 'bool']))
  }

  /** A plain select list of `types` with WHERE, maybe DISTINCT. */
  private select(scope: Scope, types: readonly QueryType[]): Shape {
    const items = types.map((type) => ({ sql: this.expr(scope, type, 2), type }))
    const where = this.rng.next() < 0.7 ? ` WHERE ${this.bool(scope, 3)}` : ''
    return { items, distinct: this.rng.next() < 0.25, rest: where }
  }

  /** A GROUP BY query (or an aggregate over the whole input), maybe with HAVING. */
  private grouped(scope: Scope): Shape {
    const r = this.rng
    const plain: Scope = { ...scope, subqueries: 0 }
    const keys = Array.from({ length: r.next() < 0.25 ? 0 : 1 + r.int(2) }, () => this.groupKey(plain))
    const aggregates = Array.from({ length: 1 + r.int(3) }, () => this.aggregate(plain))
    const items = this.shuffled([...keys.filter(() => r.next() < 0.8), ...aggregates])
    const where = r.next() < 0.5 ? ` WHERE ${this.bool(scope, 2)}` : ''
    // A key in the select list may be named by its position there.
    const key = (k: Typed) => (items.includes(k) && r.next() < 0.3 ? String(items.indexOf(k) + 1) : k.sql)
    const groupBy = keys.length > 0 ? ` GROUP BY ${keys.map(key).join(', ')}` : ''
    const having = r.next() < 0.4 ? ` HAVING ${this.having(plain, keys, 2)}` : ''
    return { items, distinct: r.next() < 0.1, rest: `${where}${groupBy}${having}` }
  }

  /** A grouping key: a column or a simple expression of one. */
  private groupKey(scope: Scope): Typed {
    const r = this.rng
    const c = r.pick(scope.columns)
    if (c.type === 'bool' || c.type === 'num' || r.next() < 0.7) return { sql: c.ref, type: c.type }
    if (c.type === 'int') return { sql: r.pick([`(${c.ref} % 2)`, `COALESCE(${c.ref}, 9)`, `(${c.ref} + 1)`]), type: 'int' }
    if (r.next() < 0.3) return { sql: `LENGTH(${c.ref})`, type: 'int' }
    return { sql: r.pick([`LOWER(${c.ref})`, `COALESCE(${c.ref}, 'z')`]), type: 'text' }
  }

  /** An aggregate call, sometimes inside an expression. */
  private aggregate(scope: Scope): Typed {
    const r = this.rng
    const int = () => this.int(scope, 1)
    const text = () => this.text(scope, 1)
    let agg: Typed = r.pick<Typed>([
      { sql: 'COUNT(*)', type: 'int' },
      { sql: `COUNT(${r.next() < 0.5 ? int() : text()})`, type: 'int' },
      { sql: `COUNT(DISTINCT ${r.next() < 0.5 ? int() : text()})`, type: 'int' },
      { sql: `SUM(${int()})`, type: 'int' },
      { sql: `MIN(${int()})`, type: 'int' },
      { sql: `MAX(${int()})`, type: 'int' },
      { sql: `MIN(${text()})`, type: 'text' },
      { sql: `MAX(${text()})`, type: 'text' },
      { sql: `AVG(${int()})`, type: 'num' },
    ])
    if (r.next() < 0.15) agg = { sql: `${agg.sql} FILTER (WHERE ${this.bool(scope, 1)})`, type: agg.type }
    if (agg.type === 'text' || r.next() < 0.8) return agg
    if (r.next() < 0.3) return { sql: `CASE WHEN ${agg.sql} > 1 THEN 1 ELSE 0 END`, type: 'int' }
    return { sql: r.pick([`(${agg.sql} + ${r.int(3)})`, `COALESCE(${agg.sql}, -1)`]), type: agg.type }
  }

  /** A HAVING condition: aggregates and grouping keys compared with literals. */
  private having(scope: Scope, keys: readonly Typed[], depth: number): string {
    const r = this.rng
    if (depth > 0 && r.next() < 0.4) {
      const op = r.pick(['AND', 'OR'])
      return `(${this.having(scope, keys, depth - 1)} ${op} ${this.having(scope, keys, depth - 1)})`
    }
    if (depth > 0 && r.next() < 0.1) return `NOT (${this.having(scope, keys, depth - 1)})`
    const agg = r.pick(['COUNT(*)', `COUNT(${this.int(scope, 0)})`, `SUM(${this.int(scope, 1)})`, `MIN(${this.int(scope, 0)})`, `MAX(${this.int(scope, 0)})`, `AVG(${this.int(scope, 0)})`])
    if (r.next() < 0.2) return `${agg} IS ${r.pick(['', 'NOT '])}NULL`
    if (keys.length > 0 && r.next() < 0.3) {
      const key = r.pick(keys)
      if (key.type === 'int' && r.next() < 0.6) return `${key.sql} ${r.pick(['=', '<>', '<', '>='])} ${r.int(4)}`
      return `${key.sql} IS ${r.pick(['', 'NOT '])}NULL`
    }
    return `${agg} ${r.pick(['=', '<>', '<', '<=', '>', '>='])} ${r.int(5)}`
  }

  /**
   * UNION [ALL] / INTERSECT / EXCEPT of two or three plain selects of the same types, some
   * parenthesised with an ORDER BY and LIMIT of their own (which SQLite spells as a subquery:
   * it does not read parenthesised members).
   */
  private setOperation(): GeneratedQuery {
    const r = this.rng
    const types = this.types()
    const branch = (): { sql: string; sqlite: string } => {
      const source = this.from(false)
      const sql = selectSql(this.select({ columns: source.columns, outer: [], subqueries: 1 }, types), source)
      if (r.next() < 0.8) return { sql, sqlite: sql }
      const keys = this.shuffled(types.map((_, i) => `${i + 1} ${r.pick(['ASC', 'DESC'])} NULLS ${r.pick(['FIRST', 'LAST'])}`))
      const limited = `${sql} ORDER BY ${keys.join(', ')} LIMIT ${r.int(4)}`
      return { sql: `(${limited})`, sqlite: `SELECT * FROM (${limited})` }
    }
    const first = branch()
    const second = branch()
    const op = r.pick(['UNION', 'UNION ALL', 'INTERSECT', 'EXCEPT'])
    let sql = `${first.sql} ${op} ${second.sql}`
    let sqlite = `${first.sqlite} ${op} ${second.sqlite}`
    // Never INTERSECT second: `a UNION b INTERSECT c` groups differently in SQLite.
    if (r.next() < 0.3) {
      const [third, op2] = [branch(), r.pick(['UNION', 'UNION ALL', 'EXCEPT'])]
      sql += ` ${op2} ${third.sql}`
      sqlite += ` ${op2} ${third.sqlite}`
    }
    const query = this.ordered(sql, types.length)
    return { ...query, sqlite: sqlite + query.sql.slice(sql.length) }
  }


  /** A FROM clause: one table, a join of two or three, a cross join, or a derived table. */
  private from(top: boolean): Source {
    const r = this.rng
    const x = r.next()
    if (x < 0.35) return this.table(top)
    if (x < 0.85 || !top) {
      const side = () => (top && r.next() < 0.12 ? this.derived() : this.table(top))
      const left = side()
      const right = side()
      let kind = r.pick(['JOIN', 'JOIN', 'LEFT JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN', ','])
      const columns = [...left.columns, ...right.columns]
      if (kind === ',') return { sql: `${left.sql}, ${right.sql}`, columns }
      const on = this.on(left, right)
      // PostgreSQL runs FULL JOIN only with an equality to hash or merge on (0A000 otherwise).
      if (kind === 'FULL JOIN' && on.startsWith('TRUE')) kind = 'LEFT JOIN'
      let sql = `${left.sql} ${kind} ${right.sql} ON ${on}`
      if (kind !== 'FULL JOIN' && r.next() < 0.15) {
        const third = this.table(false)
        sql += ` ${r.pick(['JOIN', 'LEFT JOIN'])} ${third.sql} ON ${this.on({ sql: '', columns }, third)}`
        columns.push(...third.columns)
      }
      return { sql, columns }
    }
    return this.derived()
  }

  /** A join condition: an equality of same-typed columns (NULL keys never match), maybe more. */
  private on(left: Source, right: Source): string {
    const r = this.rng
    const keys = left.columns.filter((c) => c.type === 'int' || c.type === 'text')
    if (keys.length === 0) return 'TRUE'
    const l = r.pick(keys)
    const candidates = right.columns.filter((c) => c.type === l.type)
    const eq = candidates.length > 0 ? `${l.ref} = ${r.pick(candidates).ref}` : 'TRUE'
    if (r.next() < 0.7) return eq
    return `${eq} AND ${this.bool({ columns: [...left.columns, ...right.columns], outer: [], subqueries: r.next() < 0.1 ? 1 : 0 }, 1)}`
  }

  /** A base table under a fresh alias. */
  private table(top: boolean): Source {
    const t = this.rng.pick(TABLES)
    const alias = `${top ? 'p' : 'q'}${this.aliases++}`
    const columns: Column[] = [{ ref: `${alias}.id`, type: 'int' }, ...t.columns.map((c) => ({ ref: `${alias}.${c.name}`, type: c.type }))]
    return { sql: `${t.name} AS ${alias}`, columns }
  }

  /** A derived table (a subquery in FROM, or a WITH table) with named columns. */
  private derived(): Source {
    const r = this.rng
    const inner = this.table(false)
    const scope: Scope = { columns: inner.columns, outer: [], subqueries: 1 }
    const shape = r.next() < 0.5 ? this.select(scope, this.types()) : this.grouped(scope)
    const alias = `d${this.aliases++}`
    const named = { ...shape, items: shape.items.map((e, i) => ({ sql: `${e.sql} AS c${i}`, type: e.type })) }
    const query = this.ordered(selectSql(named, inner), named.items.length, named.items.map((_, i) => `c${i}`))
    // A derived table's ORDER BY without LIMIT orders nothing: keep it only with a LIMIT.
    let sql = query.sql.includes(' LIMIT ') ? query.sql : query.sql.replace(/ ORDER BY [^()]*$/, '')
    if (r.next() < 0.3) {
      this.ctes.push(`${alias} AS (${sql})`)
      sql = alias
    } else sql = `(${sql}) AS ${alias}`
    return { sql, columns: shape.items.map((e, i) => ({ ref: `${alias}.c${i}`, type: e.type })) }
  }

  /** An expression of `type`. */
  private expr(scope: Scope, type: QueryType, depth: number): string {
    return type === 'int' ? this.int(scope, depth) : type === 'text' ? this.text(scope, depth) : this.bool(scope, depth)
  }

  /** A column of `type` in scope (an outer one sometimes, in a subquery), or undefined. */
  private column(scope: Scope, type: QueryType): string | undefined {
    const r = this.rng
    const own = scope.columns.filter((c) => c.type === type)
    const outer = scope.outer.filter((c) => c.type === type)
    if (outer.length > 0 && (own.length === 0 || r.next() < 0.25)) return r.pick(outer).ref
    return own.length > 0 ? r.pick(own).ref : undefined
  }

  /** An integer expression at most `depth` operators deep. */
  private int(scope: Scope, depth: number): string {
    const r = this.rng
    if (depth <= 0 || r.next() < 0.4) {
      const x = r.next()
      const c = this.column(scope, 'int')
      if (x < 0.65 && c !== undefined) return c
      if (x < 0.97) return String(r.int(6))
      return 'CAST(NULL AS INT)'
    }
    const d = depth - 1
    switch (r.int(11)) {
      case 0:
      case 1:
        return `(${this.int(scope, d)} ${r.pick(['+', '-', '*'])} ${this.int(scope, d)})`
      case 2:
        return `(${this.int(scope, d)} ${r.pick(['/', '%'])} ${1 + r.int(3)})`
      case 3:
        return `ABS(${this.int(scope, d)})`
      case 4:
        return `COALESCE(${this.int(scope, d)}, ${this.int(scope, d)})`
      case 5:
        return `NULLIF(${this.int(scope, d)}, ${r.int(4)})`
      case 6:
        return `CASE WHEN ${this.bool(scope, d)} THEN ${this.int(scope, d)}${r.next() < 0.7 ? ` ELSE ${this.int(scope, d)}` : ''} END`
      case 7:
        return `CASE ${bare(this.int({ ...scope, subqueries: 0 }, d))} WHEN ${r.int(4)} THEN ${this.int(scope, d)} WHEN ${r.int(4)} THEN ${this.int(scope, d)} ELSE ${this.int(scope, d)} END`
      case 8:
        return `LENGTH(${this.text(scope, d)})`
      default:
        return scope.subqueries > 0 ? this.scalarSubquery(scope, 'int') : `(- ${this.int(scope, d)})`
    }
  }

  /** A text expression at most `depth` operators deep. */
  private text(scope: Scope, depth: number): string {
    const r = this.rng
    if (depth <= 0 || r.next() < 0.45) {
      const c = this.column(scope, 'text')
      if (r.next() < 0.7 && c !== undefined) return c
      return `'${r.pick(WORDS)}'`
    }
    const d = depth - 1
    switch (r.int(6)) {
      case 0:
        return `(${this.text(scope, d)} || ${this.text(scope, d)})`
      case 1:
        return `${r.pick(['UPPER', 'LOWER'])}(${this.text(scope, d)})`
      case 2:
        return `COALESCE(${this.text(scope, d)}, ${this.text(scope, d)})`
      case 3:
        return `CASE WHEN ${this.bool(scope, d)} THEN ${this.text(scope, d)}${r.next() < 0.7 ? ` ELSE ${this.text(scope, d)}` : ''} END`
      case 4:
        return scope.subqueries > 0 ? this.scalarSubquery(scope, 'text') : `NULLIF(${this.text(scope, d)}, '${r.pick(WORDS)}')`
      default:
        return `NULLIF(${this.text(scope, d)}, '${r.pick(WORDS)}')`
    }
  }

  /** A boolean expression at most `depth` operators deep. */
  private bool(scope: Scope, depth: number): string {
    const r = this.rng
    const d = Math.max(0, depth - 1)
    if (depth > 0 && r.next() < 0.35) {
      switch (r.int(5)) {
        case 0:
          return `NOT (${this.bool(scope, d)})`
        case 1:
        case 2:
          return `(${this.bool(scope, d)} AND ${this.bool(scope, d)})`
        default:
          return `(${this.bool(scope, d)} OR ${this.bool(scope, d)})`
      }
    }
    const not = () => (r.next() < 0.35 ? 'NOT ' : '')
    const sub = scope.subqueries > 0 && r.next() < 0.3
    if (sub) {
      const t = r.pick<QueryType>(['int', 'text'])
      switch (r.int(3)) {
        case 0:
          return `${not()}EXISTS (${this.subquery(scope, `1`, 'int')})`
        default:
          return `${this.expr(scope, t, Math.min(d, 1))} ${not()}IN (${this.subquery(scope, undefined, t)})`
      }
    }
    switch (r.int(9)) {
      case 0:
      case 1:
        return `${this.int(scope, d)} ${r.pick(['=', '<>', '<', '<=', '>', '>='])} ${this.int(scope, d)}`
      case 2:
        return `${this.text(scope, d)} ${r.pick(['=', '<>', '<', '<=', '>', '>='])} ${this.text(scope, d)}`
      case 3:
        return `${this.expr(scope, r.pick<QueryType>(['int', 'text']), d)} IS ${not()}NULL`
      case 4:
        return `${this.int(scope, d)} ${not()}BETWEEN ${this.int(scope, 0)} AND ${this.int(scope, 0)}`
      case 5: {
        const items = Array.from({ length: 1 + r.int(3) }, () => (r.next() < 0.2 ? 'NULL' : String(r.int(5))))
        return `${this.int(scope, d)} ${not()}IN (${items.join(', ')})`
      }
      case 6: {
        const items = Array.from({ length: 1 + r.int(3) }, () => (r.next() < 0.2 ? 'NULL' : `'${r.pick(WORDS)}'`))
        return `${this.text(scope, d)} ${not()}IN (${items.join(', ')})`
      }
      case 7:
        return `${this.text(scope, d)} ${not()}LIKE ${this.pattern()}`
      default:
        return this.column(scope, 'bool') ?? r.pick(['TRUE', 'FALSE', 'CAST(NULL AS BOOLEAN)', `${this.int(scope, 0)} = ${this.int(scope, 0)}`])
    }
  }

  /** `SELECT item FROM t AS qN WHERE …` whose WHERE may name the enclosing query's columns. */
  private subquery(scope: Scope, item: string | undefined, type: QueryType): string {
    const inner = this.table(false)
    const innerScope: Scope = { columns: inner.columns, outer: [...scope.columns, ...scope.outer], subqueries: scope.subqueries - 1 }
    const own: Scope = { columns: inner.columns, outer: [], subqueries: 0 }
    const select = item ?? bare(this.expr(own, type, 1))
    const where = this.rng.next() < 0.85 ? ` WHERE ${this.bool(innerScope, 2)}` : ''
    // One column, so ORDER BY it orders totally and LIMIT keeps a fixed set.
    const limit = this.rng.next() < 0.1 ? ` ORDER BY 1 ${this.rng.pick(['ASC', 'DESC'])} NULLS ${this.rng.pick(['FIRST', 'LAST'])} LIMIT ${this.rng.int(3)}` : ''
    return `SELECT ${select} FROM ${inner.sql}${where}${limit}`
  }

  /** A scalar subquery: an aggregate over the subquery's own columns, or the first row of one column. */
  private scalarSubquery(scope: Scope, type: QueryType): string {
    const r = this.rng
    const own: Scope = { columns: [], outer: [], subqueries: 0 }
    const inner = this.table(false)
    const ownScope: Scope = { ...own, columns: inner.columns }
    const innerScope: Scope = { columns: inner.columns, outer: [...scope.columns, ...scope.outer], subqueries: scope.subqueries - 1 }
    const agg =
      type === 'int'
        ? r.pick([`COUNT(*)`, `COUNT(${this.int(ownScope, 0)})`, `SUM(${this.int(ownScope, 1)})`, `MIN(${this.int(ownScope, 1)})`, `MAX(${this.int(ownScope, 0)})`])
        : r.pick([`MIN(${this.text(ownScope, 1)})`, `MAX(${this.text(ownScope, 0)})`])
    const where = r.next() < 0.85 ? ` WHERE ${this.bool(innerScope, 2)}` : ''
    if (r.next() < 0.25) {
      // The first of one column in a total order: one row or none.
      const item = type === 'int' ? this.int(ownScope, 1) : this.text(ownScope, 1)
      return `(SELECT ${bare(item)} FROM ${inner.sql}${where} ORDER BY 1 ${r.pick(['ASC', 'DESC'])} NULLS ${r.pick(['FIRST', 'LAST'])} LIMIT 1)`
    }
    return `(SELECT ${agg} FROM ${inner.sql}${where})`
  }

  /**
   * A quoted LIKE pattern of letters, wildcards and escaped characters. A pattern with a
   * backslash says ESCAPE '\', PostgreSQL's default, without which SQLite's LIKE escapes nothing.
   */
  private pattern(): string {
    const p = Array.from({ length: 1 + this.rng.int(3) }, () => this.rng.pick(['a', 'b', 'A', '%', '_', '%', '\\%', '\\_', '\\\\'])).join('')
    return p.includes('\\') ? `'${p}' ESCAPE '\\'` : `'${p}'`
  }

  private shuffled<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1)
      ;[items[i], items[j]] = [items[j]!, items[i]!]
    }
    return items
  }
}

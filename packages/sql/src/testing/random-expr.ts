// Random SQL expressions for differential tests: boolean and integer expressions over a
// table's columns that PostgreSQL, SQLite and mrdb must all read and evaluate alike.

import type { SeededRandom } from '@mrdb/storage/testing'

/** The columns a generated expression may name, by type. */
export interface ExprColumns {
  readonly int: readonly string[]
  readonly text: readonly string[]
  readonly bool: readonly string[]
}

/**
 * Writes random expressions as SQL text, with NOT, AND, OR, comparisons, + - * / %, unary
 * minus, IS [NOT] NULL, [NOT] BETWEEN, [NOT] IN, [NOT] LIKE and `||`, parenthesised at random
 * so that both the parser's own grouping and explicit parentheses are exercised.
 *
 * Divisors are non-zero literals, so no expression divides by zero (SQLite answers NULL where
 * PostgreSQL raises 22012); integers stay small, so nothing overflows.
 */
export class RandomExpr {
  constructor(
    private readonly rng: SeededRandom,
    private readonly columns: ExprColumns,
  ) {}

  /** A boolean expression at most `depth` operators deep. */
  bool(depth: number): string {
    const r = this.rng
    if (depth <= 0 || r.next() < 0.25) return this.predicate(depth)
    switch (r.int(6)) {
      case 0:
        return `NOT ${this.bool(depth - 1)}`
      case 1:
      case 2:
        return `${this.bool(depth - 1)} AND ${this.bool(depth - 1)}`
      case 3:
      case 4:
        return `${this.bool(depth - 1)} OR ${this.bool(depth - 1)}`
      default:
        return `(${this.bool(depth - 1)})`
    }
  }

  /** An integer expression at most `depth` operators deep. */
  int(depth: number): string {
    const r = this.rng
    if (depth <= 0 || r.next() < 0.35) return this.intLeaf()
    switch (r.int(7)) {
      case 0:
        // A space keeps `- -1` from reading as a comment.
        return `- ${this.int(depth - 1)}`
      case 1:
      case 2:
        return `${this.int(depth - 1)} ${r.pick(['+', '-'])} ${this.int(depth - 1)}`
      case 3:
        return `${this.int(depth - 1)} * ${this.int(depth - 1)}`
      case 4:
        return `${this.int(depth - 1)} ${r.pick(['/', '%'])} ${1 + r.int(9)}`
      default:
        return `(${this.int(depth - 1)})`
    }
  }

  /** A text expression: a column, a literal, or a concatenation. */
  text(depth: number): string {
    const r = this.rng
    if (depth <= 0 || r.next() < 0.6) return r.next() < 0.7 ? r.pick(this.columns.text) : `'${this.word()}'`
    return `${this.text(depth - 1)} || ${this.text(depth - 1)}`
  }

  /** A boolean leaf or comparison. */
  private predicate(depth: number): string {
    const r = this.rng
    const d = Math.max(0, depth - 1)
    const not = () => (r.next() < 0.3 ? 'NOT ' : '')
    switch (r.int(9)) {
      case 0:
        return r.pick(['TRUE', 'FALSE', 'NULL', ...this.columns.bool])
      case 1:
      case 2:
      case 3:
        return `${this.int(d)} ${r.pick(['=', '<>', '!=', '<', '<=', '>', '>='])} ${this.int(d)}`
      case 4:
        return `${this.int(d)} IS ${not()}NULL`
      case 5:
        return `${this.int(d)} ${not()}BETWEEN ${this.int(d)} AND ${this.int(d)}`
      case 6: {
        const items = Array.from({ length: 1 + r.int(4) }, () => (r.next() < 0.1 ? 'NULL' : this.int(Math.min(d, 1))))
        return `${this.int(d)} ${not()}IN (${items.join(', ')})`
      }
      case 7:
        return `${this.text(d)} ${not()}LIKE '${this.pattern()}'`
      default:
        return r.pick(this.columns.bool.length > 0 ? this.columns.bool : ['TRUE'])
    }
  }

  private intLeaf(): string {
    const r = this.rng
    const x = r.next()
    if (x < 0.55) return r.pick(this.columns.int)
    if (x < 0.95) return String(r.int(10))
    return 'NULL'
  }

  private word(): string {
    return Array.from({ length: this.rng.int(3) }, () => this.rng.pick(['a', 'b', 'c'])).join('')
  }

  private pattern(): string {
    return Array.from({ length: 1 + this.rng.int(3) }, () => this.rng.pick(['a', 'b', '%', '_'])).join('')
  }
}

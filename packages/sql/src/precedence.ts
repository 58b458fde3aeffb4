// Operator precedence, restored after node-sql-parser.
//
// node-sql-parser (5.4, in every mode) gives AND and OR one precedence: in WHERE, HAVING and
// ON it builds `a OR b AND c` as `(a OR b) AND c`, in a select list `a AND b OR c` as
// `a AND (b OR c)`. And it reads `NOT (x) >= y` as a call of a function NOT, `(NOT x) >= y`.
// SQL says: comparisons and every other operator bind tighter than NOT, NOT tighter than AND,
// AND tighter than OR. Explicit parentheses are marked in the parser's tree
// (`parentheses: true`), so a chain of unparenthesised AND/OR/NOT can be read back in source
// order and rebuilt by those rules; everything else the parser groups as SQL does (the
// differential test in precedence.test.ts checks it against PostgreSQL's own parser).

// The parser's output: untyped JSON-like objects (see parse.ts).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any

/** One element of a boolean chain in source order: an operator, or an operand. */
type Token = { readonly op: 'AND' | 'OR' | 'NOT' } | { readonly operand: Raw }

/**
 * `raw` (any part of a parsed statement) with every expression regrouped by SQL's precedence.
 * Returns a new tree where it changed something; the input is not modified.
 */
export function fixPrecedence(raw: Raw): Raw {
  if (Array.isArray(raw)) return raw.map(fixPrecedence)
  if (raw === null || typeof raw !== 'object') return raw
  if (booleanOperator({ ...raw, parentheses: false }) !== null) {
    // A parenthesised chain is rebuilt inside its parentheses.
    const rebuilt = rebuildBoolean({ ...raw, parentheses: false })
    return raw.parentheses === true ? { ...rebuilt, parentheses: true } : rebuilt
  }
  const hoisted = hoistNot(raw)
  if (hoisted !== raw) return fixPrecedence(hoisted)
  const out: Record<string, Raw> = {}
  for (const [key, value] of Object.entries(raw)) out[key] = fixPrecedence(value)
  return out
}

/** 'AND', 'OR' or 'NOT' for an unparenthesised node of a boolean chain, else null. */
function booleanOperator(e: Raw): 'AND' | 'OR' | 'NOT' | null {
  if (e === null || typeof e !== 'object' || e.parentheses === true) return null
  const op = String(e.operator ?? '').toUpperCase()
  if (e.type === 'binary_expr') return op === 'AND' || op === '&&' ? 'AND' : op === 'OR' ? 'OR' : null
  if (e.type === 'unary_expr') return op === 'NOT' || op === '!' ? 'NOT' : null
  return null
}

/** A NOT written as `NOT (x)`, which the parser takes for a function call: its operand, else undefined. */
function notCallOperand(e: Raw): Raw {
  if (e?.type !== 'function' || e.parentheses === true) return undefined
  const name = String(e.name?.name?.[0]?.value ?? e.name ?? '').toUpperCase()
  const args = e.args?.value
  return name === 'NOT' && Array.isArray(args) && args.length === 1 ? { ...args[0], parentheses: true } : undefined
}

/** Rebuilds the maximal chain of AND/OR/NOT rooted at `root` by precedence. */
function rebuildBoolean(root: Raw): Raw {
  const tokens: Token[] = []
  const flatten = (e: Raw): void => {
    const op = booleanOperator(e)
    if (op === 'NOT') {
      tokens.push({ op })
      flatten(e.expr)
    } else if (op !== null) {
      flatten(e.left)
      tokens.push({ op })
      flatten(e.right)
    } else tokens.push({ operand: fixPrecedence(e) })
  }
  flatten(root)
  let at = 0
  const peek = (): string | undefined => {
    const t = tokens[at]
    return t !== undefined && 'op' in t ? t.op : undefined
  }
  const not = (): Raw => {
    if (peek() === 'NOT') {
      at++
      return { type: 'unary_expr', operator: 'NOT', expr: not() }
    }
    const t = tokens[at++]
    // In-order, a tree of binary and prefix operators alternates operands and operators.
    if (t === undefined || !('operand' in t)) throw new Error('boolean chain out of order')
    return t.operand
  }
  // A left-associative chain of `op` over operands read by `operand`.
  const chain = (op: 'AND' | 'OR', operand: () => Raw) => (): Raw => {
    let left = operand()
    while (peek() === op) {
      at++
      left = { type: 'binary_expr', operator: op, left, right: operand() }
    }
    return left
  }
  const rebuilt = chain('OR', chain('AND', not))()
  if (at !== tokens.length) throw new Error('boolean chain out of order')
  return rebuilt
}

/**
 * `NOT (x) op …`: the parser binds the NOT to `(x)` alone (as a function call), where SQL binds
 * it to the whole operator expression. Returns `NOT ((x) op …)` (in parentheses where `e` was),
 * or `e` itself.
 */
function hoistNot(e: Raw): Raw {
  if (e.type !== 'binary_expr') return e
  // The leftmost operand, down the left edges of unparenthesised binary operators.
  const path: Raw[] = [{ ...e, parentheses: false }]
  while (path.at(-1).left?.type === 'binary_expr' && path.at(-1).left.parentheses !== true) path.push(path.at(-1).left)
  const operand = notCallOperand(path.at(-1).left)
  if (operand === undefined) return e
  let rebuilt = operand
  for (let i = path.length - 1; i >= 0; i--) rebuilt = { ...path[i], left: rebuilt }
  return { type: 'unary_expr', operator: 'NOT', expr: rebuilt, parentheses: e.parentheses === true }
}

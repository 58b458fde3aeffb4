// Cuts a script into statements at the semicolons that end them: not those inside quoted
// strings or comments (-- to the end of the line, /* … */). Strings follow PostgreSQL with
// standard_conforming_strings on: '…' ends at a quote not doubled, a backslash in it is an
// ordinary character ('C:\' is whole); in an escape string (E'…', and U&'…') a backslash
// escapes the next character, a quote too. "…" and `…` end at their quote not doubled. A
// shell uses it to know when a statement is complete; the parser and the wire server find
// strings, comments and parameters by the same rules.

/** The result of {@link splitStatements}: complete statements, and the unterminated tail. */
export interface SplitScript {
  /** Statements that ended with `;`, trimmed, without the `;`; empty ones are dropped. */
  statements: string[]
  /** Text after the last `;`, trimmed (a statement still being typed, or the last one of a file). */
  rest: string
}

/** Splits `text` into statements; see the file comment. */
export function splitStatements(text: string): SplitScript {
  const statements: string[] = []
  let start = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const next = skipQuotedOrComment(text, i)
    if (next !== i) {
      i = next
    } else if (text[i] === ';') {
      const statement = text.slice(start, i).trim()
      if (statement.length > 0 && !isOnlyComments(statement)) statements.push(statement)
      start = ++i
    } else {
      i++
    }
  }
  const rest = text.slice(start).trim()
  return { statements, rest: isOnlyComments(rest) ? '' : rest }
}

/**
 * The index just past the quoted string or comment that starts at `i` (the end of the text if
 * it never closes), or `i` itself when none starts there. The same rules as {@link splitStatements}.
 */
export function skipQuotedOrComment(text: string, i: number): number {
  const c = text[i]
  if (c === "'" || c === '"' || c === '`') return skipQuoted(text, i, c)
  if (c === '-' && text[i + 1] === '-') {
    const eol = text.indexOf('\n', i)
    return eol === -1 ? text.length : eol + 1
  }
  if (c === '/' && text[i + 1] === '*') {
    const close = text.indexOf('*/', i + 2)
    return close === -1 ? text.length : close + 2
  }
  return i
}

/**
 * Whether the string literal whose quote is at `i` is an escape string — E'…' or U&'…', the
 * prefix not the end of a longer name — where a backslash escapes the next character.
 */
export function isEscapeString(text: string, i: number): boolean {
  return /(?:^|[^A-Za-z0-9_$])(?:[eE]|[uU]&)$/.test(text.slice(Math.max(0, i - 3), i))
}

/** The index just past the string literal opened by `quote` at `from` (the end of the text if it never closes). */
function skipQuoted(text: string, from: number, quote: string): number {
  const escapes = quote === "'" && isEscapeString(text, from)
  let i = from + 1
  while (i < text.length) {
    const c = text[i]!
    if (c === '\\' && escapes) i += 2
    else if (c === quote && text[i + 1] === quote) i += 2
    else if (c === quote) return i + 1
    else i++
  }
  return text.length
}

function isOnlyComments(text: string): boolean {
  return text.replace(/--[^\n]*(\n|$)/g, '').replace(/\/\*[\s\S]*?\*\//g, '').trim().length === 0
}

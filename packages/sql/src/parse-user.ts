// CREATE USER / ALTER USER / DROP USER (and their ROLE spellings), which node-sql-parser does
// not read in postgresql mode: recognised from the text before the parser runs, as
// parse-alter.ts does for its forms. The forms are PostgreSQL's, restricted to what mrdb has:
//   CREATE USER|ROLE [IF NOT EXISTS] name [[WITH] [LOGIN] [PASSWORD 'secret' | PASSWORD NULL]]
//   ALTER USER|ROLE name [WITH] PASSWORD 'secret' | PASSWORD NULL
//   DROP USER|ROLE [IF EXISTS] name [, name …]
// A name is an identifier (folded to lower case) or "quoted".

import type { UserStatement } from './ast.js'
import { SqlError, SqlState } from './errors.js'

const NAME = String.raw`(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")`
const PASSWORD = String.raw`(?:'(?:[^']|'')*'|null)`
const CREATE = new RegExp(String.raw`^\s*create\s+(?:user|role)\s+(if\s+not\s+exists\s+)?(${NAME})((?:\s+\S[\s\S]*?)?)\s*;?\s*$`, 'i')
const ALTER = new RegExp(String.raw`^\s*alter\s+(?:user|role)\s+(${NAME})((?:\s+\S[\s\S]*?)?)\s*;?\s*$`, 'i')
const DROP = new RegExp(String.raw`^\s*drop\s+(?:user|role)\s+(if\s+exists\s+)?(${NAME}(?:\s*,\s*${NAME})*)\s*;?\s*$`, 'i')
const OPTIONS = new RegExp(String.raw`^(?:\s+with)?(\s+login)?(?:\s+password\s+(${PASSWORD}))?(\s+login)?$`, 'i')

/** Whether `sql` starts like a user statement (then {@link parseUserStatement} reads it or raises). */
const USER_START = /^\s*(?:create|alter|drop)\s+(?:user|role)\b/i

function name(text: string): string {
  return text.startsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text.toLowerCase()
}

function password(text: string | undefined): string | null | undefined {
  if (text === undefined) return undefined
  if (/^null$/i.test(text)) return null
  return text.slice(1, -1).replaceAll("''", "'")
}

function options(text: string, statement: string): { password: string | null | undefined } {
  const m = OPTIONS.exec(text)
  if (!m) throw new SqlError(SqlState.SYNTAX_ERROR, `syntax error in ${statement}: mrdb reads [WITH] [LOGIN] PASSWORD 'secret' | PASSWORD NULL`)
  return { password: password(m[2]) }
}

/** The user statement `sql` is, or null when it is none (see the file comment). */
export function parseUserStatement(sql: string): UserStatement | null {
  if (!USER_START.test(sql)) return null
  let m = CREATE.exec(sql)
  if (m) return { kind: 'create-user', name: name(m[2]!), ifNotExists: m[1] !== undefined, password: options(m[3]!, 'CREATE USER').password ?? null }
  m = ALTER.exec(sql)
  if (m) {
    const p = options(m[2]!, 'ALTER USER').password
    if (p === undefined) throw new SqlError(SqlState.SYNTAX_ERROR, "syntax error in ALTER USER: mrdb reads ALTER USER name [WITH] PASSWORD 'secret' | PASSWORD NULL")
    return { kind: 'alter-user', name: name(m[1]!), password: p }
  }
  m = DROP.exec(sql)
  if (m) return { kind: 'drop-user', names: (m[2]!.match(new RegExp(NAME, 'g')) ?? []).map(name), ifExists: m[1] !== undefined }
  throw new SqlError(SqlState.SYNTAX_ERROR, `syntax error in ${/^\s*(\w+)/.exec(sql)![1]!.toUpperCase()} USER: mrdb reads CREATE USER name [WITH] PASSWORD '…', ALTER USER name [WITH] PASSWORD '…', DROP USER [IF EXISTS] name`)
}

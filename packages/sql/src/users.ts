// SQL users: CREATE USER / ALTER USER / DROP USER on records in the system keyspace
// (`/sys/users/<name>`), written in the statement's transaction like any other write (so a
// BEGIN … ROLLBACK leaves no user behind). A record holds the name and a SCRAM-SHA-256
// verifier (scram.ts), or none for a user without a password — never the password itself.
// The wire server reads records with {@link readUser} to authenticate a login.

import { encodeKey } from '@mrdb/storage'
import type { UserStatement } from './ast.js'
import { fail, SqlState } from './errors.js'
import type { KvDatabase, KvTransaction } from './kv-port.js'
import { makeScramVerifier, parseScramVerifier } from './scram.js'
import type { StatementContext } from './statement-context.js'
import type { SqlResult } from './engine.js'

/** The user `mrdb init` creates; it cannot be dropped. */
export const ROOT_USER = 'root'

/** A user as stored. */
export interface UserRecord {
  readonly name: string
  /** SCRAM-SHA-256 verifier (scram.ts), or null: the user cannot log in with a password. */
  readonly verifier: string | null
}

/** The key of a user's record. */
export function userKey(name: string): Uint8Array {
  return encodeKey(['/sys', 'users', name])
}

/** What to store for a password: a verifier already (what psql's \\password sends, as PostgreSQL accepts it) is kept as it is. */
function verifierFor(password: string | null): string | null {
  if (password === null) return null
  return parseScramVerifier(password) === undefined ? makeScramVerifier(password) : password
}

function decodeUser(value: Uint8Array): UserRecord {
  return JSON.parse(Buffer.from(value).toString('utf8')) as UserRecord
}

function encodeUser(record: UserRecord): Uint8Array {
  return Buffer.from(JSON.stringify(record), 'utf8')
}

/** Reads user `name` at a fresh snapshot; undefined when there is none. */
export async function readUser(db: KvDatabase, name: string): Promise<UserRecord | undefined> {
  const txn = await db.begin()
  try {
    const value = await txn.get(userKey(name))
    return value === undefined ? undefined : decodeUser(value)
  } finally {
    await txn.rollback().catch(() => undefined)
  }
}

/**
 * Writes user `name` with `verifier` in `txn` (replacing one that exists): how `mrdb init`
 * creates root. The caller commits.
 */
export function putUser(txn: KvTransaction, name: string, verifier: string | null): void {
  txn.put(userKey(name), encodeUser({ name, verifier }))
}

/** Runs a user statement in the statement's transaction. */
export async function executeUserStatement(ctx: StatementContext, stmt: UserStatement): Promise<SqlResult> {
  const done = (command: string): SqlResult => ({ command, columns: [], rows: [], rowsAffected: 0 })
  switch (stmt.kind) {
    case 'create-user': {
      const [existing] = await ctx.getMany([userKey(stmt.name)])
      if (existing !== undefined) {
        if (stmt.ifNotExists) return done('CREATE ROLE')
        fail(SqlState.DUPLICATE_OBJECT, `role "${stmt.name}" already exists`)
      }
      ctx.buffer.put(userKey(stmt.name), encodeUser({ name: stmt.name, verifier: verifierFor(stmt.password) }))
      return done('CREATE ROLE')
    }
    case 'alter-user': {
      const [existing] = await ctx.getMany([userKey(stmt.name)])
      if (existing === undefined) fail(SqlState.UNDEFINED_OBJECT, `role "${stmt.name}" does not exist`)
      ctx.buffer.put(userKey(stmt.name), encodeUser({ name: stmt.name, verifier: verifierFor(stmt.password) }))
      return done('ALTER ROLE')
    }
    case 'drop-user': {
      if (stmt.names.includes(ROOT_USER)) fail(SqlState.INSUFFICIENT_PRIVILEGE, `cannot drop the ${ROOT_USER} user`)
      const values = await ctx.getMany(stmt.names.map(userKey))
      const missing = stmt.names.find((_, i) => values[i] === undefined)
      if (missing !== undefined && !stmt.ifExists) fail(SqlState.UNDEFINED_OBJECT, `role "${missing}" does not exist`)
      for (const [i, name] of stmt.names.entries()) if (values[i] !== undefined) ctx.buffer.delete(userKey(name))
      return done('DROP ROLE')
    }
  }
}

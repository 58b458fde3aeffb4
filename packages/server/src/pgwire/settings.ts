// The session-level statements the wire server answers itself, before the SQL engine: what
// clients ask on connect and for their settings — current_database() and current_user (the
// connection's own), SHOW of run-time parameters, SET of client-side parameters
// (statement_timeout among them). Everything else goes to the engine (version() and
// current_schema() are its functions).

import type { SqlResult } from '@mrdb/sql'
import { PgWireError, PgWireState } from './errors.js'

/** The version this server reports (server_version: clients read the major version from it). */
export const SERVER_VERSION = '15.0 (mrdb)'

/** Run-time parameters reported to the client at startup and on change (ParameterStatus). */
const REPORTED = new Set(['server_version', 'server_encoding', 'client_encoding', 'application_name', 'datestyle', 'intervalstyle', 'integer_datetimes', 'standard_conforming_strings', 'timezone', 'is_superuser', 'session_authorization'])

/** Parameters a client may SET (accepted and shown back; only statement_timeout changes behaviour). */
const SETTABLE = new Set(['application_name', 'client_encoding', 'datestyle', 'timezone', 'intervalstyle', 'extra_float_digits', 'search_path', 'statement_timeout', 'client_min_messages', 'idle_in_transaction_session_timeout', 'lock_timeout', 'bytea_output', 'default_transaction_isolation'])

/** SHOW statements of the SQL engine (everything else SHOW names is a run-time parameter). */
const ENGINE_SHOW = new Set(['tables', 'columns', 'jobs'])

/**
 * How a statement {@link SessionSettings.answer} may answer begins, before its text is normalised
 * (trimmed, whitespace runs made one space): SELECT of the current database or user, SHOW, SET.
 */
const MAYBE_ANSWERED = /^\s*(?:select\s+(?:current_|session_user|user)|show\s|set\s)/i

/** PostgreSQL's spelling of parameter names (SHOW prints the name as PostgreSQL does). */
const DISPLAY: Record<string, string> = { datestyle: 'DateStyle', timezone: 'TimeZone', intervalstyle: 'IntervalStyle' }

/** One connection's run-time parameters; see the file comment. */
export class SessionSettings {
  private readonly values = new Map<string, string>()
  /** Milliseconds a statement may run before 57014 (0: no limit). */
  statementTimeoutMs: number

  constructor(
    readonly user: string,
    readonly database: string,
    defaultStatementTimeoutMs: number,
    startup: ReadonlyMap<string, string>,
  ) {
    this.statementTimeoutMs = defaultStatementTimeoutMs
    const initial: Array<[string, string]> = [
      ['server_version', SERVER_VERSION],
      ['server_encoding', 'UTF8'],
      ['client_encoding', 'UTF8'],
      ['application_name', startup.get('application_name') ?? ''],
      ['datestyle', 'ISO, MDY'],
      ['intervalstyle', 'postgres'],
      ['integer_datetimes', 'on'],
      ['standard_conforming_strings', 'on'],
      ['timezone', 'UTC'],
      ['is_superuser', 'on'],
      ['session_authorization', user],
      ['extra_float_digits', '1'],
      ['search_path', '"$user", public'],
      ['statement_timeout', String(defaultStatementTimeoutMs)],
      ['client_min_messages', 'notice'],
      ['transaction_isolation', 'repeatable read'],
      ['default_transaction_isolation', 'repeatable read'],
      ['max_identifier_length', '63'],
      ['lock_timeout', '0'],
      ['idle_in_transaction_session_timeout', '0'],
      ['bytea_output', 'hex'],
    ]
    for (const [k, v] of initial) this.values.set(k, v)
  }

  /** The parameters to report at startup, as [name, value]. */
  reported(): Array<[string, string]> {
    return [...REPORTED].map((k) => [DISPLAY[k] ?? k, this.values.get(k) ?? ''])
  }

  /**
   * Answers `sql` if it is one of this file's statements: the result and, for a SET of a
   * reported parameter, the ParameterStatus to send. Undefined: the engine's statement.
   */
  answer(sql: string): { result: SqlResult; report?: [string, string] } | undefined {
    // Every form below starts so; other statements (nearly all) skip the normalised copy.
    if (!MAYBE_ANSWERED.test(sql)) return undefined
    const text = sql.trim().replace(/;\s*$/, '').replace(/\s+/g, ' ')
    const lower = text.toLowerCase()
    const one = (name: string, value: string): { result: SqlResult } => ({ result: { command: 'SELECT', columns: [{ name, type: 'TEXT' }], rows: [[value]], rowsAffected: 0 } })
    if (lower === 'select current_database()') return one('current_database', this.database)
    if (/^select (current_user|session_user|user|current_user\(\))$/.test(lower)) return one(lower.slice(7).replace('()', ''), this.user)
    const show = /^show ([a-z_]+)$/.exec(lower)
    if (show) {
      const name = show[1]!
      // The engine's own SHOW statements.
      if (ENGINE_SHOW.has(name)) return undefined
      const value = this.values.get(name)
      if (value === undefined) throw new PgWireError(PgWireState.UNDEFINED_OBJECT, `unrecognized configuration parameter "${name}"`)
      return { result: { command: 'SHOW', columns: [{ name, type: 'TEXT' }], rows: [[value]], rowsAffected: 0 } }
    }
    const set = /^set (?:session |local )?([a-z_]+)(?: to | ?= ?| )(.+)$/i.exec(text)
    if (set) {
      const name = set[1]!.toLowerCase()
      if (!SETTABLE.has(name)) return undefined
      const value = this.set(name, unquote(set[2]!.trim()))
      return { result: { command: 'SET', columns: [], rows: [], rowsAffected: 0 }, report: REPORTED.has(name) ? [DISPLAY[name] ?? name, value] : undefined }
    }
    return undefined
  }

  private set(name: string, raw: string): string {
    let value = raw.toLowerCase() === 'default' ? (name === 'statement_timeout' ? '0' : (this.values.get(name) ?? '')) : raw
    if (name === 'statement_timeout') {
      const ms = parseDuration(value)
      this.statementTimeoutMs = ms
      value = String(ms)
    } else if (name === 'client_encoding') {
      if (!/^(utf-?8|unicode|sql_ascii)$/i.test(value)) throw new PgWireError(PgWireState.FEATURE_NOT_SUPPORTED, `client encoding "${value}" is not supported: mrdb speaks UTF8`)
      value = 'UTF8'
    }
    this.values.set(name, value)
    return value
  }
}

/**
 * The seconds of a `SELECT pg_sleep(N)` statement, if `sql` is one: PostgreSQL's way for a
 * client (or a test) to run a statement that takes a while; cancel and statement_timeout end it.
 */
export function pgSleepSeconds(sql: string): number | undefined {
  const m = /^\s*select\s+pg_sleep\s*\(\s*'?(\d+(?:\.\d*)?|\.\d+)'?\s*\)\s*;?\s*$/i.exec(sql)
  if (!m) return undefined
  const seconds = Number(m[1])
  if (!(seconds <= 2_147_483)) throw new PgWireError(PgWireState.INVALID_PARAMETER_VALUE, `pg_sleep: ${m[1]} seconds is too long`)
  return seconds
}

function unquote(v: string): string {
  const m = /^'((?:[^']|'')*)'$/.exec(v) ?? /^"([^"]*)"$/.exec(v)
  return m ? m[1]!.replaceAll("''", "'") : v
}

/** Milliseconds of a duration setting: a number of ms, or with a unit (ms, s, min, h). */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|min|h)?$/i.exec(v.trim())
  if (!m) throw new PgWireError(PgWireState.INVALID_PARAMETER_VALUE, `invalid value for parameter "statement_timeout": "${v}"`)
  const unit = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }[(m[2] ?? 'ms').toLowerCase() as 'ms']
  const ms = Math.round(Number(m[1]) * unit)
  if (!Number.isSafeInteger(ms) || ms > 2_147_483_647) throw new PgWireError(PgWireState.INVALID_PARAMETER_VALUE, `${v} is outside the valid range for parameter "statement_timeout" (0 .. 2147483647)`)
  return ms
}

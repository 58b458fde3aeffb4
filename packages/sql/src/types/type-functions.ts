// Functions of the typed values: the clock (now(), current_timestamp, current_date),
// gen_random_uuid(), extract / date_part / date_trunc, and the JSONB operators -> ->> @>
// (which parse.ts turns into the calls JSON_GET, JSON_GET_TEXT and JSON_CONTAINS).
// The same shape as functions.ts's table, into which they are merged.

import type { StaticType } from '../binder.js'
import { fail, SqlState } from '../errors.js'
import type { SqlValue } from '../values.js'
import { randomUuid } from './bytes.js'
import { dateTrunc, extractField, timestampOf, timestampToDate, type DateValue, type IntervalValue, type TimestampValue } from './datetime.js'
import { jsonAsText, jsonbOf, jsonContains, jsonGet, parseJsonb, type JsonbValue } from './jsonb.js'
import { numericToFloat } from './numeric.js'

/** One function: argument counts, static result type, evaluation, and whether NULL in means NULL out. */
export interface TypeFunctionDef {
  readonly minArgs: number
  readonly maxArgs: number
  readonly type: (args: readonly StaticType[], name: string) => StaticType
  readonly call: (args: readonly SqlValue[], name: string) => SqlValue
  readonly strict: boolean
  /** Whether the result may differ between calls with the same arguments (the clock, random values). */
  readonly volatile?: boolean
}

function expect(t: StaticType, allowed: readonly string[], name: string): void {
  if (t !== null && t !== 'null' && !allowed.includes(t)) fail(SqlState.UNDEFINED_FUNCTION, `function ${name.toLowerCase()}(${String(t).toUpperCase()}) does not exist`)
}

/** The current instant as a TIMESTAMPTZ (microseconds; the clock has milliseconds). */
function nowValue(): TimestampValue {
  return timestampOf('timestamptz', BigInt(Date.now()) * 1000n)
}

const TEMPORAL = ['date', 'timestamp', 'timestamptz', 'interval']

/** JSON_GET's text or integer key. */
function jsonKey(v: SqlValue, name: string): string | bigint {
  if (typeof v === 'string' || typeof v === 'bigint') return v
  return fail(SqlState.UNDEFINED_FUNCTION, `operator does not exist: jsonb ${name === 'JSON_GET' ? '->' : '->>'} that type`)
}

/** A jsonb operand: a JSONB value, or text read as JSON (a literal such as '{"a": 1}'). */
function jsonb(v: SqlValue): JsonbValue {
  if (typeof v === 'string') return parseJsonb(v)
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && v.type === 'jsonb') return v
  return fail(SqlState.UNDEFINED_FUNCTION, 'operator does not exist: the operand is not jsonb')
}

/** The functions of typed values, by upper-case name. */
export const TYPE_FUNCTIONS: Readonly<Record<string, TypeFunctionDef>> = {
  NOW: { minArgs: 0, maxArgs: 0, strict: false, volatile: true, type: () => 'timestamptz', call: () => nowValue() },
  CURRENT_TIMESTAMP: { minArgs: 0, maxArgs: 0, strict: false, volatile: true, type: () => 'timestamptz', call: () => nowValue() },
  LOCALTIMESTAMP: { minArgs: 0, maxArgs: 0, strict: false, volatile: true, type: () => 'timestamp', call: () => ({ type: 'timestamp', micros: nowValue().micros }) },
  CURRENT_DATE: { minArgs: 0, maxArgs: 0, strict: false, volatile: true, type: () => 'date', call: () => timestampToDate(nowValue()) },
  GEN_RANDOM_UUID: { minArgs: 0, maxArgs: 0, strict: false, volatile: true, type: () => 'uuid', call: () => randomUuid() },
  EXTRACT: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([f, x], n) => (expect(f ?? null, ['text'], n), expect(x ?? null, TEMPORAL, n), 'numeric'),
    call: ([f, x]) => extractField(f as string, x as DateValue | TimestampValue | IntervalValue),
  },
  DATE_PART: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([f, x], n) => (expect(f ?? null, ['text'], n), expect(x ?? null, TEMPORAL, n), 'float'),
    call: ([f, x]) => numericToFloat(extractField(f as string, x as DateValue | TimestampValue | IntervalValue)),
  },
  DATE_TRUNC: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([f, x], n) => {
      expect(f ?? null, ['text'], n)
      expect(x ?? null, ['date', 'timestamp', 'timestamptz'], n)
      return x === 'date' ? 'timestamptz' : (x ?? null)
    },
    call: ([f, x]) => dateTrunc(f as string, x as DateValue | TimestampValue),
  },
  TO_TIMESTAMP: {
    minArgs: 1,
    maxArgs: 1,
    strict: true,
    type: ([x], n) => (expect(x ?? null, ['int', 'float', 'numeric'], n), 'timestamptz'),
    call: ([x]) => {
      const seconds = typeof x === 'bigint' ? Number(x) : typeof x === 'number' ? x : numericToFloat(x as { type: 'numeric'; text: string })
      if (!Number.isFinite(seconds)) fail(SqlState.DATETIME_FIELD_OVERFLOW, 'timestamp out of range')
      return timestampOf('timestamptz', BigInt(Math.round(seconds * 1e6)))
    },
  },
  JSON_GET: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([j, k], n) => (expect(j ?? null, ['jsonb', 'text'], n), expect(k ?? null, ['text', 'int'], n), 'jsonb'),
    call: ([j, k], n) => {
      const v = jsonGet(jsonb(j!), jsonKey(k!, n))
      return v === undefined ? null : jsonbOf(v)
    },
  },
  JSON_GET_TEXT: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([j, k], n) => (expect(j ?? null, ['jsonb', 'text'], n), expect(k ?? null, ['text', 'int'], n), 'text'),
    call: ([j, k], n) => {
      const v = jsonGet(jsonb(j!), jsonKey(k!, n))
      return v === undefined ? null : jsonAsText(v)
    },
  },
  JSON_CONTAINS: {
    minArgs: 2,
    maxArgs: 2,
    strict: true,
    type: ([a, b], n) => (expect(a ?? null, ['jsonb', 'text'], n), expect(b ?? null, ['jsonb', 'text'], n), 'bool'),
    call: ([a, b]) => jsonContains(jsonb(a!), jsonb(b!)),
  },
  JSONB_TYPEOF: {
    minArgs: 1,
    maxArgs: 1,
    strict: true,
    type: ([j], n) => (expect(j ?? null, ['jsonb'], n), 'text'),
    call: ([j]) => {
      const t = jsonb(j!).text
      return t.startsWith('{') ? 'object' : t.startsWith('[') ? 'array' : t.startsWith('"') ? 'string' : t === 'null' ? 'null' : t === 'true' || t === 'false' ? 'boolean' : 'number'
    },
  },
}

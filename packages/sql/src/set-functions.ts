// Set-returning functions, read in FROM like a table: generate_series(start, stop [, step])
// and unnest(array). Each yields one column; the rows are computed when the statement reads them.

import type { StaticType } from './binder.js'
import { fail, SqlState } from './errors.js'
import { isArrayValue } from './types/array.js'
import { typeName, valueTypeName, type SqlValue } from './values.js'

/** The most rows one call may produce (the rows are held in memory): more is 54000. */
export const MAX_SET_FUNCTION_ROWS = 10_000_000

interface SetFunctionDef {
  readonly minArgs: number
  readonly maxArgs: number
  /** The type of the one output column, given the arguments' (checking them: 42883). */
  readonly type: (args: readonly StaticType[]) => StaticType
  /** The rows' values, given the arguments (any may be NULL). */
  readonly values: (args: readonly SqlValue[]) => SqlValue[]
}

const SET_FUNCTIONS: Readonly<Record<string, SetFunctionDef>> = {
  GENERATE_SERIES: {
    minArgs: 2,
    maxArgs: 3,
    type: (args) => {
      for (const t of args) if (t !== null && t !== 'null' && t !== 'int') noFunction('generate_series', args)
      return 'int'
    },
    // No rows when an argument is NULL; PostgreSQL's rows from start while not past stop.
    values: ([start, stop, step = 1n]) => {
      if (start === null || stop === null || step === null) return []
      const [a, b, s] = [start as bigint, stop as bigint, step as bigint]
      if (s === 0n) fail(SqlState.INVALID_PARAMETER_VALUE, 'step size cannot equal zero')
      const n = s > 0n ? (a <= b ? (b - a) / s + 1n : 0n) : a >= b ? (a - b) / -s + 1n : 0n
      if (n > BigInt(MAX_SET_FUNCTION_ROWS)) fail(SqlState.PROGRAM_LIMIT_EXCEEDED, `generate_series would return ${n} rows; the limit is ${MAX_SET_FUNCTION_ROWS}`)
      return Array.from({ length: Number(n) }, (_, i) => a + BigInt(i) * s)
    },
  },
  UNNEST: {
    minArgs: 1,
    maxArgs: 1,
    type: ([t = null]) => (t !== null && t !== 'null' && t !== 'array' ? noFunction('unnest', [t]) : null),
    values: ([a]) => {
      if (a === null || a === undefined) return []
      if (!isArrayValue(a)) return fail(SqlState.UNDEFINED_FUNCTION, `function unnest(${valueTypeName(a)}) does not exist`)
      return [...a.elements]
    },
  },
}

function noFunction(name: string, args: readonly StaticType[]): never {
  return fail(SqlState.UNDEFINED_FUNCTION, `function ${name}(${args.map((t) => (t === null || t === 'null' ? 'unknown' : typeName({ base: t }))).join(', ')}) does not exist`)
}

function definition(name: string, argCount: number): SetFunctionDef {
  const def = SET_FUNCTIONS[name]
  if (def === undefined) return fail(SqlState.FEATURE_NOT_SUPPORTED, `function ${name.toLowerCase()} in FROM is not supported (only generate_series and unnest)`)
  if (argCount < def.minArgs || argCount > def.maxArgs) fail(SqlState.UNDEFINED_FUNCTION, `function ${name.toLowerCase()} does not take ${argCount} argument${argCount === 1 ? '' : 's'}`)
  return def
}

/** Whether `name` (upper case) is a set-returning function mrdb has. */
export function isSetFunction(name: string): boolean {
  return SET_FUNCTIONS[name] !== undefined
}

/** The static type of the column set-returning function `name` yields for arguments of `args` types; 0A000 or 42883. */
export function setFunctionType(name: string, args: readonly StaticType[]): StaticType {
  return definition(name, args.length).type(args)
}

/** The rows of set-returning function `name` called with `args` (one value each). */
export function setFunctionRows(name: string, args: readonly SqlValue[]): SqlValue[][] {
  return definition(name, args.length).values(args).map((v) => [v])
}

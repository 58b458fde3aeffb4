// The worker side of the executor pool: runs one task and answers with its result, or with
// the SQL error it raised (as plain data: error classes do not survive the thread boundary).
// Before a parse it tells the pool it started (the pool's time budget for it runs from then).

import { parentPort } from 'node:worker_threads'
import type { Statement } from './ast.js'
import { aggregateChunk, unpackPairs, type AggregateChunk, type PackedPairs } from './chunk-aggregate.js'
import { SqlError } from './errors.js'
import { parseSql } from './parse.js'
import type { GroupTable } from './row-ops.js'

/** A task for a worker: fold a chunk of rows (its pairs packed), or parse a statement text (`id` names the parse). */
export type WorkerTask = { kind: 'aggregate'; chunk: Omit<AggregateChunk, 'pairs'>; pairs: PackedPairs } | { kind: 'parse'; sql: string; id: number }

/** A worker's answer: the task's result, or the SQL error it raised. */
export type WorkerAnswer = { groups: GroupTable } | { statements: readonly Statement[] } | { error: { code: string; message: string } }

/** What a worker posts to the pool when it starts parse `parseStarted`. */
export interface ParseStarted {
  parseStarted: number
}

/** Piscina calls this with each task. */
export default function run(task: WorkerTask): WorkerAnswer {
  try {
    if (task.kind === 'aggregate') return { groups: aggregateChunk({ ...task.chunk, pairs: unpackPairs(task.pairs) }) }
    parentPort?.postMessage({ parseStarted: task.id } satisfies ParseStarted)
    return { statements: parseSql(task.sql) }
  } catch (e) {
    if (e instanceof SqlError) return { error: { code: e.code, message: e.message } }
    throw e
  }
}

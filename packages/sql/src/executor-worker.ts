// The worker side of the executor pool: runs one task and answers with its result, or with
// the SQL error it raised (as plain data: error classes do not survive the thread boundary).

import { aggregateChunk, type AggregateChunk } from './chunk-aggregate.js'
import { SqlError } from './errors.js'
import type { GroupTable } from './row-ops.js'

/** A worker's answer: the groups, or the error the task raised. */
export type WorkerAnswer = { groups: GroupTable } | { error: { code: string; message: string } }

/** Piscina calls this with each task. */
export default function run(task: AggregateChunk): WorkerAnswer {
  try {
    return { groups: aggregateChunk(task) }
  } catch (e) {
    if (e instanceof SqlError) return { error: { code: e.code, message: e.message } }
    throw e
  }
}

// A piscina pool of worker threads for the executor's CPU-heavy steps, so that the node's
// event loop — which also ticks Raft and answers heartbeats — never waits on a big scan's
// decoding and aggregation, or on parsing a statement of many kilobytes. A task costs ~60 µs
// of overhead, so chunks of about a thousand rows go to it, never single rows.

import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import type { AggregateChunk } from './chunk-aggregate.js'
import type { Statement } from './ast.js'
import { SqlError, SqlState } from './errors.js'
import type { WorkerAnswer, WorkerTask } from './executor-worker.js'
import type { GroupTable } from './row-ops.js'

/** See the file comment. */
export class ExecutorPool {
  private readonly piscina: Piscina

  /** Starts `threads` workers (default: one fewer than the cores, at least one). */
  constructor(threads = Math.max(1, availableParallelism() - 1)) {
    this.piscina = new Piscina({
      filename: new URL('./executor-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      atomics: 'disabled',
    })
  }

  /** {@link aggregateChunk} of `chunk`, on a worker thread. */
  async aggregate(chunk: AggregateChunk): Promise<GroupTable> {
    const answer = await this.run({ kind: 'aggregate', chunk })
    if (!('groups' in answer)) throw new SqlError(SqlState.INTERNAL_ERROR, 'the executor pool answered an aggregate with something else')
    return answer.groups
  }

  /** {@link parseSql} of `sql`, on a worker thread: parsing a statement of many kilobytes takes milliseconds. */
  async parse(sql: string): Promise<readonly Statement[]> {
    const answer = await this.run({ kind: 'parse', sql })
    if (!('statements' in answer)) throw new SqlError(SqlState.INTERNAL_ERROR, 'the executor pool answered a parse with something else')
    return answer.statements
  }

  private async run(task: WorkerTask): Promise<Exclude<WorkerAnswer, { error: unknown }>> {
    const answer = (await this.piscina.run(task)) as WorkerAnswer
    if ('error' in answer) throw new SqlError(answer.error.code as SqlState, answer.error.message)
    return answer
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await this.piscina.destroy()
  }
}

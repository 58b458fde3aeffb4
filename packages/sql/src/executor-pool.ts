// A piscina pool of worker threads for the executor's CPU-heavy steps, so that the node's
// event loop — which also ticks Raft and answers heartbeats — never waits on a big scan's
// decoding and aggregation, or on the SQL parser. A task costs ~60 µs of overhead, so chunks
// of about a thousand rows go to it, never single rows.
//
// The parser (node-sql-parser, a backtracking PEG parser) is slow and its cost hard to bound:
// in its mysql mode CAST( nested twelve deep took over ten seconds; in the postgresql mode
// used now a 1 MB statement takes about two seconds. So a parse runs under a time budget, counted from the
// moment a worker starts it (not while it waits in the queue): once spent, the worker is
// stopped (piscina replaces it) and the statement fails with 54001.

import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { packPairs, type AggregateChunk } from './chunk-aggregate.js'
import type { Statement } from './ast.js'
import { SqlError, SqlState } from './errors.js'
import type { ParseStarted, WorkerAnswer, WorkerTask } from './executor-worker.js'
import type { GroupTable } from './row-ops.js'

/** How an {@link ExecutorPool} runs. */
export interface ExecutorPoolOptions {
  /** Worker threads; default one fewer than the cores, at least one. */
  threads?: number
  /**
   * Milliseconds a worker may spend parsing one statement, plus `parseMsPerKiB` per KiB of its
   * text; then the parse fails with 54001. Default 2000.
   */
  parseBaseMs?: number
  /**
   * Default 50: a 1 MiB statement may take 53 s. Measured, the parser needs 3–6 µs per
   * character with a core to itself, and up to 20 (wall clock) on this project's 2-core test
   * machine at a load average of 12; small statements up to 0.35 s per KiB there.
   */
  parseMsPerKiB?: number
}

/** A parse submitted to the pool: how to stop it, and its budget once a worker starts it. */
interface PendingParse {
  readonly abort: AbortController
  readonly budgetMs: number
  timer?: NodeJS.Timeout
}

/** See the file comment. */
export class ExecutorPool {
  private readonly piscina: Piscina
  private readonly parseBaseMs: number
  private readonly parseMsPerKiB: number
  private readonly parses = new Map<number, PendingParse>()
  /** Tasks submitted and not yet settled, including parses no caller waits for (a template's). */
  private readonly running = new Set<Promise<unknown>>()
  private lastParseId = 0

  /** Starts the workers; see {@link ExecutorPoolOptions}. */
  constructor(options: ExecutorPoolOptions = {}) {
    const threads = options.threads ?? Math.max(1, availableParallelism() - 1)
    this.parseBaseMs = options.parseBaseMs ?? 2000
    this.parseMsPerKiB = options.parseMsPerKiB ?? 50
    this.piscina = new Piscina({
      filename: new URL('./executor-worker-entry.cjs', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      atomics: 'disabled',
    })
    this.piscina.on('message', (m: ParseStarted) => this.startBudget(m.parseStarted))
    // Piscina raises 'error' for what concerns no running task: the answer of a task it already
    // gave up on (a parse stopped at its budget just as the worker posted its result) and a
    // worker that failed between tasks (it is replaced). Errors of a task reach its caller through
    // run(); unhandled, these would end the node's process.
    this.piscina.on('error', () => {})
  }

  /** {@link aggregateChunk} of `chunk`, on a worker thread. */
  async aggregate(chunk: AggregateChunk): Promise<GroupTable> {
    const { pairs, ...rest } = chunk
    const packed = packPairs(pairs)
    const answer = await this.run({ kind: 'aggregate', chunk: rest, pairs: packed }, undefined, [packed.bytes.buffer, packed.ends.buffer])
    if (!('groups' in answer)) throw new SqlError(SqlState.INTERNAL_ERROR, 'the executor pool answered an aggregate with something else')
    return answer.groups
  }

  /**
   * {@link parseSql} of `sql`, on a worker thread; raises its errors, and 54001 when the
   * parse outruns its budget (see {@link ExecutorPoolOptions}).
   */
  async parse(sql: string): Promise<readonly Statement[]> {
    const id = ++this.lastParseId
    const pending: PendingParse = { abort: new AbortController(), budgetMs: Math.ceil(this.parseBaseMs + (this.parseMsPerKiB * sql.length) / 1024) }
    this.parses.set(id, pending)
    let answer: Exclude<WorkerAnswer, { error: unknown }>
    try {
      answer = await this.run({ kind: 'parse', sql, id }, pending.abort.signal)
    } catch (e) {
      if (!pending.abort.signal.aborted) throw e
      throw new SqlError(SqlState.STATEMENT_TOO_COMPLEX, `statement too complex: parsing it took more than ${pending.budgetMs} ms`, { cause: e })
    } finally {
      clearTimeout(pending.timer)
      this.parses.delete(id)
    }
    if (!('statements' in answer)) throw new SqlError(SqlState.INTERNAL_ERROR, 'the executor pool answered a parse with something else')
    return answer.statements
  }

  /** A worker started parse `id`: its budget runs from now. */
  private startBudget(id: number): void {
    const pending = this.parses.get(id)
    if (pending === undefined) return // answered already: the answer came on another channel
    pending.timer = setTimeout(() => pending.abort.abort(), pending.budgetMs)
    pending.timer.unref()
  }

  private async run(task: WorkerTask, signal?: AbortSignal, transferList?: ArrayBuffer[]): Promise<Exclude<WorkerAnswer, { error: unknown }>> {
    const running = this.piscina.run(task, { signal, ...(transferList === undefined ? {} : { transferList }) }) as Promise<WorkerAnswer>
    this.running.add(running)
    let answer: WorkerAnswer
    try {
      answer = await running
    } finally {
      this.running.delete(running)
    }
    if ('error' in answer) throw new SqlError(answer.error.code as SqlState, answer.error.message)
    return answer
  }

  /** Stops the workers once the tasks already submitted have settled (each parse has its budget). */
  async close(): Promise<void> {
    await Promise.allSettled(this.running)
    await this.piscina.destroy()
  }
}

// The rows of one running statement, handed from the statement to the messages that send
// them a batch at a time. The statement gives its rows to `sink` as it produces them and waits
// there until the batch has been taken, so a portal's statement stays suspended between two
// Executes with at most one batch held, and a statement whose rows are not streamed (a join,
// an aggregate, a DML with RETURNING) is taken from its result instead. See
// docs/decisions.md, "Streaming execution: the extended protocol and a slow client".

import type { RowSink, SqlResult, SqlValue } from '@mrdb/sql'

/** A result's columns, as the engine names and types them. */
export type Columns = ReadonlyArray<{ name: string; type: string }>

/** One running statement's rows; see the file comment. */
export class StatementRows {
  private columnsSeen: Columns | undefined
  private batch: SqlValue[][] = []
  /** Rows of `batch` already taken. */
  private at = 0
  private outcome: { readonly result: SqlResult } | { readonly error: unknown } | undefined
  /** Whether the result's own rows (a statement that did not stream) were moved to `batch`. */
  private resultTaken = false
  /** The statement, waiting in the sink for its batch to be taken: told whether to go on. */
  private goOn: ((more: boolean) => void) | undefined
  /** The taker, waiting for a batch or the end. */
  private wake: (() => void) | undefined
  private stopped = false
  private readonly ended: Promise<void>

  /** Starts the statement: `run` runs it with the sink its rows go to. */
  constructor(run: (sink: RowSink) => Promise<SqlResult>) {
    this.ended = run(this.sink).then(
      (result) => this.settle({ result }),
      (error: unknown) => this.settle({ error }),
    )
  }

  private readonly sink: RowSink = (columns, rows) => {
    if (this.stopped) return false
    this.columnsSeen = columns
    this.batch = rows
    this.at = 0
    this.notify()
    return new Promise<boolean>((resolve) => (this.goOn = resolve))
  }

  private settle(outcome: { readonly result: SqlResult } | { readonly error: unknown }): void {
    this.outcome = outcome
    this.notify()
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private next(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve))
  }

  /** Whether the statement has ended and every row was taken. */
  get done(): boolean {
    return this.outcome !== undefined && this.at >= this.batch.length && (this.resultTaken || !('result' in this.outcome) || this.outcome.result.rows.length === 0)
  }

  /** The result's columns, once the first rows came or the statement ended; raises the statement's error if it failed before any row. */
  async columns(): Promise<Columns> {
    for (;;) {
      if (this.columnsSeen !== undefined) return this.columnsSeen
      if (this.outcome !== undefined) {
        if ('error' in this.outcome) throw this.outcome.error
        return this.outcome.result.columns
      }
      await this.next()
    }
  }

  /**
   * Up to `max` more rows (max > 0), waiting for the statement to produce them; an empty array
   * once it has ended and all were taken. Raises the statement's error, after the rows before it.
   */
  async take(max: number): Promise<SqlValue[][]> {
    for (;;) {
      if (this.at < this.batch.length) {
        const rows = this.at === 0 && this.batch.length <= max ? this.batch : this.batch.slice(this.at, this.at + max)
        this.at += rows.length
        return rows
      }
      // The batch is all taken: the statement may go on to its next one.
      const goOn = this.goOn
      this.goOn = undefined
      goOn?.(true)
      if (this.outcome !== undefined) {
        if ('error' in this.outcome) throw this.outcome.error
        if (this.resultTaken || this.outcome.result.rows.length === 0) return []
        this.resultTaken = true
        this.batch = this.outcome.result.rows
        this.at = 0
        continue
      }
      await this.next()
    }
  }

  /** The statement's result once it has ended (its rows, if it did not stream them, are taken through {@link take}). */
  async result(): Promise<SqlResult> {
    await this.ended
    if ('error' in this.outcome!) throw this.outcome.error
    return this.outcome!.result
  }

  /**
   * Ends the statement early, as if it had reached its LIMIT (a query that streams stops
   * reading; one that does not has already ended), drops the rows not taken, and waits for it
   * to end. Its error, if it failed, is not raised.
   */
  async stop(): Promise<void> {
    this.stopped = true
    this.batch = []
    this.at = 0
    this.resultTaken = true
    const goOn = this.goOn
    this.goOn = undefined
    goOn?.(false)
    await this.ended
  }
}

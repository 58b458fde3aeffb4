// Waiters for the outcome of proposals a group's state machine made: each waits until its
// entry applies here, until it is certainly lost, or until its timeout.

import type { AppendedAt } from '../core/types.js'

interface Waiter<R> {
  resolve: (result: R) => void
  timer: NodeJS.Timeout
  /** The term its entry was appended in here, as leader; undefined until known or when forwarded. */
  term?: number
}

/**
 * The proposals of one replica still waiting for their results, keyed by proposal id.
 *
 * A proposal this node appended as leader at term T either applies at the index it was given,
 * with term T, or never: once an entry of a later term applies here, every committed entry of
 * term T has applied before it (terms never decrease along a log), so a waiter of term T still
 * waiting then was overwritten by a later leader, and learns so at once instead of after its
 * whole timeout. A proposal forwarded to another leader has no known term and waits for its
 * entry or its timeout.
 */
export class ProposalWaiters<R> {
  private readonly waiting = new Map<number, Waiter<R>>()
  /** The highest term of an applied entry seen so far ({@link applied}). */
  private appliedTerm = 0

  /** How many proposals wait. */
  get size(): number {
    return this.waiting.size
  }

  /** Waits for proposal `id`'s result; resolves with `timedOut()` if none came within `timeoutMs`. */
  wait(id: number, timeoutMs: number, timedOut: () => R): Promise<R> {
    return new Promise<R>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        resolve(timedOut())
      }, timeoutMs)
      timer.unref() // a waiting proposal must not keep a stopping node's process alive
      this.waiting.set(id, { resolve, timer })
    })
  }

  /** Records where proposal `id` was appended here (undefined: forwarded to the leader elsewhere). */
  appended(id: number, at: AppendedAt | undefined): void {
    const w = this.waiting.get(id)
    if (w && at) w.term = at.term
  }

  /** Stops waiting for `id` without an answer: its proposal was never handed to Raft (the caller reports why). */
  cancel(id: number): void {
    this.take(id)
  }

  /** Hands proposal `id` its result; false if nobody waits for it (timed out, or another incarnation's). */
  resolve(id: number, result: R): boolean {
    const w = this.take(id)
    w?.resolve(result)
    return w !== undefined
  }

  /**
   * Entries up to one of term `term` applied here, and their results were handed out: every
   * waiter appended at a lower term will never apply and gets `lost(id)`. Returns their ids.
   */
  applied(term: number, lost: (id: number) => R): number[] {
    if (term <= this.appliedTerm) return []
    this.appliedTerm = term
    const ids: number[] = []
    for (const [id, w] of this.waiting) {
      if (w.term !== undefined && w.term < term) ids.push(id)
    }
    for (const id of ids) this.resolve(id, lost(id))
    return ids
  }

  /** Removes `id`'s waiter, its timer stopped, and returns it (undefined if none waits). */
  private take(id: number): Waiter<R> | undefined {
    const w = this.waiting.get(id)
    if (!w) return undefined
    clearTimeout(w.timer)
    this.waiting.delete(id)
    return w
  }

  /** Ends every wait at once with `result()`: this replica learns no more outcomes. */
  abandon(result: () => R): void {
    const ids = [...this.waiting.keys()]
    for (const id of ids) this.resolve(id, result())
  }
}

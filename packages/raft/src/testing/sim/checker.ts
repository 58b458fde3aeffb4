// Safety invariants, checked as the simulation runs. Each check is incremental (it looks at
// what just happened), so the cost per step does not grow with the length of the logs.

/** A broken invariant: what, and enough detail to start debugging. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation'

  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`)
  }
}

/** Mixes an entry into a running 32-bit hash of a log prefix (FNV-1a style). */
export function chainHash(prev: number, term: number, data: Uint8Array): number {
  let h = (prev ^ 0x811c9dc5) >>> 0
  h = Math.imul(h ^ term, 0x01000193) >>> 0
  h = Math.imul(h ^ data.length, 0x01000193) >>> 0
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193) >>> 0
  return h
}

/** The checker: global knowledge that any two nodes must agree with. */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, number>()
  /** Log matching: (index, term) → hash of the whole log prefix ending there. */
  private readonly prefixOf = new Map<string, number>()
  /** State-machine safety: index → term and prefix hash of what was applied there. */
  private readonly applied = new Map<number, { term: number; hash: number }>()
  /** Highest index any node has applied (acknowledged to a client). */
  maxApplied = 0

  /** How many terms had a leader. */
  get leaderCount(): number {
    return this.leaderOfTerm.size
  }

  /** At most one leader per term (Election Safety, §5.2). */
  leaderElected(id: number, term: number): void {
    const other = this.leaderOfTerm.get(term)
    if (other !== undefined && other !== id) {
      throw new InvariantViolation('election safety', `nodes ${other} and ${id} both led term ${term}`)
    }
    this.leaderOfTerm.set(term, id)
  }

  /**
   * Log Matching (§5.3): two logs holding an entry of the same index and term hold the same
   * prefix up to it. `prefixHash` is the node's hash of its log through `index`.
   */
  logEntry(node: number, index: number, term: number, prefixHash: number): void {
    const key = `${index}:${term}`
    const known = this.prefixOf.get(key)
    if (known === undefined) this.prefixOf.set(key, prefixHash)
    else if (known !== prefixHash) {
      throw new InvariantViolation('log matching', `node ${node} holds entry ${index}/${term} after a different prefix`)
    }
  }

  /** State Machine Safety (§5.4.3): no two nodes apply different entries at one index. */
  appliedEntry(node: number, index: number, term: number, hash: number): void {
    const known = this.applied.get(index)
    if (known === undefined) {
      this.applied.set(index, { term, hash })
      if (index > this.maxApplied) this.maxApplied = index
    } else if (known.term !== term || known.hash !== hash) {
      throw new InvariantViolation('state machine safety', `node ${node} applied ${index}/${term} but ${index}/${known.term} was applied elsewhere`)
    }
  }

  /** A snapshot's state must be the state applied at its index elsewhere. */
  snapshotInstalled(node: number, index: number, hash: number): void {
    const known = this.applied.get(index)
    if (known !== undefined && known.hash !== hash) {
      throw new InvariantViolation('state machine safety', `node ${node} installed a snapshot at ${index} whose state differs from what was applied there`)
    }
  }

  /** The term of the entry applied at `index`, if any node applied it. */
  appliedTerm(index: number): number | undefined {
    return this.applied.get(index)?.term
  }

  /**
   * Leader Completeness (§5.4): a new leader's log holds every applied (hence committed)
   * entry. `termAt` answers the leader's log term at an index, or undefined when compacted.
   */
  leaderLog(id: number, term: number, lastIndex: number, termAt: (i: number) => number | undefined): void {
    if (lastIndex < this.maxApplied) {
      throw new InvariantViolation('leader completeness', `leader ${id} of term ${term} has log end ${lastIndex} < applied ${this.maxApplied}`)
    }
    for (let i = this.maxApplied; i > 0; i--) {
      const have = termAt(i)
      if (have === undefined) return
      if (have !== this.applied.get(i)?.term) {
        throw new InvariantViolation('leader completeness', `leader ${id} of term ${term} has ${i}/${have}, but ${i}/${this.applied.get(i)?.term} was committed`)
      }
    }
  }
}

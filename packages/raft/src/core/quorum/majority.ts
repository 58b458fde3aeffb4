// Decisions of a single majority of voters: which index a quorum has acknowledged, and
// whether an election is won. Pure functions over a set of ids.

/** The outcome of counting votes: still open, won by a quorum, or lost for good. */
export type VoteResult = 'pending' | 'lost' | 'won'

/** Answers which index a voter has acknowledged (undefined: nothing known). */
export interface AckedIndexer {
  ackedIndex(id: number): number | undefined
}

/** Scratch space for committedIndex, reused to avoid allocating per call. */
let scratch: number[] = []

/** A set of voters whose decisions need more than half of them. */
export class MajorityConfig {
  /** The voter ids. An empty config agrees to everything (so a joint config can ignore it). */
  readonly ids: Set<number>

  constructor(ids: Iterable<number> = []) {
    this.ids = new Set(ids)
  }

  /** Number of voters. */
  get size(): number {
    return this.ids.size
  }

  /** The ids in ascending order. */
  sorted(): number[] {
    return [...this.ids].sort((a, b) => a - b)
  }

  /** A human-readable form such as "(1 2 3)". */
  toString(): string {
    return `(${this.sorted().join(' ')})`
  }

  /**
   * The largest index acknowledged by a majority of the voters: with n voters, the
   * (n/2+1)-th highest acked index. Infinity for an empty config (it does not constrain a
   * joint config); 0 counts for voters with nothing acked.
   */
  committedIndex(l: AckedIndexer): number {
    const n = this.ids.size
    if (n === 0) return Number.POSITIVE_INFINITY
    if (scratch.length < n) scratch = new Array<number>(n).fill(0)
    const srt = scratch
    let i = 0
    for (const id of this.ids) {
      const idx = l.ackedIndex(id) ?? 0
      // Insertion sort, descending: n is a handful of voters.
      let j = i
      while (j > 0 && (srt[j - 1] as number) < idx) {
        srt[j] = srt[j - 1] as number
        j--
      }
      srt[j] = idx
      i++
    }
    return srt[(n >> 1)] as number
  }

  /**
   * The election outcome given votes (true = granted, false = rejected, missing = not yet
   * heard). An empty config wins (so a joint config can ignore it).
   */
  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    if (this.ids.size === 0) return 'won'
    let granted = 0
    let missing = 0
    for (const id of this.ids) {
      const v = votes.get(id)
      if (v === undefined) missing++
      else if (v) granted++
    }
    const q = (this.ids.size >> 1) + 1
    if (granted >= q) return 'won'
    if (granted + missing >= q) return 'pending'
    return 'lost'
  }
}

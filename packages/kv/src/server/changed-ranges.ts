// The ranges of a store in which something changed since a reader last looked: what lets a
// walk that runs every second (the heartbeat's reports to the placement driver, the cuts of
// Raft logs) visit those ranges instead of every range hosted. With thousands of idle ranges,
// visiting each of them every second was the largest cost of an idle node.

/** Range ids marked changed since the last {@link take}; see the file comment. */
export class ChangedRanges {
  private ids = new Set<number>()

  /** How many ranges are marked. */
  get size(): number {
    return this.ids.size
  }

  /** Marks a range changed (again: a range is marked once until taken). */
  mark(rangeId: number): void {
    this.ids.add(rangeId)
  }

  /**
   * The ranges marked since the last take, unmarked now: a reader that could not finish with
   * some of them (a failed round) marks them again, and marks made meanwhile are kept apart.
   */
  take(): Set<number> {
    const taken = this.ids
    this.ids = new Set()
    return taken
  }
}

// Admission control for the snapshots a node receives. A snapshot's data is held in memory
// until the whole of it has arrived, and its header alone (which anyone who can reach the
// port can forge) announces how much that will be. So every incoming stream takes a slot
// first, and reserves its announced length before it receives a byte of data; a stream that
// gets neither is refused. Pure bookkeeping: no I/O, no timers.

/** One incoming stream's hold on a {@link SnapshotReceiveBudget}. */
export interface SnapshotAdmission {
  /**
   * Reserves `bytes` more for this stream's data. Returns false, and reserves nothing, if
   * that would take the budget's reserved bytes past its maximum.
   */
  reserve(bytes: number): boolean
  /** Gives back the slot and everything reserved. Idempotent. */
  release(): void
}

/** Bounds the snapshots a node receives at once: how many streams, and how many bytes among them. */
export class SnapshotReceiveBudget {
  /** Invariant: open <= maxStreams. */
  private open = 0
  /** Invariant: reserved <= maxBytes. */
  private reserved = 0

  /** `maxStreams` streams at once, holding at most `maxBytes` of data between them. */
  constructor(
    readonly maxStreams: number,
    readonly maxBytes: number,
  ) {}

  /** Streams admitted and not yet released. */
  get openStreams(): number {
    return this.open
  }

  /** Bytes reserved by the open streams. */
  get reservedBytes(): number {
    return this.reserved
  }

  /** Admits one more stream, or returns undefined when `maxStreams` are open already. */
  admit(): SnapshotAdmission | undefined {
    if (this.open >= this.maxStreams) return undefined
    this.open++
    let mine = 0
    let released = false
    return {
      reserve: (bytes: number): boolean => {
        if (released || bytes > this.maxBytes - this.reserved) return false
        this.reserved += bytes
        mine += bytes
        return true
      },
      release: (): void => {
        if (released) return
        released = true
        this.open--
        this.reserved -= mine
        mine = 0
      },
    }
  }
}

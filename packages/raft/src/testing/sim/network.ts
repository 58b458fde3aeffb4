// The simulated network: messages in flight with a delivery time, and the faults the
// simulator injects — loss, duplication, delay (which reorders), symmetric and asymmetric
// partitions. Time is counted in delivery rounds; the simulation runs several rounds per tick.

import type { Rng } from '../../core/rng.js'
import type { Message } from '../../core/types.js'

/** Fault rates, as probabilities per message. */
export interface NetworkFaults {
  drop: number
  duplicate: number
  /** Probability that a message is held back for 1–3 ticks' worth of rounds. */
  delay: number
}

/** No faults at all: every message arrives in the next round. */
export const CALM: NetworkFaults = { drop: 0, duplicate: 0, delay: 0 }

interface InFlight {
  due: number
  seq: number
  msg: Message
}

/** Messages in flight between simulated nodes. */
export class SimNetwork {
  faults: NetworkFaults = CALM
  private queue: InFlight[] = []
  private seq = 0
  /** Directed links that drop everything: "from->to". */
  private readonly cut = new Set<string>()

  constructor(
    private readonly rng: Rng,
    private readonly roundsPerTick: number,
  ) {}

  /** Queues a message sent at round `now`. */
  send(msg: Message, now: number): void {
    const copies = this.chance(this.faults.duplicate) ? 2 : 1
    for (let c = 0; c < copies; c++) {
      let due = now + 1
      if (this.chance(this.faults.delay)) due += this.roundsPerTick * (1 + this.rng.nextInt(3))
      // A little jitter inside the round order reorders messages sent together.
      this.queue.push({ due, seq: this.seq++ + this.rng.nextInt(4) * 0.25, msg })
    }
  }

  /**
   * Removes and returns the messages due at or before round `now`, in delivery order, with
   * those lost (dropped, or crossing a cut link) separated out: a real transport tells the
   * sender of a failed snapshot stream or a broken connection, and so must the simulation.
   */
  takeDue(now: number): { deliver: Message[]; lost: Message[] } {
    const due: InFlight[] = []
    const rest: InFlight[] = []
    for (const f of this.queue) (f.due <= now ? due : rest).push(f)
    this.queue = rest
    due.sort((a, b) => a.due - b.due || a.seq - b.seq)
    const deliver: Message[] = []
    const lost: Message[] = []
    for (const f of due) {
      const isLost = this.cut.has(`${f.msg.from}->${f.msg.to}`) || this.chance(this.faults.drop)
      ;(isLost ? lost : deliver).push(f.msg)
    }
    return { deliver, lost }
  }

  /** Cuts every link between the two sides, both ways. */
  partition(sideA: readonly number[], sideB: readonly number[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.cut.add(`${a}->${b}`)
        this.cut.add(`${b}->${a}`)
      }
    }
  }

  /** Cuts the link from `from` to `to` only. */
  cutOneWay(from: number, to: number): void {
    this.cut.add(`${from}->${to}`)
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear()
  }

  /** Whether any link is cut. */
  get partitioned(): boolean {
    return this.cut.size > 0
  }

  private chance(p: number): boolean {
    return p > 0 && this.rng.nextInt(1_000_000) < p * 1_000_000
  }
}

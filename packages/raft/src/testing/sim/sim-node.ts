// One simulated node: a RawNode, its "disk" (a MemoryStorage that survives crashes) and a
// tiny state machine (the running hash of applied entries), driven through Ready/advance
// exactly as a real host must: persist, then send, then apply, then advance.

import type { Config, TestingKnobs } from '../../core/config.js'
import { decodeConfChange } from '../../core/confchange/codec.js'
import { RaftError, RaftErrorCode } from '../../core/errors.js'
import { RawNode } from '../../core/raw-node.js'
import type { Rng } from '../../core/rng.js'
import { MemoryStorage, emptyConfState } from '../../core/storage.js'
import type { ConfState, Entry, Message, Ready, Snapshot } from '../../core/types.js'
import { chainHash, InvariantViolation, type SafetyChecker } from './checker.js'

/** Raft timing used by the simulator: mrdb's production defaults (tick = 50 ms). */
export const SIM_ELECTION_TICK = 3
export const SIM_HEARTBEAT_TICK = 1

/**
 * The node's disk. Like a real host (and unlike a stored, possibly stale snapshot), it
 * produces a snapshot on demand at the state machine's current applied index, so that a
 * snapshot sent to a new learner includes it in its membership.
 */
class SimStorage extends MemoryStorage {
  constructor(private readonly current: () => { index: number; confState: ConfState; data: Uint8Array }) {
    super()
  }

  override snapshot(): Snapshot {
    const have = super.snapshot()
    const now = this.current()
    if (now.index <= have.metadata.index || now.index > this.lastIndex()) return have
    return this.createSnapshot(now.index, now.confState, now.data)
  }
}

/** What a node hands back to the simulation after processing a Ready. */
export interface ReadyOutcome {
  messages: Message[]
  /** ReadIndex answers: request context → index. */
  reads: Array<{ context: string; index: number }>
}

/** A node of the simulated cluster. */
export class SimNode {
  /** The running node, or undefined while crashed. */
  raw: RawNode | undefined
  /** Durable state: survives crashes. */
  readonly storage: MemoryStorage = new SimStorage(() => ({ index: this.appliedIndex, confState: this.confState, data: encodeState(this.appliedHash) }))
  /** prefix hash of the stored log at each index (durable, like the log). */
  private readonly logHash: number[] = []
  /** Volatile application state, rebuilt from the snapshot after a crash. */
  appliedIndex = 0
  private appliedHash = 0
  confState: ConfState = emptyConfState()

  constructor(
    readonly id: number,
    private readonly checker: SafetyChecker,
    private readonly knobs: TestingKnobs,
    /** Called for every entry the state machine applies. */
    private readonly onApply: (e: Entry) => void,
  ) {}

  /** Seeds the node's disk with the cluster's initial snapshot (bootstrap members only). */
  bootstrap(snapshot: Snapshot, hash: number): void {
    this.storage.applySnapshot(snapshot)
    this.storage.setHardState({ term: snapshot.metadata.term, vote: 0, commit: snapshot.metadata.index })
    this.logHash[snapshot.metadata.index] = hash
  }

  /** (Re)starts the node from its disk alone. */
  start(rng: Rng): void {
    const snap = this.storage.snapshot()
    this.appliedIndex = snap.metadata.index
    this.appliedHash = snap.metadata.index === 0 ? 0 : decodeState(snap.data)
    this.confState = snap.metadata.confState
    const config: Config = {
      id: this.id,
      electionTick: SIM_ELECTION_TICK,
      heartbeatTick: SIM_HEARTBEAT_TICK,
      storage: this.storage,
      rng,
      applied: this.appliedIndex,
      maxSizePerMsg: 256,
      maxInflightMsgs: 8,
      checkQuorum: true,
      preVote: true,
      testingKnobs: this.knobs,
    }
    this.raw = new RawNode(config)
  }

  /** Loses everything not on disk. */
  crash(): void {
    this.raw = undefined
  }

  get alive(): boolean {
    return this.raw !== undefined
  }

  /** Steps a message in; refusals that a real host would also just drop are ignored. */
  deliver(m: Message): void {
    try {
      this.raw?.step(m)
    } catch (err) {
      if (err instanceof RaftError && (err.code === RaftErrorCode.STEP_PEER_NOT_FOUND || err.code === RaftErrorCode.PROPOSAL_DROPPED)) return
      throw err
    }
  }

  /** Processes one Ready if there is one; returns undefined when there was none. */
  processReady(): ReadyOutcome | undefined {
    const raw = this.raw
    if (!raw || !raw.hasReady()) return undefined
    const rd = raw.ready()
    this.persist(rd)
    if (rd.softState?.state === 'leader') this.checkNewLeader()
    this.apply(rd.committedEntries)
    const reads = rd.readStates.map((rs) => ({ context: new TextDecoder().decode(rs.context), index: rs.index }))
    raw.advance(rd)
    return { messages: rd.messages, reads }
  }

  /** Takes a snapshot at the applied index and compacts the log behind it, keeping `keep` entries. */
  compact(keep: number): void {
    if (this.appliedIndex <= this.storage.snapshot().metadata.index || this.appliedIndex <= this.storage.firstIndex() + keep) return
    this.storage.createSnapshot(this.appliedIndex, this.confState, encodeState(this.appliedHash))
    this.storage.compact(this.appliedIndex - keep)
  }

  private persist(rd: Ready): void {
    if (rd.snapshot) {
      const { index } = rd.snapshot.metadata
      const hash = decodeState(rd.snapshot.data)
      this.checker.snapshotInstalled(this.id, index, hash)
      this.storage.applySnapshot(rd.snapshot)
      this.logHash.length = index + 1
      this.logHash[index] = hash // a prefix hash and the state hash are the same chain
      this.appliedIndex = index
      this.appliedHash = hash
      this.confState = rd.snapshot.metadata.confState
    }
    if (rd.entries.length > 0) {
      this.storage.append(rd.entries)
      for (const e of rd.entries) {
        const prev = this.logHash[e.index - 1]
        if (prev === undefined) throw new InvariantViolation('log matching', `node ${this.id} appended ${e.index} with no entry before it`)
        const h = chainHash(prev, e.term, e.data)
        this.logHash[e.index] = h
        this.checker.logEntry(this.id, e.index, e.term, h)
      }
      this.logHash.length = rd.entries.at(-1)!.index + 1
    }
    if (rd.hardState) this.storage.setHardState(rd.hardState)
  }

  private checkNewLeader(): void {
    const st = this.raw!.status()
    this.checker.leaderElected(this.id, st.term)
    const first = this.storage.firstIndex()
    this.checker.leaderLog(this.id, st.term, this.storage.lastIndex(), (i) => (i < first ? undefined : this.storage.term(i)))
  }

  private apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.appliedIndex + 1) {
        throw new InvariantViolation('apply order', `node ${this.id} applied ${e.index} after ${this.appliedIndex}`)
      }
      if (e.type === 'confChange') this.confState = this.raw!.applyConfChange(decodeConfChange(e.data))
      this.appliedHash = chainHash(this.appliedHash, e.term, e.data)
      this.appliedIndex = e.index
      this.checker.appliedEntry(this.id, e.index, e.term, this.appliedHash)
      this.onApply(e)
    }
  }
}

/** The state machine's snapshot: its running hash. */
export function encodeState(hash: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, hash)
  return out
}

function decodeState(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0)
}

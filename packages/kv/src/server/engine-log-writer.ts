// The multiraft host's durable log writer on the engine: every group's entries and hard
// state of one loop iteration in one engine batch (one fsync). A snapshot is installed in
// that same batch — the Raft log's snapshot record, the range's data and its replica state —
// so a crash can never leave a log that points past data that is not there.

import type { LogUpdate, RaftLogWriter, Snapshot } from '@mrdb/raft'
import { pushAll, type BatchOp, type Engine, type RaftLogStore } from '@mrdb/storage'

/** Bytes of entries and snapshot data one engine batch carries, well inside the engine's batch limit. */
const WRITE_CHUNK_BYTES = 64 * 1024 * 1024

/** Produces the engine operations that install a snapshot's data for a group. */
export type SnapshotInstaller = (groupId: number, snapshot: Snapshot) => Promise<BatchOp[]>

/** Writes Raft log updates of many ranges to one engine. */
export class EngineLogWriter implements RaftLogWriter {
  /** Writes and compactions run one at a time: the log store has this one writer. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly engine: Engine,
    private readonly log: RaftLogStore,
    private readonly installSnapshot: SnapshotInstaller,
  ) {}

  /**
   * Cuts a group's log up to `index` (whose term is `term`), after any write under way. Reads
   * see the cut entries compacted from the start: the engine deletes them before its write's
   * promise settles, and a read in between (the Raft loop sending entries to a follower
   * behind) found them missing inside the log — a false corruption, which quarantined the
   * replica. Should the write fail, the entries stay on disk, unread.
   */
  compact(groupId: number, index: number, term: number): Promise<void> {
    return this.enqueue(async () => {
      if (index < this.log.firstIndex(groupId) || index > this.log.lastIndex(groupId)) return
      const batch = this.log.batch().compact(groupId, index, term)
      batch.committed()
      await this.engine.batch(batch.operations)
    })
  }

  /** Deletes a group's log together with `dataOps()` (its data and state), after any write under way. */
  destroyGroup(groupId: number, dataOps: () => Promise<BatchOp[]>): Promise<void> {
    return this.enqueue(async () => {
      const batch = this.log.batch().destroyGroup(groupId)
      await this.engine.batch([...batch.operations, ...(await dataOps())], { sync: true })
      batch.committed()
    })
  }

  /**
   * Writes every group's update. Updates beyond {@link WRITE_CHUNK_BYTES} go out in several
   * engine batches (each group's update whole in one of them), and only the last one syncs:
   * its fsync of the engine's write-ahead log covers the earlier ones.
   */
  write(updates: readonly LogUpdate[], sync: boolean): Promise<void> {
    return this.enqueue(async () => {
      let batch = this.log.batch()
      let data: BatchOp[] = []
      let bytes = 0
      const flush = async (last: boolean) => {
        await this.engine.batch([...batch.operations, ...data], { sync: last && sync })
        batch.committed()
        batch = this.log.batch()
        data = []
        bytes = 0
      }
      for (const [i, u] of updates.entries()) {
        if (u.snapshot) {
          const { index, term } = u.snapshot.metadata
          // The membership lives in the replica state the installer writes, not here.
          batch.installSnapshot(u.groupId, { index, term, data: new Uint8Array(0) })
          // Not a spread push: a large range's hundreds of thousands of operations overflowed
          // the stack as call arguments (it stopped the multiraft loop).
          pushAll(data, await this.installSnapshot(u.groupId, u.snapshot))
          bytes += u.snapshot.data.length
        }
        if (u.entries.length > 0) batch.append(u.groupId, u.entries)
        if (u.hardState) batch.setHardState(u.groupId, u.hardState)
        for (const e of u.entries) bytes += e.data.length
        // Never the last update: the final batch, the synced one, must not be empty.
        if (bytes > WRITE_CHUNK_BYTES && i < updates.length - 1) await flush(false)
      }
      await flush(true)
    })
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(work, work)
    this.queue = run.catch(() => {})
    return run
  }
}

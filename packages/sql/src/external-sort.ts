// ORDER BY within a statement's memory budget: an external merge sort. Rows are buffered
// (charged to the statement's MemoryAccount); when the next chunk would pass the budget, the
// buffer is sorted and — unless a LIMIT lets it keep only its first rows — written as a sorted
// run to a temporary file (v8-serialized chunks) and its charge released. The result is the
// k-way merge of the runs and the last buffer, read back a chunk at a time.

import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { rowsBytes } from './memory.js'
import { rowComparator, type SortKey } from './row-ops.js'
import type { StatementContext } from './statement-context.js'
import type { SqlValue } from './values.js'

/** Rows written or read per chunk of a run file. */
const RUN_CHUNK_ROWS = 512

/** Rows charged at a time when a chunk is added (a budget smaller than a whole scan chunk still spills rather than fails). */
const ADD_SLICE_ROWS = 64

type Row = SqlValue[]

/** A sorted run on disk: where it is, read back one chunk at a time. */
interface Run {
  readonly path: string
}

/** See the file comment. Feed it with {@link add}, then read the sorted rows with {@link drain}; {@link close} removes its files. */
export class ExternalSorter {
  private buffer: Row[] = []
  private bufferBytes = 0
  private readonly runs: Run[] = []
  private dir: string | null = null
  private readonly compare: (a: readonly SqlValue[], b: readonly SqlValue[]) => number

  /**
   * A sorter for `ctx`'s statement ordering by `keys`; only the first `keep` rows of the
   * result are ever read (OFFSET + LIMIT, or Infinity).
   */
  constructor(
    private readonly ctx: StatementContext,
    keys: readonly SortKey[],
    private readonly keep = Infinity,
  ) {
    this.compare = rowComparator(keys)
  }

  /** How many sorted runs went to disk so far. */
  get spilledRuns(): number {
    return this.runs.length
  }

  /**
   * Adds rows (a chunk), a slice of {@link ADD_SLICE_ROWS} at a time: before a slice that
   * would pass the budget, the buffer is sorted and spilled (53200 only if one slice alone
   * is over the budget).
   */
  async add(rows: Row[]): Promise<void> {
    for (let i = 0; i < rows.length; i += ADD_SLICE_ROWS) {
      const slice = rows.length <= ADD_SLICE_ROWS ? rows : rows.slice(i, i + ADD_SLICE_ROWS)
      const bytes = rowsBytes(slice)
      if (this.buffer.length > 0 && this.ctx.memory.wouldExceed(bytes)) await this.spill()
      this.ctx.memory.charge(bytes, 'a sort')
      this.bufferBytes += bytes
      for (const r of slice) this.buffer.push(r)
    }
  }

  /** Sorts the buffer; keeps it (cut to `keep` rows) if that frees enough, else writes it as a run. */
  private async spill(): Promise<void> {
    this.buffer.sort(this.compare)
    if (this.keep < this.buffer.length) {
      // Only the first `keep` rows of the result are read: no later row can displace one of these by more.
      this.buffer.length = this.keep
      this.recharge()
      if (!this.ctx.memory.wouldExceed(this.bufferBytes)) return
    }
    this.dir ??= await mkdtemp(join(this.ctx.options.spillDir ?? tmpdir(), 'mrdb-sort-'))
    const path = join(this.dir, `run-${this.runs.length}`)
    const file = await open(path, 'w')
    try {
      for (let i = 0; i < this.buffer.length; i += RUN_CHUNK_ROWS) {
        const body = serialize(this.buffer.slice(i, i + RUN_CHUNK_ROWS))
        const header = Buffer.alloc(4)
        header.writeUInt32LE(body.length)
        await file.write(Buffer.concat([header, body]))
        if ((i / RUN_CHUNK_ROWS) % 16 === 15) await this.ctx.yieldToEventLoop()
      }
    } finally {
      await file.close()
    }
    this.runs.push({ path })
    this.ctx.memory.release(this.bufferBytes)
    this.buffer = []
    this.bufferBytes = 0
  }

  private recharge(): void {
    const bytes = rowsBytes(this.buffer)
    this.ctx.memory.release(this.bufferBytes)
    this.ctx.memory.charge(bytes, 'a sort')
    this.bufferBytes = bytes
  }

  /**
   * The sorted rows, in chunks, at most `keep` of them: the buffer alone when nothing
   * spilled, else the merge of the runs and the buffer (ties in the order rows were added:
   * the sort is stable).
   */
  async *drain(): AsyncGenerator<Row[]> {
    this.buffer.sort(this.compare)
    let left = this.keep
    if (this.runs.length === 0) {
      for (let i = 0; i < this.buffer.length && left > 0; i += RUN_CHUNK_ROWS) {
        const chunk = this.buffer.slice(i, i + Math.min(RUN_CHUNK_ROWS, left))
        left -= chunk.length
        yield chunk
      }
      return
    }
    // Sources in the order their rows were added: runs first, the buffer last.
    const readers = await Promise.all(this.runs.map((r) => RunReader.open(r.path)))
    try {
      const sources: Array<{ rows: Row[]; at: number; reader: RunReader | null }> = readers.map((reader) => ({ rows: [], at: 0, reader }))
      sources.push({ rows: this.buffer, at: 0, reader: null })
      for (const s of sources) if (s.reader !== null) s.rows = (await s.reader.next()) ?? []
      let out: Row[] = []
      while (left > 0) {
        let best = -1
        for (let i = 0; i < sources.length; i++) {
          const s = sources[i]!
          if (s.at >= s.rows.length) continue
          if (best < 0 || this.compare(s.rows[s.at]!, sources[best]!.rows[sources[best]!.at]!) < 0) best = i
        }
        if (best < 0) break
        const s = sources[best]!
        out.push(s.rows[s.at++]!)
        left--
        if (s.at >= s.rows.length && s.reader !== null) {
          s.rows = (await s.reader.next()) ?? []
          s.at = 0
        }
        if (out.length >= RUN_CHUNK_ROWS) {
          yield out
          out = []
          await this.ctx.yieldToEventLoop()
        }
      }
      if (out.length > 0) yield out
    } finally {
      await Promise.all(readers.map((r) => r.close()))
    }
  }

  /** Releases the buffer's charge and removes the run files. */
  async close(): Promise<void> {
    this.ctx.memory.release(this.bufferBytes)
    this.buffer = []
    this.bufferBytes = 0
    if (this.dir !== null) await rm(this.dir, { recursive: true, force: true })
    this.dir = null
  }
}

/** Reads a run file back, one chunk of rows per {@link next}. */
class RunReader {
  private constructor(private readonly file: FileHandle) {}

  static async open(path: string): Promise<RunReader> {
    return new RunReader(await open(path, 'r'))
  }

  /** The next chunk, or null at the end. */
  async next(): Promise<Row[] | null> {
    const header = Buffer.alloc(4)
    const { bytesRead } = await this.file.read(header, 0, 4, null)
    if (bytesRead < 4) return null
    const body = Buffer.alloc(header.readUInt32LE(0))
    await this.file.read(body, 0, body.length, null)
    return deserialize(body) as Row[]
  }

  async close(): Promise<void> {
    await this.file.close()
  }
}

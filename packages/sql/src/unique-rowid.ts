// unique_rowid(): the default of SERIAL columns, as in CockroachDB. A 63-bit positive integer
// that grows with time and is unique across nodes without any coordination:
//
//   bit 62 … 22: milliseconds since 2025-01-01T00:00:00Z   (41 bits: until 2094)
//   bit 21 … 9:  the node's id, modulo 8192                 (13 bits)
//   bit  8 … 0:  a per-process sequence within the millisecond (9 bits: 512 per ms)
//
// Within one process the (millisecond, sequence) pair strictly increases: when 512 ids were
// handed out in one millisecond, or the clock steps back, the generator borrows the next
// millisecond (as CockroachDB's generator does), so ids never repeat in a process however fast
// it asks. Two processes never collide while their node ids differ modulo 8192. What is not
// covered: a node restarted with its clock set back behind ids it handed out before, and two
// processes sharing a node id; a collision then surfaces as 23505 on the primary key, never as
// an overwritten row (rows are written with an absence check).
//
// The node id is the process's: SqlEngine sets it from its `nodeId` option (the store id).
// Without one (the in-memory engine, worker threads) it is random.

import { randomInt } from 'node:crypto'

/** 2025-01-01T00:00:00Z, the epoch of unique_rowid()'s timestamp. */
export const UNIQUE_ROWID_EPOCH_MS = Date.UTC(2025, 0, 1)
const NODE_BITS = 13n
const SEQUENCE_BITS = 9n
const SEQUENCE_LIMIT = 1 << Number(SEQUENCE_BITS)
const NODE_MASK = (1n << NODE_BITS) - 1n

/** Generates unique_rowid() values for one node; see the file header for the layout. */
export class UniqueRowIdGenerator {
  private lastMs = 0
  private sequence = 0

  constructor(
    /** The node id placed in every id (taken modulo 8192). */
    public nodeId: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The next id: larger than every id this generator returned before. */
  next(): bigint {
    const ms = Math.max(this.now() - UNIQUE_ROWID_EPOCH_MS, 0)
    if (ms > this.lastMs) {
      this.lastMs = ms
      this.sequence = 0
    } else if (++this.sequence >= SEQUENCE_LIMIT) {
      // Out of sequence numbers (or the clock stepped back): borrow the next millisecond.
      this.lastMs++
      this.sequence = 0
    }
    return (BigInt(this.lastMs) << (NODE_BITS + SEQUENCE_BITS)) | ((BigInt(this.nodeId) & NODE_MASK) << SEQUENCE_BITS) | BigInt(this.sequence)
  }
}

/** The parts of an id made by {@link UniqueRowIdGenerator}: for tests and debugging. */
export function decodeUniqueRowId(id: bigint): { readonly ms: number; readonly nodeId: number; readonly sequence: number } {
  return {
    ms: Number(id >> (NODE_BITS + SEQUENCE_BITS)) + UNIQUE_ROWID_EPOCH_MS,
    nodeId: Number((id >> SEQUENCE_BITS) & NODE_MASK),
    sequence: Number(id & BigInt(SEQUENCE_LIMIT - 1)),
  }
}

const processGenerator = new UniqueRowIdGenerator(randomInt(Number(NODE_MASK) + 1))

/**
 * Makes this process's unique_rowid() carry `nodeId` (SqlEngine calls it with its `nodeId`
 * option). The time and sequence state is kept, so later ids stay above earlier ones.
 */
export function setUniqueRowIdNode(nodeId: number): void {
  if (!Number.isSafeInteger(nodeId) || nodeId < 0) throw new RangeError(`node id must be a non-negative integer, not ${nodeId}`)
  processGenerator.nodeId = nodeId
}

/** The next unique_rowid() value of this process. */
export function uniqueRowId(): bigint {
  return processGenerator.next()
}

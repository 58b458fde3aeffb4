// Types and limits that both sides of the KV API share: the client builds requests with
// them, the server applies them.

import type { MutationKind } from '@mrdb/storage'

/** Largest encoded command a range accepts (TiKV's raft-entry-max-size is the same 8 MiB). */
export const MAX_COMMAND_SIZE = 8 * 1024 * 1024

/** One write a transaction prewrites. */
export interface TxnMutation {
  key: Uint8Array
  kind: MutationKind
  /** The value of a put. */
  value: Uint8Array | undefined
  /** Fail with KEY_EXISTS if the key holds a live value (an insert). */
  assertAbsent: boolean
}

/** A transaction's fate as its primary key tells it (the result of a checkTxn command). */
export type TxnState = { state: 'committed'; commitTs: bigint } | { state: 'rolled-back' } | { state: 'locked'; ttlMs: number }

/** One row of a scan. */
export type KeyValue = [key: Uint8Array, value: Uint8Array]

/** Where transactions get their timestamps: the placement driver's timestamp oracle. */
export interface TimestampSource {
  /** A timestamp greater than every one handed out before this call began. */
  timestamp(): Promise<bigint>
  /**
   * True when the successor t + 1 of every timestamp t this source hands out is reserved: the
   * oracle handed it to this source, which never hands it out, so no other transaction starts
   * or commits two phases at it. A one-phase commit with commit-time conditions then bounds
   * itself by its start + 1 instead of fetching a fresh timestamp (Transaction.commitInOnePhase).
   */
  readonly reservesSuccessors?: boolean
}

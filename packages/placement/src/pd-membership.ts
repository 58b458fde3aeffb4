// The scheduler's operators on the PD's own group, carried out by its leader as a range's
// leader carries out a range's (kv's replica-changes): a replica is added as a learner,
// caught up by snapshot, and promoted; a move promotes the new replica and removes the old
// one in one joint configuration change; leadership leaves a replica before it is removed.

import { PdError, PdErrorCode } from './errors.js'
import type { PdReplica } from './pd-replica.js'
import { PD_GROUP_ID } from './pd-state.js'
import type { Operator } from './scheduler.js'

/** What carrying out a PD operator needs from the node. */
export interface PdMemberCalls {
  /**
   * Has store `nodeId` host a replica of the PD group, to be filled by the leader's snapshot
   * (idempotent); `members` are the group's replicas, the new one included.
   */
  join(nodeId: number, members: readonly number[]): Promise<void>
  /** Tells store `nodeId`, removed from the group, to stop its replica (best effort: it may be dead). */
  leave(nodeId: number): Promise<void>
}

/** How long a new PD learner may take to catch up before the move gives up. */
const CATCH_UP_TIMEOUT_MS = 60_000
/** How often the leader looks at a learner's progress. */
const CATCH_UP_POLL_MS = 20

/**
 * Carries out an operator on the PD group (rangeId PD_GROUP_ID) on its leader; resolves once
 * the group has changed. Throws the PdError that stopped it (NOT_LEADER once this node hands
 * leadership over); what was done stays done, and the scheduler finishes it next time.
 */
export async function runPdOperator(replica: PdReplica, op: Operator, calls: PdMemberCalls, timeoutMs: number): Promise<void> {
  if (op.rangeId !== PD_GROUP_ID) throw new PdError(PdErrorCode.INVALID_ARGUMENT, `operator on range ${op.rangeId} is not the PD group's`)
  switch (op.kind) {
    case 'removeReplica':
      await replica.changeMembership([{ op: 'remove', nodeId: op.nodeId }], timeoutMs)
      await calls.leave(op.nodeId).catch(() => undefined)
      return
    case 'moveReplica':
      await addLearner(replica, op.toNodeId, calls, timeoutMs)
      await replica.changeMembership(
        [
          { op: 'promote', nodeId: op.toNodeId },
          { op: 'remove', nodeId: op.fromNodeId },
        ],
        timeoutMs,
      )
      await calls.leave(op.fromNodeId).catch(() => undefined)
      return
    case 'transferLeader':
      replica.transferLeader(op.toNodeId)
      return
    default:
      // The scheduler's rule (pd) never asks for these.
      throw new PdError(PdErrorCode.INVALID_ARGUMENT, `the PD group takes no ${op.kind} operator`)
  }
}

/** Makes store `nodeId` a learner of the PD group (unless it already is one) and waits until it has caught up. */
async function addLearner(replica: PdReplica, nodeId: number, calls: PdMemberCalls, timeoutMs: number): Promise<void> {
  let cs = replica.confState()
  if (cs.voters.includes(nodeId)) throw new PdError(PdErrorCode.INVALID_ARGUMENT, `store ${nodeId} already holds a PD voter`)
  if (!cs.learners.includes(nodeId)) cs = await replica.changeMembership([{ op: 'addLearner', nodeId }], timeoutMs)
  await calls.join(nodeId, [...new Set([...cs.voters, ...cs.learners])])
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS
  while (!replica.caughtUp(nodeId)) {
    if (Date.now() > deadline) throw new PdError(PdErrorCode.TIMEOUT, `the PD learner on store ${nodeId} did not catch up within ${CATCH_UP_TIMEOUT_MS} ms`)
    replica.checkLeader()
    await new Promise((r) => setTimeout(r, CATCH_UP_POLL_MS))
  }
}

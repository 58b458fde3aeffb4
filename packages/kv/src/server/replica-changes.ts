// The multi-step membership changes an operator or the placement driver asks of a range,
// run on the range's leader: a replica is added as a learner, caught up by snapshot, then
// promoted; a replica moves by joint consensus (the new one promoted and the old one
// removed in one configuration change); leadership leaves a replica before it is removed.

import { KvError, KvErrorCode } from '../api/errors.js'
import type { RangeDescriptor } from '../api/range-descriptor.js'
import type { Store } from './store.js'

/** Creates the empty replica on the node that joins (locally or by RPC to that node). */
export type CreateReplica = (nodeId: number, d: RangeDescriptor) => Promise<void>

/** How long a new learner may take to catch up before the change gives up. */
const CATCH_UP_TIMEOUT_MS = 60_000

/** Adds a replica of `rangeId` on `nodeId`: a learner caught up by snapshot, then a voter unless `learner`. */
export async function addReplica(store: Store, rangeId: number, nodeId: number, learner: boolean, create: CreateReplica): Promise<RangeDescriptor> {
  let d = store.replica(rangeId).descriptor
  const existing = d.replicas.find((r) => r.nodeId === nodeId)
  if (!existing) d = await store.changeReplicas(rangeId, [{ op: 'addLearner', nodeId }])
  await create(nodeId, d)
  await waitCaughtUp(store, rangeId, nodeId)
  if (learner || d.replicas.find((r) => r.nodeId === nodeId)?.role === 'voter') return d
  return store.changeReplicas(rangeId, [{ op: 'promote', nodeId }])
}

/** Removes the replica on `nodeId`; fails with NOT_LEADER (hinting the new leader) if it led and handed leadership over. */
export async function removeReplica(store: Store, rangeId: number, nodeId: number): Promise<RangeDescriptor> {
  await handOverLeadership(store, rangeId, nodeId)
  return store.changeReplicas(rangeId, [{ op: 'remove', nodeId }])
}

/** Moves a voter from `fromNodeId` to `toNodeId`: add a learner there, catch it up, then promote it and remove the old one jointly. */
export async function moveReplica(store: Store, rangeId: number, fromNodeId: number, toNodeId: number, create: CreateReplica): Promise<RangeDescriptor> {
  await addReplica(store, rangeId, toNodeId, true, create)
  await handOverLeadership(store, rangeId, fromNodeId)
  return store.changeReplicas(rangeId, [
    { op: 'promote', nodeId: toNodeId },
    { op: 'remove', nodeId: fromNodeId },
  ])
}

/**
 * If this node's replica (the leader) is the one on `nodeId`, hands leadership to a caught-up
 * voter elsewhere and throws NOT_LEADER: the caller continues on the new leader.
 */
async function handOverLeadership(store: Store, rangeId: number, nodeId: number): Promise<void> {
  if (nodeId !== store.nodeId) return
  const replica = store.replica(rangeId)
  const to = replica.descriptor.replicas.find((r) => r.role === 'voter' && r.nodeId !== nodeId && replica.caughtUp(r.nodeId))
  if (!to) throw new KvError(KvErrorCode.UNAVAILABLE, `range ${rangeId} has no caught-up voter to take over leadership`)
  replica.transferLeader(to.nodeId)
  throw new KvError(KvErrorCode.NOT_LEADER, `node ${nodeId} handed leadership of range ${rangeId} to node ${to.nodeId}; continue there`, to.nodeId)
}

async function waitCaughtUp(store: Store, rangeId: number, nodeId: number): Promise<void> {
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS
  while (!store.replica(rangeId).caughtUp(nodeId)) {
    if (Date.now() > deadline) throw new KvError(KvErrorCode.TIMEOUT, `the replica of range ${rangeId} on node ${nodeId} did not catch up within ${CATCH_UP_TIMEOUT_MS} ms`)
    store.replica(rangeId).checkLeader()
    await new Promise((r) => setTimeout(r, 20))
  }
}

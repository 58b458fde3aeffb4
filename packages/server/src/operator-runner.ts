// Carries a placement operator out through the range's leader: every operator is one admin
// call (ChangeMember or SplitRange) that the receiving node forwards to the leader.

import type { Operator } from '@mrdb/placement'
import type { MemberRequest, RangeAdminResponse, SplitRequest } from './admin-protocol.js'

/** The range actions an operator maps to (a node's RangeAdmin). */
export interface RangeActions {
  member(req: MemberRequest): Promise<RangeAdminResponse>
  split(req: SplitRequest): Promise<RangeAdminResponse>
}

/** Runs one operator; resolves once the range has changed. */
export async function runOperator(actions: RangeActions, op: Operator): Promise<void> {
  const rangeId = op.rangeId
  switch (op.kind) {
    case 'addReplica':
    case 'promoteLearner': // `add` promotes a learner that is already there
      await actions.member({ rangeId, op: 'add', storeId: op.nodeId })
      return
    case 'removeReplica':
      await actions.member({ rangeId, op: 'remove', storeId: op.nodeId })
      return
    case 'moveReplica':
      await actions.member({ rangeId, op: 'move', storeId: op.fromNodeId, toStoreId: op.toNodeId })
      return
    case 'transferLeader':
      await actions.member({ rangeId, op: 'transferLeader', storeId: op.toNodeId })
      return
    case 'splitRange':
      await actions.split({ rangeId })
      return
  }
}

// Who leads each Raft group this node hosts, watched from outside the multiraft loop: every
// pass compares each group's known leader with the last one seen; a change is counted and
// logged (the election line an operator looks for: range, term, new leader), and the rise of
// the group's term since its last leader counts its elections. A group that was just added
// is taken as it is, without a line.

import type { MultiRaft } from '@mrdb/raft'
import { PD_GROUP_ID } from '@mrdb/placement'
import type { NodeLogger } from '../log/node-log.js'

/** How often the watch looks at every group's leader. */
const WATCH_INTERVAL_MS = 200

/** Leader changes and elections seen on this node's groups; see the file comment. */
export class LeadershipWatch {
  /** Changes of a group's known leader (to another replica, or to none). */
  leaderChanges = 0
  /** Elections: the terms groups went through between the leaders seen. */
  elections = 0
  private readonly seen = new Map<number, { lead: number; term: number }>()
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly raft: MultiRaft,
    private readonly log: NodeLogger,
  ) {
    this.timer = setInterval(() => this.pass(), WATCH_INTERVAL_MS)
    this.timer.unref()
  }

  /** Stops watching. */
  stop(): void {
    clearInterval(this.timer)
  }

  /** One look at every hosted group. */
  pass(): void {
    const hosted = this.raft.groupIds()
    for (const groupId of hosted) {
      const lead = this.raft.leaderOf(groupId)
      const last = this.seen.get(groupId)
      if (last && last.lead === lead) continue
      const term = this.raft.status(groupId).term
      this.seen.set(groupId, { lead, term })
      if (!last) continue
      this.leaderChanges++
      this.elections += Math.max(0, term - last.term)
      const group = groupId === PD_GROUP_ID ? 'the placement driver group' : `range ${groupId}`
      const fields = { rangeId: groupId, term, previousLeaderReplica: last.lead }
      if (lead === 0) {
        this.log.info(fields, `${group}: lost its leader (replica ${last.lead}) at term ${term}`)
        continue
      }
      const node = this.raft.nodeOf(groupId, lead)
      this.log.info({ ...fields, leaderReplica: lead, leaderNode: node }, `${group}: elected replica ${lead} on node ${node ?? '?'} leader at term ${term}`)
    }
    if (this.seen.size > hosted.length) {
      const live = new Set(hosted)
      for (const id of this.seen.keys()) if (!live.has(id)) this.seen.delete(id)
    }
  }
}

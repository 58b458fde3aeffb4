// Who leads each Raft group this node hosts, watched from outside the multiraft loop: every
// pass compares the known leader of each group whose leader changed since the last pass
// (MultiRaft.watchLeaders tells which) with the last one seen; a change is counted and logged
// (the election line an operator looks for: range, term, new leader), and the rise of the
// group's term since its last leader counts its elections. A group seen for the first time is
// taken as it is, without a line. A pass visits only the groups that changed, never all of
// them: with 10,000 idle ranges, five visits of every group a second cost a node more than
// its idle Raft work.

import type { MultiRaft } from '@mrdb/raft'
import { PD_GROUP_ID } from '@mrdb/placement'
import type { NodeLogger } from '../log/node-log.js'

/** How often the watch looks at the groups whose leader changed. */
const WATCH_INTERVAL_MS = 200
/** Every this many passes, groups no longer hosted are forgotten (a removal changes no leader). */
const PRUNE_EVERY = 50

/** Leader changes and elections seen on this node's groups; see the file comment. */
export class LeadershipWatch {
  /** Changes of a group's known leader (to another replica, or to none). */
  leaderChanges = 0
  /** Elections: the terms groups went through between the leaders seen. */
  elections = 0
  private readonly seen = new Map<number, { lead: number; term: number }>()
  /** Groups whose leader changed since the last pass. */
  private readonly changed = new Set<number>()
  private readonly timer: NodeJS.Timeout
  private readonly unwatch: () => void
  private passes = 0

  constructor(
    private readonly raft: MultiRaft,
    private readonly log: NodeLogger,
  ) {
    for (const groupId of raft.groupIds()) this.changed.add(groupId)
    this.unwatch = raft.watchLeaders((groupId) => this.changed.add(groupId))
    this.timer = setInterval(() => this.pass(), WATCH_INTERVAL_MS)
    this.timer.unref()
  }

  /** Stops watching. */
  stop(): void {
    clearInterval(this.timer)
    this.unwatch()
  }

  /** One look at every group whose leader changed since the last pass. */
  pass(): void {
    const changed = [...this.changed]
    this.changed.clear()
    for (const groupId of changed) {
      if (!this.raft.hasGroup(groupId)) {
        this.seen.delete(groupId)
        continue
      }
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
    if (++this.passes % PRUNE_EVERY === 0) for (const id of this.seen.keys()) if (!this.raft.hasGroup(id)) this.seen.delete(id)
  }
}

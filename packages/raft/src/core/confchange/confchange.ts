// Membership changes: a single-voter change applied directly, or a joint configuration
// entered and later left (Raft thesis §4.3). Each operation validates, works on a copy, and
// returns the new configuration and progress map without touching the tracker.

import { ConfChangeInvalidError } from '../errors.js'
import { Inflights } from '../tracker/inflights.js'
import { Progress } from '../tracker/progress.js'
import { TrackerConfig } from '../tracker/progress-tracker.js'
import type { ProgressMap, ProgressTracker } from '../tracker/progress-tracker.js'
import type { ConfChangeSingle, ConfChangeV2 } from '../types.js'

/** A configuration together with the progress of each of its members. */
export interface ConfigAndProgress {
  config: TrackerConfig
  progress: ProgressMap
}

/**
 * Whether cc enters a joint configuration, and if so whether it is left automatically.
 * undefined means cc is a simple change (or leaves the joint config; see leavesJoint).
 */
export function jointTransition(cc: ConfChangeV2): { autoLeave: boolean } | undefined {
  if (cc.changes.length === 0) return undefined
  if (cc.transition === 'auto' && cc.changes.length === 1) return undefined
  return { autoLeave: cc.transition !== 'explicit' }
}

/** Whether cc is the empty change that leaves a joint configuration. */
export function leavesJoint(cc: ConfChangeV2): boolean {
  return cc.changes.length === 0
}

/**
 * Computes configuration changes from a tracker's current state. New members start with
 * next = lastIndex (so the first probe is at the leader's last entry) and count as active.
 */
export class Changer {
  private readonly tracker: ProgressTracker
  private readonly lastIndex: number

  constructor(tracker: ProgressTracker, lastIndex: number) {
    this.tracker = tracker
    this.lastIndex = lastIndex
  }

  /**
   * Enters the joint configuration C_old,new: the current voters become the outgoing half
   * and the changes are applied to the incoming half. Voters removed or demoted stay in the
   * outgoing half; demoted ones are queued in learnersNext.
   */
  enterJoint(autoLeave: boolean, changes: readonly ConfChangeSingle[]): ConfigAndProgress {
    const { config, progress } = this.checkAndCopy()
    if (config.voters.isJoint()) throw new ConfChangeInvalidError('config is already joint')
    if (config.voters.incoming.size === 0) {
      // Entering a joint state with no voters would leave no one to decide anything.
      throw new ConfChangeInvalidError("can't make a zero-voter config joint")
    }
    for (const id of config.voters.incoming.ids) config.voters.outgoing.ids.add(id)
    this.apply(config, progress, changes)
    config.autoLeave = autoLeave
    return checkAndReturn(config, progress)
  }

  /**
   * Leaves the joint configuration for C_new: the outgoing half is dropped, queued
   * demotions become learners, and members in neither C_new nor the learners are removed.
   */
  leaveJoint(): ConfigAndProgress {
    const { config, progress } = this.checkAndCopy()
    if (!config.voters.isJoint()) throw new ConfChangeInvalidError("can't leave a non-joint config")
    for (const id of config.learnersNext) {
      config.learners.add(id)
      const pr = progress.get(id)
      if (pr !== undefined) pr.isLearner = true
    }
    config.learnersNext.clear()
    for (const id of config.voters.outgoing.ids) {
      if (!config.voters.incoming.ids.has(id) && !config.learners.has(id)) progress.delete(id)
    }
    config.voters.outgoing.ids.clear()
    config.autoLeave = false
    return checkAndReturn(config, progress)
  }

  /**
   * Applies changes directly, without a joint config. Allowed only if the set of voters
   * changes by at most one node (any two majorities of the old and new sets then overlap).
   */
  simple(changes: readonly ConfChangeSingle[]): ConfigAndProgress {
    const { config, progress } = this.checkAndCopy()
    if (config.voters.isJoint()) {
      throw new ConfChangeInvalidError("can't apply simple config change in joint config")
    }
    this.apply(config, progress, changes)
    const before = this.tracker.config.voters.incoming.ids
    const after = config.voters.incoming.ids
    let diff = 0
    for (const id of before) if (!after.has(id)) diff++
    for (const id of after) if (!before.has(id)) diff++
    if (diff > 1) {
      throw new ConfChangeInvalidError('more than one voter changed without entering joint config')
    }
    return checkAndReturn(config, progress)
  }

  private apply(config: TrackerConfig, progress: ProgressMap, changes: readonly ConfChangeSingle[]): void {
    for (const cc of changes) {
      if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId <= 0) {
        throw new ConfChangeInvalidError(`invalid node id ${cc.nodeId}`)
      }
      switch (cc.type) {
        case 'addVoter':
          this.makeVoter(config, progress, cc.nodeId)
          break
        case 'addLearner':
          this.makeLearner(config, progress, cc.nodeId)
          break
        case 'removeNode':
          remove(config, progress, cc.nodeId)
          break
        default:
          throw new ConfChangeInvalidError(`unknown change type ${String((cc as ConfChangeSingle).type)}`)
      }
    }
    if (config.voters.incoming.size === 0) throw new ConfChangeInvalidError('removed all voters')
  }

  private makeVoter(config: TrackerConfig, progress: ProgressMap, id: number): void {
    const pr = progress.get(id)
    if (pr === undefined) {
      this.initProgress(config, progress, id, false)
      return
    }
    pr.isLearner = false
    config.learners.delete(id)
    config.learnersNext.delete(id)
    config.voters.incoming.ids.add(id)
  }

  /**
   * Makes id a learner. A voter of the outgoing half cannot be a learner while the joint
   * config lasts, so it is queued in learnersNext instead.
   */
  private makeLearner(config: TrackerConfig, progress: ProgressMap, id: number): void {
    const pr = progress.get(id)
    if (pr === undefined) {
      this.initProgress(config, progress, id, true)
      return
    }
    if (pr.isLearner) return
    remove(config, progress, id)
    progress.set(id, pr)
    if (config.voters.outgoing.ids.has(id)) {
      config.learnersNext.add(id)
    } else {
      pr.isLearner = true
      config.learners.add(id)
    }
  }

  private initProgress(config: TrackerConfig, progress: ProgressMap, id: number, isLearner: boolean): void {
    if (isLearner) config.learners.add(id)
    else config.voters.incoming.ids.add(id)
    progress.set(
      id,
      new Progress({
        // Probe at the leader's last index: optimistic, the first rejection corrects it.
        next: Math.max(this.lastIndex, 1),
        match: 0,
        inflights: new Inflights(this.tracker.maxInflight, this.tracker.maxInflightBytes),
        isLearner,
        // A new member counts as active, or check-quorum could depose the leader before
        // the new member had a chance to answer.
        recentActive: true,
      }),
    )
  }

  private checkAndCopy(): ConfigAndProgress {
    const config = this.tracker.config.clone()
    const progress: ProgressMap = new Map()
    for (const [id, pr] of this.tracker.progress) progress.set(id, pr.clone())
    checkInvariants(config, progress)
    return { config, progress }
  }
}

function remove(config: TrackerConfig, progress: ProgressMap, id: number): void {
  if (!progress.has(id)) return
  config.voters.incoming.ids.delete(id)
  config.learners.delete(id)
  config.learnersNext.delete(id)
  // An outgoing voter keeps its progress until the joint config is left.
  if (!config.voters.outgoing.ids.has(id)) progress.delete(id)
}

function checkAndReturn(config: TrackerConfig, progress: ProgressMap): ConfigAndProgress {
  checkInvariants(config, progress)
  return { config, progress }
}

/** Throws ConfChangeInvalidError unless config and progress satisfy TrackerConfig's invariants. */
export function checkInvariants(config: TrackerConfig, progress: ProgressMap): void {
  const fail = (msg: string): never => {
    throw new ConfChangeInvalidError(msg)
  }
  for (const id of config.voters.ids()) if (!progress.has(id)) fail(`no progress for voter ${id}`)
  for (const id of config.learners) if (!progress.has(id)) fail(`no progress for learner ${id}`)
  for (const id of config.learnersNext) {
    if (!progress.has(id)) fail(`no progress for learner_next ${id}`)
    if (!config.voters.outgoing.ids.has(id)) fail(`${id} is in learners_next but not in the outgoing voters`)
    if (progress.get(id)?.isLearner) fail(`${id} is in learners_next but already marked as learner`)
  }
  for (const id of config.learners) {
    if (config.voters.has(id)) fail(`${id} is both a learner and a voter`)
    if (!progress.get(id)?.isLearner) fail(`${id} is a learner but not marked as one`)
  }
  if (!config.voters.isJoint()) {
    if (config.learnersNext.size > 0) fail('learners_next must be empty outside a joint config')
    if (config.autoLeave) fail('autoLeave must be false outside a joint config')
  }
}

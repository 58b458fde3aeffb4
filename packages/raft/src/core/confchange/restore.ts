// Rebuilds a configuration from a ConfState, as found in storage or in a snapshot.

import { JointConfig } from '../quorum/joint.js'
import { MajorityConfig } from '../quorum/majority.js'
import { Inflights } from '../tracker/inflights.js'
import { Progress } from '../tracker/progress.js'
import { TrackerConfig } from '../tracker/progress-tracker.js'
import type { ProgressMap } from '../tracker/progress-tracker.js'
import type { ConfState } from '../types.js'
import { checkInvariants } from './confchange.js'
import type { ConfigAndProgress } from './confchange.js'

/**
 * The configuration described by cs, with fresh progress for every member (next =
 * lastIndex + 1). Throws ConfChangeInvalidError if cs is inconsistent.
 */
export function restoreConfig(
  cs: ConfState,
  lastIndex: number,
  maxInflight: number,
  maxInflightBytes: number,
): ConfigAndProgress {
  const config = new TrackerConfig(
    new JointConfig(new MajorityConfig(cs.voters), new MajorityConfig(cs.votersOutgoing)),
    cs.learners,
    cs.learnersNext,
    cs.autoLeave,
  )
  const progress: ProgressMap = new Map()
  const add = (id: number, isLearner: boolean): void => {
    if (progress.has(id)) return
    progress.set(
      id,
      new Progress({
        match: 0,
        next: lastIndex + 1,
        inflights: new Inflights(maxInflight, maxInflightBytes),
        isLearner,
        recentActive: true,
      }),
    )
  }
  for (const id of cs.voters) add(id, false)
  for (const id of cs.votersOutgoing) add(id, false)
  for (const id of cs.learners) add(id, true)
  checkInvariants(config, progress)
  return { config, progress }
}

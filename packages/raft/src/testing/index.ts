// @mrdb/raft/testing — helpers for tests and the simulator. Not for production hosts.

export { InteractionEnv, zeroRng } from './interaction-env.js'
export type { AddNodesOptions, EnvNode, LogLevel } from './interaction-env.js'
export { runTranscript } from './interaction.js'
export type { TranscriptResult } from './interaction.js'
export { parseCommand, parseTranscript, renderTranscript } from './datadriven.js'
export type { Block, Command } from './datadriven.js'
export {
  describeConfChange,
  describeConfState,
  describeData,
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
  describeSoftState,
} from './describe.js'

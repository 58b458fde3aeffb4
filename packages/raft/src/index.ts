// @mrdb/raft — the package's front door. Everything a host needs to run the Raft core;
// nothing else is public. Test helpers live at '@mrdb/raft/testing'.

export { RawNode } from './core/raw-node.js'
export type { Config, RaftLogger, TestingKnobs } from './core/config.js'
export { DEFAULT_MAX_INFLIGHT_MSGS, DEFAULT_MAX_SIZE_PER_MSG } from './core/config.js'
export type { Status, ProgressStatus, ConfigStatus } from './core/status.js'
export type { ProgressState } from './core/tracker/progress.js'
export type { ReadOnlyOption } from './core/read-only.js'

export { NONE, isLocalMessage, isResponseMessage } from './core/types.js'
export type {
  AppendedAt,
  ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  ConfChangeV2,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  RaftStateType,
  ReadState,
  Ready,
  Snapshot,
  SnapshotMetadata,
  SoftState,
} from './core/types.js'

export { MemoryStorage, emptyConfState, emptySnapshot } from './core/storage.js'
export type { InitialState, Storage } from './core/storage.js'

export { SeededRng } from './core/rng.js'
export type { Rng } from './core/rng.js'

export { encodeConfChange, decodeConfChange } from './core/confchange/codec.js'
export { ENTRY_OVERHEAD_BYTES, entrySize, payloadSize } from './core/entry-size.js'

export {
  CompactedError,
  ConfChangeInvalidError,
  ConfigInvalidError,
  CorruptionError,
  ProposalDroppedError,
  RaftError,
  RaftErrorCode,
  RaftInvariantError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  StepLocalMessageError,
  StepPeerNotFoundError,
  UnavailableError,
} from './core/errors.js'

export { MultiRaft } from './multiraft/multi-raft.js'
export { ProposalWaiters } from './multiraft/proposal-waiters.js'
export type { MultiRaftOptions, MultiRaftMetrics } from './multiraft/multi-raft.js'
export type { GroupOptions, GroupStateMachine, LogUpdate, RaftLogWriter } from './multiraft/types.js'

export type { CoalescedHeartbeat, GroupMessage, QuiesceNotice, RaftFrame, Transport, TransportHandler } from './transport/transport.js'
export { MemoryNetwork, MemoryTransport } from './transport/memory-transport.js'
export type { MemoryFaults } from './transport/memory-transport.js'
export { GrpcTransport } from './transport/grpc-transport.js'
export type { GrpcTransportOptions } from './transport/grpc-transport.js'
export { NetworkFaults, PARTITIONED_DETAILS } from './transport/network-faults.js'
export { TransportError, TransportErrorCode } from './transport/transport-error.js'
export { raftTransportService, FRAMES_METHOD_PATH, SNAPSHOT_METHOD_PATH } from './transport/raft-service.js'
export { encodeFrame, encodeSnapshotHeader } from './transport/frame-codec.js'
export type { SnapshotHeader } from './transport/frame-codec.js'

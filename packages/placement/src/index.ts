// @mrdb/placement — the placement driver: its replicated state (PdReplica), the timestamp
// oracle and the scheduler. The package's front door; nothing else is public.

export { PdError, PdErrorCode } from './errors.js'
export { PD_GROUP_ID, MAX_RANGE_ID, emptyPdState, parseRange, parseStoreState } from './pd-state.js'
export type { PdCounters, PdStateData, RangeRecord, ReplicaRecord, ReplicaRole, StoreRecord, StoreState } from './pd-state.js'
export { MAX_ALLOC_COUNT, MAX_CLUSTER_ID_LENGTH } from './pd-command.js'
export type { IdKind, PdCommand, PdCommandKind, PdResult, PdResultValues } from './pd-command.js'
export { PD_BOOTSTRAP, PdReplica } from './pd-replica.js'
export type { PdReplicaOptions } from './pd-replica.js'
export { MAX_TSO_BATCH, TimestampOracle } from './tso.js'
export type { TimestampBatch, TimestampOracleOptions } from './tso.js'
export { DEFAULT_SCHEDULER_CONFIG, schedule, snapshotTarget } from './scheduler.js'
export type { Operator, RangeStats, ScheduleInput, SchedulerConfig, StoreStats } from './scheduler.js'
export { PlacementDriver } from './placement-driver.js'
export type { OperatorRunner, PlacementDriverOptions, QuarantineReport, RangeReport, RoutedRange, StoreHeartbeat, StoreView } from './placement-driver.js'
export { clusterHealth } from './cluster-health.js'
export type { ClusterHealth, RangeHealth } from './cluster-health.js'

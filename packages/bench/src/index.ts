export type { KvTarget } from './kv-target.js'
export {
  KEY_BYTES,
  WorkloadError,
  benchKey,
  percentile,
  runWorkload,
  seededRandom,
} from './workload.js'
export type { WorkloadKind, WorkloadOptions, WorkloadResult } from './workload.js'
export {
  AIM_P99_RATIO,
  AIM_PUT_THROUGHPUT_RATIO,
  PEER,
  SUBJECT,
  formatReport,
  ratios,
  toRow,
} from './report.js'
export type { RatioRow, ReportRow } from './report.js'
export { runSuite, standardWorkloads } from './suite.js'
export type { StandardOptions, SuiteResult, WorkloadSpec } from './suite.js'
export {
  EtcdStartError,
  EtcdUnavailableError,
  ensureEtcdBinary,
  findEtcdBinary,
  freePorts,
  startEtcdCluster,
} from './etcd-cluster.js'
export type { EtcdCluster, EtcdClusterOptions } from './etcd-cluster.js'
export { EtcdNoLeaderError, findEtcdLeader, openEtcdClient, withEtcdClient } from './etcd-client.js'
export { etcdTarget } from './etcd-target.js'
export type { EtcdTargetOptions } from './etcd-target.js'

// @mrdb/server — the node process.

export { NodeServer, staticLayout } from './node-server.js'
export type { NodeServerOptions } from './node-server.js'
export { NODE_SERVICE } from './admin-protocol.js'
export type { InitResponse, NodeStatusRequest, NodeStatusResponse, RangeAdminResponse } from './admin-protocol.js'
export { NodeError, NodeErrorCode } from './errors.js'
export { PD_SERVICE } from './pd-protocol.js'
export type { PdHealthResponse, PdRoutingResponse, PdStoresResponse, StoreViewJson } from './pd-protocol.js'
export { TimestampBatcher, remoteTimestamps } from './timestamp-batcher.js'
export { SqlClient, SqlClientError, CONNECTION_FAILURE, sendCancelRequest } from './sql-client.js'
export type { SqlClientOptions, SqlClientResult, SqlTransactionStatus } from './sql-client.js'
export { PgServer } from './pgwire/server.js'
export type { PgServerOptions } from './pgwire/server.js'

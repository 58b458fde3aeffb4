// @mrdb/server — the node process.

export { NodeServer, staticLayout } from './node-server.js'
export type { NodeServerOptions } from './node-server.js'
export { NODE_SERVICE } from './admin-protocol.js'
export type { InitResponse, NodeStatusResponse } from './admin-protocol.js'
export { NodeError, NodeErrorCode } from './errors.js'

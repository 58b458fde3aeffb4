// GET /health for load balancers and orchestrators. Plain /health is liveness: 200 whenever
// the process answers. /health?ready=1 is readiness: 200 only when the node can take work
// (see NodeServer's readiness), else 503 with the reason as JSON.

import { jsonReply, type HttpHandler } from './router.js'

/** Whether the node can take work now, and why not. */
export type Readiness = { ready: true } | { ready: false; reason: string }

/** The /health handler, asking `readiness` on each readiness probe. */
export function healthHandler(nodeId: number, readiness: () => Readiness): HttpHandler {
  return ({ url }) => {
    const probe = url.searchParams.get('ready')
    if (probe === null || probe === '0' || probe === 'false') return jsonReply(200, { nodeId, status: 'ok' })
    const r = readiness()
    return r.ready ? jsonReply(200, { nodeId, status: 'ready' }) : jsonReply(503, { nodeId, status: 'not ready', reason: r.reason })
  }
}

// KV requests as the node serves them, for metrics and the slow-request log: the node's
// KvRequestHandler — the one place its requests are served, whether they came over gRPC or
// in-process from its own SQL gateway — timed from the request to its answer, with the
// error code the answer carries.

import { KvRequestHandler, type ClusterView, type KvRequest, type KvResponse, type Store } from '@mrdb/kv'

/** One finished KV request. */
export interface KvRequestOutcome {
  /** The operation: 'get', 'put', 'prewrite', … */
  op: string
  durationMs: number
  /** The error code of the answer (a KvErrorCode); none when it succeeded. */
  code?: string
  /** The range it was sent to, when it names one. */
  rangeId?: number
}

/** A KvRequestHandler that tells `observe` of every request it answered; see the file comment. */
export class ObservedRequestHandler extends KvRequestHandler {
  constructor(
    store: Store,
    cluster: ClusterView,
    private readonly observe: (o: KvRequestOutcome) => void,
  ) {
    super(store, cluster)
  }

  /** The answer to `req` (see KvRequestHandler.handle), observed. */
  override async handle(req: KvRequest): Promise<KvResponse> {
    const started = performance.now()
    const res = await super.handle(req)
    this.observe({ op: req.op, durationMs: performance.now() - started, code: res.error?.code, rangeId: 'rangeId' in req ? req.rangeId : undefined })
    return res
  }
}

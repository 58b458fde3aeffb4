// The HTTP port's routes: an exact path and method to a handler that answers with a status,
// a content type and a body: /health, /metrics, and the web console's page, script and JSON
// endpoints. Unknown paths and methods answer JSON errors with a code, as the console's do.

/** What a handler sees of a request. */
export interface HttpRequest {
  readonly method: string
  /** The path and query, parsed. */
  readonly url: URL
}

/** A handler's answer. */
export interface HttpReply {
  status: number
  contentType: string
  body: string | Buffer
}

/** Answers one route's requests; a rejection becomes a 500. */
export type HttpHandler = (req: HttpRequest) => HttpReply | Promise<HttpReply>

/** A reply of `value` as JSON. */
export function jsonReply(status: number, value: unknown): HttpReply {
  return { status, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(value)}\n` }
}

/** Routes by exact path and method; see the file comment. */
export class Router {
  private readonly routes = new Map<string, Map<string, HttpHandler>>()

  /** Serves GET (and HEAD) requests of `path` with `handler`. */
  get(path: string, handler: HttpHandler): this {
    let byMethod = this.routes.get(path)
    if (!byMethod) this.routes.set(path, (byMethod = new Map()))
    if (byMethod.has('GET')) throw new Error(`GET ${path} is routed twice`)
    byMethod.set('GET', handler)
    return this
  }

  /** The answer to a request: the route's, or 404 (no such path) or 405 (not that method). */
  async handle(req: HttpRequest): Promise<HttpReply> {
    const byMethod = this.routes.get(req.url.pathname)
    if (!byMethod) return jsonReply(404, { code: 'NOT_FOUND', error: `no such path: ${req.url.pathname}` })
    const handler = byMethod.get(req.method === 'HEAD' ? 'GET' : req.method)
    if (!handler) return jsonReply(405, { code: 'METHOD_NOT_ALLOWED', error: `${req.method} is not allowed on ${req.url.pathname}` })
    return handler(req)
  }
}

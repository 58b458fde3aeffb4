// The node's HTTP port (--http-listen), on node's own http module — https with mutual TLS
// when the node has certificates (a client must show a certificate of the cluster's CA):
// every request goes to a Router. A handler that fails answers 500 and is logged; the port never takes the node down.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { NodeLogger } from '../log/node-log.js'
import type { Router } from './router.js'
import type { TlsIdentity } from '../tls/certs.js'

/** How long stop() lets requests in flight finish before it closes their connections. */
const SHUTDOWN_GRACE_MS = 2000

/** A listening HTTP port; see the file comment. */
export class HttpServer {
  private constructor(
    private readonly server: Server,
    /** The host:port it listens on (the port it picked when asked for 0). */
    readonly address: string,
  ) {}

  /** Listens on `listen` (host:port; port 0 picks a free one) and serves `router`; over TLS with `tls`. */
  static async start(listen: string, router: Router, log: NodeLogger, tls?: TlsIdentity): Promise<HttpServer> {
    const at = listen.lastIndexOf(':')
    const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1')
    const port = Number(listen.slice(at + 1))
    if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--http-listen must be host:port, got ${listen}`)
    const handler = (req: IncomingMessage, res: ServerResponse) => void serve(router, log, req, res)
    const server: Server = tls ? createHttpsServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true }, handler) : createServer(handler)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (err) => log.warn({ err }, 'http listener failed'))
    const bound = (server.address() as AddressInfo).port
    return new HttpServer(server, `${listen.slice(0, at)}:${bound}`)
  }

  /** Stops listening; requests in flight get a short grace period. */
  async stop(): Promise<void> {
    const grace = setTimeout(() => this.server.closeAllConnections(), SHUTDOWN_GRACE_MS)
    this.server.closeIdleConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    clearTimeout(grace)
  }
}

async function serve(router: Router, log: NodeLogger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET'
  try {
    const reply = await router.handle({ method, url: new URL(req.url ?? '/', 'http://node') })
    res.writeHead(reply.status, { 'content-type': reply.contentType, 'cache-control': 'no-store' })
    res.end(method === 'HEAD' ? undefined : reply.body)
  } catch (err) {
    log.warn({ err, path: req.url }, 'http request failed')
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
    res.end(`internal error: ${err instanceof Error ? err.message : String(err)}\n`)
  }
}

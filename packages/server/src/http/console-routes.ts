// The web console's routes on the node's HTTP port: the page (GET /), its script
// (GET /console.js) and the JSON it polls (GET /api/cluster). The page charts the node's
// own GET /metrics. The script is compiled by tsc -b from packages/server/console/ into
// dist/browser/ beside this package's other output, and read from there once.

import { readFile } from 'node:fs/promises'
import { clusterApiHandler, errorReply, type ClusterApiOptions } from './console-api.js'
import { CONSOLE_HTML } from './console-page.js'
import type { HttpHandler, HttpReply, Router } from './router.js'

/** Where tsc -b puts the browser script (dist/http/ → dist/browser/). */
const SCRIPT_URL = new URL('../browser/console-app.js', import.meta.url)

/** Adds the console's routes to `router`. */
export function addConsoleRoutes(router: Router, o: ClusterApiOptions): Router {
  return router
    .get('/', () => ({ status: 200, contentType: 'text/html; charset=utf-8', body: CONSOLE_HTML }))
    .get('/console.js', scriptHandler())
    .get('/api/cluster', clusterApiHandler(o))
}

/** Serves the compiled browser script, read on the first request (a failed read is tried again on the next). */
function scriptHandler(): HttpHandler {
  let script: Promise<string> | undefined
  return async (): Promise<HttpReply> => {
    try {
      const body = await (script ??= readFile(SCRIPT_URL, 'utf8'))
      return { status: 200, contentType: 'text/javascript; charset=utf-8', body }
    } catch (err) {
      script = undefined
      return errorReply(500, 'CONSOLE_NOT_BUILT', `the console's script is missing (${err instanceof Error ? err.message : String(err)}): build with \`pnpm build\` (tsc -b)`)
    }
  }
}

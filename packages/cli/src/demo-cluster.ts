// The local cluster behind `mrdb demo`: N node processes on free loopback ports, each with its
// own data directory, initialised once and waited on until healthy and serving SQL.
// In a temporary directory (removed when the cluster stops) unless given a directory to keep:
// then DIR/node<i> hold the data and DIR/demo.json the node addresses, so the next run brings
// the same nodes back on the same ports and skips `init`.

import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { NODE_SERVICE, PD_SERVICE, SqlClient } from '@mrdb/server'
import { initCluster } from './init-cluster.js'
import { callNode } from './node-call.js'
import { NodeProcess } from './node-process.js'
import { CliError } from './output.js'

/** Options of {@link DemoCluster.start}. */
export interface DemoClusterOptions {
  nodes: number
  /** A directory to keep the data in; default a temporary one. */
  dataDir?: string
  /** More `mrdb start` options for every node. */
  startArgs?: string[]
  /** How long to wait for the cluster to become healthy; default 120 s. */
  readyTimeoutMs?: number
  /** Progress, a line at a time. */
  progress?: (line: string) => void
}

interface SavedLayout {
  nodes: Array<{ storeId: number; address: string; sqlAddress?: string; httpAddress?: string }>
}

/** The demo's node processes; see the file comment. */
export class DemoCluster {
  /** Whether `init` ran in this start (false: the data directory already held a cluster). */
  initialized = false
  private stopping: Promise<void> | undefined

  private constructor(
    /** Where the nodes keep their data. */
    readonly dir: string,
    /** Whether {@link dir} is removed on stop. */
    readonly temporary: boolean,
    /** The node processes, node 1 first. */
    readonly nodes: NodeProcess[],
  ) {}

  /** Starts (or, from a kept directory, restarts) the nodes and waits until the cluster serves SQL. */
  static async start(o: DemoClusterOptions): Promise<DemoCluster> {
    const progress = o.progress ?? (() => undefined)
    const temporary = o.dataDir === undefined
    const dir = o.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'mrdb-demo-')) : resolve(o.dataDir)
    await mkdir(dir, { recursive: true })
    const layoutFile = join(dir, 'demo.json')
    const saved = existsSync(layoutFile) ? (JSON.parse(await readFile(layoutFile, 'utf8')) as SavedLayout) : undefined
    const count = saved?.nodes.length ?? o.nodes
    if (saved && saved.nodes.length !== o.nodes) progress(`${dir} holds a ${count}-node cluster: starting ${count} nodes`)
    const cluster = new DemoCluster(dir, temporary, [])
    try {
      progress(`starting ${count} node${count === 1 ? '' : 's'} (data in ${dir}${temporary ? ', removed on exit' : ''})`)
      const start = async (storeId: number, peers: string[]) => {
        const node = await NodeProcess.start({
          storeId,
          listen: saved?.nodes[storeId - 1]?.address ?? '127.0.0.1:0',
          sqlListen: saved?.nodes[storeId - 1]?.sqlAddress ?? '127.0.0.1:0',
          httpListen: saved?.nodes[storeId - 1]?.httpAddress ?? '127.0.0.1:0',
          dataDir: join(dir, `node${storeId}`),
          join: peers,
          // A local demo lets SQL clients in without a password.
          args: ['--insecure', ...(o.startArgs ?? [])],
        })
        cluster.nodes[storeId - 1] = node
        return node
      }
      const first = await start(1, [])
      await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 2, [first.address])))
      if (!temporary) await writeFile(layoutFile, `${JSON.stringify({ nodes: cluster.nodes.map((n) => ({ storeId: n.storeId, address: n.address, sqlAddress: n.sqlAddress, httpAddress: n.httpAddress })) } satisfies SavedLayout, null, 2)}\n`)
      // Each joiner introduces itself to node 1 on its own schedule, and init places the first
      // range on the first three stores node 1 knows: introduce them all, in order, so that
      // they are stores 1, 2 and 3 (the README's tour moves a replica from store 3).
      for (const n of cluster.nodes.slice(1)) await callNode(first.address, NODE_SERVICE.hello, { nodeId: n.storeId, address: n.address, nodes: [] })
      const init = await initCluster({ address: first.address, source: 'node 1' }, { ranges: 1, waitMs: 60_000, progress })
      if (init.kind === 'initialized') {
        cluster.initialized = true
        progress('cluster initialised')
      } else progress('the data directory already holds a cluster: not initialising')
      progress('waiting for the cluster to be healthy')
      await cluster.waitReady(o.readyTimeoutMs ?? 120_000)
      return cluster
    } catch (err) {
      await cluster.stop()
      throw err
    }
  }

  /** Node 1's address (what `--host` takes). */
  get address(): string {
    return this.nodes[0]!.address
  }

  /** Node 1's SQL address (PostgreSQL wire protocol), where the shell connects. */
  get sqlAddress(): string {
    return this.nodes[0]!.sqlAddress!
  }

  /** Stops every node (SIGTERM, SIGKILL after a grace period), waits for them, and removes a temporary directory. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.nodes.map((n) => n.stop()))
      if (this.temporary) await rm(this.dir, { recursive: true, force: true })
    })()
    return this.stopping
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last = 'no answer yet'
    for (;;) {
      try {
        const { health } = await callNode(this.address, PD_SERVICE.health, {}, 5000)
        last = `cluster status ${health?.status ?? 'unknown'}`
        if (health?.status === 'healthy') {
          const client = new SqlClient(this.sqlAddress)
          try {
            await client.query('SELECT 1')
            return
          } catch (err) {
            last = `SELECT 1 failed: ${err instanceof Error ? err.message : String(err)}`
          } finally {
            client.close()
          }
        }
      } catch (err) {
        last = err instanceof Error ? err.message : String(err)
      }
      if (Date.now() > deadline) throw new CliError('UNAVAILABLE', `the demo cluster did not become healthy in ${timeoutMs / 1000} s (${last})`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

// Real mrdb node processes on 127.0.0.1 for tests and benchmarks: each node runs
// `mrdb start` in its own process with its own data directory, picks free ports itself (its
// gRPC, SQL and HTTP ports), and is killed when the cluster stops — including when a test fails.

import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MRDB_BIN, NodeProcess } from '../node-process.js'

export { MRDB_BIN }

/** Options of a {@link ProcessCluster}. */
export interface ProcessClusterOptions {
  nodes: number
  /** Ranges to pre-split into at init; default 8. */
  ranges?: number
  tickMs?: number
  /** fsync the Raft log; default true. */
  sync?: boolean
  /**
   * Let SQL clients in without a password (`--insecure`); default true. Every node serves the
   * PostgreSQL wire protocol on a free port, kept across restarts.
   */
  insecure?: boolean
  /** The root SQL user's password (`mrdb init --root-password`); default: a random one, not kept. */
  rootPassword?: string
  /** More `mrdb start` options for every node (placement knobs, say). */
  startArgs?: string[]
  /** Run `mrdb init` once the nodes listen; default true. Without it, {@link ProcessCluster.init} does. */
  init?: boolean
}

interface NodeSlot {
  storeId: number
  address: string
  sqlAddress: string | undefined
  httpAddress: string | undefined
  dataDir: string
  process: NodeProcess | undefined
  /** Logs of earlier incarnations. */
  oldLogs: string[]
}

/** A cluster of node processes; see the file comment. */
export class ProcessCluster {
  private readonly nodes = new Map<number, NodeSlot>()
  /** Set by {@link stop}: no node starts after it. */
  private stopped = false
  /** Starts under way, which {@link stop} waits for. */
  private readonly starting = new Set<Promise<void>>()
  /** Node processes this cluster ended itself (the others that exited died on their own). */
  private readonly signalled = new WeakSet<NodeProcess>()

  private constructor(
    readonly dir: string,
    private readonly o: ProcessClusterOptions,
  ) {}

  /**
   * Starts the nodes (the first, then the rest at once, joining it, as `mrdb demo` does) and
   * initializes the cluster (unless told not to).
   */
  static async start(o: ProcessClusterOptions): Promise<ProcessCluster> {
    const cluster = new ProcessCluster(await mkdtemp(join(tmpdir(), 'mrdb-cluster-')), o)
    try {
      await cluster.startNode(1)
      // allSettled: a node that failed to start must not leave the others starting unstopped.
      const rest = await Promise.allSettled(Array.from({ length: o.nodes - 1 }, (_, i) => cluster.startNode(i + 2)))
      for (const r of rest) if (r.status === 'rejected') throw r.reason
      if (o.init !== false) await cluster.init()
      return cluster
    } catch (err) {
      await cluster.stop()
      throw err
    }
  }

  /** Bootstraps the cluster through node 1 (`mrdb init`). */
  async init(): Promise<void> {
    await this.mrdb(['init', '--host', this.address(1), '--ranges', String(this.o.ranges ?? 8), ...(this.o.rootPassword === undefined ? [] : ['--root-password', this.o.rootPassword])])
  }

  /** The address of a node. */
  address(storeId: number): string {
    const n = this.nodes.get(storeId)
    if (!n) throw new Error(`no node ${storeId}`)
    return n.address
  }

  /** The PostgreSQL wire protocol address of a node. */
  sqlAddress(storeId: number): string {
    const a = this.nodes.get(storeId)?.sqlAddress
    if (a === undefined) throw new Error(`node ${storeId} serves no SQL clients`)
    return a
  }

  /** The HTTP address (/health, /metrics) of a node. */
  httpAddress(storeId: number): string {
    const a = this.nodes.get(storeId)?.httpAddress
    if (a === undefined) throw new Error(`node ${storeId} serves no HTTP`)
    return a
  }

  /** A `postgresql://` URL of a node's SQL port, as psql and node-postgres take it. */
  sqlUrl(storeId: number): string {
    return `postgresql://root@${this.sqlAddress(storeId)}/mrdb`
  }

  /** The data directory of a node. */
  dataDir(storeId: number): string {
    const n = this.nodes.get(storeId)
    if (!n) throw new Error(`no node ${storeId}`)
    return n.dataDir
  }

  /** The process id of a running node (for sampling its memory, say). */
  pid(storeId: number): number {
    const pid = this.nodes.get(storeId)?.process?.pid
    if (!pid) throw new Error(`node ${storeId} is not running`)
    return pid
  }

  /** Every node's SQL address (PostgreSQL wire protocol), in store id order. */
  sqlAddresses(): string[] {
    return [...this.nodes.keys()].sort((a, b) => a - b).map((id) => this.sqlAddress(id))
  }

  /** Every node's address, in store id order. */
  addresses(): string[] {
    return [...this.nodes.values()].sort((a, b) => a.storeId - b.storeId).map((n) => n.address)
  }

  /** Whether a node's process is running. */
  isRunning(storeId: number): boolean {
    return this.nodes.get(storeId)?.process?.isRunning === true
  }

  /**
   * Starts (or restarts, on its old address and data) node `storeId`. Refused once
   * {@link stop} began: a test's fault loop that goes on after a failure must not leave a
   * node running (its process would keep the test's alive).
   */
  async startNode(storeId: number): Promise<void> {
    if (this.stopped) throw new Error(`the cluster is stopped: node ${storeId} is not started`)
    const start = this.launch(storeId)
    this.starting.add(start)
    try {
      await start
    } finally {
      this.starting.delete(start)
    }
  }

  private async launch(storeId: number): Promise<void> {
    const existing = this.nodes.get(storeId)
    if (existing?.process?.isRunning) throw new Error(`node ${storeId} is already running`)
    const first = [...this.nodes.values()].find((n) => n.storeId !== storeId)
    const dataDir = existing?.dataDir ?? join(this.dir, `node${storeId}`)
    const args = ['--tick-ms', String(this.o.tickMs ?? 50)]
    if (this.o.sync === false) args.push('--no-sync')
    if (this.o.insecure !== false) args.push('--insecure')
    args.push(...(this.o.startArgs ?? []))
    if (existing?.process) existing.oldLogs.push(...existing.process.log)
    const sqlListen = existing?.sqlAddress ?? '127.0.0.1:0'
    const httpListen = existing?.httpAddress ?? '127.0.0.1:0'
    const node = await NodeProcess.start({ storeId, listen: existing?.address || '127.0.0.1:0', sqlListen, httpListen, dataDir, join: first ? [first.address] : [], args })
    this.nodes.set(storeId, { storeId, address: node.address, sqlAddress: node.sqlAddress, httpAddress: node.httpAddress, dataDir, process: node, oldLogs: existing?.oldLogs ?? [] })
  }

  /** Kills node `storeId` with SIGKILL (no clean shutdown) and waits for it to die. */
  async kill(storeId: number): Promise<void> {
    await this.signal(storeId, 'SIGKILL')
  }

  /** Freezes node `storeId` with SIGSTOP (see {@link NodeProcess.pause}). */
  pause(storeId: number): void {
    this.nodes.get(storeId)?.process?.pause()
  }

  /** Continues node `storeId` after {@link pause}. */
  resume(storeId: number): void {
    this.nodes.get(storeId)?.process?.resume()
  }

  /** Stops node `storeId` with SIGTERM (clean shutdown) and waits for it to exit. */
  async terminate(storeId: number): Promise<void> {
    await this.signal(storeId, 'SIGTERM')
  }

  /** Runs an `mrdb` command and returns its stdout; rejects with stderr on a non-zero exit. */
  async mrdb(args: string[]): Promise<string> {
    const child = spawn(process.execPath, [MRDB_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    if (code !== 0) throw Object.assign(new Error(`mrdb ${args.join(' ')} exited ${code}: ${err.trim()}`), { stderr: err, stdout: out, exitCode: code })
    return out
  }

  /** Everything a node wrote to stderr (for failure messages). */
  logs(storeId: number): string {
    const n = this.nodes.get(storeId)
    return n ? [...n.oldLogs, ...(n.process?.log ?? [])].join('') : ''
  }

  /**
   * Kills every node, those still starting too once they are up, and removes the data
   * directories. A node that exited on its own before (not by {@link kill}, {@link terminate}
   * or a restart) has its log's tail written to stderr: a test that failed because a node died
   * then says why.
   */
  async stop(): Promise<void> {
    this.stopped = true
    await Promise.allSettled([...this.starting])
    for (const n of this.nodes.values()) {
      if (n.process && !n.process.isRunning && !this.signalled.has(n.process)) {
        process.stderr.write(`--- node ${n.storeId} exited on its own; its log's tail ---\n${n.process.log.join('').slice(-6000)}\n`)
      }
    }
    await Promise.all([...this.nodes.keys()].map((id) => this.signal(id, 'SIGKILL')))
    await rm(this.dir, { recursive: true, force: true })
  }

  private async signal(storeId: number, signal: NodeJS.Signals): Promise<void> {
    const p = this.nodes.get(storeId)?.process
    if (p && signal !== 'SIGSTOP' && signal !== 'SIGCONT') this.signalled.add(p)
    await p?.signal(signal)
  }
}

// One `mrdb start` node in a child process, as `mrdb demo` and the test harness run them:
// spawned with this package's entry point, its address learned from the "listening on" line
// it prints (so `--listen 127.0.0.1:0` lets it pick a free port), and never left behind —
// the child stops when its stdin closes (so even a SIGKILLed parent leaves no orphan), and
// every child still running is killed when this process exits.

import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The `mrdb` entry point this package builds. */
export const MRDB_BIN = fileURLToPath(new URL('./mrdb.js', import.meta.url))

/** How long {@link NodeProcess.stop} waits after SIGTERM before it sends SIGKILL. */
export const STOP_GRACE_MS = 10_000

/** How to start one node. */
export interface NodeProcessOptions {
  storeId: number
  /** `host:port` to listen on; port 0 picks a free port. */
  listen: string
  dataDir: string
  /** Addresses of nodes to join (none for the first node). */
  join?: string[]
  /** More `mrdb start` options. */
  args?: string[]
  /** `host:port` for the PostgreSQL wire protocol (`--sql-listen`), if the node serves SQL clients. */
  sqlListen?: string
  /** `host:port` for the HTTP port (`--http-listen`: /health, /metrics), if the node serves one. */
  httpListen?: string
  /** A network namespace to run the node in (`ip netns exec`), for clusters off loopback. */
  netns?: string
  /** How long to wait for the node to listen before killing it (default 60 s: a restart checks every Raft log entry, and CI machines may be busy). */
  startTimeoutMs?: number
}

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

/** A running (or exited) node process; see the file comment. */
export class NodeProcess {
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>

  private constructor(
    readonly storeId: number,
    readonly address: string,
    /** The PostgreSQL wire protocol address (with `sqlListen`). */
    readonly sqlAddress: string | undefined,
    /** The HTTP address (with `httpListen`). */
    readonly httpAddress: string | undefined,
    readonly child: ChildProcess,
    /** Everything the node wrote to stderr, and its exit. */
    readonly log: string[],
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
  }

  /** Starts a node and resolves once it listens; rejects (with its stderr) if it exits or hangs first. */
  static async start(o: NodeProcessOptions): Promise<NodeProcess> {
    const args = ['start', '--store-id', String(o.storeId), '--listen', o.listen, '--data', o.dataDir, '--stop-on-stdin-close']
    if (o.join && o.join.length > 0) args.push('--join', o.join.join(','))
    if (o.sqlListen !== undefined) args.push('--sql-listen', o.sqlListen)
    if (o.httpListen !== undefined) args.push('--http-listen', o.httpListen)
    args.push(...(o.args ?? []))
    // $MRDB_NODE_EXEC_ARGV adds Node options to every node (`--cpu-prof`, which NODE_OPTIONS refuses).
    const node = [process.execPath, ...(process.env.MRDB_NODE_EXEC_ARGV?.split(' ').filter(Boolean) ?? []), MRDB_BIN, ...args]
    // `ip netns exec` execs the node in place, so the child is the node itself (signals reach it).
    const command = o.netns === undefined ? node : ['ip', 'netns', 'exec', o.netns, ...node]
    const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
    live.add(child)
    const log: string[] = []
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()))
    child.stdin!.on('error', () => undefined)
    child.once('exit', (code, signal) => {
      live.delete(child)
      log.push(`[exited: ${code ?? signal}]`)
    })
    let out = ''
    let sqlAddress: string | undefined
    let httpAddress: string | undefined
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`node ${o.storeId} did not start: ${log.join('')}`))
      }, o.startTimeoutMs ?? 60_000)
      const onData = (d: Buffer) => {
        out += d.toString()
        const m = /listening on (\S+)(?: \(sql on (\S+)\))?(?: \(http on (\S+)\))?\n/.exec(out)
        if (m) {
          sqlAddress = m[2]
          httpAddress = m[3]
          clearTimeout(timer)
          child.stdout!.off('data', onData)
          child.stdout!.resume()
          resolve(m[1]!)
        }
      }
      child.stdout!.on('data', onData)
      child.once('exit', () => {
        clearTimeout(timer)
        reject(new Error(`node ${o.storeId} exited while starting: ${log.join('')}`))
      })
    })
    return new NodeProcess(o.storeId, address, sqlAddress, httpAddress, child, log)
  }

  /** Whether the process is still running. */
  get isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid ?? 0
  }

  /** Freezes the process (SIGSTOP): it keeps its sockets open and answers nothing. */
  pause(): void {
    if (this.isRunning) this.child.kill('SIGSTOP')
  }

  /** Continues a paused process (SIGCONT). */
  resume(): void {
    if (this.isRunning) this.child.kill('SIGCONT')
  }

  /** Sends `signal` and waits for the process to exit. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.isRunning) return
    this.child.kill(signal)
    await this.exited
  }

  /** Stops the node cleanly (SIGTERM), with SIGKILL after `graceMs`; resolves once it exited. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.isRunning) return
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }
}

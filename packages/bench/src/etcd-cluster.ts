import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { Server } from 'node:net'
import { delimiter, join } from 'node:path'
import { findEtcdLeader, withEtcdClient } from './etcd-client.js'

/** Options of {@link startEtcdCluster}. */
export interface EtcdClusterOptions {
  /** Directory for the members' data dirs and log files; created if missing. Removing it is the caller's job. */
  readonly dir: string
  /** Number of members. Default 3. */
  readonly members?: number
  /** How long to wait for a leader and a first successful put, in ms. Default 20,000. */
  readonly readyTimeoutMs?: number
  /** Install Debian's etcd packages with apt-get when no etcd binary is found. Default true. */
  readonly install?: boolean
}

/** A running etcd cluster on 127.0.0.1. */
export interface EtcdCluster {
  /** Client URLs of the members (`http://127.0.0.1:port`), in member order. */
  readonly endpoints: string[]
  /** Path of the etcd binary that runs. */
  readonly binary: string
  /** First line of `etcd --version`, for example "etcd Version: 3.4.23". */
  readonly version: string
  /** Log file of each member, in member order. */
  readonly logFiles: string[]
  /** Stops every member (SIGTERM, then SIGKILL after 3 s) and waits for them to exit. Idempotent. */
  stop(): Promise<void>
}

/** etcd cannot be found or installed on this machine; the message starts with "etcd not available:". */
export class EtcdUnavailableError extends Error {
  /** Creates the error; `reason` says what was tried and how it failed. */
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`etcd not available: ${reason}`, options)
    this.name = 'EtcdUnavailableError'
  }
}

/** The etcd binary exists but the cluster did not start or did not become ready in time. */
export class EtcdStartError extends Error {
  /** Creates the error; the message should name the member logs to look at. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EtcdStartError'
  }
}

const STOP_GRACE_MS = 3_000
const APT_TIMEOUT_MS = 10 * 60_000

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Path of an executable etcd binary on PATH or at /usr/bin/etcd, or undefined when there is none. */
export function findEtcdBinary(): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '')
  for (const candidate of [...dirs.map((d) => join(d, 'etcd')), '/usr/bin/etcd']) {
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function runLogged(command: string, args: string[], logFd: number): { ok: boolean; detail: string } {
  const result = spawnSync(command, args, {
    stdio: ['ignore', logFd, logFd],
    timeout: APT_TIMEOUT_MS,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  if (result.error !== undefined) return { ok: false, detail: result.error.message }
  if (result.status !== 0) return { ok: false, detail: `exit status ${result.status ?? result.signal}` }
  return { ok: true, detail: '' }
}

/**
 * Returns the path of the etcd binary, installing Debian's `etcd-server` and `etcd-client`
 * packages with apt-get (output to `<dir>/apt.log`) when none is found and `install` is true.
 * Throws {@link EtcdUnavailableError} when etcd is missing and cannot be installed.
 */
export function ensureEtcdBinary(dir: string, install = true): string {
  const found = findEtcdBinary()
  if (found !== undefined) return found
  if (!install) throw new EtcdUnavailableError('no etcd binary on PATH or at /usr/bin/etcd, and installing is disabled')
  if (process.platform !== 'linux') throw new EtcdUnavailableError(`no etcd binary, and cannot install on ${process.platform}`)
  if (process.getuid?.() !== 0) throw new EtcdUnavailableError('no etcd binary, and installing with apt-get needs root')
  mkdirSync(dir, { recursive: true })
  const logPath = join(dir, 'apt.log')
  const logFd = openSync(logPath, 'a')
  try {
    const lock = ['-o', 'DPkg::Lock::Timeout=300']
    const update = runLogged('apt-get', [...lock, 'update'], logFd)
    if (!update.ok) throw new EtcdUnavailableError(`apt-get update failed (${update.detail}); see ${logPath}`)
    const installed = runLogged('apt-get', [...lock, 'install', '-y', '--no-install-recommends', 'etcd-server', 'etcd-client'], logFd)
    if (!installed.ok) throw new EtcdUnavailableError(`apt-get install etcd-server etcd-client failed (${installed.detail}); see ${logPath}`)
  } finally {
    closeSync(logFd)
  }
  const after = findEtcdBinary()
  if (after === undefined) throw new EtcdUnavailableError(`apt-get installed etcd-server but no etcd binary was found; see ${logPath}`)
  return after
}

function etcdVersion(binary: string): string {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  if (result.error !== undefined || result.status !== 0) {
    throw new EtcdUnavailableError(`${binary} --version failed: ${result.error?.message ?? `exit status ${result.status}`}`)
  }
  return result.stdout.split('\n')[0]?.trim() ?? 'etcd (unknown version)'
}

/** Picks `count` distinct free TCP ports on 127.0.0.1 (binds port 0 on each, reads it, closes). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    const ports: number[] = []
    for (let i = 0; i < count; i++) {
      const server = createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => resolve())
      })
      const address = server.address()
      if (address === null || typeof address === 'string') throw new Error('no TCP address for a listening socket')
      ports.push(address.port)
    }
    return ports
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

// Every etcd process started by this module and not yet known to have exited, so that exit and
// signal handlers can kill them however the benchmark ends.
const live = new Set<ChildProcess>()
let handlersInstalled = false

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  live.clear()
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow()
  process.removeListener('SIGINT', onSignal)
  process.removeListener('SIGTERM', onSignal)
  // Keep the default outcome of the signal (exit) unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

function installHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  // First in line, so the kill happens even if a later listener throws or exits.
  process.prependListener('exit', killAllNow)
  process.prependListener('SIGINT', onSignal)
  process.prependListener('SIGTERM', onSignal)
}

function uninstallHandlersIfIdle(): void {
  if (!handlersInstalled || live.size > 0) return
  handlersInstalled = false
  process.removeListener('exit', killAllNow)
  process.removeListener('SIGINT', onSignal)
  process.removeListener('SIGTERM', onSignal)
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        resolve()
      }, STOP_GRACE_MS)
    })
    await Promise.race([exited(child), killed])
    clearTimeout(timer)
    await exited(child)
  }
  live.delete(child)
}

function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts an etcd cluster of `members` (default 3) processes on free loopback ports, data dirs
 * and logs under `dir`, fsync on (etcd's default), and waits until it has a leader and accepts a
 * put. Installs etcd with apt-get if needed (see {@link ensureEtcdBinary}). The processes are
 * killed on process exit, SIGINT and SIGTERM even if `stop()` is never called.
 * Throws {@link EtcdUnavailableError} or {@link EtcdStartError}; on error nothing is left running.
 */
export async function startEtcdCluster(options: EtcdClusterOptions): Promise<EtcdCluster> {
  const members = options.members ?? 3
  if (!Number.isInteger(members) || members < 1) throw new EtcdStartError(`members must be a positive integer, got ${members}`)
  const binary = ensureEtcdBinary(options.dir, options.install ?? true)
  const version = etcdVersion(binary)
  mkdirSync(options.dir, { recursive: true })
  // A port picked free can be taken before etcd binds it; a second attempt picks new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, version, options.dir, members, options.readyTimeoutMs ?? 20_000, attempt)
    } catch (err) {
      if (attempt >= 2 || !(err instanceof EtcdStartError) || !/address already in use/i.test(err.message)) throw err
    }
  }
}

async function startOnce(
  binary: string,
  version: string,
  dir: string,
  members: number,
  readyTimeoutMs: number,
  attempt: number,
): Promise<EtcdCluster> {
  const ports = await freePorts(2 * members)
  const token = `mrdb-bench-${process.pid}-${Date.now().toString(36)}-${attempt}`
  const names = Array.from({ length: members }, (_, i) => `m${i}`)
  const clientUrl = (i: number): string => `http://127.0.0.1:${ports[i]}`
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[members + i]}`
  const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',')
  const endpoints = names.map((_, i) => clientUrl(i))
  // A fresh directory per start: etcd ignores --initial-cluster when a data dir already holds a
  // member, so reusing one from an earlier run would never form the new cluster.
  const runDir = join(dir, token)
  mkdirSync(runDir, { recursive: true })
  const logFiles = names.map((_, i) => join(runDir, `m${i}.log`))

  const children: ChildProcess[] = []
  const spawnErrors: (Error | undefined)[] = []
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= Promise.all(children.map(stopChild)).then(uninstallHandlersIfIdle)
    return stopping
  }

  installHandlers()
  try {
    for (let i = 0; i < members; i++) {
      const name = names[i] as string
      const logFd = openSync(logFiles[i] as string, 'a')
      let child: ChildProcess
      try {
        child = spawn(
          binary,
          [
            '--name', name,
            '--data-dir', join(runDir, `m${i}.etcd`),
            '--listen-client-urls', clientUrl(i),
            '--advertise-client-urls', clientUrl(i),
            '--listen-peer-urls', peerUrl(i),
            '--initial-advertise-peer-urls', peerUrl(i),
            '--initial-cluster', initialCluster,
            '--initial-cluster-state', 'new',
            '--initial-cluster-token', token,
          ],
          { stdio: ['ignore', logFd, logFd] },
        )
      } finally {
        closeSync(logFd)
      }
      children.push(child)
      live.add(child)
      child.once('exit', () => live.delete(child))
      child.once('error', (err) => {
        spawnErrors[i] = err
        live.delete(child)
      })
    }
    await waitReady(children, spawnErrors, endpoints, logFiles, readyTimeoutMs)
    return { endpoints, binary, version, logFiles, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

async function waitReady(
  children: ChildProcess[],
  spawnErrors: (Error | undefined)[],
  endpoints: string[],
  logFiles: string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    children.forEach((child, i) => {
      const spawnError = spawnErrors[i]
      if (spawnError !== undefined) {
        throw new EtcdStartError(`cannot run etcd member ${i}: ${spawnError.message}`, { cause: spawnError })
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = logFiles[i] as string
        throw new EtcdStartError(
          `etcd member ${i} exited during startup (${child.exitCode ?? child.signalCode}); see ${log}:\n${logTail(log)}`,
        )
      }
    })
    try {
      const leader = await findEtcdLeader(endpoints, 1_000)
      await withEtcdClient([leader], async (client) => {
        await client.kv.put({ key: Buffer.from('__mrdb_bench_ready__'), value: Buffer.from('1') }, { deadline: Date.now() + 2_000 })
      })
      return
    } catch (err) {
      lastError = err
      await sleep(100)
    }
  }
  throw new EtcdStartError(
    `etcd cluster not ready after ${timeoutMs} ms (no leader or put failed: ${String(lastError)}); logs: ${logFiles.join(', ')}`,
    { cause: lastError },
  )
}

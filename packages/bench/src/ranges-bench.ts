// `pnpm bench:ranges`: what many idle ranges cost (issue #14 item 5). For each of two range
// counts — 10, then `--ranges` (default 10,000) — it starts a fresh cluster of 3 node
// processes on loopback (fsync on), runs `mrdb init --ranges N`, and measures:
// - the time from the start of `init` until every range has a leader and 3 replicas, each
//   hosted by its node (read from the nodes' status every 2 s);
// - then the time until every range is quiesced on every node (the placement driver's leader
//   balancing after a bootstrap wakes ranges for a while), as long as the settle timeout lasts;
// - once quiesced and left alone for `--quiet-seconds`, over `--idle-seconds` (default 30):
//   each node's CPU time (utime + stime from /proc/PID/stat) as a share of one core, its RSS
//   (/proc/PID/status), and the Raft frames it sent per second to each peer (the `framesSent`
//   counter of its status, divided by its 2 peers).
// Then the ratios of the big run to the small one, beside the aims of the issue (settle
// ≤ 60 s, ≤ 5% of a core and ≤ 1 GiB RSS per node, frames/s the same as with 10 ranges).
// Usage: node packages/bench/dist/ranges-bench.js [--ranges 10000] [--idle-seconds 30]
//   [--quiet-seconds 10] [--settle-timeout-seconds 300]
// Heavy: run it under the machine's heavy lock.

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Client, credentials } from '@grpc/grpc-js'
import { ProcessCluster } from '@mrdb/cli/testing'
import { unaryCall } from '@mrdb/kv'
import { NODE_SERVICE, type NodeStatusResponse } from '@mrdb/server'

const { values } = parseArgs({
  options: {
    ranges: { type: 'string', default: '10000' },
    'idle-seconds': { type: 'string', default: '30' },
    'quiet-seconds': { type: 'string', default: '10' },
    'settle-timeout-seconds': { type: 'string', default: '300' },
  },
})
const ranges = Number(values.ranges)
const idleMs = Number(values['idle-seconds']) * 1000
const quietMs = Number(values['quiet-seconds']) * 1000
const settleTimeoutMs = Number(values['settle-timeout-seconds']) * 1000
if (!Number.isInteger(ranges) || ranges < 1 || !(idleMs > 0) || !(quietMs >= 0) || !(settleTimeoutMs > 0)) {
  console.error('--ranges must be a positive integer; --idle-seconds and --settle-timeout-seconds positive, --quiet-seconds ≥ 0')
  process.exit(2)
}

const NODES = 3
/** How often the settle wait asks every node for its status. */
const STATUS_POLL_MS = 2000
const SMALL = 10
/** The aims of issue #14 item 5. */
const AIM = { settleSeconds: 60, cpuShare: 0.05, rssBytes: 1024 ** 3 }
/** Kernel clock ticks per second, the unit of /proc/PID/stat's CPU times. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

/** What one run measured. */
interface RunResult {
  ranges: number
  /** Seconds from the start of init until settled; undefined when it did not settle in time. */
  settleSeconds: number | undefined
  /** What was still missing when the settle wait gave up. */
  unsettled: string
  /** Seconds from the start of init until every range was quiesced everywhere; undefined when not in time. */
  quietSeconds: number | undefined
  /** Per node: share of one core while idle, RSS bytes at the end, frames/s sent to each peer. */
  cpuShare: number[]
  rssBytes: number[]
  framesPerSecondPerPeer: number[]
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** A node's status (10 s deadline). */
async function status(address: string): Promise<NodeStatusResponse> {
  const channel = new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 256 * 1024 * 1024 })
  try {
    const res = await unaryCall(channel, NODE_SERVICE.status, {}, Date.now() + 30_000)
    if (res.error) throw new Error(`status of ${address}: ${res.error.code}: ${res.error.message}`)
    return res
  } finally {
    channel.close()
  }
}

/** CPU seconds (user + system) a process used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start at its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/** A process's resident set size in bytes. */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : Number.NaN
}

/**
 * How far the cluster is from settled: undefined once every one of `n` ranges is hosted on
 * every node, has a leader, and its descriptor lists 3 replicas; else what is missing.
 */
async function missing(cluster: ProcessCluster, n: number): Promise<string | undefined> {
  const statuses = await Promise.all(cluster.addresses().map((a) => status(a)))
  const led = new Set<number>()
  const full = new Set<number>()
  const hosted: number[] = []
  for (const s of statuses) {
    hosted.push(s.ranges?.length ?? 0)
    for (const r of s.ranges ?? []) {
      if (r.leader) led.add(r.rangeId)
      if (r.descriptor.replicas.length >= NODES) full.add(r.rangeId)
    }
  }
  if (led.size === n && full.size === n && hosted.every((h) => h === n)) return undefined
  return `${led.size}/${n} ranges with a leader, ${full.size}/${n} with ${NODES} replicas, replicas hosted per node ${hosted.join('/')}`
}

/** Per node, how many of its replicas are not quiesced. */
async function awake(cluster: ProcessCluster): Promise<number[]> {
  const statuses = await Promise.all(cluster.addresses().map((a) => status(a)))
  return statuses.map((s) => (s.ranges ?? []).filter((r) => !r.quiesced).length)
}

/** Starts a cluster, inits it with `n` ranges, waits until settled, then measures it idle. */
async function run(n: number): Promise<RunResult> {
  const cluster = await ProcessCluster.start({ nodes: NODES, ranges: n, init: false })
  try {
    const t0 = performance.now()
    // A failed init may have bootstrapped some nodes: say so, and see whether the cluster settles anyway.
    const failed = await cluster.init().then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    )
    const initSeconds = (performance.now() - t0) / 1000
    console.log(`  ${n} ranges: init ${failed === undefined ? 'returned' : `FAILED (${failed.split('\n')[0]})`} after ${initSeconds.toFixed(1)} s`)
    let settleSeconds: number | undefined
    let unsettled = ''
    let lastShown = 0
    while (performance.now() - t0 < settleTimeoutMs) {
      const m = await missing(cluster, n).catch((err: unknown) => `status failed: ${err instanceof Error ? err.message : String(err)}`)
      const at = (performance.now() - t0) / 1000
      if (m === undefined) {
        settleSeconds = at
        break
      }
      unsettled = m
      if (at - lastShown >= 15) {
        console.log(`  ${n} ranges, ${at.toFixed(0)} s: ${m}`)
        lastShown = at
      }
      // Not more often: a status of 10,000 ranges costs each node 0.2-0.3 s of its loop when loaded.
      await pause(STATUS_POLL_MS)
    }
    console.log(settleSeconds === undefined ? `  ${n} ranges: NOT settled after ${settleTimeoutMs / 1000} s (${unsettled}); measuring anyway` : `  ${n} ranges: settled after ${settleSeconds.toFixed(1)} s`)
    let quietSeconds: number | undefined
    let stillAwake = ''
    while (settleSeconds !== undefined && performance.now() - t0 < settleTimeoutMs) {
      const a = await awake(cluster).catch(() => undefined)
      if (a?.every((x) => x === 0)) {
        quietSeconds = (performance.now() - t0) / 1000
        break
      }
      stillAwake = a ? a.join('/') : 'status failed'
      await pause(STATUS_POLL_MS)
    }
    console.log(quietSeconds === undefined ? `  ${n} ranges: NOT every range quiesced after ${settleTimeoutMs / 1000} s (awake per node: ${stillAwake}); measuring anyway` : `  ${n} ranges: every range quiesced after ${quietSeconds.toFixed(1)} s`)
    await pause(quietMs)

    const ids = Array.from({ length: NODES }, (_, i) => i + 1)
    const pids = ids.map((id) => cluster.pid(id))
    const before = await Promise.all(ids.map((id) => status(cluster.address(id))))
    const cpu0 = pids.map(cpuSeconds)
    const w0 = performance.now()
    await pause(idleMs)
    const cpu1 = pids.map(cpuSeconds)
    const seconds = (performance.now() - w0) / 1000
    const rss = pids.map(rssBytes)
    const after = await Promise.all(ids.map((id) => status(cluster.address(id))))
    const frames = ids.map((_, i) => ((after[i]!.metrics?.['framesSent'] ?? 0) - (before[i]!.metrics?.['framesSent'] ?? 0)) / seconds / (NODES - 1))
    return { ranges: n, settleSeconds, unsettled, quietSeconds, cpuShare: cpu1.map((c, i) => (c - cpu0[i]!) / seconds), rssBytes: rss, framesPerSecondPerPeer: frames }
  } finally {
    await cluster.stop()
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '-')

function show(r: RunResult): void {
  console.log(`${r.ranges} ranges: settle ${r.settleSeconds === undefined ? `not within ${settleTimeoutMs / 1000} s` : `${r.settleSeconds.toFixed(1)} s`}, every range quiesced ${r.quietSeconds === undefined ? 'not in time' : `at ${r.quietSeconds.toFixed(1)} s`}`)
  r.cpuShare.forEach((c, i) => {
    console.log(`  node ${i + 1}: idle CPU ${pct(c).padStart(6)} of a core   RSS ${mib(r.rssBytes[i]!).padStart(9)}   frames/s to each peer ${r.framesPerSecondPerPeer[i]!.toFixed(1)}`)
  })
}

console.log(`bench:ranges — 3 node processes, idle over ${idleMs / 1000} s after ${quietMs / 1000} s of quiet; ${SMALL} ranges, then ${ranges}`)
const small = await run(SMALL)
const big = await run(ranges)
console.log('')
show(small)
show(big)
const max = (xs: number[]) => Math.max(...xs)
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
console.log(`${ranges} vs ${SMALL} ranges: idle CPU (max node) ${ratio(max(big.cpuShare), max(small.cpuShare))}, RSS (max node) ${ratio(max(big.rssBytes), max(small.rssBytes))}, frames/s (mean) ${ratio(mean(big.framesPerSecondPerPeer), mean(small.framesPerSecondPerPeer))}`)
const ok = (b: boolean) => (b ? 'met' : 'MISSED')
console.log(`aims at ${ranges} ranges: settle ≤ ${AIM.settleSeconds} s ${ok(big.settleSeconds !== undefined && big.settleSeconds <= AIM.settleSeconds)}; idle CPU ≤ ${pct(AIM.cpuShare)} per node ${ok(max(big.cpuShare) <= AIM.cpuShare)}; RSS ≤ 1 GiB ${ok(max(big.rssBytes) <= AIM.rssBytes)}; frames/s as with ${SMALL} ranges (within 10%) ${ok(mean(big.framesPerSecondPerPeer) <= 1.1 * mean(small.framesPerSecondPerPeer))}`)

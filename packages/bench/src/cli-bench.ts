// `pnpm bench:cli`: how much CPU the `mrdb` command line spends on a short command — its
// process's user + system time from start to exit, as `process.cpuUsage()` reads it in a
// hook loaded before the CLI (`--import`) — for `mrdb --help`, `mrdb --version` and
// `mrdb kv get k` against a running 3-node cluster on loopback (started here), beside Node
// running an empty script. Prints the median and the smallest of --runs runs of each, and the
// wall time. Usage:
//   node packages/bench/dist/cli-bench.js [--runs 7]
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { MRDB_BIN, ProcessCluster } from '@mrdb/cli/testing'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } })
const runs = Number(values.runs)
if (!Number.isSafeInteger(runs) || runs <= 0) {
  console.error('--runs must be a positive integer')
  process.exit(2)
}

/** Loaded before the CLI: at exit, writes the process's CPU time (µs) to file descriptor 3. */
const CPU_HOOK = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeSync(3, String(u.user + u.system)) })",
)}`

interface Sample {
  cpuMs: number
  wallMs: number
  /** The exit code, and what the command wrote to stderr when it was not 0. */
  code: number | null
  err: string
}

/** Runs `node argv` once with the hook; resolves with its CPU and wall time and how it exited. */
function measure(argv: string[]): Promise<Sample> {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, ['--import', CPU_HOOK, ...argv], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] })
    let cpu = ''
    let err = ''
    child.stdio[3]!.on('data', (d: Buffer) => (cpu += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.once('close', (code) => {
      resolve({ cpuMs: Number(cpu) / 1000, wallMs: performance.now() - started, code, err: err.trim() })
    })
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const cluster = await ProcessCluster.start({ nodes: 3, ranges: 1 })
try {
  const host = cluster.address(1)
  await cluster.mrdb(['kv', 'put', 'k', 'v', '--host', host])
  // Node itself, with no script: the floor under every figure (higher on a loaded machine).
  const commands: Array<[string, string[]]> = [
    ['node -e ""', ['-e', '']],
    ['mrdb --help', [MRDB_BIN, '--help']],
    ['mrdb --version', [MRDB_BIN, '--version']],
    ['mrdb kv get k', [MRDB_BIN, 'kv', 'get', 'k', '--host', host]],
  ]
  console.log(`mrdb CLI, ${runs} runs each: process CPU (user + system) and wall time, in ms`)
  console.log(`${'command'.padEnd(16)} ${'cpu p50'.padStart(8)} ${'cpu min'.padStart(8)} ${'wall p50'.padStart(9)}`)
  for (const [name, args] of commands) {
    const samples: Sample[] = []
    for (let i = 0; i < runs; i++) samples.push(await measure(args))
    const cpu = samples.map((s) => s.cpuMs)
    const failed = samples.find((s) => s.code !== 0)
    const note = failed ? `  (exit ${failed.code}: ${failed.err.split('\n')[0]})` : ''
    console.log(`${name.padEnd(16)} ${median(cpu).toFixed(0).padStart(8)} ${Math.min(...cpu).toFixed(0).padStart(8)} ${median(samples.map((s) => s.wallMs)).toFixed(0).padStart(9)}${note}`)
  }
} finally {
  await cluster.stop()
}

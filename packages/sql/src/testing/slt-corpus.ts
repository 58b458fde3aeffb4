// Runs public sqllogictest files (the SQLite project's corpus: select1.test …, index/*/…)
// against a fresh in-memory database each and reports how many records pass:
//   node packages/sql/dist/testing/slt-corpus.js [--time-limit SEC] [--max-heap MB]
//        [--record-timeout SEC] [--examples N] [--top N] [--failures FILE.jsonl] DIR|FILE …
// Directories are searched for *.test and *.slt files. Each file runs in a child process. A
// record that exhausts the heap (--max-heap, default 2048 MB) or outlasts --record-timeout
// (default 60 s) counts as failed ("crashed"), and a new child rebuilds the database from the
// file's statements and goes on after it. --time-limit (default 900 s) bounds a file; the
// records it leaves count as not run. Per file it prints passed, failed, skipped (onlyif/
// skipif for other engines) and not run; then the most frequent failure causes over all files
// and a few wrong results, expected vs got. It is a report, not a check: the exit status is 0
// unless the arguments are wrong.

import { fork } from 'node:child_process'
import { once } from 'node:events'
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { memoryEngine } from './memory-engine.js'
import { failureCause, runSlt, type SltEvent, type SltFailure, type SltFileResult } from './slt-runner.js'

interface Args {
  readonly paths: string[]
  timeLimitSec: number
  examples: number
  top: number
  failuresFile: string | undefined
  maxHeapMb: number
  recordTimeoutSec: number
  child: boolean
  resumeAt: number | undefined
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { paths: [], timeLimitSec: 900, examples: 8, top: 15, failuresFile: undefined, maxHeapMb: 2048, recordTimeoutSec: 60, child: false, resumeAt: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) usage(`${a} needs a value`)
      return v
    }
    if (a === '--time-limit') args.timeLimitSec = Number(value())
    else if (a === '--examples') args.examples = Number(value())
    else if (a === '--top') args.top = Number(value())
    else if (a === '--failures') args.failuresFile = value()
    else if (a === '--max-heap') args.maxHeapMb = Number(value())
    else if (a === '--record-timeout') args.recordTimeoutSec = Number(value())
    else if (a === '--child') args.child = true
    else if (a === '--resume-at') args.resumeAt = Number(value())
    else if (a.startsWith('--')) usage(`unknown option ${a}`)
    else args.paths.push(a)
  }
  if (args.paths.length === 0) usage('no files')
  return args
}

function usage(problem: string): never {
  process.stderr.write(`${problem}\nusage: slt-corpus [--time-limit SEC] [--max-heap MB] [--record-timeout SEC] [--examples N] [--top N] [--failures FILE.jsonl] DIR|FILE …\n`)
  process.exit(2)
}

/** The test files under `path`, sorted with numbers in order (slt_good_2 before slt_good_10). */
function testFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  const found: string[] = []
  for (const name of readdirSync(path)) {
    const child = join(path, name)
    if (statSync(child).isDirectory()) found.push(...testFiles(child))
    else if (name.endsWith('.test') || name.endsWith('.slt')) found.push(child)
  }
  return found.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
}

/** A file's outcome as the parent saw it: the child's result, or what it sent before dying. */
interface CorpusFileResult extends SltFileResult {
  readonly seconds: number
}

type ChildMessage = SltEvent | { readonly kind: 'done'; readonly result: SltFileResult }

/** Child mode: run one file (from a line on, after a crash), streaming events to the parent. */
async function runChild(file: string, timeLimitSec: number, resumeAtLine: number | undefined): Promise<void> {
  const send = (m: ChildMessage): void => void process.send!(m)
  const engine = memoryEngine()
  const options = { timeLimitMs: timeLimitSec * 1000, hashThreshold: 8, onEvent: send, ...(resumeAtLine === undefined ? {} : { resumeAtLine }) }
  const result = await runSlt(file, readFileSync(file, 'utf8'), () => engine.session(), options)
  process.send!({ kind: 'done', result } satisfies ChildMessage, () => process.exit(0))
}

/**
 * Runs a file in child processes: when one dies (out of memory) or a record outlasts
 * --record-timeout, that record counts as crashed and a new child rebuilds the database and
 * goes on after it, until the file ends or its time limit runs out.
 */
async function runInChildren(file: string): Promise<CorpusFileResult> {
  const started = Date.now()
  let passed = 0
  let skipped = 0
  let notRun = 0
  const failures: SltFailure[] = []
  let resumeAtLine: number | undefined
  for (;;) {
    const leftSec = Math.max(1, args.timeLimitSec - (Date.now() - started) / 1000)
    const resume = resumeAtLine === undefined ? [] : ['--resume-at', String(resumeAtLine)]
    const child = fork(fileURLToPath(import.meta.url), ['--child', '--time-limit', String(leftSec), ...resume, file], {
      execArgv: [`--max-old-space-size=${args.maxHeapMb}`],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)))
    let records = 0
    let seen = 0
    let running: { line: number; sql: string } | undefined
    let done: SltFileResult | undefined
    let killed: string | undefined
    let recordTimer: NodeJS.Timeout | undefined
    const kill = (why: string): void => {
      killed = why
      child.kill('SIGKILL')
    }
    child.on('message', (m: ChildMessage) => {
      clearTimeout(recordTimer)
      if (m.kind === 'begin') records = m.records
      else if (m.kind === 'start') {
        running = { line: m.line, sql: m.sql }
        recordTimer = setTimeout(() => kill(`no answer in ${args.recordTimeoutSec} s`), args.recordTimeoutSec * 1000)
        return
      } else if (m.kind === 'passed') passed++
      else if (m.kind === 'skipped') skipped++
      else if (m.kind === 'failed') failures.push(m.failure)
      else if (m.kind === 'done') done = m.result
      if (m.kind !== 'begin' && m.kind !== 'done') seen++
      running = undefined
    })
    const fileTimer = setTimeout(() => kill('still running past the time limit'), (leftSec + 60) * 1000)
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null]
    clearTimeout(fileTimer)
    clearTimeout(recordTimer)
    if (done !== undefined) {
      notRun = done.notRun
      break
    }
    const why = killed ?? (/heap out of memory/.test(stderr) ? 'out of memory' : `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`)
    if (running === undefined || Date.now() - started > args.timeLimitSec * 1000) {
      notRun = Math.max(0, records - seen)
      if (running !== undefined) {
        failures.push({ ...running, message: `crashed: ${why}` })
        notRun--
      }
      break
    }
    failures.push({ ...running, message: `crashed: ${why}` })
    resumeAtLine = running.line
  }
  return { file, passed, failed: failures.length, skipped, notRun, failures, seconds: (Date.now() - started) / 1000 }
}

const args = parseArgs(process.argv.slice(2))
if (args.child) {
  await runChild(args.paths[0]!, args.timeLimitSec, args.resumeAt)
} else {
  await main()
}

async function main(): Promise<void> {
  const files = args.paths.flatMap(testFiles)
  if (args.failuresFile !== undefined) writeFileSync(args.failuresFile, '')
  const results: CorpusFileResult[] = []
  for (const file of files) {
    const result = await runInChildren(file)
    results.push(result)
    const run = result.passed + result.failed
    const pct = run === 0 ? '-' : ((100 * result.passed) / run).toFixed(1) + '%'
    say(`${file}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped${result.notRun > 0 ? `, ${result.notRun} not run` : ''} — ${pct} of those run, ${result.seconds.toFixed(1)} s`)
    if (args.failuresFile !== undefined) {
      for (const f of result.failures) appendFileSync(args.failuresFile, JSON.stringify({ file, ...f, cause: failureCause(f.message) }) + '\n')
    }
  }

  const total = { passed: 0, failed: 0, skipped: 0, notRun: 0 }
  const causes = new Map<string, { count: number; first: SltFailure & { file: string } }>()
  for (const r of results) {
    total.passed += r.passed
    total.failed += r.failed
    total.skipped += r.skipped
    total.notRun += r.notRun
    for (const f of r.failures) {
      const cause = failureCause(f.message)
      const entry = causes.get(cause)
      if (entry === undefined) causes.set(cause, { count: 1, first: { ...f, file: r.file } })
      else entry.count++
    }
  }
  say(`\ntotal over ${results.length} files: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped${total.notRun > 0 ? `, ${total.notRun} not run` : ''}`)
  if (causes.size > 0) {
    say(`\nfailure causes (top ${Math.min(args.top, causes.size)} of ${causes.size}):`)
    for (const [cause, { count, first }] of [...causes].sort((a, b) => b[1].count - a[1].count).slice(0, args.top)) {
      say(`${String(count).padStart(8)}  ${cause}`)
      say(`          e.g. ${first.file}:${first.line}: ${oneLine(first.sql)}`)
    }
  }
  const wrong = results.flatMap((r) => r.failures.filter((f) => failureCause(f.message) === 'wrong result').map((f) => ({ ...f, file: r.file })))
  if (wrong.length > 0 && args.examples > 0) {
    say(`\nwrong results (${Math.min(args.examples, wrong.length)} of ${wrong.length}):`)
    for (const f of wrong.slice(0, args.examples)) {
      say(`${f.file}:${f.line}: ${oneLine(f.sql)}`)
      say('  ' + f.message.split('\n').slice(1, 16).join('\n  '))
    }
  }
}

function say(line: string): void {
  process.stdout.write(line + '\n')
}

function oneLine(sql: string): string {
  const s = sql.split('\n').join(' ')
  return s.length > 300 ? s.slice(0, 300) + ' …' : s
}

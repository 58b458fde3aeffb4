// Runs public sqllogictest files (the SQLite project's corpus: select1.test …, index/*/…)
// against a fresh in-memory database each and reports how many records pass:
//   node packages/sql/dist/testing/slt-corpus.js [--time-limit SEC] [--examples N]
//        [--top N] [--failures FILE.jsonl] DIR|FILE …
// Directories are searched for *.test and *.slt files. Per file it prints passed, failed,
// skipped (onlyif/skipif for other engines) and not run (the time limit ran out); then the
// most frequent failure causes over all files and a few wrong results, expected vs got.
// It is a report, not a check: the exit status is 0 unless the arguments are wrong.

import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { memoryEngine } from './memory-engine.js'
import { failureCause, runSlt, type SltFailure, type SltFileResult } from './slt-runner.js'

interface Args {
  readonly paths: string[]
  timeLimitSec: number
  examples: number
  top: number
  failuresFile: string | undefined
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { paths: [], timeLimitSec: 900, examples: 8, top: 15, failuresFile: undefined }
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
    else if (a.startsWith('--')) usage(`unknown option ${a}`)
    else args.paths.push(a)
  }
  if (args.paths.length === 0) usage('no files')
  return args
}

function usage(problem: string): never {
  process.stderr.write(`${problem}\nusage: slt-corpus [--time-limit SEC] [--examples N] [--top N] [--failures FILE.jsonl] DIR|FILE …\n`)
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

const args = parseArgs(process.argv.slice(2))
const files = args.paths.flatMap(testFiles)
if (args.failuresFile !== undefined) writeFileSync(args.failuresFile, '')
const say = (line: string): void => void process.stdout.write(line + '\n')

const results: SltFileResult[] = []
for (const file of files) {
  const started = Date.now()
  const engine = memoryEngine()
  const result = await runSlt(file, readFileSync(file, 'utf8'), () => engine.session(), { timeLimitMs: args.timeLimitSec * 1000, hashThreshold: 8 })
  results.push(result)
  const run = result.passed + result.failed
  const pct = run === 0 ? '-' : ((100 * result.passed) / run).toFixed(1) + '%'
  say(`${file}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped${result.notRun > 0 ? `, ${result.notRun} not run (time limit)` : ''} — ${pct} of those run, ${((Date.now() - started) / 1000).toFixed(1)} s`)
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

function oneLine(sql: string): string {
  const s = sql.split('\n').join(' ')
  return s.length > 300 ? s.slice(0, 300) + ' …' : s
}

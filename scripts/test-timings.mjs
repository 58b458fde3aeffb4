// A node:test reporter that prints the slowest test files and tests once the run ends.
// scripts/run-tests.mjs adds it when given `--timings FILE`; the summary goes to FILE.
const SHOWN = 15

/** Collects every file's and every top-level test's duration, then yields a sorted summary. */
export default async function* timings(source) {
  const files = []
  const tests = []
  for await (const event of source) {
    if (event.type !== 'test:complete' || event.data.nesting !== 0) continue
    const { file, name, details } = event.data
    const entry = { name, file, ms: details.duration_ms, ok: details.passed }
    if (name === file) files.push(entry)
    else tests.push(entry)
  }
  const seconds = (ms) => (ms / 1000).toFixed(1).padStart(7)
  const short = (file) => file.replace(/^.*?packages\//, '')
  const total = files.reduce((sum, f) => sum + f.ms, 0)
  yield `test files: ${files.length}, their durations add up to ${seconds(total).trim()} s\n`
  yield `files, slowest first:\n`
  for (const f of files.sort((a, b) => b.ms - a.ms)) yield `${seconds(f.ms)} s  ${short(f.file)}\n`
  yield `slowest tests:\n`
  for (const t of tests.sort((a, b) => b.ms - a.ms).slice(0, SHOWN)) yield `${seconds(t.ms)} s  ${short(t.file)}: ${t.name}\n`
}

// Runs every compiled test file (packages/*/dist/**/*.test.js) with node's test runner.
// Usage: node scripts/run-tests.mjs [--timings FILE] [substring ...]
//   substrings: run only the files whose path contains one;
//   --timings FILE: write the slowest files and tests to FILE (scripts/test-timings.mjs).
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

function testFiles(dir) {
  const found = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...testFiles(path))
    else if (name.endsWith('.test.js')) found.push(path)
  }
  return found
}

const args = process.argv.slice(2)
const timingsAt = args.indexOf('--timings')
const timingsFile = timingsAt >= 0 ? args.splice(timingsAt, 2)[1] : undefined
const filters = args
const files = readdirSync('packages')
  .map((pkg) => join('packages', pkg, 'dist'))
  .filter((dist) => statSync(dist, { throwIfNoEntry: false })?.isDirectory())
  .flatMap(testFiles)
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort()

if (files.length === 0) {
  console.error('no test files found: run `pnpm build` first')
  process.exit(1)
}
const reporters = timingsFile === undefined ? [] : [
  `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`, '--test-reporter-destination=stdout',
  `--test-reporter=${new URL('test-timings.mjs', import.meta.url)}`, `--test-reporter-destination=${timingsFile}`,
]
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...reporters, ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)

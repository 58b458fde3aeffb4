import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const packageDir = fileURLToPath(new URL('../', import.meta.url))
const examplePath = `${packageDir}examples/quickstart.mjs`

test('the README shows the quickstart example verbatim', () => {
  const readme = readFileSync(`${packageDir}README.md`, 'utf8')
  assert.ok(readme.includes('```js\n' + readFileSync(examplePath, 'utf8') + '```'), 'README example and examples/quickstart.mjs differ')
})

test('the quickstart example runs and prints what it promises', () => {
  const run = spawnSync(process.execPath, [examplePath], { cwd: packageDir, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(
    run.stdout,
    [
      'fruit/banana = yellow',
      'fruit/cherry = dark red',
      'snapshot sees yellow - engine sees green',
      'orders by key: -5:z, 2:b, 10:a',
      'balance at 15 = 100 ; at 25 = 70',
      '',
    ].join('\n'),
  )
})

// `mrdb demo` and its SQL shell on a real pseudo-terminal, typed at as a person would: the
// prompt, a multi-line statement, an aligned table with its row count and timing, an error
// with its code and no stack trace, \d, the transaction state in the prompt (=, *, !), Ctrl-C
// cancelling a running statement and clearing input, history recall with the up arrow and across
// runs; Ctrl-D stops the demo and every node process with it.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MRDB_BIN } from '../node-process.js'
import { KEYS, PtySession } from '../testing/pty-session.js'
import { alive, waitFor } from './helpers.js'

test('the shell in mrdb demo: prompt, tables, errors with codes, \\d, Ctrl-C, history; Ctrl-D stops every node', async () => {
  const home = await mkdtemp(join(tmpdir(), 'mrdb-home-'))
  const env = { ...process.env, HOME: home, MRDB_HISTORY: undefined }
  const demo = new PtySession([process.execPath, MRDB_BIN, 'demo'], env)
  try {
    let at = await demo.waitFor(/mrdb=> /, 0, 120_000)
    const pids = [...demo.screen.matchAll(/node \d+ +\S+ +pid (\d+)/g)].map((m) => Number(m[1]))
    assert.equal(pids.length, 3, demo.screen)

    demo.type(`CREATE TABLE pets (id INT PRIMARY KEY, name TEXT, age INT);${KEYS.enter}`)
    at = await demo.waitFor(/CREATE TABLE\nmrdb=> /, at)

    // A statement over three lines: the continuation prompt, then it runs at the ';'.
    demo.type(`INSERT INTO pets VALUES${KEYS.enter}`)
    at = await demo.waitFor(/\n {3}-> /, at)
    demo.type(`  (1, 'cat', 3),${KEYS.enter}`)
    at = await demo.waitFor(/\n {3}-> /, at)
    demo.type(`  (2, 'dog', 11);${KEYS.enter}`)
    at = await demo.waitFor(/INSERT 2\nmrdb=> /, at)

    demo.type(`\\timing${KEYS.enter}`)
    at = await demo.waitFor(/Timing is on\.\nmrdb=> /, at)
    demo.type(`SELECT * FROM pets ORDER BY id;${KEYS.enter}`)
    at = await demo.waitFor(/ id \| name \| age\n----\+------\+-----\n  1 \| cat  \|   3\n  2 \| dog  \|  11\n\(2 rows\)\nTime: \d+\.\d+ ms\nmrdb=> /, at)
    demo.type(`\\timing off${KEYS.enter}`)
    at = await demo.waitFor(/Timing is off\.\nmrdb=> /, at)

    // An error: its SQLSTATE code, no stack trace, and the shell goes on.
    const before = at
    demo.type(`SELEC name FROM pets;${KEYS.enter}`)
    at = await demo.waitFor(/ERROR: 42601: [^\n]+\nmrdb=> /, at)
    demo.type(`SELECT * FROM nope;${KEYS.enter}`)
    at = await demo.waitFor(/ERROR: 42P01: [^\n]+\nmrdb=> /, at)
    assert.doesNotMatch(demo.screen.slice(before, at), /\n\s+at /, 'no stack trace')

    demo.type(`\\d${KEYS.enter}`)
    at = await demo.waitFor(/pets\n\(1 row\)\nmrdb=> /, at)
    demo.type(`\\d pets${KEYS.enter}`)
    at = await demo.waitFor(/age[^\n]*\n\(3 rows\)\nmrdb=> /, at)
    demo.type(`\\?${KEYS.enter}`)
    at = await demo.waitFor(/\\q +quit[^\n]*\nmrdb=> /, at)
    demo.type(`\\nonsense${KEYS.enter}`)
    at = await demo.waitFor(/ERROR: invalid command \\nonsense[^\n]*\nmrdb=> /, at)

    // The prompt shows the transaction state: * inside BEGIN, ! once a statement in it failed.
    demo.type(`BEGIN;${KEYS.enter}`)
    at = await demo.waitFor(/BEGIN\nmrdb\*> /, at)
    demo.type(`SELECT * FROM nope;${KEYS.enter}`)
    at = await demo.waitFor(/ERROR: 42P01: [^\n]+\nmrdb!> /, at)
    demo.type(`ROLLBACK;${KEYS.enter}`)
    at = await demo.waitFor(/ROLLBACK\nmrdb=> /, at)

    // Ctrl-C while a statement runs cancels it on the node (57014) and comes back to the
    // prompt: the shell, and the demo, go on.
    demo.type(`SELECT pg_sleep(600);${KEYS.enter}`)
    at = await demo.waitFor(/SELECT pg_sleep\(600\);\n/, at)
    demo.type(KEYS.ctrlC)
    at = await demo.waitFor(/ERROR: 57014: canceling statement due to user request\nmrdb=> /, at)
    demo.type(`SELECT COUNT(*) FROM pets;${KEYS.enter}`)
    at = await demo.waitFor(/\n\(1 row\)\nmrdb=> /, at)

    // Ctrl-C drops a half-typed statement and gives a fresh prompt.
    demo.type(`SELECT name${KEYS.enter}`)
    at = await demo.waitFor(/\n {3}-> /, at)
    demo.type(KEYS.ctrlC)
    at = await demo.waitFor(/\^C\nmrdb=> /, at)

    // The up arrow recalls the previous statement; Enter runs it again.
    demo.type(`SELECT COUNT(*) FROM pets;${KEYS.enter}`)
    at = await demo.waitFor(/\n\(1 row\)\nmrdb=> /, at)
    demo.type(KEYS.up)
    at = await demo.waitFor(/SELECT COUNT\(\*\) FROM pets;/, at)
    demo.type(KEYS.enter)
    at = await demo.waitFor(/\n\(1 row\)\nmrdb=> /, at)

    demo.type(KEYS.ctrlD)
    await demo.waitFor(/mrdb demo: stopped/, at, 60_000)
    assert.equal(await demo.exited, 0)
    for (const pid of pids) await waitFor(`node process ${pid} to exit`, () => !alive(pid), 10_000)

    const history = (await readFile(join(home, '.mrdb_history'), 'utf8')).split('\n')
    assert.ok(history.includes("INSERT INTO pets VALUES (1, 'cat', 3), (2, 'dog', 11);"), `a multi-line statement is one history entry:\n${history.join('\n')}`)
    assert.ok(history.includes('\\d pets'))
  } finally {
    demo.kill()
  }

  // A new shell starts with the saved history: the up arrow brings back the last statement.
  const shell = new PtySession([process.execPath, MRDB_BIN, 'sql', '--host', '127.0.0.1:1'], env)
  try {
    let at = await shell.waitFor(/mrdb=> /)
    shell.type(KEYS.up)
    at = await shell.waitFor(/SELECT COUNT\(\*\) FROM pets;/, at)
    shell.type(`${'\x7f'.repeat(40)}\\q${KEYS.enter}`)
    assert.equal(await shell.exited, 0)
  } finally {
    shell.kill()
    await rm(home, { recursive: true, force: true })
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatLine, lineFields, openNodeLog, textLogger, throttled } from './node-log.js'

test('lineFields lifts the range and the term a plain-text line names', () => {
  assert.deepEqual(lineFields('range 12: quarantined replica 3 on node 2: Raft log entry 7 is damaged'), { rangeId: 12 })
  assert.deepEqual(lineFields('group 4294967295: stopped replica 1 on node 3: bad crc'), { rangeId: 4294967295 })
  assert.deepEqual(lineFields('gc: range 5: locks in the way'), { rangeId: 5 })
  assert.deepEqual(lineFields('2 became leader at term 7'), { term: 7 })
  assert.deepEqual(lineFields('2 [term 9] received MsgTimeoutNow from 3'), { term: 9 })
  assert.deepEqual(lineFields('heartbeat: UNAVAILABLE: no leader'), {})
})

test('formatLine shows level, node, range and term, then the message and the other fields', () => {
  const line = JSON.stringify({ level: 30, time: '2026-12-07T01:00:00.000Z', nodeId: 2, rangeId: 5, term: 7, msg: 'elected', leaderNode: 3 })
  assert.equal(formatLine(line), '2026-12-07T01:00:00.000Z INFO  n2 r5 t7 elected {"leaderNode":3}')
  assert.equal(formatLine(JSON.stringify({ level: 40, time: 't', nodeId: 1, msg: 'slow' })), 't WARN  n1 slow')
  assert.equal(formatLine('not json\n'), 'not json')
})

test('throttled writes at most once per interval and counts what it dropped', () => {
  let now = 0
  const written: Array<[string, number]> = []
  const write = throttled<string>(1000, (e, dropped) => written.push([e, dropped]), () => now)
  write('a')
  write('b')
  write('c')
  now = 999
  write('d')
  now = 1000
  write('e')
  assert.deepEqual(written, [['a', 0], ['e', 3]])
})

test('the log file holds JSON lines with the node id, and plain-text lines with their range as a field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-log-'))
  try {
    const log = openNodeLog({ nodeId: 4, dataDir: dir, stderrLevel: 'silent' })
    log.logger.info({ rangeId: 3, term: 2 }, 'range 3: elected')
    textLogger(log.logger).warn('range 8: log compaction failed: disk full')
    textLogger(log.logger, 'debug').info('1 became leader at term 3')
    await log.close()
    const lines = (await readFile(join(dir, 'logs', 'mrdb.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(lines.length, 2, 'debug lines stay out of the file')
    assert.deepEqual([lines[0]!.nodeId, lines[0]!.rangeId, lines[0]!.term, lines[0]!.level], [4, 3, 2, 30])
    assert.deepEqual([lines[1]!.nodeId, lines[1]!.rangeId, lines[1]!.level, lines[1]!.msg], [4, 8, 40, 'range 8: log compaction failed: disk full'])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

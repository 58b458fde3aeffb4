import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NodeMetrics, statementType } from './node-metrics.js'

test('statementType keeps a statement\'s first keyword from a known set', () => {
  assert.equal(statementType('  select 1'), 'SELECT')
  assert.equal(statementType('(SELECT 1) UNION (SELECT 2)'), 'SELECT')
  assert.equal(statementType('insert into t values (1)'), 'INSERT')
  assert.equal(statementType('VACUUM'), 'OTHER')
  assert.equal(statementType(''), 'OTHER')
})

test('KV requests, SQL statements and fsyncs show in the scrape with their labels', async () => {
  const m = new NodeMetrics()
  m.observeKv({ op: 'put', durationMs: 3 })
  m.observeKv({ op: 'prewrite', durationMs: 1, code: 'WRITE_CONFLICT' })
  m.observeSql({ sql: 'INSERT INTO t VALUES (1)', durationMs: 2, code: '40001' })
  m.observeFsync(0.3)
  const { contentType, body } = await m.scrape()
  assert.match(contentType, /^text\/plain; version=0\.0\.4/)
  assert.match(body, /^mrdb_kv_requests_total\{op="put"\} 1$/m)
  assert.match(body, /^mrdb_kv_errors_total\{op="prewrite",code="WRITE_CONFLICT"\} 1$/m)
  assert.match(body, /^mrdb_kv_conflicts_total\{code="WRITE_CONFLICT"\} 1$/m)
  assert.match(body, /^mrdb_kv_request_duration_seconds_bucket\{le="0.005",op="put"\} 1$/m)
  assert.match(body, /^mrdb_sql_statements_total\{type="INSERT"\} 1$/m)
  assert.match(body, /^mrdb_sql_errors_total\{code="40001"\} 1$/m)
  assert.match(body, /^mrdb_sql_conflicts_total 1$/m)
  assert.match(body, /^mrdb_storage_fsync_duration_seconds_count 1$/m)
  assert.match(body, /^process_resident_memory_bytes \d+/m)
  assert.match(body, /^nodejs_eventloop_lag_p99_seconds /m)
})

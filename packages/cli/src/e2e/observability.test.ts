// The HTTP port of real node processes (issue #17): /health answers before and after init,
// /metrics parses as Prometheus text with the named series, commits rise under writes, and
// killing a range's leader shows as an election — in the survivors' metrics and as a line
// with the range and the new term in their log files.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SqlClient } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'
import { parsePrometheusText, sampleSum, type PromFamily } from '../testing/prometheus-text.js'
import { nodeStatus, waitFor } from './helpers.js'

/** Series every node serves, with their Prometheus type. */
const SERIES: Record<string, string> = {
  mrdb_raft_commits_total: 'counter',
  mrdb_raft_applied_entries_total: 'counter',
  mrdb_raft_elections_total: 'counter',
  mrdb_raft_leader_changes_total: 'counter',
  mrdb_raft_log_writes_total: 'counter',
  mrdb_raft_fsyncs_total: 'counter',
  mrdb_raft_proposals_total: 'counter',
  mrdb_raft_proposals_dropped_total: 'counter',
  mrdb_raft_ticks_late_total: 'counter',
  mrdb_range_qps: 'gauge',
  mrdb_raft_frames_total: 'counter',
  mrdb_raft_messages_total: 'counter',
  mrdb_raft_snapshots_total: 'counter',
  mrdb_raft_log_entries: 'gauge',
  mrdb_storage_fsync_duration_seconds: 'histogram',
  mrdb_ranges: 'gauge',
  mrdb_ranges_leading: 'gauge',
  mrdb_ranges_quiesced: 'gauge',
  mrdb_cluster_ranges_unavailable: 'gauge',
  mrdb_cluster_ranges_under_replicated: 'gauge',
  mrdb_kv_requests_total: 'counter',
  mrdb_kv_request_duration_seconds: 'histogram',
  mrdb_kv_errors_total: 'counter',
  mrdb_sql_statements_total: 'counter',
  mrdb_sql_statement_duration_seconds: 'histogram',
  mrdb_sql_errors_total: 'counter',
  mrdb_sql_open_transactions: 'gauge',
  mrdb_storage_live_bytes: 'gauge',
  mrdb_storage_garbage_bytes: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
  process_resident_memory_bytes: 'gauge',
  process_cpu_seconds_total: 'counter',
  nodejs_heap_size_used_bytes: 'gauge',
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url)
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
}

async function scrape(cluster: ProcessCluster, node: number): Promise<Map<string, PromFamily>> {
  const res = await get(`http://${cluster.httpAddress(node)}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.type, /^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(res.body)
}

/** The log file's lines, parsed. */
async function logLines(cluster: ProcessCluster, node: number): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(cluster.dataDir(node), 'logs', 'mrdb.log'), 'utf8')
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}

test('/health, /metrics and the log file of real nodes: before and after init, under writes, after a leader is killed', { timeout: 180_000 }, async () => {
  const cluster = await ProcessCluster.start({ nodes: 3, ranges: 4, init: false })
  try {
    for (const id of [1, 2, 3]) {
      const live = await get(`http://${cluster.httpAddress(id)}/health`)
      assert.equal(live.status, 200, live.body)
      assert.deepEqual(JSON.parse(live.body), { nodeId: id, status: 'ok' })
      const ready = await get(`http://${cluster.httpAddress(id)}/health?ready=1`)
      assert.equal(ready.status, 503, ready.body)
      assert.match((JSON.parse(ready.body) as { reason: string }).reason, /not part of an initialized cluster/)
    }
    assert.equal((await get(`http://${cluster.httpAddress(1)}/nowhere`)).status, 404)

    await cluster.init()
    for (const id of [1, 2, 3]) await waitFor(`node ${id} to be ready`, async () => (await get(`http://${cluster.httpAddress(id)}/health?ready=1`)).status === 200)

    const before = await Promise.all([1, 2, 3].map((id) => scrape(cluster, id)))
    for (const [name, type] of Object.entries(SERIES)) assert.equal(before[0]!.get(name)?.type, type, `node 1 serves ${name} as a ${type}`)
    assert.equal(sampleSum(before[0]!, 'mrdb_ranges') + sampleSum(before[1]!, 'mrdb_ranges') + sampleSum(before[2]!, 'mrdb_ranges'), 12, 'four ranges of three replicas')
    assert.equal(sampleSum(before[0]!, 'mrdb_raft_messages_total', { direction: 'sent', type: 'MsgHeartbeat' }) + sampleSum(before[1]!, 'mrdb_raft_messages_total', { direction: 'sent', type: 'MsgHeartbeat' }) + sampleSum(before[2]!, 'mrdb_raft_messages_total', { direction: 'sent', type: 'MsgHeartbeat' }) > 0, true)

    const sql = new SqlClient(cluster.sqlAddress(1))
    try {
      await sql.query('CREATE TABLE metered (id INT PRIMARY KEY, v TEXT)')
      for (let i = 0; i < 40; i++) await sql.query(`INSERT INTO metered VALUES (${i}, 'v${i}')`)
      await assert.rejects(sql.query('INSERT INTO metered VALUES (1, \'again\')'))
    } finally {
      sql.close()
    }

    // A KV request over gRPC from outside, whatever path the gateway's own requests take.
    await cluster.mrdb(['kv', 'put', 'metered-key', 'v', '--host', cluster.address(2)])

    const after = await Promise.all([1, 2, 3].map((id) => scrape(cluster, id)))
    const total = (scrapes: Array<Map<string, PromFamily>>, name: string, match: Record<string, string> = {}, sample = name) => scrapes.reduce((sum, f) => sum + sampleSum(f, name, match, sample), 0)
    assert.ok(total(after, 'mrdb_raft_commits_total') >= total(before, 'mrdb_raft_commits_total') + 40, 'commits rose under the writes')
    assert.ok(total(after, 'mrdb_raft_applied_entries_total') >= total(before, 'mrdb_raft_applied_entries_total') + 40, 'applied entries rose under the writes')
    assert.ok(total(after, 'mrdb_raft_proposals_total') >= total(before, 'mrdb_raft_proposals_total') + 40, 'proposals rose under the writes')
    assert.ok(total(after, 'mrdb_kv_requests_total', { op: 'put' }) > total(before, 'mrdb_kv_requests_total', { op: 'put' }), 'KV requests were counted')
    assert.ok(total(after, 'mrdb_storage_fsync_duration_seconds', {}, 'mrdb_storage_fsync_duration_seconds_count') > total(before, 'mrdb_storage_fsync_duration_seconds', {}, 'mrdb_storage_fsync_duration_seconds_count'), 'fsyncs were timed')
    assert.equal(sampleSum(after[0]!, 'mrdb_sql_statements_total', { type: 'INSERT' }), 41)
    assert.equal(sampleSum(after[0]!, 'mrdb_sql_errors_total', { code: '23505' }), 1, 'the duplicate key counted by its SQLSTATE')
    assert.equal(sampleSum(after[0]!, 'mrdb_sql_statement_duration_seconds', { type: 'INSERT' }, 'mrdb_sql_statement_duration_seconds_count'), 41)
    assert.equal(total(after, 'mrdb_pd_leader'), 1, 'one node speaks for the placement driver')

    // Kill the leader of the first range led by a node other than node 1 (or range 1's leader).
    const statuses = await Promise.all([1, 2, 3].map((id) => nodeStatus(cluster.address(id))))
    const led = statuses.flatMap((s, i) => (s.ranges ?? []).filter((r) => r.leader).map((r) => ({ node: i + 1, rangeId: r.rangeId, term: r.term })))
    const victim = led.find((l) => l.node !== 1) ?? led[0]!
    const survivors = [1, 2, 3].filter((id) => id !== victim.node)
    const electionsBefore = total(after.filter((_, i) => i + 1 !== victim.node), 'mrdb_raft_elections_total')
    await cluster.kill(victim.node)

    const electionLine = (lines: Array<Record<string, unknown>>) =>
      lines.find((l) => l.rangeId === victim.rangeId && typeof l.term === 'number' && l.term > victim.term && /elected replica \d+ on node \d+ leader at term/.test(String(l.msg)))
    await waitFor(`a survivor to log range ${victim.rangeId}'s election`, async () => {
      for (const id of survivors) if (electionLine(await logLines(cluster, id))) return true
      return false
    }, 60_000)
    for (const id of survivors) {
      const line = electionLine(await logLines(cluster, id))
      if (!line) continue
      assert.equal(line.nodeId, id, 'every line names its node')
      assert.notEqual(line.leaderNode, victim.node)
    }
    await waitFor('the survivors to count the election', async () => {
      const now = await Promise.all(survivors.map((id) => scrape(cluster, id)))
      return total(now, 'mrdb_raft_elections_total') > electionsBefore && total(now, 'mrdb_raft_leader_changes_total') > 0
    }, 30_000)
  } catch (err) {
    for (const id of [1, 2, 3]) process.stderr.write(`node ${id}:\n${cluster.logs(id).slice(-3000)}\n`)
    throw err
  } finally {
    await cluster.stop()
  }
})

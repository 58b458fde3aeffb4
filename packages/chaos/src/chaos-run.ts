// One chaos run: create the workloads' schema, start the clients and the nemesis, stop the
// faults when the time is up (healing everything), let the clients finish, read the final
// state, and judge the history with the checkers.

import { setTimeout as sleep } from 'node:timers/promises'
import { SeededRng } from '@mrdb/raft'
import { checkBank } from './bank-checker.js'
import { ClusterControl, type ChaosProcesses } from './cluster-control.js'
import type { Anomaly, Outcome } from './history.js'
import { checkRegister, type LinearizabilityResult } from './linearizability.js'
import { Nemesis, type FaultKind, type FaultRecord } from './nemesis.js'
import { checkSet, type SetVerdict } from './set-checker.js'
import { createSchema, readBank, readSet, runClient, WORKLOAD_SCHEMA, type ChaosHistory, type WorkloadName } from './workloads.js'

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** How long faults are injected. */
  seconds: number
  /** Logical clients (at least 4: one per workload). */
  clients: number
  /** Seeds the nemesis's schedule and the clients' choices. */
  seed: number
  /** Time between the starts of two faults, [min, max] ms; default 5–10 s. */
  faultIntervalMs?: readonly [number, number]
  /** The faults to choose from; default all. */
  faults?: readonly FaultKind[]
  /** Progress lines (faults as they happen). */
  log: (line: string) => void
}

/** What a run did and what the checkers found. */
export interface ChaosReport {
  seed: number
  seconds: number
  clients: Record<WorkloadName, number>
  faults: FaultRecord[]
  history: ChaosHistory
  linearizability: LinearizabilityResult[]
  /** `finalTotal` is undefined when the final read failed. */
  bank: { reads: number; finalTotal: bigint | undefined }
  /** Undefined when the final read failed: completeness needs it. */
  set: (SetVerdict & { attempted: number }) | undefined
  anomalies: Anomaly[]
  /**
   * Set when the healed cluster did not serve the final reads: an availability failure, not
   * an anomaly (what was read during the run is still checked). Says why, with every node's
   * view of every range.
   */
  unavailableAfterHeal?: string
}

/** Registers per register workload; few keys make clients collide often. */
const REGISTERS = 5
const ACCOUNTS = 5
const OPENING_BALANCE = 100
const OPERATION_TIMEOUT_MS = 5000
/** After the faults stop, clients run this long on the healed cluster. */
const SETTLE_MS = 3000
/** How long setup and the final reads keep retrying. */
const RETRY_FOR_MS = 60_000
const WORKLOAD_CYCLE: readonly WorkloadName[] = ['kv-register', 'sql-register', 'bank', 'set']

/** Runs the workloads under the nemesis against `processes` and checks the result. */
export async function runChaos(processes: ChaosProcesses, o: ChaosOptions): Promise<ChaosReport> {
  if (o.clients < WORKLOAD_CYCLE.length) throw new RangeError(`need at least ${WORKLOAD_CYCLE.length} clients, one per workload`)
  const control = new ClusterControl(processes)
  const t0 = performance.now()
  const now = () => performance.now() - t0
  const hosts = processes.nodeIds().map((id) => processes.address(id))
  const sqlHosts = processes.nodeIds().map((id) => processes.sqlAddress(id))
  try {
    await retrying(() => createSchema(sqlHosts[0]!, REGISTERS, ACCOUNTS, OPENING_BALANCE))
    const history: ChaosHistory = { registers: [], bankReads: [], transfers: { ok: 0, fail: 0, unknown: 0 }, setAdds: [] }
    let clientsStopped = false
    let faultsStopped = false
    const ctx = { history, hosts, sqlHosts, registers: REGISTERS, accounts: ACCOUNTS, operationTimeoutMs: OPERATION_TIMEOUT_MS, now, stopped: () => clientsStopped }
    const workloads = Array.from({ length: o.clients }, (_, i) => WORKLOAD_CYCLE[i % WORKLOAD_CYCLE.length]!)
    const clients = workloads.map((w, i) => runClient(w, i, o.seed, ctx))
    const nemesis = new Nemesis(control, new SeededRng(o.seed), {
      intervalMs: o.faultIntervalMs ?? [5000, 10_000],
      holdMs: [2000, 4000],
      kinds: o.faults,
      splitKeys: Array.from({ length: REGISTERS - 1 }, (_, i) => WORKLOAD_SCHEMA.kvRegisterKey(i + 1)),
      now,
      log: o.log,
    })
    const faulting = nemesis.run(() => faultsStopped)
    let settled: Array<PromiseSettledResult<void>>
    try {
      await sleep(o.seconds * 1000)
    } finally {
      faultsStopped = true
      await faulting.catch(() => undefined)
      await sleep(SETTLE_MS)
      clientsStopped = true
      settled = await Promise.allSettled(clients)
    }
    for (const c of settled) if (c.status === 'rejected') throw c.reason
    o.log(`[+${(now() / 1000).toFixed(1)}s] faults stopped and healed; reading the final state`)
    const finalBank = await finalRead(control, () => readBank(sqlHosts[0]!))
    const finalSet = 'value' in finalBank ? await finalRead(control, () => readSet(sqlHosts[sqlHosts.length - 1]!)) : finalBank
    // SQL registers start as rows holding 0; KV registers start absent.
    const keys = [...new Set(history.registers.map((op) => op.key))].sort()
    const linearizability = keys.map((key) => checkRegister(key, history.registers, { initial: key.startsWith('sql/') ? '0' : null }))
    const bankReads = 'value' in finalBank ? [...history.bankReads, { client: -1, invokeMs: now(), completeMs: now(), balances: finalBank.value }] : history.bankReads
    const bankAnomalies = checkBank({ accounts: Array.from({ length: ACCOUNTS }, (_, i) => i + 1), total: BigInt(ACCOUNTS * OPENING_BALANCE) }, bankReads)
    const setVerdict = 'value' in finalSet ? checkSet(history.setAdds, finalSet.value) : undefined
    const anomalies: Anomaly[] = [
      ...linearizability.filter((r) => r.linearizable === false).map((r) => ({ checker: 'linearizability', message: `register ${r.key} is not linearizable`, evidence: r.explanation ?? [] })),
      ...bankAnomalies,
      ...(setVerdict?.anomalies ?? []),
    ]
    const count = (w: WorkloadName) => workloads.filter((x) => x === w).length
    return {
      seed: o.seed,
      seconds: o.seconds,
      clients: { 'kv-register': count('kv-register'), 'sql-register': count('sql-register'), bank: count('bank'), set: count('set') },
      faults: nemesis.faults,
      history,
      linearizability,
      bank: { reads: bankReads.length, finalTotal: 'value' in finalBank ? [...finalBank.value.values()].reduce((a, b) => a + b, 0n) : undefined },
      set: setVerdict && { ...setVerdict, attempted: history.setAdds.length },
      anomalies,
      unavailableAfterHeal: 'error' in finalSet ? finalSet.error : undefined,
    }
  } finally {
    control.close()
  }
}

/** Counts of a workload's outcomes. */
export function outcomes<T extends { outcome: Outcome }>(items: readonly T[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ok: 0, fail: 0, unknown: 0 }
  for (const item of items) counts[item.outcome]++
  return counts
}

/**
 * A read of the final state, retried; if the healed cluster still cannot serve it, the error
 * names every node's view of every range (role, term, leader, commit), to show which range
 * is stuck and how.
 */
async function finalRead<T>(control: ClusterControl, read: () => Promise<T>): Promise<{ value: T } | { error: string }> {
  try {
    return { value: await retrying(read) }
  } catch (err) {
    const views = await Promise.allSettled(control.processes.nodeIds().map(async (id) => ({ id, status: await control.status(id) })))
    const lines = views.flatMap((v) =>
      v.status === 'fulfilled'
        ? (v.value.status.ranges ?? []).map((r) => `node ${v.value.id} range ${r.rangeId}: ${r.role} term ${r.term} leader replica ${r.leaderReplica} commit ${r.commit} applied ${r.appliedIndex}${r.quiesced ? ' quiesced' : ''} replicas ${r.descriptor.replicas.map((x) => `${x.replicaId}@${x.nodeId}`).join(',')}`)
        : [`a node did not answer: ${String(v.reason)}`],
    )
    return { error: `the healed cluster did not serve the final read within ${RETRY_FOR_MS / 1000} s: ${err instanceof Error ? err.message : String(err)}\n${lines.join('\n')}` }
  }
}

async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RETRY_FOR_MS
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() >= deadline) throw err
      await sleep(500)
    }
  }
}

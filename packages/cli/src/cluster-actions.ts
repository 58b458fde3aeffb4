// What the operator commands do (cluster-commands.ts defines them): `mrdb range
// list|split|merge|move`, `mrdb member add|remove|transfer-leader` and `mrdb node
// list|decommission`. Each talks to any node, which forwards to the range's leader or the PD
// leader.

import { toWire, type RangeDescriptorJson } from '@mrdb/kv'
import { NODE_SERVICE, PD_SERVICE, type RangeAdminResponse } from '@mrdb/server'
import { formatPlan, planMove } from './move-plan.js'
import { callLeader, callNode as call } from './node-call.js'
import { CliError } from './output.js'

/** A member change: what to do to which range's replica on which store. */
export interface MemberChange {
  readonly op: 'add' | 'addLearner' | 'remove' | 'transferLeader'
  readonly rangeId: number
  readonly storeId: number
}

/** Membership changes wait for snapshots; give them time. */
const LONG_CALL_MS = 120_000

/** A key from the command line: 0x-prefixed hex (binary keys, as {@link showKey} prints them), else UTF-8 text. */
function parseKey(key: string): Uint8Array {
  return /^0x([0-9a-fA-F]{2})+$/.test(key) ? Buffer.from(key.slice(2), 'hex') : Buffer.from(key, 'utf8')
}

/** A key for people: UTF-8 text when it is printable, else 0x-prefixed hex; empty bounds as -∞/+∞. */
function showKey(hex: string, empty: string): string {
  if (hex.length === 0) return empty
  const bytes = Buffer.from(hex, 'hex')
  const text = bytes.toString('utf8')
  return /^[\x20-\x7e]*$/.test(text) ? text : `0x${hex}`
}

function showReplicas(d: RangeDescriptorJson, leader: number): string {
  return d.replicas.map((r) => `${r.nodeId}${r.role === 'learner' ? '(learner)' : ''}${r.nodeId === leader ? '*' : ''}`).join(',')
}

function printDescriptor(d: RangeDescriptorJson | undefined, json: boolean | undefined): void {
  if (!d) return
  if (json) process.stdout.write(`${JSON.stringify(d)}\n`)
  else process.stdout.write(`range ${d.rangeId} [${showKey(d.startKey, '-inf')}, ${showKey(d.endKey, '+inf')}) generation ${d.generation} replicas ${showReplicas(d, 0)}\n`)
}

/** `range list`: every range with its load. */
export async function rangeList(host: string, json: boolean): Promise<void> {
  const res = await call(host, PD_SERVICE.routing, {})
  const ranges = (res.ranges ?? []).sort((a, b) => a.descriptor.startKey.localeCompare(b.descriptor.startKey))
  if (json) {
    process.stdout.write(`${JSON.stringify(ranges.map(({ descriptor, ...rest }) => ({ ...descriptor, ...rest })))}\n`)
    return
  }
  process.stdout.write('id\tstart\tend\tgeneration\treplicas\tkeys\tbytes\tlive\tgarbage\tqps\n')
  for (const r of ranges) {
    const d = r.descriptor
    const load = `${r.approximateKeys}\t${r.approximateBytes}\t${r.liveBytes ?? 0}\t${r.garbageBytes ?? 0}\t${Math.round(r.queriesPerSecond)}`
    process.stdout.write(`${d.rangeId}\t${showKey(d.startKey, '-inf')}\t${showKey(d.endKey, '+inf')}\t${d.generation}\t${showReplicas(d, r.leaderNodeId)}\t${load}\n`)
  }
}

/** `range split`: splits the range holding `key` at `key`. */
export async function rangeSplit(host: string, key: string, json: boolean): Promise<void> {
  const res: RangeAdminResponse = await callLeader(host, NODE_SERVICE.split, { key: toWire(parseKey(key)) }, LONG_CALL_MS)
  if (json) process.stdout.write(`${JSON.stringify({ left: res.descriptor, right: res.created })}\n`)
  else {
    printDescriptor(res.descriptor, false)
    printDescriptor(res.created, false)
  }
}

/** `range merge`: merges range `rangeId` with its right-hand neighbour. */
export async function rangeMerge(host: string, rangeId: number, json: boolean): Promise<void> {
  const res = await call(host, NODE_SERVICE.merge, { rangeId }, LONG_CALL_MS)
  printDescriptor(res.descriptor, json)
}

/**
 * `range move`: plans the move (move-plan.ts) from the placement driver's view, prints the
 * plan, refuses one that is unsafe (MOVE_REFUSED), and unless `dryRun` asks the placement
 * driver to run it — as its own operator, so its scheduler leaves the range alone meanwhile.
 */
export async function rangeMove(host: string, move: { rangeId: number; from: number; to: number }, o: { dryRun: boolean; json: boolean }): Promise<void> {
  const [{ ranges = [] }, { stores = [] }] = await Promise.all([call(host, PD_SERVICE.routing, {}), call(host, PD_SERVICE.stores, {})])
  const range = ranges.find((r) => r.descriptor.rangeId === move.rangeId)
  const plan = planMove({ ...move, replicas: range?.descriptor.replicas, leaderNodeId: range?.leaderNodeId ?? 0, stores })
  if (!o.json) process.stdout.write(formatPlan(plan))
  else if (o.dryRun || plan.problems.length > 0) process.stdout.write(`${JSON.stringify(plan)}\n`)
  if (plan.problems.length > 0) throw new CliError('MOVE_REFUSED', plan.problems.join('; '))
  if (o.dryRun) return
  await callLeader(host, PD_SERVICE.moveReplica, { rangeId: move.rangeId, fromStoreId: move.from, toStoreId: move.to }, LONG_CALL_MS)
  const after = ((await call(host, PD_SERVICE.routing, {})).ranges ?? []).find((r) => r.descriptor.rangeId === move.rangeId)
  printDescriptor(after?.descriptor, o.json)
}

/** `member add|remove|transfer-leader`: one membership or leadership change, retried through leader changes. */
export async function memberChange(host: string, change: MemberChange, json: boolean): Promise<void> {
  const res = await callLeader(host, NODE_SERVICE.member, { rangeId: change.rangeId, storeId: change.storeId, op: change.op }, LONG_CALL_MS)
  printDescriptor(res.descriptor, json)
}

/** `node list`: every store with its liveness and counts. */
export async function nodeList(host: string, json: boolean): Promise<void> {
  const stores = (await call(host, PD_SERVICE.stores, {})).stores ?? []
  if (json) {
    process.stdout.write(`${JSON.stringify(stores)}\n`)
    return
  }
  process.stdout.write('id\taddress\tstate\tlive\treplicas\tleaders\n')
  for (const s of stores) process.stdout.write(`${s.storeId}\t${s.address}\t${s.state}\t${s.live ? 'yes' : 'no'}\t${s.replicaCount}\t${s.leaderCount}\n`)
}

/** `node decommission`: marks the store decommissioning; with `wait`, waits until it holds no replica and marks it removed. */
export async function nodeDecommission(host: string, storeId: number, o: { wait: boolean; json: boolean }): Promise<void> {
  await call(host, PD_SERVICE.setStoreState, { storeId, state: 'decommissioning' })
  let replicas = -1
  while (o.wait && replicas !== 0) {
    const s = ((await call(host, PD_SERVICE.stores, {})).stores ?? []).find((x) => x.storeId === storeId)
    replicas = s?.replicaCount ?? 0
    if (!o.json) process.stderr.write(`store ${storeId}: ${replicas} replicas left\n`)
    if (replicas > 0) await new Promise((r) => setTimeout(r, 1000))
  }
  if (o.wait) await call(host, PD_SERVICE.setStoreState, { storeId, state: 'removed' })
  const state = o.wait ? 'removed' : 'decommissioning'
  process.stdout.write(o.json ? `${JSON.stringify({ storeId, state })}\n` : `store ${storeId} is ${state}${o.wait ? ': it holds no replica and can be stopped' : ''}\n`)
}

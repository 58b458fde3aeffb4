// Operator commands: `mrdb range list|split|merge`, `mrdb member add|remove|transfer-leader` and
// `mrdb node list|decommission`. Each talks to any node (--host), which forwards to the
// range's leader or the PD leader; `--json` prints machine-readable output.

import { toWire, type RangeDescriptorJson } from '@mrdb/kv'
import { NODE_SERVICE, PD_SERVICE, type RangeAdminResponse } from '@mrdb/server'
import type { Command } from 'commander'
import { callLeader, callNode as call } from './node-call.js'
import { positiveInt } from './output.js'

interface HostOptions {
  host: string
  json?: boolean
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

/** Adds `range`, `member` and `node` to the program. */
export function addClusterCommands(program: Command): void {
  const host = (c: Command) => c.requiredOption('--host <host:port>', 'any node of the cluster').option('--json', 'print JSON')

  const range = program.command('range').description('list, split and merge ranges')
  host(range.command('list').description('every range: bounds, replicas (* marks the leader), and keys, bytes, live and garbage bytes and reads+writes per second as last reported')).action(async (opts: HostOptions) => {
    const res = await call(opts.host, PD_SERVICE.routing, {})
    const ranges = (res.ranges ?? []).sort((a, b) => a.descriptor.startKey.localeCompare(b.descriptor.startKey))
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(ranges.map(({ descriptor, ...rest }) => ({ ...descriptor, ...rest })))}\n`)
      return
    }
    process.stdout.write('id\tstart\tend\tgeneration\treplicas\tkeys\tbytes\tlive\tgarbage\tqps\n')
    for (const r of ranges) {
      const d = r.descriptor
      const load = `${r.approximateKeys}\t${r.approximateBytes}\t${r.liveBytes ?? 0}\t${r.garbageBytes ?? 0}\t${Math.round(r.queriesPerSecond)}`
      process.stdout.write(`${d.rangeId}\t${showKey(d.startKey, '-inf')}\t${showKey(d.endKey, '+inf')}\t${d.generation}\t${showReplicas(d, r.leaderNodeId)}\t${load}\n`)
    }
  })
  host(range.command('split').description('split the range holding KEY at KEY'))
    .requiredOption('--key <key>', 'the split key: the new range starts here (UTF-8 text, or 0x-prefixed hex as `range list` shows binary keys)')
    .action(async (opts: HostOptions & { key: string }) => {
      const res: RangeAdminResponse = await callLeader(opts.host, NODE_SERVICE.split, { key: toWire(parseKey(opts.key)) }, LONG_CALL_MS)
      if (opts.json) process.stdout.write(`${JSON.stringify({ left: res.descriptor, right: res.created })}\n`)
      else {
        printDescriptor(res.descriptor, false)
        printDescriptor(res.created, false)
      }
    })

  host(range.command('merge <id>').description('merge range ID with its right-hand neighbour (both on the same stores)')).action(async (id: string, opts: HostOptions) => {
    const res = await call(opts.host, NODE_SERVICE.merge, { rangeId: positiveInt(id, 'range id') }, LONG_CALL_MS)
    printDescriptor(res.descriptor, opts.json)
  })

  const member = program.command('member').description("change a range's replicas (joint consensus) and leadership")
  const memberAction = (op: 'add' | 'addLearner' | 'remove' | 'transferLeader') => async (opts: HostOptions & { range: string; store: string; learner?: boolean }) => {
    const req = { rangeId: positiveInt(opts.range, '--range'), storeId: positiveInt(opts.store, '--store'), op: op === 'add' && opts.learner ? ('addLearner' as const) : op }
    const res = await callLeader(opts.host, NODE_SERVICE.member, req, LONG_CALL_MS)
    printDescriptor(res.descriptor, opts.json)
  }
  host(member.command('add').description('add a replica on a store: a learner caught up by snapshot, then a voter'))
    .requiredOption('--range <id>', 'range id')
    .requiredOption('--store <id>', 'store that gets the replica')
    .option('--learner', 'leave it a learner (it does not vote)')
    .action(memberAction('add'))
  host(member.command('remove').description('remove the replica on a store (leadership is handed over first)'))
    .requiredOption('--range <id>', 'range id')
    .requiredOption('--store <id>', 'store whose replica goes')
    .action(memberAction('remove'))
  host(member.command('transfer-leader').description('hand leadership of a range to the voter on a store'))
    .requiredOption('--range <id>', 'range id')
    .requiredOption('--store <id>', 'store that takes over')
    .action(memberAction('transferLeader'))

  const node = program.command('node').description('list and decommission stores')
  host(node.command('list').description('every store with its liveness and replica and leader counts')).action(async (opts: HostOptions) => {
    const stores = (await call(opts.host, PD_SERVICE.stores, {})).stores ?? []
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(stores)}\n`)
      return
    }
    process.stdout.write('id\taddress\tstate\tlive\treplicas\tleaders\n')
    for (const s of stores) process.stdout.write(`${s.storeId}\t${s.address}\t${s.state}\t${s.live ? 'yes' : 'no'}\t${s.replicaCount}\t${s.leaderCount}\n`)
  })
  host(node.command('decommission <store>').description('drain every replica off a store; with --wait, then mark it removed so it can leave'))
    .option('--wait', 'wait until the store holds no replica, then mark it removed')
    .action(async (store: string, opts: HostOptions & { wait?: boolean }) => {
      const storeId = positiveInt(store, 'store')
      await call(opts.host, PD_SERVICE.setStoreState, { storeId, state: 'decommissioning' })
      let replicas = -1
      while (opts.wait && replicas !== 0) {
        const s = ((await call(opts.host, PD_SERVICE.stores, {})).stores ?? []).find((x) => x.storeId === storeId)
        replicas = s?.replicaCount ?? 0
        if (!opts.json) process.stderr.write(`store ${storeId}: ${replicas} replicas left\n`)
        if (replicas > 0) await new Promise((r) => setTimeout(r, 1000))
      }
      if (opts.wait) await call(opts.host, PD_SERVICE.setStoreState, { storeId, state: 'removed' })
      const state = opts.wait ? 'removed' : 'decommissioning'
      process.stdout.write(opts.json ? `${JSON.stringify({ storeId, state })}\n` : `store ${storeId} is ${state}${opts.wait ? ': it holds no replica and can be stopped' : ''}\n`)
    })
}

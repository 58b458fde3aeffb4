// Operator commands: `mrdb range list|split|merge|move`, `mrdb member add|remove|transfer-leader` and
// `mrdb node list|decommission`. Each talks to any node (--host), which forwards to the
// range's leader or the PD leader; `--json` prints machine-readable output. cluster-actions.ts
// does the work, loaded only when one of them runs.

import type { Command } from 'commander'
import { hostOption, reachableHost } from './host-option.js'
import { positiveInt } from './output.js'

interface JsonOption {
  json?: boolean
}

/** The actions' module, loaded on first use. */
const actions = () => import('./cluster-actions.js')

/** Adds `range`, `member` and `node` to the program. */
export function addClusterCommands(program: Command): void {
  const withHost = (c: Command) => c.addOption(hostOption()).option('--json', 'print JSON')
  const json = (o: JsonOption) => o.json === true

  const range = program.command('range').description('list, split, merge and move ranges')
  withHost(range.command('list').description('every range: bounds, replicas (* marks the leader), and keys, bytes, live and garbage bytes and reads+writes per second as last reported')).action(async (opts: JsonOption, cmd: Command) => {
    const host = await reachableHost(cmd)
    await (await actions()).rangeList(host.address, json(opts))
  })
  withHost(range.command('split').description('split the range holding KEY at KEY'))
    .requiredOption('--key <key>', 'the split key: the new range starts here (UTF-8 text, or 0x-prefixed hex as `range list` shows binary keys)')
    .action(async (opts: JsonOption & { key: string }, cmd: Command) => {
      const host = await reachableHost(cmd)
      await (await actions()).rangeSplit(host.address, opts.key, json(opts))
    })
  withHost(range.command('merge <id>').description('merge range ID with its right-hand neighbour (both on the same stores)')).action(async (id: string, opts: JsonOption, cmd: Command) => {
    const rangeId = positiveInt(id, 'range id')
    const host = await reachableHost(cmd)
    await (await actions()).rangeMerge(host.address, rangeId, json(opts))
  })

  withHost(range.command('move').description("move range N's replica from store S to store T in one planned joint-consensus change, run by the placement driver, which leaves the range alone meanwhile; refused when a step would lose its quorum with one more node down"))
    .requiredOption('--range <id>', 'range id')
    .requiredOption('--from <store>', 'store whose replica goes')
    .requiredOption('--to <store>', 'store that gets the replica')
    .option('--dry-run', 'print the plan — each step, the quorum it needs, whether that quorum is live now — and change nothing (exit code 1 when it would be refused)')
    .action(async (opts: JsonOption & { range: string; from: string; to: string; dryRun?: boolean }, cmd: Command) => {
      const move = { rangeId: positiveInt(opts.range, '--range'), from: positiveInt(opts.from, '--from'), to: positiveInt(opts.to, '--to') }
      const host = await reachableHost(cmd)
      await (await actions()).rangeMove(host.address, move, { dryRun: opts.dryRun === true, json: json(opts) })
    })

  const member = program.command('member').description("change a range's replicas (joint consensus) and leadership")
  const memberAction = (op: 'add' | 'remove' | 'transferLeader') => async (opts: JsonOption & { range: string; store: string; learner?: boolean }, cmd: Command) => {
    const change = { rangeId: positiveInt(opts.range, '--range'), storeId: positiveInt(opts.store, '--store'), op: op === 'add' && opts.learner ? ('addLearner' as const) : op }
    const host = await reachableHost(cmd)
    await (await actions()).memberChange(host.address, change, json(opts))
  }
  withHost(member.command('add').description('add a replica on a store: a learner caught up by snapshot, then a voter'))
    .requiredOption('--range <id>', 'range id')
    .requiredOption('--store <id>', 'store that gets the replica')
    .option('--learner', 'leave it a learner (it does not vote)')
    .action(memberAction('add'))
  withHost(member.command('remove').description('remove the replica on a store (leadership is handed over first)'))
    .requiredOption('--range <id>', 'range id')
    .requiredOption('--store <id>', 'store whose replica goes')
    .action(memberAction('remove'))
  withHost(member.command('transfer-leader').description('hand leadership of a range to the voter on a store'))
    .requiredOption('--range <id>', 'range id')
    .requiredOption('--store <id>', 'store that takes over')
    .action(memberAction('transferLeader'))

  const node = program.command('node').description('list and decommission stores')
  withHost(node.command('list').description('every store with its liveness and replica and leader counts')).action(async (opts: JsonOption, cmd: Command) => {
    const host = await reachableHost(cmd)
    await (await actions()).nodeList(host.address, json(opts))
  })
  withHost(node.command('decommission <store>').description('drain every replica off a store; with --wait, then mark it removed so it can leave'))
    .option('--wait', 'wait until the store holds no replica, then mark it removed')
    .action(async (store: string, opts: JsonOption & { wait?: boolean }, cmd: Command) => {
      const storeId = positiveInt(store, 'store')
      const host = await reachableHost(cmd)
      await (await actions()).nodeDecommission(host.address, storeId, { wait: opts.wait === true, json: json(opts) })
    })
}

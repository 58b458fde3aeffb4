import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CorruptionError, RaftErrorCode } from '../core/errors.js'
import { SeededRng } from '../core/rng.js'
import { MemoryStorage } from '../core/storage.js'
import type { Entry } from '../core/types.js'
import { MemoryNetwork } from '../transport/memory-transport.js'
import type { RaftFrame, Transport } from '../transport/transport.js'
import { MemoryLogWriter, RecordingStateMachine } from '../testing/memory-log.js'
import { MultiRaft } from './multi-raft.js'
import type { MultiRaftOptions } from './multi-raft.js'
import type { LogUpdate } from './types.js'

const TICK_MS = 10

interface Node {
  id: number
  host: MultiRaft
  log: FailingLogWriter
  /** This node's outgoing frames pass through it (tests drop messages with it). */
  transport: FilteringTransport
  machines: Map<number, GatedStateMachine>
}

/** A gate that calls wait on while it is shut; release() opens it. */
class Gate {
  private opened: Promise<void> | undefined
  private open: (() => void) | undefined
  /** Calls waiting at the gate now. */
  waiting = 0

  shut(): void {
    this.opened ??= new Promise<void>((r) => (this.open = r))
  }

  release(): void {
    this.open?.()
    this.opened = this.open = undefined
  }

  async pass(): Promise<void> {
    if (!this.opened) return
    this.waiting++
    await this.opened
    this.waiting--
  }
}

/**
 * A MemoryLogWriter whose writes throw once `failure` is set, like a dying disk, and wait
 * (not yet durable) while `gate` is shut; `held` lists the updates of waiting writes.
 */
class FailingLogWriter extends MemoryLogWriter {
  failure: Error | undefined
  readonly gate = new Gate()
  readonly held: LogUpdate[] = []

  override async write(updates: readonly LogUpdate[], sync: boolean): Promise<void> {
    if (this.failure) throw this.failure
    this.held.push(...updates)
    await this.gate.pass()
    this.held.length = 0
    return super.write(updates, sync)
  }
}

/** A RecordingStateMachine whose applies wait while `gate` is shut. */
class GatedStateMachine extends RecordingStateMachine {
  readonly gate = new Gate()

  override async apply(entries: readonly Entry[]): Promise<void> {
    await this.gate.pass()
    return super.apply(entries)
  }
}

/**
 * A transport that drops the outgoing group messages `drop` selects and the heartbeats to the
 * nodes `dropHeartbeats` selects, without telling the sender, and passes everything else on.
 */
class FilteringTransport implements Transport {
  drop: (msg: RaftFrame['messages'][number], to: number) => boolean = () => false
  dropHeartbeats: (to: number) => boolean = () => false

  constructor(private readonly inner: Transport) {}

  start(...args: Parameters<Transport['start']>): Promise<void> {
    return this.inner.start(...args)
  }

  send(frame: RaftFrame): void {
    const heartbeats = this.dropHeartbeats(frame.to) ? [] : frame.heartbeats
    this.inner.send({ ...frame, messages: frame.messages.filter((m) => !this.drop(m, frame.to)), heartbeats })
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}

/** Starts `nodeIds` hosting `groups` groups (ids 1..groups), replica id = node id. */
async function cluster(network: MemoryNetwork, nodeIds: number[], groups: number, options: Partial<MultiRaftOptions> = {}, awaitLeaderOn?: (group: number) => number): Promise<Node[]> {
  const peers = new Map(nodeIds.map((id) => [id, id]))
  const nodes: Node[] = []
  for (const id of nodeIds) {
    const log = new FailingLogWriter()
    const transport = new FilteringTransport(network.transport(id))
    const host = new MultiRaft({ nodeId: id, transport, logWriter: log, rng: new SeededRng(id), tickMs: TICK_MS, sync: false, ...options })
    const machines = new Map<number, GatedStateMachine>()
    for (let g = 1; g <= groups; g++) {
      const sm = new GatedStateMachine()
      machines.set(g, sm)
      host.addGroup({ groupId: g, replicaId: id, peers, storage: log.storage(g, nodeIds), stateMachine: sm, applied: 1, awaitLeaderOn: awaitLeaderOn?.(g) })
    }
    await host.start()
    nodes.push({ id, host, log, transport, machines })
  }
  return nodes
}

async function stopAll(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.host.stop()))
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** How a promise settles, or 'pending' if it has not within `timeoutMs` (generous: only a hang hits it). */
async function outcome<T>(p: Promise<T>, timeoutMs = 5_000): Promise<{ value: T } | { error: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined
  const pending = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), timeoutMs)))
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), pending])
  } finally {
    clearTimeout(timer)
  }
}

function assertRejectedWith(o: Awaited<ReturnType<typeof outcome>>, code: string, what: string): void {
  assert.ok(o !== 'pending', `${what} never settled`)
  assert.ok('error' in o, `${what} resolved instead of failing`)
  assert.equal((o.error as { code?: unknown }).code, code, `${what} failed with ${String(o.error)}`)
}

const allQuiesced = (nodes: Node[]) => () => nodes.every((n) => n.host.groupIds().every((g) => n.host.isQuiesced(g)))

function leaderNode(nodes: Node[], group: number): Node | undefined {
  return nodes.find((n) => n.host.hasGroup(group) && n.host.status(group).state === 'leader')
}

test('many groups elect leaders, replicate and apply; one log write serves many groups', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 20)
  try {
    for (let g = 1; g <= 20; g++) nodes[0]!.host.campaign(g)
    await waitFor('leaders', () => [...Array(20).keys()].every((i) => leaderNode(nodes, i + 1) !== undefined))
    const writesBefore = nodes[0]!.log.writes
    const values = (g: number) => [0, 1, 2, 3, 4].map((i) => `g${g}-v${i}`)
    for (let g = 1; g <= 20; g++) {
      const leader = leaderNode(nodes, g)!
      for (const v of values(g)) leader.host.propose(g, new TextEncoder().encode(v))
    }
    // A proposal can be lost to a leader change (CI machines are slow to tick): propose again
    // what the group has not applied after a while, as a client would.
    const applied = (g: number) => new Set(nodes.flatMap((n) => n.machines.get(g)!.applied))
    const everywhere = () =>
      nodes.every((n) => [...n.machines].every(([g, sm]) => values(g).every((v) => sm.applied.includes(v)) && sm.applied.length === nodes[0]!.machines.get(g)!.applied.length))
    for (const deadline = Date.now() + 20_000; !everywhere(); ) {
      assert.ok(Date.now() < deadline, 'every value applied on every node')
      await sleep(500)
      for (let g = 1; g <= 20; g++) {
        const leader = leaderNode(nodes, g)
        for (const v of values(g)) if (leader && !applied(g).has(v)) leader.host.propose(g, new TextEncoder().encode(v))
      }
    }
    // Every node applied each group's entries in the same order.
    for (let g = 1; g <= 20; g++) for (const n of nodes) assert.deepEqual(n.machines.get(g)!.applied, nodes[0]!.machines.get(g)!.applied)
    assert.ok(nodes[0]!.log.writes - writesBefore < 100, `100 proposals over 20 groups took ${nodes[0]!.log.writes - writesBefore} log writes`)
  } finally {
    await stopAll(nodes)
  }
})

test('idle groups quiesce; heartbeat frames between two nodes do not grow with the number of groups', async () => {
  const framesPerTick = async (groups: number): Promise<number> => {
    const network = new MemoryNetwork()
    const nodes = await cluster(network, [1, 2, 3], groups)
    try {
      for (let g = 1; g <= groups; g++) nodes[0]!.host.campaign(g)
      await waitFor('all quiesced', () => nodes.every((n) => n.host.groupIds().every((g) => n.host.isQuiesced(g))))
      const before = network.framesSent.get('1->2') ?? 0
      const ticksBefore = nodes.map((n) => n.host.metrics.groupTicks)
      const visitsBefore = nodes.map((n) => n.host.metrics.tickVisits)
      await sleep(30 * TICK_MS)
      assert.deepEqual(nodes.map((n) => n.host.metrics.groupTicks), ticksBefore, 'quiesced groups are not ticked')
      // Not even looked at, on the leader's node or the followers' (a follower told to quiesce
      // leaves the tick's set at its next tick): a tick costs nothing per quiesced group.
      const visits = nodes.map((n, i) => n.host.metrics.tickVisits - visitsBefore[i]!)
      assert.ok(visits.every((v) => v <= groups), `ticks visited quiesced groups over 30 ticks: ${visits.join(', ')} visits with ${groups} groups`)
      return ((network.framesSent.get('1->2') ?? 0) - before) / 30
    } finally {
      await stopAll(nodes)
    }
  }
  const one = await framesPerTick(1)
  const many = await framesPerTick(300)
  assert.ok(many <= 2, `${many} frames per tick from node 1 to node 2 with 300 groups`)
  assert.ok(many <= one + 1, `frames per tick grew with groups: ${one} for 1 group, ${many} for 300`)
})

test('a loop pass takes the work of at most maxGroupsPerPass groups: 60 groups electing at once are written in several passes', async () => {
  const network = new MemoryNetwork()
  const groups = 60
  const maxGroupsPerPass = 16
  const nodes = await cluster(network, [1, 2, 3], groups, { livenessTimeoutMs: 600_000, maxGroupsPerPass }, () => 1)
  try {
    // Groups per log write, on every node.
    const sizes: number[] = []
    for (const n of nodes) {
      const write = n.log.write.bind(n.log)
      n.log.write = (updates, sync) => {
        sizes.push(updates.length)
        return write(updates, sync)
      }
    }
    for (let g = 1; g <= groups; g++) nodes[0]!.host.campaign(g)
    await waitFor('leaders', () => [...Array(groups).keys()].every((i) => leaderNode(nodes, i + 1) === nodes[0]))
    assert.ok(Math.max(...sizes) <= maxGroupsPerPass, `a log write carried ${Math.max(...sizes)} groups' updates`)
  } finally {
    await stopAll(nodes)
  }
})

test('while more than a pass of work waits for the loop, ticks wait too: no group advances its Raft time, keepalives still go out', async () => {
  const network = new MemoryNetwork()
  const groups = 40
  const nodes = await cluster(network, [1, 2, 3], groups, { livenessTimeoutMs: 600_000, keepaliveMs: TICK_MS, maxGroupsPerPass: 8 }, () => 1)
  const n1 = nodes[0]!
  try {
    for (let g = 1; g <= groups; g++) n1.host.campaign(g)
    await waitFor('leaders', () => [...Array(groups).keys()].every((i) => leaderNode(nodes, i + 1) === n1))
    await waitFor('all quiesced', allQuiesced(nodes))
    // Node 1's next write waits at the gate, with the other groups' work behind it.
    n1.log.gate.shut()
    for (let g = 1; g <= groups; g++) n1.host.propose(g, new TextEncoder().encode(`v${g}`))
    await waitFor('a write waiting', () => n1.log.gate.waiting > 0)
    const ticks = n1.host.metrics.groupTicks
    const held = n1.host.metrics.ticksHeld
    const frames = network.framesSent.get('1->2') ?? 0
    await sleep(20 * TICK_MS)
    assert.equal(n1.host.metrics.groupTicks, ticks, 'groups ticked with a backlog waiting')
    assert.ok(n1.host.metrics.ticksHeld > held, 'no tick was held')
    assert.ok((network.framesSent.get('1->2') ?? 0) > frames, 'no keepalive went out')
    n1.log.gate.release()
    await waitFor('every proposal applied everywhere', () => nodes.every((n) => [...n.machines].every(([g, sm]) => sm.applied.includes(`v${g}`))))
  } finally {
    n1.log.gate.release()
    await stopAll(nodes)
  }
})

test('new groups awaiting a designated leader neither tick nor campaign until it does, and it leads them all', async () => {
  const network = new MemoryNetwork()
  // A liveness window far beyond the test: the waiting replicas must not wake on their own (its default, 2 s, can pass while a loaded machine starts the cluster).
  // An election timeout as far: the designated node's own replicas tick, and on a loaded machine
  // their 10–20 ticks passed before the check below — its vote requests woke the others, which
  // then ticked as they should (seen: ticked 5). It campaigns below, when told to.
  const nodes = await cluster(network, [1, 2, 3], 30, { livenessTimeoutMs: 600_000, electionTick: 100_000 }, () => 1)
  try {
    await sleep(10 * TICK_MS)
    assert.deepEqual(nodes.slice(1).map((n) => n.host.metrics.groupTicks), [0, 0], 'the waiting replicas ticked')
    assert.ok(nodes.slice(1).every((n) => n.host.groupIds().every((g) => n.host.isQuiesced(g))))
    for (let g = 1; g <= 30; g++) nodes[0]!.host.campaign(g)
    // Every group led by the designated node: the others never ran against it.
    await waitFor('leaders', () => [...Array(30).keys()].every((i) => leaderNode(nodes, i + 1) === nodes[0]))
  } finally {
    await stopAll(nodes)
  }
})

test('replicas awaiting a designated leader whose node never shows up campaign after the liveness window', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 5, { livenessTimeoutMs: 20 * TICK_MS }, () => 3)
  try {
    await nodes[2]!.host.stop()
    const rest = nodes.slice(0, 2)
    await waitFor('leaders among the other two', () => [1, 2, 3, 4, 5].every((g) => leaderNode(rest, g) !== undefined))
  } finally {
    await stopAll(nodes)
  }
})

test('replicas awaiting a designated leader that is up but never campaigns elect one after the liveness window', async () => {
  const network = new MemoryNetwork()
  // Node 1 is designated everywhere but never campaigns, and its own replicas never time out.
  const nodes = await cluster(network, [1, 2, 3], 3, { livenessTimeoutMs: 20 * TICK_MS }, () => 1)
  try {
    nodes[0]!.transport.drop = (m) => m.msg.type === 'MsgPreVote' || m.msg.type === 'MsgVote'
    await waitFor('leaders on node 2 or 3', () => [1, 2, 3].every((g) => { const l = leaderNode(nodes, g); return l !== undefined && l !== nodes[0] }))
  } finally {
    await stopAll(nodes)
  }
})

test('a proposal wakes a quiesced group; a quiesced follower notices its leader node died', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 5)
  try {
    for (let g = 1; g <= 5; g++) nodes[0]!.host.campaign(g)
    await waitFor('quiesced', () => nodes.every((n) => n.host.groupIds().every((g) => n.host.isQuiesced(g))))
    nodes[0]!.host.propose(3, new TextEncoder().encode('wake'))
    await waitFor('woken write applied', () => nodes.every((n) => n.machines.get(3)!.applied.includes('wake')))

    await waitFor('quiesced again', () => nodes.every((n) => n.host.groupIds().every((g) => n.host.isQuiesced(g))))
    await nodes[0]!.host.stop()
    const rest = nodes.slice(1)
    await waitFor('new leaders', () => [1, 2, 3, 4, 5].every((g) => leaderNode(rest, g) !== undefined))
    for (let g = 1; g <= 5; g++) leaderNode(rest, g)!.host.propose(g, new TextEncoder().encode('after'))
    await waitFor('writes after failover', () => rest.every((n) => [...n.machines.values()].every((sm) => sm.applied.includes('after'))))
  } finally {
    await stopAll(nodes)
  }
})

test('readIndex answers at or past every write acknowledged before it, on leader and follower', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1)
  try {
    nodes[0]!.host.campaign(1)
    await waitFor('leader', () => leaderNode(nodes, 1) !== undefined)
    const leader = leaderNode(nodes, 1)!
    leader.host.propose(1, new TextEncoder().encode('x'))
    await waitFor('applied', () => leader.machines.get(1)!.applied.includes('x'))
    const committed = leader.host.status(1).commit
    const atLeader = await leader.host.readIndex(1)
    assert.ok(atLeader >= committed)
    const follower = nodes.find((n) => n !== leader)!
    const atFollower = await follower.host.readIndex(1)
    assert.ok(atFollower >= committed)
    await follower.host.waitApplied(1, atFollower)
    assert.ok(follower.machines.get(1)!.applied.includes('x'), 'a follower that waits for the read index sees the write')
  } finally {
    await stopAll(nodes)
  }
})

test('stop() fails pending reads and applied-waiters with ERR_STOPPED; later calls fail at once', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1)
  try {
    nodes[0]!.host.campaign(1)
    await waitFor('leader', () => leaderNode(nodes, 1) !== undefined)
    const follower = nodes.find((n) => n !== leaderNode(nodes, 1))!
    network.partition([follower.id], nodes.filter((n) => n !== follower).map((n) => n.id))
    const read = follower.host.readIndex(1) // forwarded into the partition: no answer comes
    const applied = follower.host.waitApplied(1, 1_000)
    await follower.host.stop()
    assertRejectedWith(await outcome(read), RaftErrorCode.STOPPED, 'a pending readIndex')
    assertRejectedWith(await outcome(applied), RaftErrorCode.STOPPED, 'a pending waitApplied')

    assertRejectedWith(await outcome(follower.host.readIndex(1)), RaftErrorCode.STOPPED, 'readIndex after stop')
    assertRejectedWith(await outcome(follower.host.waitApplied(1, 1_000)), RaftErrorCode.STOPPED, 'waitApplied after stop')
    assert.throws(() => follower.host.propose(1, new TextEncoder().encode('late')), (e: { code?: unknown }) => e.code === RaftErrorCode.STOPPED)
  } finally {
    await stopAll(nodes)
  }
})

test('a failed log write stops the host: pending reads and applied-waiters fail with ERR_STOPPED', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1)
  try {
    nodes[0]!.host.campaign(1)
    await waitFor('leader', () => leaderNode(nodes, 1) !== undefined)
    const leader = leaderNode(nodes, 1)!
    const diskError = new Error('disk on fire')
    leader.log.failure = diskError
    const applied = leader.host.waitApplied(1, leader.host.status(1).commit + 1)
    const read = leader.host.readIndex(1)
    leader.host.propose(1, new TextEncoder().encode('never durable')) // its write throws
    assertRejectedWith(await outcome(applied), RaftErrorCode.STOPPED, 'a pending waitApplied')
    // The read's heartbeat round needs another loop iteration, which never comes.
    assertRejectedWith(await outcome(read), RaftErrorCode.STOPPED, 'a pending readIndex')
    const late = await outcome(leader.host.readIndex(1))
    assertRejectedWith(late, RaftErrorCode.STOPPED, 'readIndex after the loop failed')
    assert.equal(((late as { error: { cause?: unknown } }).error).cause, diskError, 'the error names what stopped the host')
    assert.throws(() => leader.host.propose(1, new TextEncoder().encode('late')), (e: { code?: unknown }) => e.code === RaftErrorCode.STOPPED)
  } finally {
    await stopAll(nodes)
  }
})

/** Elects a leader of group 1 among `nodes` and waits until the group quiesces; its leader and a follower. */
async function quiescedUnderLeader(nodes: Node[]): Promise<{ leader: Node; follower: Node }> {
  nodes[0]!.host.campaign(1)
  await waitFor('quiesced', allQuiesced(nodes))
  const leader = leaderNode(nodes, 1)!
  return { leader, follower: nodes.find((n) => n !== leader)! }
}

test('a quiesce notice does not freeze a follower\'s pending read: it still times out', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1)
  try {
    const { leader, follower } = await quiescedUnderLeader(nodes)
    // The follower's forwarded ReadIndex is lost; the leader, knowing nothing of it, quiesces.
    follower.transport.drop = ({ msg }) => msg.type === 'MsgReadIndex'
    leader.host.propose(1, new TextEncoder().encode('wake'))
    const read = follower.host.readIndex(1)
    await waitFor('quiesced again', allQuiesced(nodes))
    assertRejectedWith(await outcome(read), RaftErrorCode.PROPOSAL_DROPPED, 'a read lost on its way to the leader')
  } finally {
    await stopAll(nodes)
  }
})

test('a follower that missed the commit index takes it from the quiesce notice, applies, and quiesces', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1)
  try {
    const { leader, follower } = await quiescedUnderLeader(nodes)
    // What would tell the follower the new commit index is lost, and the leader never hears of
    // it: the empty MsgApp sent once the entry commits, and the heartbeats.
    leader.transport.drop = ({ msg }, to) => to === follower.id && msg.type === 'MsgApp' && msg.entries.length === 0
    leader.transport.dropHeartbeats = (to) => to === follower.id
    leader.host.propose(1, new TextEncoder().encode('late'))
    await waitFor('the leader applied the write and quiesced', () => leader.machines.get(1)!.applied.includes('late') && leader.host.isQuiesced(1))
    leader.transport.drop = () => false
    leader.transport.dropHeartbeats = () => false
    // Before, the follower quiesced on the notice, holding the entry it did not know committed.
    await waitFor('the follower applied the write', () => follower.machines.get(1)!.applied.includes('late'))
    await waitFor('quiesced again', allQuiesced(nodes))
    assert.equal(follower.host.status(1).commit, leader.host.status(1).commit)
  } finally {
    await stopAll(nodes)
  }
})

test('lease-based reads: a leader woken from quiescence confirms its leadership before serving a read', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1, { readOnlyOption: 'lease-based', livenessTimeoutMs: 10 * TICK_MS })
  try {
    nodes[0]!.host.campaign(1)
    await waitFor('leader', () => leaderNode(nodes, 1) === nodes[0])
    await waitFor('quiesced', allQuiesced(nodes))
    const [old, ...rest] = nodes as [Node, ...Node[]]
    // The quiesced leader's clock stands still; the others notice its node went silent and elect another.
    network.partition([old.id], rest.map((n) => n.id))
    await waitFor('a new leader', () => leaderNode(rest, 1) !== undefined)
    const newLeader = leaderNode(rest, 1)!
    newLeader.host.propose(1, new TextEncoder().encode('acknowledged'))
    await waitFor('write applied', () => rest.every((n) => n.machines.get(1)!.applied.includes('acknowledged')))
    const acknowledgedAt = newLeader.host.status(1).commit
    assert.equal(old.host.status(1).state, 'leader', 'the old leader has not noticed yet')

    const r = await outcome(old.host.readIndex(1))
    assert.ok(r !== 'pending', 'the read never settled')
    if ('value' in r) assert.ok(r.value >= acknowledgedAt, `stale lease read at ${r.value}, before the write acknowledged at ${acknowledgedAt}`)
  } finally {
    await stopAll(nodes)
  }
})

/** A group's MemoryStorage whose reads of `damaged` entries fail with CorruptionError, as a checksummed log's do. */
class DamageableStorage extends MemoryStorage {
  readonly damaged = new Set<number>()
  /** Answer term() for damaged entries anyway, as a log that caches terms would: only entries() fails. */
  termsCached = false

  constructor(voters: number[]) {
    super()
    this.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } })
    this.setHardState({ term: 1, vote: 0, commit: 1 })
  }

  override entries(lo: number, hi: number, maxBytes: number): Entry[] {
    for (let i = lo; i < hi; i++) if (this.damaged.has(i)) throw new CorruptionError(i, `entry ${i} fails its checksum`)
    return super.entries(lo, hi, maxBytes)
  }

  override term(i: number): number {
    if (this.damaged.has(i) && !this.termsCached) throw new CorruptionError(i, `entry ${i} fails its checksum`)
    return super.term(i)
  }
}

test('a group whose storage finds its log damaged stops alone, wherever the core reads it; every other group on the node goes on', async () => {
  const network = new MemoryNetwork()
  const ids = [1, 2, 3]
  const peers = new Map(ids.map((id) => [id, id]))
  /** Groups the hosts stopped, as "node/group/replica@index". */
  const reports: string[] = []
  const nodes: Node[] = []
  const storages = new Map<string, DamageableStorage>()
  const host = (n: Node, groupId: number, voters: number[]) => {
    const storage = new DamageableStorage(voters)
    n.log.storages.set(groupId, storage)
    storages.set(`${n.id}/${groupId}`, storage)
    const sm = new GatedStateMachine()
    n.machines.set(groupId, sm)
    n.host.addGroup({ groupId, replicaId: n.id, peers: new Map(voters.map((v) => [v, v])), storage, stateMachine: sm, applied: 1 })
  }
  for (const id of ids) {
    const log = new FailingLogWriter()
    const transport = new FilteringTransport(network.transport(id))
    const onGroupDamaged = (groupId: number, replicaId: number, err: CorruptionError) => reports.push(`${id}/${groupId}/${replicaId}@${err.index}`)
    const n: Node = { id, host: new MultiRaft({ nodeId: id, transport, logWriter: log, rng: new SeededRng(id), tickMs: TICK_MS, sync: false, onGroupDamaged }), log, transport, machines: new Map() }
    for (const g of [1, 2, 3]) host(n, g, ids)
    await n.host.start()
    nodes.push(n)
  }
  const [one] = nodes as [Node]
  // Groups 4 and 5 have one voter, on node 1: the leader's own reads, with no peer involved.
  host(one, 4, [1])
  host(one, 5, [1])
  const enc = (v: string) => new TextEncoder().encode(v)
  const appliedOn = (n: Node, g: number, v: string) => n.machines.get(g)!.applied.includes(v)
  const lastIndex = (n: Node, g: number) => storages.get(`${n.id}/${g}`)!.lastIndex()
  try {
    for (const g of [1, 2, 3, 4, 5]) one.host.campaign(g)
    await waitFor('leaders', () => [1, 2, 3].every((g) => leaderNode(nodes, g) !== undefined) && [4, 5].every((g) => one.host.status(g).state === 'leader'))
    for (const g of [1, 2, 3]) leaderNode(nodes, g)!.host.propose(g, enc('a'))
    for (const g of [4, 5]) one.host.propose(g, enc('a'))
    await waitFor('a applied everywhere', () => nodes.every((n) => [...n.machines.keys()].every((g) => appliedOn(n, g, 'a'))))

    // A follower checks the entry before a leader's next append against its own last entry:
    // damaged, its group stops (a step); the frame's other messages are still delivered.
    const follower = nodes.find((n) => n !== leaderNode(nodes, 1))!
    const followerLast = lastIndex(follower, 1)
    storages.get(`${follower.id}/1`)!.damaged.add(followerLast)
    const waiting = outcome(follower.host.waitApplied(1, followerLast + 100), 20_000)
    for (const g of [1, 3]) leaderNode(nodes, g)!.host.propose(g, enc('b'))
    await waitFor('the follower stopped group 1', () => reports.includes(`${follower.id}/1/${follower.id}@${followerLast}`))
    assert.equal(follower.host.hasGroup(1), false)
    assertRejectedWith(await waiting, RaftErrorCode.PROPOSAL_DROPPED, 'a waiter of the stopped group')
    await waitFor('group 1 commits on the other two; group 3 on all three', () =>
      nodes.every((n) => (n === follower || appliedOn(n, 1, 'b')) && appliedOn(n, 3, 'b')))

    // A leader reads its last entry to send a new one to its followers (in ready()): the
    // group stops before anything of the proposal leaves the node; another leader takes over.
    const leader2 = leaderNode(nodes, 2)!
    storages.get(`${leader2.id}/2`)!.damaged.add(lastIndex(leader2, 2))
    leader2.host.propose(2, enc('lost'))
    await waitFor('the leader stopped group 2', () => reports.some((r) => r.startsWith(`${leader2.id}/2/`)))
    const rest = nodes.filter((n) => n !== leader2)
    await waitFor('a new leader of group 2', () => leaderNode(rest, 2) !== undefined)
    let written = false
    for (const deadline = Date.now() + 20_000; !written; ) {
      assert.ok(Date.now() < deadline, 'group 2 commits without its old leader')
      try {
        leaderNode(rest, 2)?.host.propose(2, enc('c'))
      } catch {
        // leadership is still moving: propose again
      }
      await sleep(100)
      written = rest.every((n) => appliedOn(n, 2, 'c'))
    }
    assert.ok(rest.every((n) => !appliedOn(n, 2, 'lost')), 'the proposal never left the stopped leader')

    // Committed entries read for apply (ready) and the commit check after a write (advance).
    const four = storages.get('1/4')!
    four.termsCached = true
    four.damaged.add(lastIndex(one, 4) + 1)
    storages.get('1/5')!.damaged.add(lastIndex(one, 5) + 1)
    one.host.propose(4, enc('x'))
    one.host.propose(5, enc('x'))
    await waitFor('groups 4 and 5 stopped', () => !one.host.hasGroup(4) && !one.host.hasGroup(5))
    assert.ok(!appliedOn(one, 4, 'x') && !appliedOn(one, 5, 'x'), 'nothing damaged was applied')
    assert.throws(() => one.host.propose(4, enc('y')), (e: { code?: unknown }) => e.code === RaftErrorCode.CONFIG_INVALID)

    // Node 1's host still runs its other groups.
    const l3 = leaderNode(nodes, 3)!
    l3.host.propose(3, enc('after'))
    await waitFor('group 3 still commits everywhere', () => nodes.every((n) => appliedOn(n, 3, 'after')))
    assert.deepEqual(
      reports.map((r) => r.split('@')[0]).sort(),
      [`${follower.id}/1/${follower.id}`, `${leader2.id}/2/${leader2.id}`, '1/4/1', '1/5/1'].sort(),
      'each damaged group is reported once',
    )
  } finally {
    await stopAll(nodes)
  }
})

/** A frame from `from` to node 1 with one heartbeat for group 77, which no node hosts: node 1 steps it into onUnknownGroup. */
function probe(from: number): RaftFrame {
  return { from, to: 1, messages: [], heartbeats: [{ groupId: 77, from: 5, to: 1, term: 9, commit: 0 }], heartbeatResponses: [], quiesce: [] }
}

const NO_HANDLER = { onFrame: () => {}, onUnreachable: () => {}, onSnapshotStatus: () => {} }

test('frames from sender ids that hold no replica here leave no liveness record; their messages are still stepped', async () => {
  const network = new MemoryNetwork()
  let unknown = 0
  const nodes = await cluster(network, [1, 2, 3], 2, { onUnknownGroup: () => unknown++ })
  const rogue = network.transport(999)
  try {
    await rogue.start(NO_HANDLER)
    nodes[0]!.host.campaign(1)
    await waitFor('a leader', () => leaderNode(nodes, 1) !== undefined)
    const host = nodes[0]!.host
    await waitFor('both peers heard', () => host.metrics.heardNodes === 2)
    for (let id = 10_000; id < 20_000; id++) rogue.send(probe(id))
    await waitFor('the forged frames stepped', () => unknown === 10_000)
    assert.equal(host.metrics.heardNodes, 2)
    // A node this one does not know of yet (the leader a membership change just added) is
    // heard all the same: its heartbeat at a higher term makes this replica follow it.
    const term = host.status(1).term + 5
    rogue.send({ ...probe(4), heartbeats: [{ groupId: 1, from: 4, to: 1, term, commit: 0 }] })
    await waitFor('the heartbeat stepped', () => host.status(1).term >= term)
    assert.equal(host.metrics.heardNodes, 2)
  } finally {
    await rogue.close()
    await stopAll(nodes)
  }
})

test('a node is tracked from when a group here lists it (membership change, new replica) until none does', async () => {
  const network = new MemoryNetwork()
  let unknown = 0
  const nodes = await cluster(network, [1, 2, 3], 1, { onUnknownGroup: () => unknown++ })
  const node4 = network.transport(4)
  const node5 = network.transport(5)
  try {
    for (const t of [node4, node5]) await t.start(NO_HANDLER)
    const host = nodes[0]!.host
    await waitFor('both peers heard', () => host.metrics.heardNodes === 2)
    node4.send(probe(4))
    node5.send(probe(5))
    await waitFor('their frames stepped', () => unknown === 2)
    assert.equal(host.metrics.heardNodes, 2)
    // Node 4 joins group 1 (a membership change applied); node 5 holds the other replica of
    // group 8, created here empty to wait for its snapshot.
    host.setPeers(1, new Map([[1, 1], [2, 2], [3, 3], [4, 4]]))
    host.addGroup({ groupId: 8, replicaId: 2, peers: new Map([[1, 5], [2, 1]]), storage: nodes[0]!.log.storage(8), stateMachine: new RecordingStateMachine(), applied: 0 })
    node4.send(probe(4))
    node5.send(probe(5))
    await waitFor('their frames stepped', () => unknown === 4)
    assert.equal(host.metrics.heardNodes, 4)
    host.removeGroup(8)
    assert.equal(host.metrics.heardNodes, 3)
    host.setPeers(1, new Map([[1, 1], [2, 2], [3, 3]]))
    assert.equal(host.metrics.heardNodes, 2)
  } finally {
    await node4.close()
    await node5.close()
    await stopAll(nodes)
  }
})

const enc = (v: string) => new TextEncoder().encode(v)

/** Elects node 1 in every group and waits until every node applied everything. */
async function settle(nodes: Node[], groups: number): Promise<void> {
  for (let g = 1; g <= groups; g++) nodes[0]!.host.campaign(g)
  await waitFor('leaders', () => [...Array(groups).keys()].every((i) => leaderNode(nodes, i + 1) === nodes[0]))
  // The entry of the leader's term (index 2) is committed, and everything committed applied everywhere.
  const caughtUp = () =>
    nodes.every((n) =>
      n.host.groupIds().every((g) => {
        const commit = nodes[0]!.host.status(g).commit
        return commit >= 2 && n.machines.get(g)!.appliedIndex === commit
      }),
    )
  await waitFor('every node applied everything', caughtUp)
}

test('the loop is pipelined: an apply under way holds up neither the next log write nor other groups; a group applies in order', async () => {
  const network = new MemoryNetwork()
  const [node] = await cluster(network, [1], 2)
  try {
    await settle([node!], 2)
    const slow = node!.machines.get(1)!
    slow.gate.shut()
    node!.host.propose(1, enc('a1'))
    await waitFor('a1 in its apply', () => slow.gate.waiting > 0)
    node!.host.propose(1, enc('a2'))
    node!.host.propose(2, enc('b1'))
    await waitFor('b1 applied while group 1 applies', () => node!.machines.get(2)!.applied.includes('b1'))
    await waitFor('a2 written and committed while a1 is being applied', () => node!.log.storage(1).lastIndex() === slow.appliedIndex + 2 && node!.host.status(1).commit === slow.appliedIndex + 2)
    assert.deepEqual(slow.applied, [])
    assert.ok(node!.host.metrics.overlappedWrites > 0, 'a log write overlapped an apply')
    slow.gate.release()
    await waitFor('group 1 applied both', () => slow.applied.length === 2)
    assert.deepEqual(slow.applied, ['a1', 'a2'])
  } finally {
    node!.machines.get(1)!.gate.release()
    await stopAll([node!])
  }
})

test('a follower acknowledges entries only once its write of them is durable; its slow apply holds up neither its acks nor commits', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1)
  const [leader, follower] = [nodes[0]!, nodes[1]!]
  try {
    await settle(nodes, 1)
    const acks: number[] = []
    follower.transport.drop = ({ msg }) => {
      if (msg.type === 'MsgAppResp' && !msg.reject) acks.push(msg.index)
      return false
    }
    // Only the follower can make a quorum with the leader now.
    network.partition([3], [1, 2])
    follower.log.gate.shut()
    leader.host.propose(1, enc('x'))
    const index = leader.log.storage(1).lastIndex() + 1
    await waitFor('the follower writing x', () => follower.log.held.some((u) => u.entries.some((e) => e.index === index)))
    assert.ok(acks.every((i) => i < index), `the follower acknowledged ${Math.max(...acks)} before its write of ${index} was durable`)
    assert.ok(leader.host.status(1).commit < index)
    follower.log.gate.release()
    await waitFor('x committed', () => leader.host.status(1).commit >= index)
    assert.ok(acks.some((i) => i >= index))

    // The follower's apply is held: it still writes and acknowledges what comes next.
    follower.machines.get(1)!.gate.shut()
    for (const v of ['y1', 'y2', 'y3']) {
      leader.host.propose(1, enc(v))
      await waitFor(`${v} applied on the leader`, () => leader.machines.get(1)!.applied.includes(v))
    }
    assert.ok(!follower.machines.get(1)!.applied.includes('y1'))
    follower.machines.get(1)!.gate.release()
    await waitFor('the follower applied in order', () => follower.machines.get(1)!.applied.join() === leader.machines.get(1)!.applied.join())
  } finally {
    network.heal()
    for (const n of nodes) {
      n.log.gate.release()
      for (const sm of n.machines.values()) sm.gate.release()
    }
    await stopAll(nodes)
  }
})

test('a ReadIndex is confirmed while a follower\'s write of new entries is held, and answered while the leader\'s apply is held', async () => {
  const network = new MemoryNetwork()
  const nodes = await cluster(network, [1, 2, 3], 1)
  const [leader, follower] = [nodes[0]!, nodes[1]!]
  try {
    await settle(nodes, 1)
    // Only the follower can make a quorum with the leader now.
    network.partition([3], [1, 2])
    follower.log.gate.shut()
    // One turn: the entry and the read's heartbeat leave in one frame, and the follower takes both in one Ready.
    const index = leader.log.storage(1).lastIndex() + 1
    leader.host.propose(1, enc('x'))
    const read = leader.host.readIndex(1)
    await waitFor('the follower writing x', () => follower.log.held.some((u) => u.entries.some((e) => e.index === index)))
    // A heartbeat response vouches for nothing stored: it does not wait for that write.
    const confirmed = await outcome(read)
    assert.ok(confirmed !== 'pending' && 'value' in confirmed, `the read was not confirmed while the follower's write was held: ${JSON.stringify(confirmed)}`)
    assert.ok(confirmed.value < index, 'x is not committed: the read point is below it')
    assert.ok(leader.host.status(1).commit < index, 'the acknowledgement of x still waits for the follower\'s write')
    follower.log.gate.release()
    await waitFor('x committed and applied on the leader', () => leader.machines.get(1)!.applied.includes('x'))

    // The leader's apply is held: a read point covering the committed entry is still handed out at once (the reader then waits for the apply).
    const machine = leader.machines.get(1)!
    machine.gate.shut()
    leader.host.propose(1, enc('y'))
    const yIndex = index + 1
    await waitFor('y committed, its apply held', () => leader.host.status(1).commit >= yIndex && machine.gate.waiting > 0)
    const point = await outcome(leader.host.readIndex(1))
    assert.ok(point !== 'pending' && 'value' in point, `the read point waited for the apply: ${JSON.stringify(point)}`)
    assert.ok(point.value >= yIndex, 'the read point covers y')
    let waited = true
    const applied = leader.host.waitApplied(1, point.value).then(() => (waited = false))
    await sleep(0)
    assert.ok(waited, 'the reader waits for y\'s apply')
    machine.gate.release()
    await applied
    assert.ok(machine.applied.includes('y'))
  } finally {
    network.heal()
    for (const n of nodes) {
      n.log.gate.release()
      for (const sm of n.machines.values()) sm.gate.release()
    }
    await stopAll(nodes)
  }
})

test("followers whose leader's node is lost elect a new leader at once, not after an election timeout", async () => {
  const network = new MemoryNetwork()
  // A 10-20 s election timeout: only the early campaign can elect within the wait below.
  const nodes = await cluster(network, [1, 2, 3], 3, { electionTick: 1000 })
  try {
    await settle(nodes, 3)
    await waitFor('quiesced', allQuiesced(nodes))
    // Its transport closes: the others' connections to it break, as a killed process's do.
    await nodes[0]!.host.stop()
    const rest = nodes.slice(1)
    await waitFor('new leaders', () => [1, 2, 3].every((g) => leaderNode(rest, g) !== undefined), 5_000)
    for (let g = 1; g <= 3; g++) leaderNode(rest, g)!.host.propose(g, enc('after'))
    await waitFor('writes after failover', () => rest.every((n) => [...n.machines.values()].every((sm) => sm.applied.includes('after'))), 5_000)
  } finally {
    await stopAll(nodes)
  }
})

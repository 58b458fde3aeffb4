// A small deterministic world for driving RawNodes by hand: nodes with in-memory storage,
// a message pool, partitions, and one handler per transcript command. Used by the
// transcript runner and directly by unit tests.

import { decodeConfChange } from '../core/confchange/codec.js'
import type { Config, RaftLogger } from '../core/config.js'
import { RaftError } from '../core/errors.js'
import { RawNode } from '../core/raw-node.js'
import type { Rng } from '../core/rng.js'
import { SeededRng } from '../core/rng.js'
import { MemoryStorage } from '../core/storage.js'
import type { ConfChangeSingle, ConfChangeTransition, ConfChangeV2, ConfState, Entry, Message, MessageType, Snapshot } from '../core/types.js'
import type { Command } from './datadriven.js'
import {
  describeConfState,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
} from './describe.js'

/** An Rng that always answers 0: every randomized election timeout equals electionTick. */
export const zeroRng: Rng = { nextInt: () => 0 }

/** How much of the core's log output goes into the transcript. */
export type LogLevel = 'none' | 'info' | 'debug'

/**
 * MemoryStorage whose snapshot() is taken on demand at the node's applied index, as an
 * application would (the stored snapshot is used only if it is newer).
 */
class EnvStorage extends MemoryStorage {
  /** Set once the node exists. */
  owner: EnvNode | undefined = undefined

  override snapshot(): Snapshot {
    const stored = super.snapshot()
    const n = this.owner
    if (n === undefined || n.appliedIndex <= stored.metadata.index || n.appliedIndex > this.lastIndex()) return stored
    return {
      data: enc.encode(`snap@${n.appliedIndex}`),
      metadata: { index: n.appliedIndex, term: this.term(n.appliedIndex), confState: n.confState },
    }
  }
}

/** One node of the environment with its storage and what it applied. */
export interface EnvNode {
  id: number
  rawNode: RawNode
  storage: EnvStorage
  config: Config
  /** The membership as of the last applied conf change (or snapshot). */
  confState: ConfState
  /** (index, ConfState) after each applied membership change, for snapshots. */
  confHistory: Array<{ index: number; confState: ConfState }>
  /** Data of every normal, non-empty entry applied, in order. */
  applied: Uint8Array[]
  /** Index of the last entry applied. */
  appliedIndex: number
}

/** Options of add-nodes / addNodes. */
export interface AddNodesOptions {
  voters?: number[]
  learners?: number[]
  /** Snapshot index every new node starts from (0: empty log). */
  index?: number
  /** Terms of entries index+1, index+2, ... in the new nodes' logs. */
  logTerms?: number[]
  hardStateTerm?: number
  hardStateVote?: number
  hardStateCommit?: number
  /** Applied to each node's Config. */
  configure?: (c: Config) => void
}

const enc = new TextEncoder()

/** Parses "(1,2,3)" or "1" into numbers. */
function parseList(v: string | undefined): number[] {
  if (v === undefined || v === '' || v === '()') return []
  return v
    .replace(/^\(|\)$/g, '')
    .split(/[,\s]+/)
    .filter((x) => x !== '')
    .map((x) => {
      const n = Number(x)
      if (!Number.isFinite(n)) throw new Error(`not a number: ${x}`)
      return n
    })
}

function parseBool(v: string): boolean {
  if (v === 'true') return true
  if (v === 'false') return false
  throw new Error(`not a boolean: ${v}`)
}

/** Renders an error thrown by the core as a single stable line. */
function describeError(err: unknown): string {
  if (err instanceof RaftError) return `ERROR ${err.code}: ${err.message}`
  throw err
}

/** A set of RawNodes wired through an explicit message pool. */
export class InteractionEnv {
  readonly nodes: EnvNode[] = []
  /** Messages sent and not yet delivered or dropped, in send order. */
  messages: Message[] = []
  /** Nodes cut off from everyone: messages to or from them are dropped on delivery. */
  readonly isolated = new Set<number>()
  logLevel: LogLevel = 'info'
  private out: string[] = []
  private indent = ''

  /** Runs one transcript command and returns its output ("ok" if it printed nothing). */
  handle(cmd: Command): string {
    this.out = []
    this.indent = ''
    const handler = this.handlers[cmd.name]
    if (handler === undefined) throw new Error(`line ${cmd.lineNo}: unknown command ${cmd.name}`)
    handler.call(this, cmd)
    const text = this.out.join('\n')
    return text === '' ? 'ok' : text
  }

  /** The node with this id; throws if there is none. */
  node(id: number): EnvNode {
    const n = this.nodes[id - 1]
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  private print(line: string): void {
    this.out.push(this.indent + line)
  }

  private withIndent(f: () => void): void {
    const saved = this.indent
    this.indent += '  '
    try {
      f()
    } finally {
      this.indent = saved
    }
  }

  private makeLogger(): RaftLogger {
    return {
      debug: (msg) => {
        if (this.logLevel === 'debug') this.print(`DEBUG ${msg}`)
      },
      info: (msg) => {
        if (this.logLevel !== 'none') this.print(`INFO ${msg}`)
      },
      warn: (msg) => {
        if (this.logLevel !== 'none') this.print(`WARN ${msg}`)
      },
    }
  }

  // ---------------------------------------------------------------------------------------
  // Programmatic API (each transcript command maps onto one of these)

  /** Adds n nodes with ids continuing from the current count. */
  addNodes(n: number, opts: AddNodesOptions = {}): EnvNode[] {
    const added: EnvNode[] = []
    for (let k = 0; k < n; k++) {
      const id = this.nodes.length + 1
      const storage = new EnvStorage()
      const confState: ConfState = {
        voters: opts.voters ?? [],
        learners: opts.learners ?? [],
        votersOutgoing: [],
        learnersNext: [],
        autoLeave: false,
      }
      const index = opts.index ?? 0
      if (index > 0) {
        storage.applySnapshot({ data: new Uint8Array(0), metadata: { index, term: 1, confState } })
      } else if (confState.voters.length > 0 || confState.learners.length > 0) {
        throw new Error('a configuration needs a snapshot: pass index > 0')
      }
      const ents: Entry[] = (opts.logTerms ?? []).map((term, i) => ({
        term,
        index: index + 1 + i,
        type: 'normal',
        data: new Uint8Array(0),
      }))
      storage.append(ents)
      storage.setHardState({
        term: opts.hardStateTerm ?? 0,
        vote: opts.hardStateVote ?? 0,
        commit: opts.hardStateCommit ?? index,
      })
      const config: Config = {
        id,
        electionTick: 3,
        heartbeatTick: 1,
        storage,
        rng: zeroRng,
        maxSizePerMsg: Number.MAX_SAFE_INTEGER,
        maxInflightMsgs: 256,
        logger: this.makeLogger(),
      }
      opts.configure?.(config)
      const node: EnvNode = {
        id,
        rawNode: new RawNode(config),
        storage,
        config,
        confState,
        confHistory: [{ index, confState }],
        applied: [],
        appliedIndex: index,
      }
      storage.owner = node
      this.nodes.push(node)
      added.push(node)
    }
    return added
  }

  /** Handles one Ready of node id: persist, queue messages, apply, advance. */
  processReady(id: number): void {
    const n = this.node(id)
    const rd = n.rawNode.ready()
    for (const line of describeReady(rd)) this.print(line)
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot)
      n.confState = rd.snapshot.metadata.confState
      n.confHistory.push({ index: rd.snapshot.metadata.index, confState: n.confState })
      n.appliedIndex = rd.snapshot.metadata.index
    }
    n.storage.append(rd.entries)
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState)
    for (const m of rd.messages) this.messages.push(m)
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') {
        try {
          n.confState = n.rawNode.applyConfChange(decodeConfChange(e.data))
          n.confHistory.push({ index: e.index, confState: n.confState })
        } catch (err) {
          this.print(describeError(err))
        }
      } else if (e.data.length > 0) {
        n.applied.push(e.data)
      }
      n.appliedIndex = e.index
    }
    n.rawNode.advance(rd)
  }

  /** Steps every queued message addressed to id (optionally of one type) into it. */
  deliverMsgs(id: number, type?: MessageType): number {
    const mine: Message[] = []
    const rest: Message[] = []
    for (const m of this.messages) {
      if (m.to === id && (type === undefined || m.type === type)) mine.push(m)
      else rest.push(m)
    }
    this.messages = rest
    for (const m of mine) {
      if (this.isolated.has(m.to) || this.isolated.has(m.from)) {
        this.print(`${describeMessage(m)} DROPPED (partitioned)`)
        continue
      }
      this.print(describeMessage(m))
      this.withIndent(() => {
        try {
          this.node(id).rawNode.step(m)
        } catch (err) {
          this.print(describeError(err))
        }
      })
    }
    return mine.length
  }

  /** Handles Readies and delivers messages until nothing happens (among `ids`, default all). */
  stabilize(ids: number[] = this.nodes.map((n) => n.id)): void {
    for (;;) {
      let done = true
      for (const id of ids) {
        if (!this.node(id).rawNode.hasReady()) continue
        done = false
        this.print(`> ${id} handling Ready`)
        this.withIndent(() => this.processReady(id))
      }
      for (const id of ids) {
        if (!this.messages.some((m) => m.to === id)) continue
        done = false
        this.print(`> ${id} receiving messages`)
        this.withIndent(() => this.deliverMsgs(id))
      }
      if (done) return
    }
  }

  /** Ticks node id `count` times. */
  tick(id: number, count: number): void {
    for (let i = 0; i < count; i++) this.node(id).rawNode.tick()
  }

  /** Restarts node id from its storage: unpersisted state and applied data are lost. */
  restart(id: number): void {
    const n = this.node(id)
    const snap = n.storage.snapshot()
    n.config = { ...n.config, applied: snap.metadata.index }
    n.rawNode = new RawNode(n.config)
    n.confState = n.storage.initialState().confState
    n.appliedIndex = snap.metadata.index
    n.applied = []
  }

  // ---------------------------------------------------------------------------------------
  // Transcript commands

  private readonly handlers: Record<string, (this: InteractionEnv, cmd: Command) => void> = {
    /**
     * add-nodes <n> [voters=(..)] [learners=(..)] [index=<snapshot index>] [log-terms=(..)]
     *   [term=<hard state term>] [vote=<id>] [commit=<index>] [prevote=<bool>]
     *   [checkquorum=<bool>] [read-only=safe|lease-based] [lease-drift=<ticks>]
     *   [election=<ticks>] [heartbeat=<ticks>] [max-size-per-msg=<bytes>]
     *   [max-inflight=<n>] [max-inflight-bytes=<bytes>] [max-uncommitted=<bytes>]
     *   [disable-forwarding=<bool>] [seed=<n>] [knob=commit-old-term|skip-election-restriction]
     */
    'add-nodes'(cmd) {
      const n = Number(cmd.args[0] ?? '1')
      const kv = cmd.kv
      const num = (k: string): number | undefined => (kv.has(k) ? Number(kv.get(k)) : undefined)
      const added = this.addNodes(n, {
        voters: parseList(kv.get('voters')),
        learners: parseList(kv.get('learners')),
        index: num('index') ?? 0,
        logTerms: parseList(kv.get('log-terms')),
        hardStateTerm: num('term') ?? 0,
        hardStateVote: num('vote') ?? 0,
        hardStateCommit: num('commit') ?? num('index') ?? 0,
        configure: (c) => {
          for (const [k, v] of kv) {
            switch (k) {
              case 'voters':
              case 'learners':
              case 'index':
              case 'log-terms':
              case 'term':
              case 'vote':
              case 'commit':
                break
              case 'prevote':
                c.preVote = parseBool(v)
                break
              case 'checkquorum':
                c.checkQuorum = parseBool(v)
                break
              case 'read-only':
                c.readOnlyOption = v as 'safe' | 'lease-based'
                break
              case 'lease-drift':
                c.leaseDriftTicks = Number(v)
                break
              case 'election':
                c.electionTick = Number(v)
                break
              case 'heartbeat':
                c.heartbeatTick = Number(v)
                break
              case 'max-size-per-msg':
                c.maxSizePerMsg = Number(v)
                break
              case 'max-inflight':
                c.maxInflightMsgs = Number(v)
                break
              case 'max-inflight-bytes':
                c.maxInflightBytes = Number(v)
                break
              case 'max-uncommitted':
                c.maxUncommittedEntriesSize = Number(v)
                break
              case 'disable-forwarding':
                c.disableProposalForwarding = parseBool(v)
                break
              case 'seed':
                c.rng = new SeededRng(Number(v) + c.id)
                break
              case 'knob':
                if (v === 'commit-old-term') c.testingKnobs = { commitOldTermByCount: true }
                else if (v === 'skip-election-restriction') c.testingKnobs = { skipElectionRestriction: true }
                else throw new Error(`unknown knob ${v}`)
                break
              default:
                throw new Error(`add-nodes: unknown option ${k}`)
            }
          }
        },
      })
      for (const node of added) {
        const r = node.rawNode.internal
        this.print(`node ${node.id}: ${describeConfState(node.confState)} term=${r.term} commit=${r.raftLog.committed} last=${r.raftLog.lastIndex()}`)
      }
    },

    /** campaign <id> */
    campaign(cmd) {
      this.nodeCall(cmd, (n) => n.rawNode.campaign())
    },

    /** propose <id> <data> */
    propose(cmd) {
      const data = enc.encode(cmd.args[1] ?? '')
      this.nodeCall(cmd, (n) => n.rawNode.propose(data))
    },

    /** propose-conf-change <id> [transition=auto|implicit|explicit] [v<id>|l<id>|r<id> ...]; no changes = leave joint */
    'propose-conf-change'(cmd) {
      const changes: ConfChangeSingle[] = cmd.args.slice(1).map((tok) => {
        const id = Number(tok.slice(1))
        switch (tok[0]) {
          case 'v':
            return { type: 'addVoter', nodeId: id }
          case 'l':
            return { type: 'addLearner', nodeId: id }
          case 'r':
            return { type: 'removeNode', nodeId: id }
          default:
            throw new Error(`bad conf change ${tok}`)
        }
      })
      const cc: ConfChangeV2 = { transition: (cmd.kv.get('transition') ?? 'auto') as ConfChangeTransition, changes }
      this.nodeCall(cmd, (n) => n.rawNode.proposeConfChange(cc))
    },

    /** process-ready <id>... */
    'process-ready'(cmd) {
      const ids = cmd.args.map(Number)
      if (ids.length === 1) {
        this.processReady(ids[0] as number)
        return
      }
      for (const id of ids) {
        this.print(`> ${id} handling Ready`)
        this.withIndent(() => this.processReady(id))
      }
    },

    /** deliver-msgs <id>... [type=<MessageType>] */
    'deliver-msgs'(cmd) {
      const type = cmd.kv.get('type') as MessageType | undefined
      for (const id of cmd.args.map(Number)) this.deliverMsgs(id, type)
    },

    /** drop-msgs [from=<id>] [to=<id>] [type=<MessageType>]: discards matching queued messages. */
    'drop-msgs'(cmd) {
      const from = cmd.kv.has('from') ? Number(cmd.kv.get('from')) : undefined
      const to = cmd.kv.has('to') ? Number(cmd.kv.get('to')) : undefined
      const type = cmd.kv.get('type')
      const keep: Message[] = []
      for (const m of this.messages) {
        const match = (from === undefined || m.from === from) && (to === undefined || m.to === to) && (type === undefined || m.type === type)
        if (match) this.print(`dropped: ${describeMessage(m)}`)
        else keep.push(m)
      }
      this.messages = keep
    },

    /** stabilize [<id>...] [quiet=true]: quiet hides the output (for setup steps). */
    stabilize(cmd) {
      this.stabilize(cmd.args.length > 0 ? cmd.args.map(Number) : undefined)
      if (cmd.kv.get('quiet') === 'true') this.out = []
    },

    /** tick-heartbeat <id>: ticks heartbeatTick times. */
    'tick-heartbeat'(cmd) {
      this.nodeCall(cmd, (n) => this.tick(n.id, n.config.heartbeatTick))
    },

    /** tick-election <id>: ticks electionTick times (a full timeout with the default zero Rng). */
    'tick-election'(cmd) {
      this.nodeCall(cmd, (n) => this.tick(n.id, n.config.electionTick))
    },

    /** tick <id> [count] */
    tick(cmd) {
      this.nodeCall(cmd, (n) => this.tick(n.id, Number(cmd.args[1] ?? '1')))
    },

    /** raft-state: one line per node. */
    'raft-state'() {
      for (const n of this.nodes) {
        const st = n.rawNode.status()
        const role = st.config.voters.incoming.includes(n.id) || st.config.voters.outgoing.includes(n.id)
          ? 'voter'
          : st.config.learners.includes(n.id) || st.config.learnersNext.includes(n.id)
            ? 'learner'
            : 'non-member'
        const iso = this.isolated.has(n.id) ? ' [isolated]' : ''
        this.print(`${n.id}: ${st.state} (${role}) Term:${st.term} Lead:${st.lead}${iso}`)
      }
    },

    /** status <id>: hard state, applied index, configuration, and the leader's progress. */
    status(cmd) {
      this.nodeCall(cmd, (n) => {
        const st = n.rawNode.status()
        this.print(`${st.state} ${describeHardState({ term: st.term, vote: st.vote, commit: st.commit })} Applied:${st.applied} Lead:${st.lead}`)
        const c = st.config
        let cfg = `config: voters=(${c.voters.incoming.join(' ')})`
        if (c.voters.outgoing.length > 0) cfg += `&&(${c.voters.outgoing.join(' ')})`
        if (c.learners.length > 0) cfg += ` learners=(${c.learners.join(' ')})`
        if (c.learnersNext.length > 0) cfg += ` learners_next=(${c.learnersNext.join(' ')})`
        if (c.autoLeave) cfg += ' autoleave'
        this.print(cfg)
        if (st.leadTransferee !== 0) this.print(`transferring leadership to ${st.leadTransferee}`)
        for (const [id, p] of st.progress ?? []) {
          this.print(`${id}: ${n.rawNode.internal.trk.progress.get(id)?.toString() ?? p.state}`)
        }
      })
    },

    /** raft-log <id>: the entries in the node's storage. */
    'raft-log'(cmd) {
      this.nodeCall(cmd, (n) => {
        const first = n.storage.firstIndex()
        const last = n.storage.lastIndex()
        if (last < first) {
          this.print(`log is empty: first index=${first}, last index=${last}`)
          return
        }
        for (const e of n.storage.entries(first, last + 1, Number.POSITIVE_INFINITY)) this.print(describeEntry(e))
      })
    },

    /** applied <id>: the data of the normal entries the node applied. */
    applied(cmd) {
      this.nodeCall(cmd, (n) => {
        const dec = new TextDecoder()
        this.print(`applied index ${n.appliedIndex}: [${n.applied.map((d) => dec.decode(d)).join(' ')}]`)
      })
    },

    /** transfer-leadership from=<leader> to=<target> */
    'transfer-leadership'(cmd) {
      const from = Number(cmd.kv.get('from'))
      const to = Number(cmd.kv.get('to'))
      this.node(from).rawNode.transferLeader(to)
    },

    /** read-index <id> <context> */
    'read-index'(cmd) {
      this.nodeCall(cmd, (n) => n.rawNode.readIndex(enc.encode(cmd.args[1] ?? '')))
    },

    /** compact <id> <index>: snapshots the node's storage at index and compacts its log there. */
    compact(cmd) {
      const index = Number(cmd.args[1])
      this.nodeCall(cmd, (n) => {
        if (index > n.appliedIndex) throw new Error(`compact ${index} beyond applied index ${n.appliedIndex}`)
        let cs = n.confHistory[0]?.confState as ConfState
        for (const h of n.confHistory) if (h.index <= index) cs = h.confState
        const snap = n.storage.createSnapshot(index, cs, enc.encode(`snap@${index}`))
        n.storage.compact(index)
        this.print(`snapshot ${describeSnapshot(snap)}; first index now ${n.storage.firstIndex()}`)
      })
    },

    /** isolate <id>: drops every message to or from the node until heal. */
    isolate(cmd) {
      for (const id of cmd.args.map(Number)) this.isolated.add(id)
    },

    /** heal: ends all partitions. */
    heal() {
      this.isolated.clear()
    },

    /** restart <id>: the node crashes and restarts from what it persisted. */
    restart(cmd) {
      this.nodeCall(cmd, (n) => this.restart(n.id))
    },

    /** report-unreachable <leader> <peer> */
    'report-unreachable'(cmd) {
      this.node(Number(cmd.args[0])).rawNode.reportUnreachable(Number(cmd.args[1]))
    },

    /** report-snapshot <leader> <peer> [failure] */
    'report-snapshot'(cmd) {
      const status = cmd.args[2] === 'failure' ? 'failure' : 'finish'
      this.node(Number(cmd.args[0])).rawNode.reportSnapshot(Number(cmd.args[1]), status)
    },

    /** log-level none|info|debug */
    'log-level'(cmd) {
      const lvl = cmd.args[0] as LogLevel
      if (lvl !== 'none' && lvl !== 'info' && lvl !== 'debug') throw new Error(`bad log level ${String(lvl)}`)
      this.logLevel = lvl
    },

    /** set-randomized-election-timeout <id> timeout=<ticks> */
    'set-randomized-election-timeout'(cmd) {
      this.nodeCall(cmd, (n) => {
        n.rawNode.internal.randomizedElectionTimeout = Number(cmd.kv.get('timeout'))
      })
    },
  }

  /** Runs f on the node named by the first argument, printing core errors as output. */
  private nodeCall(cmd: Command, f: (n: EnvNode) => void): void {
    const id = Number(cmd.args[0])
    try {
      f(this.node(id))
    } catch (err) {
      this.print(describeError(err))
    }
  }
}

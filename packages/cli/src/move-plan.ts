// The plan of `mrdb range move`: the steps of one joint-consensus move of a range's replica
// from store S to store T, the quorum each step needs, and whether that quorum is live now
// and would still be with one more node down. Pure: it works on the placement driver's view
// of the range and the stores, which the caller fetches.
//
// Steps (kv's moveReplica): a learner on T, caught up by snapshot, commits under the old
// voters C_old; leadership leaves S first if S leads (C_old elects); the joint configuration
// C_old,new (T promoted, S demoted) and leaving it need a majority of C_old and of C_new
// (Raft thesis §4.3); afterwards the range runs on C_new.

/** A replica as the placement driver lists it. */
export interface PlanReplica {
  readonly nodeId: number
  readonly role: 'voter' | 'learner'
}

/** A store as the placement driver reports it. */
export interface PlanStore {
  readonly storeId: number
  readonly state: string
  readonly live: boolean
}

/** One set of voters a step needs a majority of. */
export interface QuorumNeed {
  readonly voters: readonly number[]
  /** How many of them must be up: a majority. */
  readonly needed: number
  /** How many of them are live now. */
  readonly live: number
}

/** One step of the plan. */
export interface PlanStep {
  readonly action: string
  /** A majority of each of these is needed. */
  readonly quorums: readonly QuorumNeed[]
  /** Every quorum is live now. */
  readonly liveNow: boolean
  /** Every quorum would still be live with one more node down. */
  readonly survivesOneFailure: boolean
}

/** The whole plan; `problems` lists why it must not run (empty: safe to run). */
export interface MovePlan {
  readonly rangeId: number
  readonly from: number
  readonly to: number
  readonly steps: readonly PlanStep[]
  readonly problems: readonly string[]
}

/** What {@link planMove} works from. */
export interface MovePlanInput {
  readonly rangeId: number
  readonly from: number
  readonly to: number
  /** The range's replicas, or undefined when the placement driver does not know the range. */
  readonly replicas: readonly PlanReplica[] | undefined
  readonly leaderNodeId: number
  readonly stores: readonly PlanStore[]
}

const majority = (n: number) => Math.floor(n / 2) + 1
const set = (ids: readonly number[]) => `{${ids.join(',')}}`

/** The plan of moving `rangeId`'s replica from store `from` to store `to`; see the file comment. */
export function planMove(i: MovePlanInput): MovePlan {
  const problems: string[] = []
  const plan = (steps: PlanStep[]) => ({ rangeId: i.rangeId, from: i.from, to: i.to, steps, problems })
  if (i.from === i.to) problems.push('--from and --to name the same store')
  if (i.replicas === undefined) {
    problems.push(`range ${i.rangeId} is unknown to the placement driver`)
    return plan([])
  }
  const live = new Set(i.stores.filter((s) => s.live).map((s) => s.storeId))
  const oldVoters = i.replicas.filter((r) => r.role === 'voter').map((r) => r.nodeId).sort((a, b) => a - b)
  if (!oldVoters.includes(i.from)) problems.push(`store ${i.from} holds no voter of range ${i.rangeId} (voters ${set(oldVoters)})`)
  if (i.replicas.some((r) => r.nodeId === i.to)) problems.push(`store ${i.to} already holds a replica of range ${i.rangeId}`)
  const target = i.stores.find((s) => s.storeId === i.to)
  if (!target) problems.push(`store ${i.to} is unknown`)
  else if (target.state !== 'up' || !target.live) problems.push(`store ${i.to} cannot take a replica: it is ${target.state}${target.live ? '' : ', not live'}`)
  const newVoters = [...oldVoters.filter((n) => n !== i.from), i.to].sort((a, b) => a - b)
  const need = (voters: number[]): QuorumNeed => ({ voters, needed: majority(voters.length), live: voters.filter((n) => live.has(n)).length })
  const step = (action: string, voters: number[][]): PlanStep => {
    const quorums = voters.map(need)
    return { action, quorums, liveNow: quorums.every((q) => q.live >= q.needed), survivesOneFailure: quorums.every((q) => q.live - 1 >= q.needed) }
  }
  const steps = [step(`add a learner on store ${i.to}, caught up by snapshot`, [oldVoters])]
  if (i.leaderNodeId === i.from) steps.push(step(`hand the leadership from store ${i.from} to a caught-up voter`, [oldVoters]))
  steps.push(
    step(`enter the joint configuration ${set(oldVoters)} & ${set(newVoters)}: store ${i.to} votes, store ${i.from} is on its way out`, [oldVoters, newVoters]),
    step(`leave the joint configuration: store ${i.from}'s replica goes`, [oldVoters, newVoters]),
    step(`run on ${set(newVoters)}`, [newVoters]),
  )
  steps.forEach((s, n) => {
    const short = s.quorums.filter((q) => q.live < q.needed || q.live - 1 < q.needed).map((q) => `${q.needed} of ${set(q.voters)} (${q.live} live)`)
    if (!s.liveNow) problems.push(`step ${n + 1} needs ${short.join(' and ')}: no quorum now`)
    else if (!s.survivesOneFailure) problems.push(`step ${n + 1} needs ${short.join(' and ')}: one more node down would stop it`)
  })
  return plan(steps)
}

/** The plan for people, a line per step, and the verdict. */
export function formatPlan(p: MovePlan): string {
  const lines = [`move range ${p.rangeId} from store ${p.from} to store ${p.to}:`]
  p.steps.forEach((s, n) => {
    const quorums = s.quorums.map((q) => `${q.needed} of ${set(q.voters)}, ${q.live} live`).join('; and ')
    const verdict = !s.liveNow ? 'NO QUORUM' : s.survivesOneFailure ? 'ok' : 'at risk'
    lines.push(`  ${n + 1}. ${s.action}`, `     needs ${quorums}: ${verdict}`)
  })
  if (p.problems.length === 0) lines.push('safe: every step keeps its quorum with one more node down')
  else lines.push(...p.problems.map((x) => `refused: ${x}`))
  return `${lines.join('\n')}\n`
}

// Compact, stable, human-readable renderings of the core's values, for transcripts,
// simulator traces and debugging. Formats may evolve; nothing parses them.

import { decodeConfChange } from '../core/confchange/codec.js'
import type { ConfChangeV2, ConfState, Entry, HardState, Message, Ready, SoftState, Snapshot } from '../core/types.js'

/** Bytes as "text" when printable ASCII, else as 0xhex. */
export function describeData(data: Uint8Array | undefined): string {
  if (data === undefined) return '""'
  let printable = true
  for (let i = 0; i < data.length; i++) {
    const c = data[i] as number
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      printable = false
      break
    }
  }
  if (printable) return `"${String.fromCharCode(...data)}"`
  let hex = '0x'
  for (let i = 0; i < data.length; i++) hex += (data[i] as number).toString(16).padStart(2, '0')
  return hex
}

/** "v4 l5 r3" (addVoter, addLearner, removeNode), with the transition unless 'auto'; "leave-joint" if empty. */
export function describeConfChange(cc: ConfChangeV2): string {
  if (cc.changes.length === 0) return 'leave-joint'
  const parts = cc.changes.map((c) => {
    switch (c.type) {
      case 'addVoter':
        return `v${c.nodeId}`
      case 'addLearner':
        return `l${c.nodeId}`
      case 'removeNode':
        return `r${c.nodeId}`
    }
  })
  if (cc.transition !== 'auto') parts.unshift(`[${cc.transition}]`)
  return parts.join(' ')
}

/** `1/11 EntryNormal "foo"` or `1/12 EntryConfChange v4 l5`. */
export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    let cc: string
    try {
      cc = describeConfChange(decodeConfChange(e.data))
    } catch {
      cc = `<undecodable ${describeData(e.data)}>`
    }
    return `${e.term}/${e.index} EntryConfChange ${cc}`
  }
  return `${e.term}/${e.index} EntryNormal ${describeData(e.data)}`
}

/** `[1/11 EntryNormal "a", 1/12 EntryNormal "b"]`. */
export function describeEntries(ents: readonly Entry[]): string {
  return `[${ents.map(describeEntry).join(', ')}]`
}

function ids(xs: readonly number[]): string {
  return `(${xs.join(' ')})`
}

/** `Voters:(1 2 3) VotersOutgoing:(1 2) Learners:(4) LearnersNext:(3) AutoLeave:true`, empty parts omitted. */
export function describeConfState(cs: ConfState): string {
  let s = `Voters:${ids(cs.voters)}`
  if (cs.votersOutgoing.length > 0) s += ` VotersOutgoing:${ids(cs.votersOutgoing)}`
  if (cs.learners.length > 0) s += ` Learners:${ids(cs.learners)}`
  if (cs.learnersNext.length > 0) s += ` LearnersNext:${ids(cs.learnersNext)}`
  if (cs.autoLeave) s += ' AutoLeave:true'
  return s
}

/** `Index:11 Term:1 ConfState:Voters:(1 2 3)`. */
export function describeSnapshot(s: Snapshot): string {
  return `Index:${s.metadata.index} Term:${s.metadata.term} ${describeConfState(s.metadata.confState)}`
}

/** `Term:1 Vote:1 Commit:11`. */
export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`
}

/** `Lead:1 State:leader`. */
export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.lead} State:${ss.state}`
}

/**
 * `1->2 MsgApp Term:1 Log:1/10 Commit:10 Entries:[1/11 EntryNormal "foo"]`: only the
 * fields that the message type uses.
 */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term}`
  switch (m.type) {
    case 'MsgApp':
      s += ` Log:${m.logTerm}/${m.index} Commit:${m.commit}`
      if (m.entries.length > 0) s += ` Entries:${describeEntries(m.entries)}`
      break
    case 'MsgAppResp':
      s += ` Index:${m.index}`
      if (m.reject) s += ` Rejected (Hint: ${m.rejectHint}/${m.logTerm})`
      break
    case 'MsgVote':
    case 'MsgPreVote':
      s += ` Log:${m.logTerm}/${m.index}`
      if (m.context !== undefined && m.context.length > 0) s += ' (transfer)'
      break
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      if (m.reject) s += ' Rejected'
      break
    case 'MsgHeartbeat':
      s += ` Commit:${m.commit}`
      break
    case 'MsgSnap':
      if (m.snapshot !== undefined) s += ` Snapshot: ${describeSnapshot(m.snapshot)}`
      break
    case 'MsgReadIndexResp':
      s += ` Index:${m.index}`
      break
    case 'MsgProp':
      s += ` Entries:${describeEntries(m.entries)}`
      break
    default:
      break
  }
  const ctxTypes = m.type === 'MsgHeartbeat' || m.type === 'MsgHeartbeatResp' || m.type === 'MsgReadIndex' || m.type === 'MsgReadIndexResp'
  if (ctxTypes && m.context !== undefined && m.context.length > 0) s += ` Context:${describeData(m.context)}`
  return s
}

/** A multi-line rendering of a Ready; empty parts omitted. */
export function describeReady(rd: Ready): string[] {
  const out: string[] = [`Ready MustSync=${rd.mustSync}:`]
  if (rd.softState !== undefined) out.push(describeSoftState(rd.softState))
  if (rd.hardState !== undefined) out.push(`HardState ${describeHardState(rd.hardState)}`)
  if (rd.readStates.length > 0) {
    out.push('ReadStates:')
    for (const rs of rd.readStates) out.push(`Index:${rs.index} Context:${describeData(rs.context)}`)
  }
  if (rd.entries.length > 0) {
    out.push('Entries:')
    for (const e of rd.entries) out.push(describeEntry(e))
  }
  if (rd.snapshot !== undefined) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`)
  if (rd.committedEntries.length > 0) {
    out.push('CommittedEntries:')
    for (const e of rd.committedEntries) out.push(describeEntry(e))
  }
  if (rd.messages.length > 0) {
    out.push('Messages:')
    for (const m of rd.messages) out.push(describeMessage(m))
  }
  return out
}

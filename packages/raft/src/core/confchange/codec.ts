// The byte encoding of ConfChangeV2 inside confChange entries. Binary and versioned;
// an empty byte array decodes to the empty change that leaves a joint configuration.

import { ConfChangeInvalidError } from '../errors.js'
import type { ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2 } from '../types.js'

const VERSION = 1
const TRANSITIONS: readonly ConfChangeTransition[] = ['auto', 'implicit', 'explicit']
const TYPES: readonly ConfChangeType[] = ['addVoter', 'addLearner', 'removeNode']

/**
 * Encodes cc as entry data. Layout: version u8, transition u8, change count u32, then per
 * change type u8 + node id f64, then context length u32 + bytes (all little-endian).
 */
export function encodeConfChange(cc: ConfChangeV2): Uint8Array {
  const ctx = cc.context ?? new Uint8Array(0)
  const out = new Uint8Array(1 + 1 + 4 + cc.changes.length * 9 + 4 + ctx.byteLength)
  const view = new DataView(out.buffer)
  let p = 0
  view.setUint8(p++, VERSION)
  view.setUint8(p++, TRANSITIONS.indexOf(cc.transition))
  view.setUint32(p, cc.changes.length, true)
  p += 4
  for (const ch of cc.changes) {
    const t = TYPES.indexOf(ch.type)
    if (t < 0) throw new ConfChangeInvalidError(`unknown change type ${String(ch.type)}`)
    view.setUint8(p++, t)
    view.setFloat64(p, ch.nodeId, true)
    p += 8
  }
  view.setUint32(p, ctx.byteLength, true)
  p += 4
  out.set(ctx, p)
  return out
}

/** Decodes entry data written by encodeConfChange. Throws ConfChangeInvalidError if malformed. */
export function decodeConfChange(data: Uint8Array): ConfChangeV2 {
  if (data.byteLength === 0) return { transition: 'auto', changes: [] }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  try {
    let p = 0
    const version = view.getUint8(p++)
    if (version !== VERSION) throw new ConfChangeInvalidError(`unknown encoding version ${version}`)
    const transition = TRANSITIONS[view.getUint8(p++)]
    if (transition === undefined) throw new ConfChangeInvalidError('unknown transition')
    const n = view.getUint32(p, true)
    p += 4
    const changes: ConfChangeSingle[] = []
    for (let i = 0; i < n; i++) {
      const type = TYPES[view.getUint8(p++)]
      if (type === undefined) throw new ConfChangeInvalidError('unknown change type')
      changes.push({ type, nodeId: view.getFloat64(p, true) })
      p += 8
    }
    const len = view.getUint32(p, true)
    p += 4
    if (p + len !== data.byteLength) throw new ConfChangeInvalidError('trailing or missing bytes')
    const cc: ConfChangeV2 = { transition, changes }
    if (len > 0) cc.context = data.slice(p, p + len)
    return cc
  } catch (err) {
    if (err instanceof ConfChangeInvalidError) throw err
    throw new ConfChangeInvalidError(`malformed conf change: ${String(err)}`)
  }
}

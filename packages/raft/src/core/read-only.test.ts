import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newMessage } from './raft.js'
import { ReadOnly } from './read-only.js'

function req(ctx: string, from = 0) {
  const m = newMessage('MsgReadIndex', 1)
  m.from = from
  m.context = new TextEncoder().encode(ctx)
  return m
}
const ctx = (s: string) => new TextEncoder().encode(s)

describe('ReadOnly', () => {
  test('acks are counted per request, and advancing releases earlier requests too', () => {
    const ro = new ReadOnly('safe')
    ro.addRequest(5, req('a'))
    ro.addRequest(6, req('b'))
    ro.addRequest(7, req('a')) // duplicate context: ignored
    assert.equal(ro.pendingCount(), 2)
    assert.deepEqual([...(ro.recvAck(2, ctx('b')) ?? new Map()).keys()], [2])
    assert.equal(ro.recvAck(2, ctx('zzz')), undefined)
    assert.deepEqual(new TextDecoder().decode(ro.lastPendingRequestCtx()), 'b')
    const done = ro.advance(ctx('b'))
    assert.deepEqual(done.map((s) => s.index), [5, 6])
    assert.equal(ro.pendingCount(), 0)
    assert.equal(ro.lastPendingRequestCtx(), undefined)
    assert.deepEqual(ro.advance(ctx('b')), [])
  })
})

import assert from 'node:assert/strict'
import { SeededRng } from '@mrdb/raft'
import { describe, it } from 'node:test'
import { checkBank } from './bank-checker.js'
import type { Outcome, RegisterOp, RegisterValue, SetAdd } from './history.js'
import { checkRegister } from './linearizability.js'
import { checkSet } from './set-checker.js'

let client = 0
const op = (kind: RegisterOp['kind'], value: RegisterValue, invokeMs: number, completeMs: number, more: Partial<RegisterOp> = {}): RegisterOp => ({
  client: client++,
  key: 'k',
  kind,
  value,
  outcome: 'ok',
  invokeMs,
  completeMs,
  ...more,
})
const verdict = (ops: RegisterOp[], initial: RegisterValue = null) => checkRegister('k', ops, { initial }).linearizable

describe('linearizability checker', () => {
  it('flags a stale read: a read after a newer write returned the older value', () => {
    const history = [op('write', '1', 0, 1), op('write', '2', 2, 3), op('read', '1', 4, 5)]
    const result = checkRegister('k', history)
    assert.equal(result.linearizable, false)
    assert.match(result.explanation![0]!, /read → 1/)
  })

  it('flags a lost write: an acknowledged write that a later read does not see', () => {
    assert.equal(verdict([op('write', '1', 0, 1), op('read', null, 2, 3)]), false)
    assert.equal(verdict([op('write', '1', 0, 1), op('write', '2', 2, 3), op('read', '2', 4, 5), op('read', '1', 6, 7)]), false)
  })

  it('accepts either value for a read concurrent with a write', () => {
    assert.equal(verdict([op('write', '1', 0, 1), op('write', '2', 2, 10), op('read', '1', 3, 4)]), true)
    assert.equal(verdict([op('write', '1', 0, 1), op('write', '2', 2, 10), op('read', '2', 3, 4)]), true)
    // Once a read saw the new value, a later read may not see the old one.
    assert.equal(verdict([op('write', '1', 0, 1), op('write', '2', 2, 10), op('read', '2', 3, 4), op('read', '1', 5, 6)]), false)
  })

  it('lets a write of unknown outcome take effect late, or never, but not un-happen', () => {
    const unknown = (v: string, at: number) => op('write', v, at, Infinity, { outcome: 'unknown' })
    assert.equal(verdict([op('write', '1', 0, 1), unknown('2', 2), op('read', '1', 3, 4), op('read', '2', 50, 51)]), true)
    assert.equal(verdict([op('write', '1', 0, 1), unknown('2', 2), op('read', '1', 50, 51)]), true)
    assert.equal(verdict([op('write', '1', 0, 1), unknown('2', 2), op('read', '2', 3, 4), op('read', '1', 50, 51)]), false)
    // It cannot take effect before it was invoked.
    assert.equal(verdict([op('write', '1', 0, 1), op('read', '2', 2, 3), unknown('2', 4)]), false)
  })

  it('leaves out operations that certainly failed and reads that never answered', () => {
    assert.equal(verdict([op('write', '5', 0, 1, { outcome: 'fail' }), op('read', '5', 2, 3)]), false)
    assert.equal(verdict([op('write', '1', 0, 1), op('read', null, 2, 9, { outcome: 'unknown' })]), true)
  })

  it('models compare-and-swap: swapped only from the expected value, not swapped only from another', () => {
    assert.equal(verdict([op('write', '1', 0, 1), op('cas', '2', 2, 3, { expected: '1', swapped: true }), op('read', '2', 4, 5)]), true)
    assert.equal(verdict([op('write', '1', 0, 1), op('cas', '3', 2, 3, { expected: '2', swapped: true })]), false)
    assert.equal(verdict([op('write', '1', 0, 1), op('cas', '3', 2, 3, { expected: '1', swapped: false, observed: '1' })]), false)
    assert.equal(verdict([op('write', '1', 0, 1), op('cas', '3', 2, 3, { expected: '2', swapped: false, observed: '7' })]), false)
    assert.equal(verdict([op('write', '1', 0, 1), op('cas', '3', 2, 3, { expected: '2', swapped: false, observed: '1' }), op('read', '1', 4, 5)]), true)
    // Two swaps from the same value cannot both succeed.
    assert.equal(verdict([op('write', '1', 0, 1), op('cas', '2', 2, 5, { expected: '1', swapped: true }), op('cas', '3', 2, 5, { expected: '1', swapped: true })]), false)
  })

  it('accepts random concurrent histories of a real register, and flags each with one read corrupted', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const history = simulatedHistory(new SeededRng(seed), 8, 60)
      assert.equal(checkRegister('k', history).linearizable, true, `seed ${seed}: a real register's history was rejected`)
      const reads = history.filter((o) => o.kind === 'read' && o.outcome === 'ok')
      const victim = reads[new SeededRng(seed).nextInt(reads.length)]!
      const corrupted = history.map((o) => (o === victim ? { ...o, value: 'never-written' } : o))
      assert.equal(checkRegister('k', corrupted).linearizable, false, `seed ${seed}: a read of a value never written passed`)
    }
  })

  it('finishes a busy history of 10 clients and 2,000 operations', () => {
    const history = simulatedHistory(new SeededRng(7), 10, 200)
    const result = checkRegister('k', history)
    assert.equal(result.linearizable, true)
    assert.equal(result.operations > 1500, true)
  })

  it('gives up, rather than hang, when the step budget runs out', () => {
    const history = simulatedHistory(new SeededRng(3), 10, 50)
    assert.equal(checkRegister('k', history, { maxSteps: 10 }).linearizable, undefined)
  })
})

/**
 * A history of `clients` clients on one real (atomic) register: each operation takes effect
 * at one instant inside its interval, some writes lose their answer (unknown), and some
 * compare-and-swaps find another value.
 */
function simulatedHistory(rng: SeededRng, clients: number, opsPerClient: number): RegisterOp[] {
  type Pending = { op: RegisterOp; at: number }
  const planned: Pending[] = []
  for (let c = 0; c < clients; c++) {
    let t = rng.nextInt(5)
    for (let i = 0; i < opsPerClient; i++) {
      const invokeMs = t + rng.nextInt(3)
      const at = invokeMs + 0.5 + rng.nextInt(20)
      const completeMs = at + 0.5 + rng.nextInt(20)
      const r = rng.nextInt(10)
      const kind: RegisterOp['kind'] = r < 5 ? 'read' : r < 8 ? 'write' : 'cas'
      const value = kind === 'read' ? null : `${c}.${i}`
      planned.push({ op: { client: c, key: 'k', kind, value, expected: kind === 'cas' ? `${rng.nextInt(clients)}.${rng.nextInt(i + 1)}` : undefined, outcome: 'ok', invokeMs, completeMs }, at })
      t = completeMs
    }
  }
  let register: RegisterValue = null
  for (const p of [...planned].sort((a, b) => a.at - b.at)) {
    const o = p.op
    if (o.kind === 'read') o.value = register
    else if (o.kind === 'write') register = o.value
    else if (rng.nextInt(3) === 0 && register !== null) {
      o.expected = register
      o.swapped = true
      register = o.value
    } else {
      o.swapped = o.expected === register
      if (o.swapped) register = o.value
      else o.observed = register
    }
    if (o.kind !== 'read' && rng.nextInt(20) === 0) {
      o.outcome = 'unknown' satisfies Outcome
      o.completeMs = Infinity
      delete o.swapped
      delete o.observed
    }
  }
  return planned.map((p) => p.op)
}

describe('bank checker', () => {
  const spec = { accounts: [1, 2, 3], total: 300n }
  const read = (balances: Array<[number, bigint]>) => ({ client: 1, invokeMs: 0, completeMs: 1, balances: new Map(balances) })

  it('accepts reads that keep the total', () => {
    assert.deepEqual(checkBank(spec, [read([[1, 100n], [2, 100n], [3, 100n]]), read([[1, 50n], [2, 150n], [3, 100n]])]), [])
  })

  it('flags a changed total, a negative balance and a missing account', () => {
    assert.match(checkBank(spec, [read([[1, 100n], [2, 150n], [3, 100n]])])[0]!.message, /total of 350/)
    assert.match(checkBank(spec, [read([[1, -10n], [2, 210n], [3, 100n]])])[0]!.message, /negative balance in account 1/)
    assert.match(checkBank(spec, [read([[1, 200n], [2, 100n]])]).map((a) => a.message).join(' '), /accounts \{1,2\}/)
  })
})

describe('set checker', () => {
  const add = (element: number, outcome: Outcome): SetAdd => ({ client: 1, element, outcome })

  it('accepts a final read with every acknowledged element, and unknown ones either way', () => {
    const v = checkSet([add(1, 'ok'), add(2, 'unknown'), add(3, 'unknown'), add(4, 'fail')], [1, 3])
    assert.deepEqual(v.anomalies, [])
    assert.equal(v.acknowledged, 1)
    assert.equal(v.recovered, 1)
  })

  it('flags a lost element, a failed add that is present, and an element nobody added', () => {
    const messages = checkSet([add(1, 'ok'), add(2, 'ok'), add(4, 'fail')], [1, 4, 9]).anomalies.map((a) => a.message)
    assert.equal(messages.length, 3)
    assert.match(messages[0]!, /1 acknowledged element\(s\) missing/)
    assert.match(messages[1]!, /whose add failed are present/)
    assert.match(messages[2]!, /no client added/)
  })
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeCommand, encodeCommand, encodedCommandSize, type Command } from './command.js'
import { KvErrorCode } from '../api/errors.js'

const b = (s: string) => Buffer.from(s)

test('every command kind survives encoding; damaged bytes raise CORRUPTION', () => {
  const commands: Command[] = [
    { kind: 'put', key: b('k'), value: b('v') },
    { kind: 'delete', key: b('k') },
    { kind: 'cas', key: b('k'), expected: undefined, value: b('v') },
    { kind: 'deleteRange', start: b('a'), end: b('') },
    { kind: 'batch', writes: [{ key: b('a'), value: b('1') }, { key: b('b'), value: undefined }] },
    { kind: 'split', splitKey: b('m'), newRangeId: 7 },
    { kind: 'freeze' },
    { kind: 'merge', right: b('{}'), rightLastTs: 99n },
    {
      kind: 'prewrite',
      startTs: 10n,
      primary: b('p'),
      ttlMs: 3000,
      mutations: [
        { key: b('p'), kind: 'put', value: b('v'), assertAbsent: true },
        { key: b('q'), kind: 'delete', value: undefined, assertAbsent: false },
        { key: b('r'), kind: 'lock', value: undefined, assertAbsent: true },
      ],
    },
    { kind: 'commit', startTs: 10n, commitTs: 12n, keys: [b('p'), b('q')] },
    {
      kind: 'onePhaseCommit',
      startTs: 10n,
      commitTs: 11n,
      mutations: [
        { key: b('p'), kind: 'put', value: b('v'), assertAbsent: true },
        { key: b('q'), kind: 'delete', value: undefined, assertAbsent: false },
      ],
    },
    { kind: 'rollback', startTs: 10n, keys: [b('p')] },
    { kind: 'checkTxn', primary: b('p'), startTs: 10n, nowTs: 2n ** 63n },
    { kind: 'heartbeat', primary: b('p'), startTs: 10n, ttlMs: 9000 },
  ]
  for (const command of commands) {
    const bytes = encodeCommand({ proposalId: 5, nodeId: 2, ms: 1234, command })
    assert.equal(bytes.length, encodedCommandSize(command))
    const back = decodeCommand(bytes)
    assert.deepEqual({ ...back, command: normalize(back.command) }, { proposalId: 5, nodeId: 2, ms: 1234, command: normalize(command) }, command.kind)
    assert.throws(() => decodeCommand(bytes.subarray(0, bytes.length - 1)), (e: { code?: string }) => e.code === KvErrorCode.CORRUPTION, command.kind)
  }
})

/** Buffers and Uint8Array views compare equal by content. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  if (Array.isArray(v)) return v.map(normalize)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]))
  return v
}

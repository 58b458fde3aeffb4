// Transactions against a loopback cluster: a one-phase commit whose answer is lost is settled
// (committed, or rolled back so that a late apply is refused), and a transaction holds the GC
// safe point until its commit returns.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KvError, KvErrorCode } from '../api/errors.js'
import type { KvRequest, KvResponse, NodeAddress } from '../api/requests.js'
import { loopbackRoles, withLoopbackCluster } from '../testing/loopback-cluster.js'
import { TestOracle } from '../testing/test-oracle.js'
import { GrpcSender } from './grpc-sender.js'
import { KvClient } from './kv-client.js'
import { SendError, type KvSender } from './sender.js'
import { TransactionalKv } from './transaction.js'

const b = (s: string) => Buffer.from(s)
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString())

/** What the sender does with the next one-phase commit it carries. */
type Fault =
  | { kind: 'none' }
  /** Delivered and applied, then its answer is lost. */
  | { kind: 'apply-then-lose' }
  /** Never delivered; the request is kept for a late delivery. */
  | { kind: 'lose'; kept?: { node: NodeAddress; requests: readonly KvRequest[] } }
  /** Delivered once `release` is called (the commit hangs until then). */
  | { kind: 'hold'; release?: () => void }

/** A gRPC sender with a fault for the next one-phase commit. */
function faultySender(fault: { current: Fault }): KvSender {
  const grpc = new GrpcSender()
  return {
    async send(node, requests, deadline): Promise<KvResponse[]> {
      const f = fault.current
      if (f.kind === 'none' || !requests.some((r) => r.op === 'onePhaseCommit')) return grpc.send(node, requests, deadline)
      fault.current = { kind: 'none' }
      if (f.kind === 'apply-then-lose') {
        await grpc.send(node, requests, deadline)
        throw new SendError('ambiguous', 'the connection broke after the request was sent (test)')
      }
      if (f.kind === 'lose') {
        f.kept = { node, requests }
        throw new SendError('ambiguous', 'the connection broke after the request was sent (test)')
      }
      await new Promise<void>((resolve) => (f.release = resolve))
      return grpc.send(node, requests, deadline)
    },
    close: () => grpc.close(),
  }
}

test('a one-phase commit whose answer is lost is settled: committed when it applied, rolled back (and refused if it arrives late) when not', async () => {
  const oracle = new TestOracle()
  await withLoopbackCluster(
    async (nodes) => {
      const { leader } = loopbackRoles(nodes, 1)
      const fault: { current: Fault } = { current: { kind: 'none' } }
      const kv = new KvClient({ hosts: [leader.address], sender: faultySender(fault) })
      const txns = new TransactionalKv(kv, oracle)
      try {
        // Applied, answer lost: the commit succeeds, at the timestamp the range chose.
        const applied = await txns.begin()
        applied.put(b('a'), b('applied'))
        fault.current = { kind: 'apply-then-lose' }
        await applied.commit()
        assert.equal(fault.current.kind, 'none', 'the fault was used')
        assert.ok(applied.commitTs !== undefined && applied.commitTs > applied.startTs)
        assert.equal(text(await kv.get('a', { ts: applied.commitTs })), 'applied')
        assert.equal(text(await kv.get('a', { ts: applied.commitTs - 1n })), undefined)

        // Not applied, answer lost: TXN_ABORTED (nothing written, safe to run again)...
        const lost = await txns.begin()
        lost.put(b('a'), b('lost'))
        lost.put(b('b'), b('lost'))
        const lose: Fault = { kind: 'lose' }
        fault.current = lose
        await assert.rejects(lost.commit(), (e: KvError) => e.code === KvErrorCode.TXN_ABORTED)
        // ...and the request, arriving late, is refused: it writes nothing.
        assert.ok(lose.kept, 'the request was kept')
        const [late] = await leader.remote.send(lose.kept.node, lose.kept.requests, Date.now() + 20_000)
        assert.ok(late?.error instanceof KvError, `the late one-phase commit was refused (got ${JSON.stringify(late)})`)
        assert.equal(text(await kv.get('a')), 'applied')
        assert.equal(text(await kv.get('b')), undefined)
      } finally {
        kv.close()
      }
    },
    { timestamps: oracle },
  )
})

test('a transaction counts as running (holds the GC safe point) until its commit returns', async () => {
  const oracle = new TestOracle()
  await withLoopbackCluster(
    async (nodes) => {
      const { leader } = loopbackRoles(nodes, 1)
      const hold: Fault = { kind: 'hold' }
      const fault: { current: Fault } = { current: hold }
      const kv = new KvClient({ hosts: [leader.address], sender: faultySender(fault) })
      const txns = new TransactionalKv(kv, oracle)
      try {
        const txn = await txns.begin()
        txn.put(b('c'), b('1'))
        const committing = txn.commit()
        while (hold.release === undefined) await new Promise((r) => setImmediate(r))
        // The commit is under way (its answer may yet be lost and settled): a safe point above
        // the start could collect the version the settling looks for.
        assert.ok((await txns.oldestRunningTs()) <= txn.startTs)
        hold.release()
        await committing
        assert.ok((await txns.oldestRunningTs()) > txn.startTs)
      } finally {
        kv.close()
      }
    },
    { timestamps: oracle },
  )
})

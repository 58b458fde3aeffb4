import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, type Engine } from './engine.js'
import { StorageError, StorageErrorCode } from './errors.js'
import { KeyLockedError, MAX_MVCC_KEY_SIZE, MAX_MVCC_VALUE_SIZE, MvccStore, type TxnStatus } from './mvcc.js'
import type { MutationKind } from './mvcc-record.js'
import { composeTimestamp, MAX_TIMESTAMP } from './timestamp.js'
import { SeededRandom } from './testing/random.js'
import { tempDir } from './testing/temp-dir.js'

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString())
const hasCode = (code: string) => (e: { code?: string }) => e.code === code

async function withStore(fn: (engine: Engine) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  const engine = await open(dir.path)
  try {
    await fn(engine)
  } finally {
    await engine.close()
    await dir.remove()
  }
}

test('reads see the newest version at or below their timestamp', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    await mvcc.put('k', 'v10', 10n)
    await mvcc.put('k', 'v20', 20n)
    await mvcc.delete('k', 30n)
    await mvcc.put('k', 'v40', 40n)
    assert.equal(await mvcc.get('k', 5n), undefined)
    assert.equal(text(await mvcc.get('k', 10n)), 'v10')
    assert.equal(text(await mvcc.get('k', 25n)), 'v20')
    assert.equal(await mvcc.get('k', 35n), undefined)
    assert.equal(text(await mvcc.get('k', MAX_TIMESTAMP)), 'v40')
    await assert.rejects(mvcc.put('k', 'old', 40n), hasCode(StorageErrorCode.WRITE_CONFLICT))
  })
})

test('Percolator: prewrite locks, readers meet the lock, commit makes it visible, rollback blocks late prewrites', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    await mvcc.put('a', 'a0', 5n)
    await mvcc.write(async (w) => {
      await w.prewrite({ key: 'a', kind: 'put', value: 'a1' }, 'a', 10n, 3000)
      await w.prewrite({ key: 'b', kind: 'delete' }, 'a', 10n, 3000)
    })
    assert.equal(text(await mvcc.get('a', 9n)), 'a0', 'a read below the lock is not blocked')
    await assert.rejects(mvcc.get('a', 11n), (e: unknown) => e instanceof KeyLockedError && text(e.lock.primary) === 'a')
    await assert.rejects(mvcc.write((w) => w.prewrite({ key: 'a', kind: 'put', value: 'x' }, 'a', 12n, 10)), hasCode(StorageErrorCode.KEY_LOCKED))
    const status = await mvcc.checkTxnStatus('a', 10n, composeTimestamp(1))
    assert.equal(status.state, 'locked')
    assert.deepEqual(status, { state: 'locked', lock: (await mvcc.lockOf('a'))!, expired: false } satisfies TxnStatus)
    await mvcc.write((w) => w.commit('a', 10n, 15n))
    await mvcc.write((w) => w.commit('a', 10n, 15n))
    assert.deepEqual(await mvcc.checkTxnStatus('a', 10n, 20n), { state: 'committed', commitTs: 15n })
    assert.equal(text(await mvcc.get('a', 15n)), 'a1')
    await assert.rejects(mvcc.write((w) => w.rollback('a', 10n)), hasCode(StorageErrorCode.ALREADY_COMMITTED))
    await mvcc.write((w) => w.rollback('b', 10n))
    assert.equal(await mvcc.lockOf('b'), undefined)
    await assert.rejects(mvcc.write((w) => w.prewrite({ key: 'b', kind: 'delete' }, 'a', 10n, 10)), hasCode(StorageErrorCode.WRITE_CONFLICT))
    await assert.rejects(mvcc.write((w) => w.commit('b', 10n, 15n)), hasCode(StorageErrorCode.TXN_NOT_FOUND))
    await assert.rejects(mvcc.write((w) => w.prewrite({ key: 'a', kind: 'put', value: 'y' }, 'a', 14n, 10)), hasCode(StorageErrorCode.WRITE_CONFLICT))
  })
})

test('lock expiry is judged on the physical part of timestamps', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    const start = composeTimestamp(1_000, 3)
    await mvcc.write((w) => w.prewrite({ key: 'p', kind: 'put', value: 'v' }, 'p', start, 500))
    const at = async (ms: number) => ((await mvcc.checkTxnStatus('p', start, composeTimestamp(ms))) as { expired: boolean }).expired
    assert.equal(await at(1_499), false)
    assert.equal(await at(1_500), true)
  })
})

test('a prewrite asserting absence fails on a live value only; a heartbeat raises the primary lock TTL', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    await mvcc.put('live', 'v', 5n)
    await mvcc.put('gone', 'v', 5n)
    await mvcc.delete('gone', 6n)
    await assert.rejects(mvcc.write((w) => w.prewrite({ key: 'live', kind: 'put', value: 'x', assertAbsent: true }, 'live', 10n, 100)), hasCode(StorageErrorCode.KEY_EXISTS))
    assert.equal(await mvcc.lockOf('live'), undefined, 'the failed prewrite left no lock')
    await mvcc.write(async (w) => {
      await w.prewrite({ key: 'gone', kind: 'put', value: 'x', assertAbsent: true }, 'gone', 10n, 100)
      await w.prewrite({ key: 'never', kind: 'put', value: 'y', assertAbsent: true }, 'gone', 10n, 100)
    })
    await mvcc.write((w) => w.heartbeat('gone', 10n, 5000))
    assert.equal((await mvcc.lockOf('gone'))?.ttlMs, 5000)
    await mvcc.write((w) => w.heartbeat('gone', 10n, 1000))
    assert.equal((await mvcc.lockOf('gone'))?.ttlMs, 5000, 'a heartbeat never shortens the TTL')
    await assert.rejects(mvcc.write((w) => w.heartbeat('gone', 11n, 5000)), hasCode(StorageErrorCode.TXN_NOT_FOUND))
  })
})

test('a rollback stops a later prewrite of that transaction, in the same write, from an earlier one, or read ahead', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    const conflict = hasCode(StorageErrorCode.WRITE_CONFLICT)
    await assert.rejects(
      mvcc.write(async (w) => {
        await w.rollback('a', 10n)
        await w.prewrite({ key: 'a', kind: 'put', value: 'v' }, 'a', 10n, 100)
      }),
      conflict,
    )
    // A rollback undone by `atomic` no longer counts.
    await mvcc.write(async (w) => {
      await assert.rejects(
        w.atomic(async () => {
          await w.rollback('b', 10n)
          throw new Error('undo')
        }),
      )
      await w.prewrite({ key: 'b', kind: 'put', value: 'v' }, 'b', 10n, 100)
    })
    await mvcc.write((w) => w.rollback('c', 10n))
    await assert.rejects(mvcc.write((w) => w.prewrite({ key: 'c', kind: 'put', value: 'v' }, 'c', 10n, 100)), conflict)
    const prefetched = await mvcc.readRecords([Buffer.from('c'), Buffer.from('d')], [[Buffer.from('c'), 10n], [Buffer.from('d'), 10n]])
    await assert.rejects(mvcc.write((w) => w.prewrite({ key: 'c', kind: 'put', value: 'v' }, 'c', 10n, 100), { prefetched }), conflict)
    await mvcc.write((w) => w.prewrite({ key: 'd', kind: 'put', value: 'v' }, 'c', 10n, 100), { prefetched })
  })
})

test('a failed write callback writes nothing, and extra ops share the batch', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    await assert.rejects(
      mvcc.write(async (w) => {
        await w.put('x', '1', 10n)
        throw new Error('boom')
      }),
    )
    assert.equal(await mvcc.get('x', 100n), undefined)
    await mvcc.write((w) => w.put('x', '1', 10n), { extraOps: [{ type: 'put', key: 'applied', value: '7' }] })
    assert.equal(text(await engine.get('applied')), '7')
    await assert.rejects(mvcc.put('x', '2', 'nope' as never), hasCode(StorageErrorCode.INVALID_ARGUMENT))
    await assert.rejects(mvcc.write((w) => w.prewrite({ key: 'y', kind: 'put', value: 'v' }, 'y', 20n, -1)), hasCode(StorageErrorCode.INVALID_ARGUMENT))
  })
})

test('atomic undoes everything a failing step wrote, and the writer goes on', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    await mvcc.write((w) => w.prewrite({ key: 'locked', kind: 'put', value: 'v' }, 'locked', 5n, 1000))
    await mvcc.write(async (w) => {
      await w.put('a', 'before', 10n)
      await assert.rejects(
        w.atomic(async () => {
          await w.put('a', 'inside', 11n)
          await w.put('b', 'inside', 11n)
          await w.put('locked', 'x', 11n) // meets the lock
        }),
        KeyLockedError,
      )
      assert.equal(text(await w.latest('a')), 'before')
      assert.equal(await w.latest('b'), undefined)
      await w.atomic(() => w.put('c', 'kept', 12n))
    })
    assert.equal(text(await mvcc.get('a', 100n)), 'before')
    assert.equal(await mvcc.get('b', 100n), undefined)
    assert.equal(text(await mvcc.get('c', 100n)), 'kept')
    // The undone put of 'a' at 11 left no history behind: the version at 10 is the only one.
    assert.equal(await mvcc.get('a', 9n), undefined)
  })
})

test('MVCC keys and values are limited so that every engine key and record they make fits', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    // The worst case for escaping: every byte 0x00. Its history key must still fit the engine.
    const longest = new Uint8Array(MAX_MVCC_KEY_SIZE)
    await mvcc.put(longest, 'v1', 10n)
    await mvcc.put(longest, 'v2', 20n)
    await mvcc.write((w) => w.prewrite({ key: longest, kind: 'put', value: 'v3' }, longest, 30n, 1000))
    await mvcc.write((w) => w.rollback(longest, 30n))
    assert.equal(text(await mvcc.get(longest, 15n)), 'v1')
    await assert.rejects(mvcc.put(new Uint8Array(MAX_MVCC_KEY_SIZE + 1), 'v', 40n), hasCode(StorageErrorCode.TOO_LARGE))
    await assert.rejects(mvcc.put('k', new Uint8Array(MAX_MVCC_VALUE_SIZE + 1), 40n), hasCode(StorageErrorCode.TOO_LARGE))
    await assert.rejects(mvcc.readRecords([new Uint8Array(MAX_MVCC_KEY_SIZE + 1)]), hasCode(StorageErrorCode.TOO_LARGE))
    assert.throws(() => new MvccStore(engine, { prefix: new Uint8Array(17) }), hasCode(StorageErrorCode.INVALID_ARGUMENT))
  })
})

test('a damaged MVCC record raises ERR_CORRUPTION', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine, { prefix: Uint8Array.of(9) })
    await engine.put(Uint8Array.of(9, 0x6d, 0x6b), Uint8Array.of(4, 1))
    await assert.rejects(mvcc.get('k', 10n), hasCode(StorageErrorCode.CORRUPTION))
  })
})

// ---- model-based property test --------------------------------------------------------------

interface ModelVersion {
  commitTs: bigint
  startTs: bigint
  value: string | undefined
}
interface ModelLock {
  startTs: bigint
  kind: MutationKind
  primary: string
  value: string | undefined
}

/** A plain in-memory statement of the MVCC rules, independent of the store's layout. */
class Model {
  versions = new Map<string, ModelVersion[]>()
  locks = new Map<string, ModelLock>()
  rollbacks = new Set<string>()

  private latest(key: string): ModelVersion | undefined {
    return this.versions.get(key)?.at(-1)
  }
  private commitOf(key: string, startTs: bigint): ModelVersion | undefined {
    return this.versions.get(key)?.find((v) => v.startTs === startTs)
  }
  private push(key: string, v: ModelVersion): void {
    this.versions.set(key, [...(this.versions.get(key) ?? []), v])
  }

  get(key: string, ts: bigint): string | undefined {
    const lock = this.locks.get(key)
    if (lock && lock.kind !== 'lock' && lock.startTs <= ts) throw new StorageError(StorageErrorCode.KEY_LOCKED, 'locked')
    return [...(this.versions.get(key) ?? [])].reverse().find((v) => v.commitTs <= ts)?.value
  }

  write(key: string, value: string | undefined, ts: bigint): void {
    if (this.locks.has(key)) throw new StorageError(StorageErrorCode.KEY_LOCKED, 'locked')
    const latest = this.latest(key)
    if (latest && latest.commitTs >= ts) throw new StorageError(StorageErrorCode.WRITE_CONFLICT, 'conflict')
    this.push(key, { commitTs: ts, startTs: ts, value })
  }

  prewrite(key: string, kind: MutationKind, value: string | undefined, primary: string, startTs: bigint): void {
    const lock = this.locks.get(key)
    if (lock) {
      if (lock.startTs === startTs) return
      throw new StorageError(StorageErrorCode.KEY_LOCKED, 'locked')
    }
    const latest = this.latest(key)
    if ((latest && latest.commitTs > startTs) || this.rollbacks.has(`${key}@${startTs}`)) {
      throw new StorageError(StorageErrorCode.WRITE_CONFLICT, 'conflict')
    }
    this.locks.set(key, { startTs, kind, primary, value: kind === 'put' ? value : undefined })
  }

  commit(key: string, startTs: bigint, commitTs: bigint): void {
    const lock = this.locks.get(key)
    if (lock?.startTs !== startTs) {
      if (this.commitOf(key, startTs)) return
      throw new StorageError(StorageErrorCode.TXN_NOT_FOUND, 'not found')
    }
    this.locks.delete(key)
    if (lock.kind !== 'lock') this.push(key, { commitTs, startTs, value: lock.value })
  }

  rollback(key: string, startTs: bigint): void {
    if (this.locks.get(key)?.startTs === startTs) this.locks.delete(key)
    else if (this.commitOf(key, startTs)) throw new StorageError(StorageErrorCode.ALREADY_COMMITTED, 'committed')
    this.rollbacks.add(`${key}@${startTs}`)
  }

  status(key: string, startTs: bigint): string {
    if (this.locks.get(key)?.startTs === startTs) return 'locked'
    if (this.commitOf(key, startTs)) return `committed@${this.commitOf(key, startTs)!.commitTs}`
    return this.rollbacks.has(`${key}@${startTs}`) ? 'rolled-back' : 'missing'
  }
}

const KEYS = ['a', 'ab', 'a\0', 'b', 'c\0d', 'zz']

async function outcome(fn: () => Promise<unknown> | unknown): Promise<string> {
  try {
    const r = await fn()
    return `ok:${r === undefined ? '' : String(r)}`
  } catch (e) {
    if (e instanceof StorageError) return `err:${e.code}`
    throw e
  }
}

/** Collects garbage below `safePoint` step by step, as a range's leader does: plan a few keys, collect them, go on. */
async function incrementalGc(store: MvccStore, safePoint: bigint): Promise<void> {
  let start: Uint8Array | undefined
  do {
    const plan = await store.gcPlan({ start, threshold: safePoint, lockBelow: safePoint, maxKeys: 2 })
    await store.write(async (w) => {
      for (const k of plan.keys) await w.gcKey(k, safePoint, 3)
    })
    start = plan.next
  } while (start !== undefined)
}

for (const [name, collect] of [
  ['one pass over the store', (store: MvccStore, sp: bigint) => store.gc(sp)],
  ['planned in steps of a few keys, as ranges collect', incrementalGc],
] as const) test(`MVCC matches an in-memory model over random operations, GC ${name} included (property, 30 seeds)`, async () => {
  await withStore(async (engine) => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = new SeededRandom(seed)
      const store = new MvccStore(engine, { prefix: Uint8Array.of(0x10, seed) })
      const model = new Model()
      let clock = 100n
      let safePoint = 0n
      // Mostly new timestamps, some stale ones, never at or below the safe point (GC's contract).
      const tsNear = () => {
        if (r.int(5) > 0) return (clock += BigInt(1 + r.int(3)))
        const stale = clock - BigInt(r.int(20))
        return stale > safePoint ? stale : safePoint + 1n
      }
      const readTs = () => safePoint + BigInt(r.int(Number(clock - safePoint) + 10))
      for (let step = 0; step < 250; step++) {
        const key = r.pick(KEYS)
        const ctx = `seed ${seed} step ${step}`
        const op = r.int(10)
        if (op <= 1) {
          const ts = tsNear()
          const value = r.int(4) === 0 ? undefined : `v${step}`
          const want = await outcome(() => model.write(key, value, ts))
          const got = await outcome(() => (value === undefined ? store.delete(key, ts) : store.put(key, value, ts)))
          assert.equal(got, want, `${ctx}: write ${key}@${ts}`)
        } else if (op <= 3) {
          const startTs = tsNear()
          const primary = r.pick(KEYS)
          const kind = r.pick(['put', 'put', 'delete', 'lock'] as const)
          const want = await outcome(() => model.prewrite(key, kind, `t${step}`, primary, startTs))
          const got = await outcome(() => store.write((w) => w.prewrite({ key, kind, value: `t${step}` }, primary, startTs, 1000)))
          assert.equal(got, want, `${ctx}: prewrite ${key}@${startTs}`)
        } else if (op <= 5) {
          const lock = model.locks.get(key)
          const startTs = lock && r.int(4) > 0 ? lock.startTs : tsNear()
          if (r.int(2) === 0) {
            const commitTs = (clock += 1n)
            const want = await outcome(() => model.commit(key, startTs, commitTs))
            const got = await outcome(() => store.write((w) => w.commit(key, startTs, commitTs)))
            assert.equal(got, want, `${ctx}: commit ${key}@${startTs}`)
          } else {
            const want = await outcome(() => model.rollback(key, startTs))
            const got = await outcome(() => store.write((w) => w.rollback(key, startTs)))
            assert.equal(got, want, `${ctx}: rollback ${key}@${startTs}`)
          }
        } else if (op <= 7) {
          const ts = readTs()
          const want = await outcome(() => model.get(key, ts))
          const got = await outcome(async () => text(await store.get(key, ts)))
          assert.equal(got, want, `${ctx}: get ${key}@${ts}`)
          const lock = model.locks.get(key)
          if (lock) {
            const status = await store.checkTxnStatus(key, lock.startTs, clock)
            assert.equal(status.state, 'locked', `${ctx}: status`)
          }
        } else if (op === 8) {
          const ts = readTs()
          const [lo, hi] = [r.pick(KEYS), r.pick(KEYS)].sort()
          const want = await outcome(() =>
            KEYS.filter((k) => k >= lo! && k < hi!)
              .sort()
              .flatMap((k) => {
                const v = model.get(k, ts)
                return v === undefined ? [] : [`${k}=${v}`]
              })
              .join(','),
          )
          const got = await outcome(async () => {
            const rows: string[] = []
            for await (const [k, v] of store.scan({ start: lo, end: hi, ts })) rows.push(`${text(k)}=${text(v)}`)
            return rows.join(',')
          })
          assert.equal(got, want, `${ctx}: scan [${lo}, ${hi})@${ts}`)
          const page = await store.scanPage({ start: lo, end: hi, ts, limit: 1000, maxLocks: 1000 })
          const gotPage = page.locks.length > 0 ? `err:${StorageErrorCode.KEY_LOCKED}` : `ok:${page.rows.map(([k, v]) => `${text(k)}=${text(v)}`).join(',')}`
          assert.equal(gotPage, want, `${ctx}: scanPage [${lo}, ${hi})@${ts}`)
        } else {
          const oldestLock = [...model.locks.values()].reduce((m, l) => (l.startTs < m ? l.startTs : m), clock)
          safePoint = oldestLock - 1n > safePoint ? oldestLock - 1n : safePoint
          await collect(store, safePoint)
          clock = clock > safePoint + 20n ? clock : safePoint + 20n
          for (const k of KEYS) {
            for (const ts of [safePoint, clock]) {
              assert.equal(await outcome(async () => text(await store.get(k, ts))), await outcome(() => model.get(k, ts)), `${ctx}: after gc(${safePoint}) get ${k}@${ts}`)
            }
          }
        }
        // Transactions recorded in the model stay discoverable through the store.
        if (step % 50 === 49) {
          for (const [k, versions] of model.versions) {
            for (const v of versions.filter((v) => v.startTs > safePoint && v.startTs !== v.commitTs)) {
              const status = await store.checkTxnStatus(k, v.startTs, clock)
              assert.equal(status.state === 'committed' ? `committed@${status.commitTs}` : status.state, model.status(k, v.startTs), `${ctx}: status of ${k}@${v.startTs}`)
            }
          }
        }
      }
    }
  })
})

test('a scan page at an older snapshot finds each key\'s version in history, many keys at once', async () => {
  await withStore(async (engine) => {
    const store = new MvccStore(engine)
    const r = new SeededRandom(7)
    const keys = Array.from({ length: 700 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    // Keys written at 10, some rewritten or deleted later, a few many times (more versions than
    // one batched history read takes per key), some first written at 50.
    for (const [i, k] of keys.entries()) {
      if (i % 7 !== 3) await store.put(k, `${k}@10`, 10n)
      const rewrites = i % 50 === 0 ? 12 : r.int(3)
      for (let n = 1; n <= rewrites; n++) {
        const ts = 10n + BigInt(n * 5)
        if (r.int(6) === 0) await store.delete(k, ts)
        else await store.put(k, `${k}@${ts}`, ts)
      }
      if (i % 7 === 3) await store.put(k, `${k}@50`, 100n)
    }
    for (const ts of [5n, 10n, 12n, 15n, 17n, 25n, 40n, 70n, 100n]) {
      const want: string[] = []
      for (const k of keys) {
        const v = await store.get(k, ts)
        if (v !== undefined) want.push(`${k}=${text(v)}`)
      }
      for (const [limit, reverse] of [[1000, false], [1000, true], [37, false]] as const) {
        const page = await store.scanPage({ ts, limit, maxLocks: 10, reverse })
        const expected = reverse ? [...want].reverse() : want
        assert.deepEqual(page.rows.map(([k, v]) => `${text(k)}=${text(v)}`), expected.slice(0, limit), `scanPage at ${ts}, limit ${limit}${reverse ? ', reverse' : ''}`)
      }
    }
  })
})

test('GC keeps what reads at or above the safe point need and removes the rest', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    for (let i = 1; i <= 10; i++) await mvcc.put('k', `v${i}`, BigInt(i * 10))
    await mvcc.put('d', 'x', 10n)
    await mvcc.delete('d', 20n)
    await mvcc.write((w) => w.rollback('r', 5n))
    const stats = await mvcc.gc(55n)
    assert.deepEqual(stats, { versionsRemoved: 5, tombstonesRemoved: 1, rollbacksRemoved: 1 })
    assert.equal(text(await mvcc.get('k', 55n)), 'v5')
    assert.equal(text(await mvcc.get('k', 100n)), 'v10')
    assert.equal(await mvcc.get('d', 100n), undefined)
    let left = 0
    for await (const _ of engine.scan()) left++
    assert.equal(left, 1 + 5, 'the latest record of k and its five history versions from v5 on')
  })
})

test('writers that share a batch all land together; a failing one writes nothing; others run alone', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    const writes = Array.from({ length: 10 }, (_, i) =>
      mvcc.write(async (w) => {
        if (i === 3) throw new Error('this one fails')
        await w.put(`g${i}`, `v${i}`, 10n)
      }, { shareBatch: true, extraOps: [{ type: 'put', key: `meta${i}`, value: 'x' }] }),
    )
    const alone = mvcc.put('alone', 'v', 10n)
    const results = await Promise.allSettled([...writes, alone])
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', ...Array(7).fill('fulfilled')])
    for (let i = 0; i < 10; i++) {
      assert.equal(text(await mvcc.get(`g${i}`, 20n)), i === 3 ? undefined : `v${i}`)
      assert.equal(text(await engine.get(`meta${i}`)), i === 3 ? undefined : 'x')
    }
    assert.equal(text(await mvcc.get('alone', 20n)), 'v')
  })
})

test('a GC plan finds every key with garbage and the old locks; collecting them leaves nothing to plan', async () => {
  await withStore(async (engine) => {
    const mvcc = new MvccStore(engine)
    for (let i = 0; i < 10; i++) {
      for (let v = 1; v <= 20; v++) await mvcc.put(`k${i}`, `v${v}`, BigInt(v * 10))
      if (i % 2 === 0) await mvcc.delete(`k${i}`, 210n)
    }
    await mvcc.write((w) => w.rollback('r', 5n))
    await mvcc.write((w) => w.prewrite({ key: 'k1', kind: 'put', value: 'x' }, 'k1', 220n, 1000))
    const stats = await mvcc.approximateStats()
    assert.equal(stats.keys, 10)
    assert.ok(stats.liveBytes > 0 && stats.garbageBytes > 0, `live ${stats.liveBytes}, garbage ${stats.garbageBytes}`)
    const keysOf = (plan: { keys: Uint8Array[] }) => plan.keys.map((k) => text(k))
    const whole = await mvcc.gcPlan({ threshold: 300n, lockBelow: 300n, maxKeys: 100 })
    assert.deepEqual(keysOf(whole), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'r'])
    assert.deepEqual(whole.locks.map((l) => [text(l.key), l.lock.startTs]), [['k1', 220n]])
    assert.equal(whole.next, undefined)
    // Below the deletions, only the versions shadowed at 150 go.
    const early = await mvcc.gcPlan({ threshold: 150n, lockBelow: 0n, maxKeys: 4 })
    assert.deepEqual(keysOf(early), ['k0', 'k1', 'k2', 'k3'])
    assert.equal(text(early.next), 'k3\0')
    await mvcc.write(async (w) => {
      for (const k of whole.keys) await w.gcKey(k, 300n)
    })
    assert.deepEqual(keysOf(await mvcc.gcPlan({ threshold: 300n, lockBelow: 0n, maxKeys: 100 })), [])
    for (let i = 0; i < 10; i++) assert.equal(text(await mvcc.get(`k${i}`, i === 1 ? 219n : 300n)), i % 2 === 0 ? undefined : 'v20')
    let left = 0
    for await (const _ of engine.scan()) left++
    assert.equal(left, 5, 'the latest records of the five live keys, nothing else')
  })
})

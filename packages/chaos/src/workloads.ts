// The clients of a chaos run. Each logical client runs one operation at a time, in a loop,
// until told to stop, and records every operation with its times and outcome:
// - `kv-register`: read, write and compare-and-swap on a few keys through the KV API;
// - `sql-register`: the same on rows of a table through SQL (SELECT, UPDATE, UPDATE … WHERE);
// - `bank`: transfers between accounts in explicit transactions, and reads of every account;
// - `set`: inserts of unique elements, read back once at the end.
// Values written are unique, so a read names the write it saw. Error codes that mean "this
// certainly did not happen" make an outcome `fail`; every other failure is `unknown`.

import { setTimeout as sleep } from 'node:timers/promises'
import { SeededRng } from '@mrdb/raft'
import { KvClient, KvError } from '@mrdb/kv'
import { SqlClient, SqlClientError } from '@mrdb/server'
import type { BankRead, Outcome, RegisterOp, RegisterValue, SetAdd } from './history.js'

/** The workloads a client can run. */
export type WorkloadName = 'kv-register' | 'sql-register' | 'bank' | 'set'

/** Tables and keys of the workloads. */
export const WORKLOAD_SCHEMA = {
  kvRegisterKey: (i: number) => `chaos/register/${i}`,
  sqlRegisterTable: 'chaos_register',
  bankTable: 'chaos_bank',
  setTable: 'chaos_set',
} as const

/** Everything the clients did; shared by all of them. */
export interface ChaosHistory {
  registers: RegisterOp[]
  bankReads: BankRead[]
  transfers: Record<Outcome, number>
  setAdds: SetAdd[]
}

/** The knobs every client shares. */
export interface ClientContext {
  history: ChaosHistory
  /** Addresses of every node. */
  hosts: string[]
  /** Every node's SQL address (PostgreSQL wire protocol), in the order of {@link hosts}. */
  sqlHosts: string[]
  /** Keys (rows) per register workload. */
  registers: number
  /** Bank accounts, numbered 1..accounts. */
  accounts: number
  /** Deadline of one operation; past it the outcome is unknown. */
  operationTimeoutMs: number
  /** Milliseconds on the run's monotonic clock. */
  now: () => number
  /** True once the run is over. */
  stopped: () => boolean
}

/** KV errors after which the operation certainly did nothing. */
const KV_DEFINITE = new Set(['INVALID_ARGUMENT', 'KEY_EXISTS', 'WRITE_CONFLICT', 'TXN_ABORTED'])
/** SQLSTATEs after which the statement certainly did nothing: rolled back, refused, or invalid. */
const SQL_DEFINITE = new Set(['40001', '23505', '25P02', '42601', '42P01', '42703'])

/**
 * A session whose connection never came up (SqlClient's own 08006): nothing was sent on it.
 * A connection that broke under a statement, or a node's 08006, stays unknown.
 */
const NEVER_CONNECTED = /^could not connect to /
/** A client pauses this long after a failed operation, so a down node is not hammered. */
const BACKOFF_MS = 100

/** Runs client `id` of workload `workload` until the run stops. */
export async function runClient(workload: WorkloadName, id: number, seed: number, ctx: ClientContext): Promise<void> {
  const rng = new SeededRng(seed * 1000 + id)
  switch (workload) {
    case 'kv-register':
      return kvRegisterClient(id, rng, ctx)
    case 'sql-register': {
      const lastSeen = new Map<string, RegisterValue>()
      return sqlClientLoop(id, ctx, (sql) => sqlRegisterStep(id, rng, ctx, sql, lastSeen))
    }
    case 'bank':
      return sqlClientLoop(id, ctx, (sql) => bankStep(id, rng, ctx, sql))
    case 'set': {
      let added = 0
      return sqlClientLoop(id, ctx, (sql) => setStep(id, id * 1_000_000 + ++added, ctx, sql))
    }
  }
}

async function kvRegisterClient(id: number, rng: SeededRng, ctx: ClientContext): Promise<void> {
  const kv = new KvClient({ hosts: ctx.hosts, timeoutMs: ctx.operationTimeoutMs })
  const lastSeen = new Map<string, RegisterValue>()
  let seq = 0
  try {
    while (!ctx.stopped()) {
      const key = WORKLOAD_SCHEMA.kvRegisterKey(rng.nextInt(ctx.registers))
      const r = rng.nextInt(10)
      const value = `${id}.${++seq}`
      const op: RegisterOp = { client: id, key, kind: r < 5 ? 'read' : r < 8 ? 'write' : 'cas', value: r < 5 ? null : value, outcome: 'unknown', invokeMs: ctx.now(), completeMs: Infinity }
      if (op.kind === 'cas') op.expected = lastSeen.get(key) ?? null
      try {
        if (op.kind === 'read') {
          const got = await kv.get(key)
          op.value = got === undefined ? null : Buffer.from(got).toString()
          lastSeen.set(key, op.value)
        } else if (op.kind === 'write') {
          await kv.put(key, value)
        } else {
          const res = await kv.compareAndSwap(key, op.expected ?? undefined, value)
          op.swapped = res.succeeded
          if (!res.succeeded) {
            op.observed = res.current === undefined ? null : Buffer.from(res.current).toString()
            lastSeen.set(key, op.observed)
          }
        }
        op.outcome = 'ok'
        op.completeMs = ctx.now()
      } catch (err) {
        const code = err instanceof KvError ? err.code : ''
        op.outcome = KV_DEFINITE.has(code) ? 'fail' : 'unknown'
        if (op.outcome === 'fail') op.completeMs = ctx.now()
        op.error = err instanceof Error ? err.message.slice(0, 200) : String(err)
        await sleep(BACKOFF_MS)
      }
      ctx.history.registers.push(op)
    }
  } finally {
    kv.close()
  }
}

/** A statement's failure as the workloads classify it. */
class StatementFailed extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message)
  }
}

/** Runs one statement with the operation deadline; a broken or slow session is replaced. */
type Sql = (statement: string) => Promise<{ rows: unknown[][]; rowsAffected: number }>

/**
 * Gives `step` a session with this client's node (client id modulo the nodes) and runs it
 * until the run stops. A statement past its deadline or on a broken connection fails as
 * unknown, and the next step gets a new session.
 */
async function sqlClientLoop(id: number, ctx: ClientContext, step: (sql: Sql) => Promise<void>): Promise<void> {
  const address = ctx.sqlHosts[id % ctx.sqlHosts.length]!
  let session: SqlClient | undefined
  const sql: Sql = async (statement) => {
    session ??= new SqlClient(address)
    const current = session
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StatementFailed('unknown', `no answer in ${ctx.operationTimeoutMs} ms`)), ctx.operationTimeoutMs)
    })
    try {
      return await Promise.race([current.query(statement), deadline])
    } catch (err) {
      if (err instanceof SqlClientError) {
        if (err.code === '08006') dropSession()
        const definite = SQL_DEFINITE.has(err.code) || (err.code === '08006' && NEVER_CONNECTED.test(err.message))
        throw new StatementFailed(definite ? 'fail' : 'unknown', `${err.code}: ${err.message.slice(0, 200)}`)
      }
      dropSession()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }
  const dropSession = () => {
    session?.close()
    session = undefined
  }
  try {
    while (!ctx.stopped()) {
      try {
        await step(sql)
      } catch (err) {
        // A failed BEGIN … COMMIT leaves the session in a transaction: start afresh.
        if (!(err instanceof StatementFailed)) throw err
        dropSession()
        await sleep(BACKOFF_MS)
      }
    }
  } finally {
    dropSession()
  }
}

async function sqlRegisterStep(id: number, rng: SeededRng, ctx: ClientContext, sql: Sql, lastSeen: Map<string, RegisterValue>): Promise<void> {
  const row = rng.nextInt(ctx.registers)
  const r = rng.nextInt(10)
  const kind: RegisterOp['kind'] = r < 5 ? 'read' : r < 8 ? 'write' : 'cas'
  const value = String(id * 1_000_000 + rng.nextInt(1_000_000))
  const op: RegisterOp = { client: id, key: `sql/${row}`, kind, value: kind === 'read' ? null : value, outcome: 'unknown', invokeMs: ctx.now(), completeMs: Infinity }
  const table = WORKLOAD_SCHEMA.sqlRegisterTable
  try {
    if (kind === 'read') {
      const res = await sql(`SELECT val FROM ${table} WHERE id = ${row}`)
      op.value = res.rows.length === 0 ? null : String(res.rows[0]![0])
      lastSeen.set(op.key, op.value)
    } else if (kind === 'write') {
      await sql(`UPDATE ${table} SET val = ${value} WHERE id = ${row}`)
    } else {
      // Expect a value this row plausibly holds: what this client last read there.
      op.expected = lastSeen.get(op.key) ?? '0'
      const res = await sql(`UPDATE ${table} SET val = ${value} WHERE id = ${row} AND val = ${op.expected}`)
      op.swapped = res.rowsAffected === 1
    }
    op.outcome = 'ok'
    op.completeMs = ctx.now()
  } catch (err) {
    if (!(err instanceof StatementFailed)) throw err
    op.outcome = err.outcome
    if (op.outcome === 'fail') op.completeMs = ctx.now()
    op.error = err.message
    ctx.history.registers.push(op)
    throw err
  }
  ctx.history.registers.push(op)
}

async function bankStep(id: number, rng: SeededRng, ctx: ClientContext, sql: Sql): Promise<void> {
  const table = WORKLOAD_SCHEMA.bankTable
  if (rng.nextInt(3) === 0) {
    const invokeMs = ctx.now()
    const res = await sql(`SELECT id, balance FROM ${table}`)
    ctx.history.bankReads.push({ client: id, invokeMs, completeMs: ctx.now(), balances: new Map(res.rows.map((r) => [Number(r[0]), BigInt(r[1] as bigint)])) })
    return
  }
  const from = 1 + rng.nextInt(ctx.accounts)
  const to = 1 + ((from + rng.nextInt(ctx.accounts - 1)) % ctx.accounts)
  const amount = 1 + rng.nextInt(20)
  try {
    await sql('BEGIN')
    const balance = await sql(`SELECT balance FROM ${table} WHERE id = ${from}`)
    if (BigInt(balance.rows[0]![0] as bigint) < BigInt(amount)) {
      await sql('ROLLBACK')
      return
    }
    await sql(`UPDATE ${table} SET balance = balance - ${amount} WHERE id = ${from}`)
    await sql(`UPDATE ${table} SET balance = balance + ${amount} WHERE id = ${to}`)
    await sql('COMMIT')
    ctx.history.transfers.ok++
  } catch (err) {
    if (err instanceof StatementFailed) ctx.history.transfers[err.outcome]++
    throw err
  }
}

async function setStep(id: number, element: number, ctx: ClientContext, sql: Sql): Promise<void> {
  const add: SetAdd = { client: id, element, outcome: 'unknown' }
  ctx.history.setAdds.push(add)
  try {
    await sql(`INSERT INTO ${WORKLOAD_SCHEMA.setTable} (v) VALUES (${element})`)
    add.outcome = 'ok'
  } catch (err) {
    if (!(err instanceof StatementFailed)) throw err
    add.outcome = err.outcome
    add.error = err.message
    throw err
  }
}

/** Creates the workloads' tables and rows; safe to retry (what an earlier try did stays). */
export async function createSchema(address: string, registers: number, accounts: number, balance: number): Promise<void> {
  const session = new SqlClient(address)
  try {
    // 42P07: the table exists; 23505: the rows exist.
    const run = (s: string) => session.query(s).catch((err: unknown) => {
      if (!(err instanceof SqlClientError && (err.code === '42P07' || err.code === '23505'))) throw err
    })
    const rows = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(', ')
    await run(`CREATE TABLE ${WORKLOAD_SCHEMA.sqlRegisterTable} (id INT PRIMARY KEY, val INT NOT NULL)`)
    await run(`INSERT INTO ${WORKLOAD_SCHEMA.sqlRegisterTable} (id, val) VALUES ${rows(registers, (i) => `(${i}, 0)`)}`)
    await run(`CREATE TABLE ${WORKLOAD_SCHEMA.bankTable} (id INT PRIMARY KEY, balance INT NOT NULL)`)
    await run(`INSERT INTO ${WORKLOAD_SCHEMA.bankTable} (id, balance) VALUES ${rows(accounts, (i) => `(${i + 1}, ${balance})`)}`)
    await run(`CREATE TABLE ${WORKLOAD_SCHEMA.setTable} (v INT PRIMARY KEY)`)
  } finally {
    session.close()
  }
}

/** Every element of the set table (one snapshot read). */
export async function readSet(address: string): Promise<number[]> {
  const session = new SqlClient(address)
  try {
    const res = await session.query(`SELECT v FROM ${WORKLOAD_SCHEMA.setTable}`)
    return res.rows.map((r) => Number(r[0]))
  } finally {
    session.close()
  }
}

/** Every bank account's balance (one snapshot read). */
export async function readBank(address: string): Promise<Map<number, bigint>> {
  const session = new SqlClient(address)
  try {
    const res = await session.query(`SELECT id, balance FROM ${WORKLOAD_SCHEMA.bankTable}`)
    return new Map(res.rows.map((r) => [Number(r[0]), BigInt(r[1] as bigint)]))
  } finally {
    session.close()
  }
}

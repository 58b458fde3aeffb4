import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open, encodeKey, decodeKey, prefixEnd, MvccStore } from '@mrdb/storage'

const dir = await mkdtemp(join(tmpdir(), 'mrdb-quickstart-'))
const db = await open(join(dir, 'db'), { sync: false })
const text = (bytes) => Buffer.from(bytes).toString()

// Plain ordered key/value access.
await db.put('fruit/apple', 'red')
await db.batch(
  [
    { type: 'put', key: 'fruit/banana', value: 'yellow' },
    { type: 'put', key: 'fruit/cherry', value: 'dark red' },
    { type: 'del', key: 'fruit/apple' },
  ],
  { sync: true }, // atomic, and durable with a single fsync
)
for await (const [key, value] of db.scan({ gte: 'fruit/', lt: 'fruit0' })) {
  console.log(`${text(key)} = ${text(value)}`)
}

// A snapshot keeps its view while the engine moves on.
const snap = db.snapshot()
await db.put('fruit/banana', 'green')
console.log('snapshot sees', text(await snap.get('fruit/banana')), '- engine sees', text(await db.get('fruit/banana')))
snap.release()

// Tuples as keys: byte order equals tuple order, so scans come back sorted.
const rows = [[2n, 'b'], [10n, 'a'], [-5n, 'z']]
await db.batch(rows.map((row) => ({ type: 'put', key: encodeKey(['orders', ...row]), value: 'row' })))
const ordered = []
const orders = encodeKey(['orders'])
for await (const [key] of db.scan({ gte: orders, lt: prefixEnd(orders) })) {
  ordered.push(decodeKey(key).slice(1).join(':'))
}
console.log('orders by key:', ordered.join(', '))

// Versions by timestamp.
const mvcc = new MvccStore(db)
await mvcc.put('balance', '100', 10n)
await mvcc.put('balance', '70', 20n)
console.log('balance at 15 =', text(await mvcc.get('balance', 15n)), '; at 25 =', text(await mvcc.get('balance', 25n)))

await db.close()
await rm(dir, { recursive: true, force: true })

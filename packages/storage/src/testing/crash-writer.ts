/**
 * Child process for the crash test: writes synced batches forever and prints `ack N` after
 * batch N is durable. Usage: node crash-writer.js DIR FIRST_BATCH KEYS_PER_BATCH
 * Batch N writes keys `b<N>/<j>` for j < KEYS_PER_BATCH, each value `N:j`, plus `last` = N.
 */
import { open } from '../engine.js'

const [dir, firstArg, perBatchArg] = process.argv.slice(2)
const perBatch = Number(perBatchArg)
const db = await open(dir!, { sync: true })
for (let n = Number(firstArg); ; n++) {
  const ops = Array.from({ length: perBatch }, (_, j) => ({ type: 'put' as const, key: `b${n}/${j}`, value: `${n}:${j}`.padEnd(100, '.') }))
  ops.push({ type: 'put', key: 'last', value: String(n) })
  await db.batch(ops)
  process.stdout.write(`ack ${n}\n`)
}

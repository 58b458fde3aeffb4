import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { open } from './engine.js'
import { tempDir } from './testing/temp-dir.js'

const WRITER = fileURLToPath(new URL('./testing/crash-writer.js', import.meta.url))
const KEYS_PER_BATCH = 20

/** Runs the writer until it has acknowledged at least `minAcks` batches, then SIGKILLs it. */
async function runAndKill(dir: string, first: number, minAcks: number): Promise<number> {
  const child = spawn(process.execPath, [WRITER, dir, String(first), String(KEYS_PER_BATCH)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let lastAck = first - 1
  let buffered = ''
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (code, signal) => reject(new Error(`writer exited early: ${code ?? signal}`)))
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop()!
        for (const line of lines) lastAck = Number(line.slice('ack '.length))
        if (lastAck - first + 1 >= minAcks) resolve()
      })
    })
  } finally {
    child.kill('SIGKILL')
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)))
  }
  return lastAck
}

test('SIGKILL during synced batches: every acknowledged batch survives whole, none is half-applied', async () => {
  const dir = await tempDir()
  try {
    let next = 0
    for (let round = 0; round < 3; round++) {
      const acked = await runAndKill(dir.path, next, 50 + round * 25)
      const db = await open(dir.path)
      try {
        const last = Number(Buffer.from((await db.get('last'))!).toString())
        assert.ok(last >= acked, `round ${round}: last durable batch ${last} is behind the last acknowledged ${acked}`)
        const counts = new Map<number, number>()
        for await (const [key, value] of db.scan({ gte: 'b', lt: 'c' })) {
          const [batch, j] = Buffer.from(key).toString().slice(1).split('/').map(Number) as [number, number]
          assert.equal(Buffer.from(value).toString().replace(/\.+$/, ''), `${batch}:${j}`)
          counts.set(batch, (counts.get(batch) ?? 0) + 1)
        }
        for (let n = 0; n <= last; n++) assert.equal(counts.get(n), KEYS_PER_BATCH, `round ${round}: batch ${n} is not whole`)
        assert.equal(counts.size, last + 1, `round ${round}: batches beyond 'last' (${last}) are present`)
        next = last + 1
      } finally {
        await db.close()
      }
    }
  } finally {
    await dir.remove()
  }
})

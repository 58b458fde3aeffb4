import { percentile } from './workload.js'

/** What a {@link closedLoop} run measured. */
export interface LoopResult {
  ops: number
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  errors: number
  firstError: unknown
}

/**
 * Runs `op(client, i)` in `clients` closed loops (each waits for its previous operation) for
 * `seconds`, and measures throughput and latency of the operations that succeeded.
 */
export async function closedLoop(clients: number, seconds: number, op: (client: number, i: number) => Promise<void>): Promise<LoopResult> {
  const latencies: number[] = []
  let errors = 0
  let firstError: unknown
  const start = performance.now()
  const end = start + seconds * 1000
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now()
        try {
          await op(client, i)
          latencies.push(performance.now() - t0)
        } catch (err) {
          errors++
          firstError ??= err
        }
      }
    }),
  )
  const elapsed = (performance.now() - start) / 1000
  const sorted = Float64Array.from(latencies).sort()
  return { ops: latencies.length, opsPerSec: latencies.length / elapsed, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), errors, firstError }
}

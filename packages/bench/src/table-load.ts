// Loading a benchmark table through SQL: multi-row INSERTs from several sessions at once.

import { SqlClient, SqlClientError } from '@mrdb/server'

/** Rows per INSERT statement of {@link loadRows}. */
export const ROWS_PER_STATEMENT = 1000

/**
 * Inserts rows 0…rows-1 (made by `values(i)`) into `table` through multi-row INSERTs from
 * `sessions`; a failed statement is tried again (a 23505 on a retry means its first try
 * committed). `onStatement` hears the rows loaded so far after every statement.
 */
export async function loadRows(sessions: readonly SqlClient[], table: string, columns: string, rows: number, values: (i: number) => string, onStatement: (loaded: number) => void): Promise<{ retries: number; firstError?: string }> {
  let next = 0
  let loaded = 0
  let retries = 0
  let firstError: string | undefined
  await Promise.all(
    sessions.map(async (s) => {
      while (next < rows) {
        const first = next
        const count = Math.min(ROWS_PER_STATEMENT, rows - first)
        next += count
        const sql = `INSERT INTO ${table} (${columns}) VALUES ${Array.from({ length: count }, (_, i) => values(first + i)).join(', ')}`
        for (let attempt = 0; ; attempt++) {
          try {
            await s.query(sql)
            break
          } catch (err) {
            if (attempt > 0 && err instanceof SqlClientError && err.code === '23505') break
            firstError ??= err instanceof Error ? err.message : String(err)
            if (attempt >= 10) throw err
            retries++
            // A leader moved, the PD is electing: give the cluster a moment.
            await new Promise((r) => setTimeout(r, 500))
          }
        }
        loaded += count
        onStatement(loaded)
      }
    }),
  )
  return firstError === undefined ? { retries } : { retries, firstError }
}

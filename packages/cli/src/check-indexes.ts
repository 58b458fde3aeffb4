// The check behind `mrdb debug check-indexes` (debug-command.ts): CHECK INDEXES run on a node.

import { SqlClient } from '@mrdb/server'
import { caCertificate } from './client-tls.js'
import { sqlAddressOf } from './sql-target.js'

/** One index's verdict, as CHECK INDEXES reports it. */
export interface IndexCheck {
  readonly table: string
  readonly index: string
  readonly rows: number
  readonly entries: number
  /** Rows without their entry. */
  readonly missing: number
  /** Entries whose row is missing or does not match them. */
  readonly dangling: number
  readonly ok: boolean
}

/** Runs CHECK INDEXES on the node at `host` (all tables, or `table`). */
export async function checkIndexes(host: string, table?: string): Promise<IndexCheck[]> {
  const client = new SqlClient(await sqlAddressOf(host), { tlsCa: caCertificate() })
  try {
    const r = await client.query(table === undefined ? 'CHECK INDEXES' : `CHECK INDEXES "${table.replaceAll('"', '')}"`)
    return r.rows.map((row) => ({
      table: String(row[0]),
      index: String(row[1]),
      rows: Number(row[2]),
      entries: Number(row[3]),
      missing: Number(row[4]),
      dangling: Number(row[5]),
      ok: row[6] === 'ok',
    }))
  } finally {
    client.close()
  }
}

// A chaos run's report as text: the faults, the operations by workload and outcome, each
// checker's verdict, an availability failure after the heal, and every anomaly with its
// evidence.

import { outcomes, type ChaosReport } from './chaos-run.js'
import type { Outcome } from './history.js'

const counts = (c: Record<Outcome, number>) => `${c.ok} ok, ${c.fail} failed, ${c.unknown} unknown`

/** The report's lines. */
export function formatReport(r: ChaosReport): string[] {
  const lines: string[] = []
  const kv = r.history.registers.filter((op) => !op.key.startsWith('sql/'))
  const sql = r.history.registers.filter((op) => op.key.startsWith('sql/'))
  const applied = r.faults.filter((f) => f.error === undefined)
  lines.push(`faults: ${r.faults.length} (${applied.length} applied, ${r.faults.length - applied.length} refused by the cluster)`)
  for (const f of r.faults) {
    const healed = f.healedMs === undefined ? '' : `, healed at +${(f.healedMs / 1000).toFixed(1)}s`
    lines.push(`  +${(f.startMs / 1000).toFixed(1)}s ${f.description}${healed}${f.error ? ` — refused: ${f.error.slice(0, 120)}` : ''}`)
  }
  lines.push('operations:')
  lines.push(`  kv-register   ${r.clients['kv-register']} clients: ${kv.length} operations: ${counts(outcomes(kv))}`)
  lines.push(`  sql-register  ${r.clients['sql-register']} clients: ${sql.length} operations: ${counts(outcomes(sql))}`)
  lines.push(`  bank          ${r.clients.bank} clients: ${r.history.bankReads.length} reads; transfers ${counts(r.history.transfers)}`)
  lines.push(`  set           ${r.clients.set} clients: ${r.history.setAdds.length} adds: ${counts(outcomes(r.history.setAdds))}`)
  lines.push('checks:')
  const checked = r.linearizability.reduce((n, x) => n + x.operations, 0)
  const bad = r.linearizability.filter((x) => x.linearizable === false).map((x) => x.key)
  const open = r.linearizability.filter((x) => x.linearizable === undefined).map((x) => x.key)
  lines.push(
    `  linearizability  ${r.linearizability.length} registers, ${checked} operations checked: ${bad.length === 0 ? 'ok' : `NOT linearizable: ${bad.join(', ')}`}${open.length > 0 ? ` (search gave up on ${open.join(', ')})` : ''}`,
  )
  const bankBad = r.anomalies.filter((a) => a.checker === 'bank').length
  lines.push(`  bank             ${r.bank.reads} reads, final total ${r.bank.finalTotal ?? 'not read'}: ${bankBad === 0 ? 'ok' : `${bankBad} anomalies`}`)
  const setBad = r.anomalies.filter((a) => a.checker === 'set').length
  if (r.set) lines.push(`  set              ${r.set.acknowledged} acknowledged adds, ${r.set.recovered} unknown ones present: ${setBad === 0 ? 'ok' : `${setBad} anomalies`}`)
  else lines.push('  set              not checked: the final read failed')
  if (r.unavailableAfterHeal) lines.push(`availability: FAILED: ${r.unavailableAfterHeal}`)
  if (r.anomalies.length === 0) {
    lines.push('anomalies: none')
    return lines
  }
  lines.push(`anomalies: ${r.anomalies.length}`)
  for (const a of r.anomalies) {
    lines.push(`  [${a.checker}] ${a.message}`)
    for (const e of a.evidence) lines.push(`    ${e}`)
  }
  return lines
}

// Set completeness: clients add unique elements; a final read (after the faults are healed)
// must hold every element whose add was acknowledged, none whose add certainly failed, and
// nothing that was never added. Adds with an unknown outcome may be present or not.

import type { Anomaly, SetAdd } from './history.js'

/** What the final read shows against the adds. */
export interface SetVerdict {
  acknowledged: number
  /** Elements of unknown adds that the final read holds (they did take effect). */
  recovered: number
  anomalies: Anomaly[]
}

/** Checks `finalRead` (every element present at the end) against `adds`. */
export function checkSet(adds: readonly SetAdd[], finalRead: readonly number[]): SetVerdict {
  const present = new Set(finalRead)
  const byElement = new Map(adds.map((a) => [a.element, a]))
  const lost = adds.filter((a) => a.outcome === 'ok' && !present.has(a.element))
  const resurrected = adds.filter((a) => a.outcome === 'fail' && present.has(a.element))
  const invented = finalRead.filter((e) => !byElement.has(e))
  const duplicated = finalRead.length - present.size
  const anomalies: Anomaly[] = []
  const show = (list: readonly SetAdd[]) => list.slice(0, 20).map((a) => `client ${a.client} add ${a.element}: ${a.outcome}${a.error ? ` (${a.error})` : ''}`)
  if (lost.length > 0) anomalies.push({ checker: 'set', message: `${lost.length} acknowledged element(s) missing from the final read`, evidence: show(lost) })
  if (resurrected.length > 0) anomalies.push({ checker: 'set', message: `${resurrected.length} element(s) whose add failed are present`, evidence: show(resurrected) })
  if (invented.length > 0) anomalies.push({ checker: 'set', message: `${invented.length} element(s) present that no client added`, evidence: invented.slice(0, 20).map(String) })
  if (duplicated > 0) anomalies.push({ checker: 'set', message: `the final read returned ${duplicated} duplicate element(s)`, evidence: [] })
  return {
    acknowledged: adds.filter((a) => a.outcome === 'ok').length,
    recovered: adds.filter((a) => a.outcome === 'unknown' && present.has(a.element)).length,
    anomalies,
  }
}

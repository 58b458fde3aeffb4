// The bank invariant: transfers move money between accounts and never create or destroy
// it, so every snapshot read of all accounts sums to the opening total, finds every account
// and no other, and (transfers refuse to overdraw) no balance is negative.

import type { Anomaly, BankRead } from './history.js'

/** The bank's shape: its account ids and the total they hold. */
export interface BankSpec {
  accounts: readonly number[]
  total: bigint
}

/** Every anomaly in `reads` (empty when the invariant held). */
export function checkBank(spec: BankSpec, reads: readonly BankRead[]): Anomaly[] {
  const anomalies: Anomaly[] = []
  const expected = [...spec.accounts].sort((a, b) => a - b).join(',')
  for (const read of reads) {
    const line = `client ${read.client} read [${read.invokeMs.toFixed(1)}, ${read.completeMs.toFixed(1)}]: ${[...read.balances].map(([id, b]) => `${id}=${b}`).join(' ')}`
    const ids = [...read.balances.keys()].sort((a, b) => a - b).join(',')
    if (ids !== expected) anomalies.push({ checker: 'bank', message: `a read saw accounts {${ids}}, not {${expected}}`, evidence: [line] })
    const total = [...read.balances.values()].reduce((a, b) => a + b, 0n)
    if (total !== spec.total) anomalies.push({ checker: 'bank', message: `a read saw a total of ${total}, not ${spec.total}`, evidence: [line] })
    const negative = [...read.balances].filter(([, b]) => b < 0n)
    if (negative.length > 0) anomalies.push({ checker: 'bank', message: `a read saw a negative balance in account ${negative.map(([id]) => id).join(', ')}`, evidence: [line] })
  }
  return anomalies
}

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { dataRow, textDataRows } from './backend.js'

test('textDataRows gives, in one buffer, the DataRow messages dataRow gives row by row (NULLs, empty and multi-byte texts, no columns)', () => {
  const rows: Array<Array<string | null>> = [['1', 'abc', null], ['', 'é€😀', '-42'], [null, null, null], ['x'.repeat(70_000), '0', 't']]
  const text = (v: string | null) => (v === null ? null : Buffer.from(v, 'utf8'))
  assert.deepEqual(textDataRows(rows), Buffer.concat(rows.map((r) => dataRow(r.map(text)))))
  assert.deepEqual(textDataRows([[], []]), Buffer.concat([dataRow([]), dataRow([])]))
  assert.equal(textDataRows([]).length, 0)
})

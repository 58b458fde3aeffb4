import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatBytea, parseBytea, parseUuid } from './bytes.js'
import { addInterval, dateTrunc, extractField, formatInterval, formatTimestamp, parseDate, parseInterval, parseTimestamp, parseTimestampTz, subtractTimestamps } from './datetime.js'
import { jsonContains, parseJsonb } from './jsonb.js'
import { numericArithmetic, numericForColumn, numericFromFloat, parseNumeric } from './numeric.js'
import { castTyped, compareTyped, formatTyped } from './typed.js'

const n = (s: string) => parseNumeric(s)
const code = (fn: () => unknown, c: string) => assert.throws(fn, (e: { code?: string }) => e.code === c)

test('numeric: exact arithmetic with PostgreSQL result scales', () => {
  assert.equal(numericArithmetic('+', n('0.1'), n('0.2')).text, '0.3')
  assert.equal(numericArithmetic('*', n('1.10'), n('2.5')).text, '2.750')
  assert.equal(numericArithmetic('/', n('1'), n('3')).text, '0.33333333333333333333')
  assert.equal(numericArithmetic('/', n('10000'), n('3')).text, '3333.3333333333333333')
  assert.equal(numericArithmetic('/', n('3'), n('2')).text, '1.5000000000000000')
  assert.equal(numericArithmetic('/', n('2'), n('3')).text, '0.66666666666666666667')
  assert.equal(numericArithmetic('%', n('-7.5'), n('2')).text, '-1.5')
  assert.equal(numericArithmetic('-', n('1e30'), n('1')).text, '999999999999999999999999999999')
  code(() => numericArithmetic('/', n('1'), n('0')), '22012')
  assert.equal(n('1.50').text, '1.50')
  assert.equal(n('-0.00').text, '0.00')
  assert.equal(n('1e2').text, '100')
  assert.equal(n('1.5e-3').text, '0.0015')
  code(() => n('1.2.3'), '22P02')
})

test('numeric: NUMERIC(p,s) rounds half away from zero and overflows with 22003', () => {
  assert.equal(numericForColumn(n('2.345'), 10, 2, 'c').text, '2.35')
  assert.equal(numericForColumn(n('-2.345'), 10, 2, 'c').text, '-2.35')
  assert.equal(numericForColumn(n('99999999.994'), 10, 2, 'c').text, '99999999.99')
  code(() => numericForColumn(n('99999999.995'), 10, 2, 'c'), '22003')
  code(() => numericForColumn(n('1'), 2, 2, 'c'), '22003')
  assert.equal(numericForColumn(n('0.994'), 2, 2, 'c').text, '0.99')
  assert.equal(numericFromFloat(0.1).text, '0.1')
  assert.equal(numericFromFloat(1 / 3).text, '0.333333333333333')
})

test('dates and timestamps: input, output, leap years, zones, ranges', () => {
  assert.equal(formatTyped(parseDate('2024-02-29')), '2024-02-29')
  code(() => parseDate('2023-02-29'), '22008')
  code(() => parseDate('2024-13-01'), '22008')
  code(() => parseDate('not a date'), '22007')
  assert.equal(formatTyped(parseDate('0044-03-15 BC')), '0044-03-15 BC')
  assert.equal(formatTimestamp(parseTimestamp('2024-01-02 03:04:05.123456789')), '2024-01-02 03:04:05.123457')
  assert.equal(formatTimestamp(parseTimestamp('2024-01-02T03:04:05+02')), '2024-01-02 03:04:05')
  assert.equal(formatTimestamp(parseTimestampTz('2024-01-02 03:04:05+02')), '2024-01-02 01:04:05+00')
  assert.equal(formatTimestamp(parseTimestampTz('2024-01-02 03:04:05-05:30')), '2024-01-02 08:34:05+00')
  assert.equal(formatTimestamp(parseTimestampTz('2024-01-02')), '2024-01-02 00:00:00+00')
  assert.equal(formatTimestamp(parseTimestampTz('1969-12-31 23:59:59.5Z')), '1969-12-31 23:59:59.5+00')
  code(() => parseTimestamp('2024-01-02 25:00'), '22008')
})

test('intervals: input, output as PostgreSQL prints them, arithmetic', () => {
  const iv = (s: string) => formatInterval(parseInterval(s))
  assert.equal(iv('1 day 2 hours'), '1 day 02:00:00')
  assert.equal(iv('1 year 2 months 3 days 04:05:06.5'), '1 year 2 mons 3 days 04:05:06.5')
  assert.equal(iv('-1 day'), '-1 days')
  assert.equal(iv('1.5 days'), '1 day 12:00:00')
  assert.equal(iv('0'), '00:00:00')
  assert.equal(iv('-1 day +2 hours'), '-1 days +02:00:00')
  assert.equal(iv('1 day ago'), '-1 days')
  assert.equal(iv('90 minutes'), '01:30:00')
  code(() => parseInterval('1 fortnight'), '22007')
  const jan31 = parseTimestamp('2024-01-31 10:00:00')
  assert.equal(formatTimestamp(addInterval(jan31, parseInterval('1 month'), 1)), '2024-02-29 10:00:00')
  assert.equal(formatInterval(subtractTimestamps(parseTimestamp('2024-03-01'), parseTimestamp('2024-02-28 12:00'))), '1 day 12:00:00')
  assert.equal(compareTyped(parseInterval('1 mon'), parseInterval('30 days')), 0)
})

test('extract and date_trunc', () => {
  const ts = parseTimestamp('2024-02-29 13:14:15.5')
  assert.equal(extractField('year', ts).text, '2024')
  assert.equal(extractField('second', ts).text, '15.500000')
  assert.equal(extractField('doy', ts).text, '60')
  assert.equal(extractField('dow', ts).text, '4')
  assert.equal(extractField('epoch', parseTimestampTz('1970-01-02 00:00:00+00')).text, '86400.000000')
  assert.equal(extractField('week', parseDate('2021-01-03')).text, '53')
  code(() => extractField('hour', parseDate('2024-01-01')), '0A000')
  assert.equal(formatTimestamp(dateTrunc('month', ts)), '2024-02-01 00:00:00')
  assert.equal(formatTimestamp(dateTrunc('week', ts)), '2024-02-26 00:00:00')
  assert.equal(formatTimestamp(dateTrunc('hour', ts)), '2024-02-29 13:00:00')
})

test('uuid, bytea, jsonb', () => {
  assert.equal(parseUuid('{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}').text, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
  code(() => parseUuid('a0eebc99'), '22P02')
  assert.equal(formatBytea(parseBytea('\\x0102ff')), '\\x0102ff')
  assert.equal(formatBytea(parseBytea('a\\000\\\\')), '\\x61005c')
  code(() => parseBytea('\\x0'), '22P02')
  assert.equal(parseJsonb('{"b": 1, "aa": [1, 2.50, {"z": null}], "a": "x", "b": 2}').text, '{"a": "x", "b": 2, "aa": [1, 2.50, {"z": null}]}')
  code(() => parseJsonb('{"a": }'), '22P02')
  assert.ok(jsonContains(parseJsonb('{"a": 1, "b": [1, 2]}'), parseJsonb('{"b": [2]}')))
  assert.ok(!jsonContains(parseJsonb('{"a": 1}'), parseJsonb('{"a": 2}')))
  assert.equal(castTyped(parseJsonb('12.5'), { base: 'float' }), 12.5)
})

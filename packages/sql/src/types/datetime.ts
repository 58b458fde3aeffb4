// DATE, TIMESTAMP, TIMESTAMPTZ and INTERVAL with PostgreSQL's semantics: a date is a day
// number, a timestamp a count of microseconds since 1970-01-01 00:00:00 (TIMESTAMPTZ in UTC;
// the session time zone is UTC, so it prints with +00), an interval months, days and
// microseconds kept apart (a month is not a fixed number of days) as PostgreSQL keeps them.
// The proleptic Gregorian calendar, from 4713 BC on, as PostgreSQL's.

import { fail, SqlState } from '../errors.js'
import { parseNumeric, type NumericValue } from './numeric.js'

/** A DATE: days since 1970-01-01. */
export interface DateValue {
  readonly type: 'date'
  readonly days: number
}

/** A TIMESTAMP (wall-clock time, no zone) or TIMESTAMPTZ (an instant, UTC): microseconds since 1970-01-01 00:00:00. */
export interface TimestampValue {
  readonly type: 'timestamp' | 'timestamptz'
  readonly micros: bigint
}

/** An INTERVAL: months, days and microseconds, each with its own sign, as PostgreSQL keeps them. */
export interface IntervalValue {
  readonly type: 'interval'
  readonly months: number
  readonly days: number
  readonly micros: bigint
}

/** Microseconds in a second, minute, hour and day. */
export const US_PER_SECOND = 1_000_000n
const US_PER_MINUTE = 60n * US_PER_SECOND
const US_PER_HOUR = 60n * US_PER_MINUTE
/** Microseconds in a day. */
export const US_PER_DAY = 24n * US_PER_HOUR

/** Days since 1970-01-01 of a proleptic Gregorian date (year 0 is 1 BC). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** The year (0 is 1 BC), month and day of a day number. */
export function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp + (mp < 10 ? 3 : -9)
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day }
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
}

/** Days in month `m` of year `y`. */
export function daysInMonth(y: number, m: number): number {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!
}

/** PostgreSQL's range: 4713-11-24 BC (Julian day 0) to 5874897 AD for dates, to 294276 AD for timestamps. */
const MIN_DAYS = daysFromCivil(-4713, 11, 24)
const MAX_DATE_DAYS = daysFromCivil(5874898, 1, 1) - 1
const MAX_TS_DAYS = daysFromCivil(294277, 1, 1) - 1

function checkDate(days: number): DateValue {
  if (days < MIN_DAYS || days > MAX_DATE_DAYS) fail(SqlState.DATETIME_FIELD_OVERFLOW, 'date out of range')
  return { type: 'date', days }
}

/** A timestamp of `type` at `micros`; 22008 outside PostgreSQL's range. */
export function timestampOf(type: 'timestamp' | 'timestamptz', micros: bigint): TimestampValue {
  if (micros < BigInt(MIN_DAYS) * US_PER_DAY || micros >= BigInt(MAX_TS_DAYS + 1) * US_PER_DAY) fail(SqlState.DATETIME_FIELD_OVERFLOW, 'timestamp out of range')
  return { type, micros }
}

/** The date of a day number; 22008 outside PostgreSQL's range. */
export function dateOf(days: number): DateValue {
  return checkDate(days)
}

// ---- input ----

const DATE_RE = /^(\d{1,7})-(\d{1,2})-(\d{1,2})/
const TIME_RE = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?/
const ZONE_RE = /^(?:(z|utc|gmt)|([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)$/i

function badFormat(type: string, text: string): never {
  return fail(SqlState.INVALID_DATETIME_FORMAT, `invalid input syntax for type ${type}: "${text}"`)
}

function outOfRange(text: string): never {
  return fail(SqlState.DATETIME_FIELD_OVERFLOW, `date/time field value out of range: "${text}"`)
}

interface Parsed {
  days: number
  micros: bigint
  /** Seconds east of UTC, or null when the text names no zone. */
  zone: number | null
}

/**
 * Reads ISO 8601 text as PostgreSQL does: `YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][zone][ BC]`,
 * zone `Z`, `UTC`, `±HH[:MM]`; also `epoch`. 22007 for a bad shape, 22008 for a field out of range.
 */
function parseDateTime(text: string, type: string, timeAllowed: boolean): Parsed {
  let t = text.trim()
  if (/^epoch$/i.test(t)) return { days: 0, micros: 0n, zone: 0 }
  let bc = false
  const era = /\s+(bc|ad)$/i.exec(t)
  if (era !== null) {
    bc = era[1]!.toLowerCase() === 'bc'
    t = t.slice(0, era.index)
  }
  const d = DATE_RE.exec(t)
  if (d === null) badFormat(type, text)
  let year = Number(d[1])
  const month = Number(d[2])
  const day = Number(d[3])
  if (bc) {
    if (year === 0) outOfRange(text)
    year = 1 - year
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) outOfRange(text)
  let rest = t.slice(d[0].length)
  let micros = 0n
  let zone: number | null = null
  if (rest !== '') {
    if (!/^[ T]/i.test(rest)) badFormat(type, text)
    rest = rest.slice(1).trimStart()
    const tm = TIME_RE.exec(rest)
    if (tm === null) badFormat(type, text)
    const h = Number(tm[1])
    const mi = Number(tm[2])
    const s = Number(tm[3] ?? 0)
    const frac = tm[4] ?? ''
    if (h > 24 || mi > 59 || s > 60 || (h === 24 && (mi > 0 || s > 0 || /[1-9]/.test(frac)))) outOfRange(text)
    // Microseconds: six digits, the rest rounded half up.
    let us = BigInt((frac + '000000').slice(0, 6))
    if (frac.length > 6 && Number(frac[6]) >= 5) us += 1n
    micros = BigInt(h) * US_PER_HOUR + BigInt(mi) * US_PER_MINUTE + BigInt(s) * US_PER_SECOND + us
    rest = rest.slice(tm[0].length).trim()
    if (rest !== '') {
      const z = ZONE_RE.exec(rest)
      if (z === null) badFormat(type, text)
      if (z[1] !== undefined) zone = 0
      else {
        const zh = Number(z[3])
        const zm = Number(z[4] ?? 0)
        const zs = Number(z[5] ?? 0)
        if (zh > 15 || zm > 59 || zs > 59) outOfRange(text)
        zone = (z[2] === '-' ? -1 : 1) * (zh * 3600 + zm * 60 + zs)
      }
    }
    if (!timeAllowed && zone === null && micros === 0n) return { days: daysFromCivil(year, month, day), micros: 0n, zone }
  }
  return { days: daysFromCivil(year, month, day), micros, zone }
}

/** DATE from text ('2024-01-02'; a time after it is ignored, as PostgreSQL does). */
export function parseDate(text: string): DateValue {
  const p = parseDateTime(text, 'date', false)
  return checkDate(p.days)
}

/** TIMESTAMP from text; a zone in the text is ignored, as PostgreSQL does. */
export function parseTimestamp(text: string): TimestampValue {
  const p = parseDateTime(text, 'timestamp without time zone', true)
  return timestampOf('timestamp', BigInt(p.days) * US_PER_DAY + p.micros)
}

/** TIMESTAMPTZ from text; without a zone the text is in the session's zone, UTC. */
export function parseTimestampTz(text: string): TimestampValue {
  const p = parseDateTime(text, 'timestamp with time zone', true)
  return timestampOf('timestamptz', BigInt(p.days) * US_PER_DAY + p.micros - BigInt(p.zone ?? 0) * US_PER_SECOND)
}

// ---- output ----

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0')
}

function dateText(days: number): string {
  const { year, month, day } = civilFromDays(days)
  const y = year <= 0 ? 1 - year : year
  return `${pad(y, 4)}-${pad(month, 2)}-${pad(day, 2)}`
}

function isBc(days: number): boolean {
  return civilFromDays(days).year <= 0
}

/** Seconds with the fraction PostgreSQL prints: none when zero, else up to six digits without trailing zeros. */
function secondsText(us: bigint): string {
  const s = us / US_PER_SECOND
  const frac = us % US_PER_SECOND
  return frac === 0n ? pad(s, 2) : `${pad(s, 2)}.${pad(frac, 6).replace(/0+$/, '')}`
}

function timeText(us: bigint): string {
  return `${pad(us / US_PER_HOUR, 2)}:${pad((us % US_PER_HOUR) / US_PER_MINUTE, 2)}:${secondsText(us % US_PER_MINUTE)}`
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q
}

/** A DATE as PostgreSQL prints it: `2024-01-02`, `0044-03-15 BC`. */
export function formatDate(d: DateValue): string {
  return dateText(d.days) + (isBc(d.days) ? ' BC' : '')
}

/** A TIMESTAMP or TIMESTAMPTZ as PostgreSQL prints it (TIMESTAMPTZ in UTC): `2024-01-02 03:04:05.5+00`. */
export function formatTimestamp(t: TimestampValue): string {
  const days = floorDiv(t.micros, US_PER_DAY)
  const us = t.micros - days * US_PER_DAY
  const n = Number(days)
  return `${dateText(n)} ${timeText(us)}${t.type === 'timestamptz' ? '+00' : ''}${isBc(n) ? ' BC' : ''}`
}

/** An INTERVAL as PostgreSQL prints it (IntervalStyle postgres): `1 year 2 mons -3 days +04:05:06`. */
export function formatInterval(iv: IntervalValue): string {
  const parts: string[] = []
  let negativeBefore = false
  const add = (value: number, unit: string) => {
    if (value === 0) return
    parts.push(`${negativeBefore && value > 0 ? '+' : ''}${value} ${unit}${value === 1 ? '' : 's'}`)
    negativeBefore = value < 0
  }
  add(Math.trunc(iv.months / 12), 'year')
  add(iv.months % 12, 'mon')
  add(iv.days, 'day')
  if (parts.length === 0 || iv.micros !== 0n) {
    const minus = iv.micros < 0n
    const abs = minus ? -iv.micros : iv.micros
    parts.push(`${minus ? '-' : negativeBefore ? '+' : ''}${timeText(abs)}`)
  }
  return parts.join(' ')
}

// ---- intervals ----

const UNITS: ReadonlyArray<readonly [RegExp, 'months' | 'days' | 'micros', number]> = [
  [/^(millennium|millennia|millenniums|mil|mils)$/, 'months', 12000],
  [/^(century|centuries|cent|c)$/, 'months', 1200],
  [/^(decade|decades|dec|decs)$/, 'months', 120],
  [/^(year|years|yr|yrs|y)$/, 'months', 12],
  [/^(month|months|mon|mons)$/, 'months', 1],
  [/^(week|weeks|w)$/, 'days', 7],
  [/^(day|days|d)$/, 'days', 1],
  [/^(hour|hours|hr|hrs|h)$/, 'micros', 3600e6],
  [/^(minute|minutes|min|mins|m)$/, 'micros', 60e6],
  [/^(second|seconds|sec|secs|s)$/, 'micros', 1e6],
  [/^(millisecond|milliseconds|ms|msec|msecs)$/, 'micros', 1e3],
  [/^(microsecond|microseconds|us|usec|usecs)$/, 'micros', 1],
]

function intervalOf(months: number, days: number, micros: bigint): IntervalValue {
  if (!Number.isSafeInteger(months) || Math.abs(months) > 2 ** 31 - 1 || !Number.isSafeInteger(days) || Math.abs(days) > 2 ** 31 - 1 || micros > (1n << 63n) - 1n || micros < -(1n << 63n)) {
    fail(SqlState.DATETIME_FIELD_OVERFLOW, 'interval out of range')
  }
  return { type: 'interval', months, days, micros }
}

/**
 * INTERVAL from text as PostgreSQL reads it: `1 year 2 mons 3 days 04:05:06.5`, `-1 day`,
 * `1.5 hours`, units from microseconds to millennia, `… ago`; `unit` is the unit of
 * `INTERVAL '1' DAY`. Fractions of months spill into days (30 a month), of days into time.
 */
export function parseInterval(text: string, unit: string | null = null): IntervalValue {
  let t = text.trim().toLowerCase()
  let ago = false
  if (t.startsWith('@')) t = t.slice(1).trim()
  if (/\sago$/.test(t)) {
    ago = true
    t = t.slice(0, -3).trim()
  }
  if (unit !== null && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) t = `${t} ${unit.toLowerCase()}`
  if (t === '') badFormat('interval', text)
  let months = 0
  let days = 0
  let micros = 0
  let extraMicros = 0n
  const tokens = t.match(/[+-]?\d+:\d+(?::\d+(?:\.\d*)?)?|[+-]?(?:\d+\.?\d*|\.\d+)|[a-z]+/g) ?? []
  if (tokens.join('').replace(/\s/g, '') !== t.replace(/\s/g, '')) badFormat('interval', text)
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!
    if (tok.includes(':')) {
      const m = /^([+-]?)(\d+):(\d+)(?::(\d+)(?:\.(\d*))?)?$/.exec(tok)!
      const sign = m[1] === '-' ? -1n : 1n
      const frac = (m[5] ?? '').padEnd(6, '0').slice(0, 6)
      extraMicros += sign * (BigInt(m[2]!) * US_PER_HOUR + BigInt(m[3]!) * US_PER_MINUTE + BigInt(m[4] ?? 0) * US_PER_SECOND + BigInt(frac === '' ? 0 : frac))
      continue
    }
    if (!/^[+-]?(\d|\.\d)/.test(tok)) badFormat('interval', text)
    const value = Number(tok)
    const word = tokens[i + 1]
    const u = word === undefined ? undefined : UNITS.find(([re]) => re.test(word))
    if (u === undefined) {
      // A bare number is seconds (as PostgreSQL reads '10').
      if (word !== undefined || tokens.length > 1) badFormat('interval', text)
      micros += value * 1e6
      continue
    }
    i++
    const [, field, scale] = u
    if (field === 'months') {
      const m = value * scale
      const whole = Math.trunc(m)
      months += whole
      const d = (m - whole) * 30
      days += Math.trunc(d)
      micros += (d - Math.trunc(d)) * 86400e6
    } else if (field === 'days') {
      const d = value * scale
      days += Math.trunc(d)
      micros += (d - Math.trunc(d)) * 86400e6
    } else micros += value * scale
  }
  let us = BigInt(Math.round(micros)) + extraMicros
  if (ago) {
    months = -months
    days = -days
    us = -us
  }
  return intervalOf(months + 0, days + 0, us)
}

/** Total length of an interval in microseconds, a month counted as 30 days (PostgreSQL's interval comparison). */
export function intervalSpan(iv: IntervalValue): bigint {
  return (BigInt(iv.months) * 30n + BigInt(iv.days)) * US_PER_DAY + iv.micros
}

/** Compares intervals by their span ('1 mon' = '30 days', as in PostgreSQL). */
export function compareInterval(a: IntervalValue, b: IntervalValue): number {
  const x = intervalSpan(a)
  const y = intervalSpan(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** The interval of a span, as days and microseconds (how an interval key decodes). */
export function intervalFromSpan(span: bigint): IntervalValue {
  const days = span / US_PER_DAY
  return intervalOf(0, Number(days) + 0, span - days * US_PER_DAY)
}

/** a + b or a - b for intervals (field by field). */
export function addIntervals(a: IntervalValue, b: IntervalValue, sign: 1 | -1): IntervalValue {
  return intervalOf(a.months + sign * b.months, a.days + sign * b.days, a.micros + BigInt(sign) * b.micros)
}

/** -iv. */
export function negateInterval(iv: IntervalValue): IntervalValue {
  return intervalOf(-iv.months + 0, -iv.days + 0, -iv.micros)
}

/** iv × f: fractions of months spill into days (30 a month) and of days into time, as PostgreSQL's interval_mul. */
export function scaleInterval(iv: IntervalValue, f: number): IntervalValue {
  if (!Number.isFinite(f)) fail(SqlState.DATETIME_FIELD_OVERFLOW, 'interval out of range')
  const m = iv.months * f
  const months = Math.trunc(m)
  const d = iv.days * f + (m - months) * 30
  const days = Math.trunc(d)
  const us = Number(iv.micros) * f + (d - days) * 86400e6
  return intervalOf(months + 0, days + 0, BigInt(Math.round(us)))
}

/** `ts` shifted by `iv` (months first, the day clamped to the month's end; then days; then time), as PostgreSQL's timestamp_pl_interval. */
export function addInterval(ts: TimestampValue, iv: IntervalValue, sign: 1 | -1): TimestampValue {
  let micros = ts.micros
  if (iv.months !== 0) {
    const days = floorDiv(micros, US_PER_DAY)
    const time = micros - days * US_PER_DAY
    const c = civilFromDays(Number(days))
    const total = c.year * 12 + (c.month - 1) + sign * iv.months
    const year = Math.floor(total / 12)
    const month = total - year * 12 + 1
    const day = Math.min(c.day, daysInMonth(year, month))
    micros = BigInt(daysFromCivil(year, month, day)) * US_PER_DAY + time
  }
  micros += BigInt(sign * iv.days) * US_PER_DAY + BigInt(sign) * iv.micros
  return timestampOf(ts.type, micros)
}

/** a - b for timestamps: days and time, hours beyond 24 carried into days (PostgreSQL's timestamp_mi). */
export function subtractTimestamps(a: TimestampValue, b: TimestampValue): IntervalValue {
  const diff = a.micros - b.micros
  const days = diff / US_PER_DAY
  return intervalOf(0, Number(days) + 0, diff - days * US_PER_DAY)
}

/** A DATE at midnight as a TIMESTAMP (or TIMESTAMPTZ, midnight UTC). */
export function dateToTimestamp(d: DateValue, type: 'timestamp' | 'timestamptz' = 'timestamp'): TimestampValue {
  return timestampOf(type, BigInt(d.days) * US_PER_DAY)
}

/** The DATE of a timestamp (in UTC for TIMESTAMPTZ). */
export function timestampToDate(t: TimestampValue): DateValue {
  return checkDate(Number(floorDiv(t.micros, US_PER_DAY)))
}

/** date ± integer days. */
export function addDays(d: DateValue, n: bigint): DateValue {
  if (n > 1n << 40n || n < -(1n << 40n)) fail(SqlState.DATETIME_FIELD_OVERFLOW, 'date out of range')
  return checkDate(d.days + Number(n))
}

// ---- extract and date_trunc ----

function fieldName(field: string): string {
  const f = field.trim().toLowerCase()
  const aliases: Record<string, string> = {
    years: 'year', months: 'month', mon: 'month', days: 'day', hours: 'hour', minutes: 'minute', seconds: 'second',
    microsecond: 'microseconds', us: 'microseconds', millisecond: 'milliseconds', ms: 'milliseconds', centuries: 'century', decades: 'decade', millennia: 'millennium', weeks: 'week',
  }
  return aliases[f] ?? f
}

function unsupportedUnit(field: string, type: string): never {
  return fail(SqlState.FEATURE_NOT_SUPPORTED, `unit "${field}" not supported for type ${type}`)
}

/** ISO 8601 week-numbering year and week of a day number. */
function isoWeek(days: number): { year: number; week: number } {
  const dow = ((((days + 3) % 7) + 7) % 7) + 1 // 1 = Monday (1970-01-01 was a Thursday)
  const thursday = days - dow + 4
  const { year } = civilFromDays(thursday)
  const jan1 = daysFromCivil(year, 1, 1)
  return { year, week: Math.floor((thursday - jan1) / 7) + 1 }
}

/**
 * EXTRACT(field FROM source) as PostgreSQL 14+ computes it: a NUMERIC (seconds and epoch of
 * timestamps carry six decimals). 0A000 for a field the source's type has not (hour of a date).
 */
export function extractField(field: string, v: DateValue | TimestampValue | IntervalValue): NumericValue {
  const f = fieldName(field)
  const num = (text: string) => parseNumeric(text)
  const micro6 = (us: bigint) => {
    const neg = us < 0n
    const a = neg ? -us : us
    return num(`${neg ? '-' : ''}${a / US_PER_SECOND}.${pad(a % US_PER_SECOND, 6)}`)
  }
  if (v.type === 'interval') {
    const us = v.micros
    switch (f) {
      case 'millennium':
        return num(String(Math.trunc(v.months / 12000)))
      case 'century':
        return num(String(Math.trunc(v.months / 1200)))
      case 'decade':
        return num(String(Math.trunc(v.months / 120)))
      case 'year':
        return num(String(Math.trunc(v.months / 12)))
      case 'month':
        return num(String(v.months % 12))
      case 'day':
        return num(String(v.days))
      case 'hour':
        return num(String(us / US_PER_HOUR))
      case 'minute':
        return num(String((us % US_PER_HOUR) / US_PER_MINUTE))
      case 'second':
        return micro6(us % US_PER_MINUTE)
      case 'milliseconds': {
        const r = us % US_PER_MINUTE
        return num(`${r < 0n ? '-' : ''}${(r < 0n ? -r : r) / 1000n}.${pad((r < 0n ? -r : r) % 1000n, 3)}`)
      }
      case 'microseconds':
        return num(String(us % US_PER_MINUTE))
      case 'epoch': {
        // PostgreSQL: a year is 365.25 days, a month 30 days.
        const years = BigInt(Math.trunc(v.months / 12))
        const months = BigInt(v.months % 12)
        const total = years * 31557600n * US_PER_SECOND + months * 30n * US_PER_DAY + BigInt(v.days) * US_PER_DAY + us
        return micro6(total)
      }
      default:
        return unsupportedUnit(field, 'interval')
    }
  }
  const micros = v.type === 'date' ? BigInt(v.days) * US_PER_DAY : v.micros
  const days = Number(floorDiv(micros, US_PER_DAY))
  const us = micros - BigInt(days) * US_PER_DAY
  const c = civilFromDays(days)
  const timeField = ['hour', 'minute', 'second', 'milliseconds', 'microseconds', 'timezone', 'timezone_hour', 'timezone_minute'].includes(f)
  if (v.type === 'date' && timeField) unsupportedUnit(field, 'date')
  switch (f) {
    case 'millennium':
      return num(String(c.year > 0 ? Math.floor((c.year + 999) / 1000) : -Math.floor((1 - c.year + 999) / 1000)))
    case 'century':
      return num(String(c.year > 0 ? Math.floor((c.year + 99) / 100) : -Math.floor((1 - c.year + 99) / 100)))
    case 'decade':
      return num(String(Math.floor(c.year / 10)))
    case 'year':
      return num(String(c.year > 0 ? c.year : c.year - 1))
    case 'isoyear':
      return num(String(isoWeek(days).year))
    case 'quarter':
      return num(String(Math.floor((c.month - 1) / 3) + 1))
    case 'month':
      return num(String(c.month))
    case 'week':
      return num(String(isoWeek(days).week))
    case 'day':
      return num(String(c.day))
    case 'dow':
      return num(String((((days + 4) % 7) + 7) % 7))
    case 'isodow':
      return num(String(((((days + 3) % 7) + 7) % 7) + 1))
    case 'doy':
      return num(String(days - daysFromCivil(c.year, 1, 1) + 1))
    case 'julian':
      return num(String(days + 2440588))
    case 'hour':
      return num(String(us / US_PER_HOUR))
    case 'minute':
      return num(String((us % US_PER_HOUR) / US_PER_MINUTE))
    case 'second':
      return micro6(us % US_PER_MINUTE)
    case 'milliseconds': {
      const r = us % US_PER_MINUTE
      return num(`${r / 1000n}.${pad(r % 1000n, 3)}`)
    }
    case 'microseconds':
      return num(String(us % US_PER_MINUTE))
    case 'epoch':
      return v.type === 'date' ? num(String(BigInt(days) * 86400n)) : micro6(micros)
    case 'timezone':
    case 'timezone_hour':
    case 'timezone_minute':
      if (v.type !== 'timestamptz') return unsupportedUnit(field, 'timestamp without time zone')
      return num('0')
    default:
      return fail(SqlState.INVALID_PARAMETER_VALUE, `unit "${field}" not recognized`)
  }
}

/**
 * date_trunc(field, source): the timestamp rounded down to the start of its `field`
 * (microseconds … millennium, week starting on Monday). A DATE is truncated as a TIMESTAMPTZ.
 */
export function dateTrunc(field: string, v: DateValue | TimestampValue): TimestampValue {
  const ts = v.type === 'date' ? dateToTimestamp(v, 'timestamptz') : v
  const f = fieldName(field)
  const days = Number(floorDiv(ts.micros, US_PER_DAY))
  const us = ts.micros - BigInt(days) * US_PER_DAY
  const c = civilFromDays(days)
  const at = (d: number, time = 0n) => timestampOf(ts.type, BigInt(d) * US_PER_DAY + time)
  const unit = (u: bigint) => at(days, us - (us % u))
  switch (f) {
    case 'microseconds':
      return ts
    case 'milliseconds':
      return unit(1000n)
    case 'second':
      return unit(US_PER_SECOND)
    case 'minute':
      return unit(US_PER_MINUTE)
    case 'hour':
      return unit(US_PER_HOUR)
    case 'day':
      return at(days)
    case 'week':
      return at(days - ((((days + 3) % 7) + 7) % 7))
    case 'month':
      return at(daysFromCivil(c.year, c.month, 1))
    case 'quarter':
      return at(daysFromCivil(c.year, Math.floor((c.month - 1) / 3) * 3 + 1, 1))
    case 'year':
      return at(daysFromCivil(c.year, 1, 1))
    case 'decade':
      return at(daysFromCivil(Math.floor(c.year / 10) * 10, 1, 1))
    case 'century':
      return at(daysFromCivil(c.year > 0 ? Math.floor((c.year - 1) / 100) * 100 + 1 : -Math.floor(-c.year / 100) * 100 - 99, 1, 1))
    case 'millennium':
      return at(daysFromCivil(c.year > 0 ? Math.floor((c.year - 1) / 1000) * 1000 + 1 : -Math.floor(-c.year / 1000) * 1000 - 999, 1, 1))
    default:
      return fail(SqlState.INVALID_PARAMETER_VALUE, `unit "${field}" not recognized for type timestamp`)
  }
}

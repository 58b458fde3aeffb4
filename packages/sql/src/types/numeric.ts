// NUMERIC / DECIMAL: exact decimal numbers with PostgreSQL's semantics, on decimal.js (no
// floats anywhere on the path). A value is plain data — its canonical text with its display
// scale, as PostgreSQL prints it ('1.50', '-3', '0.000') — so it crosses worker threads as
// is; arithmetic parses it into a Decimal and formats the result back.

import { Decimal } from 'decimal.js'
import { fail, SqlState } from '../errors.js'

/** A NUMERIC value: `text` is `-?digits[.digits]`, the digits after the point being its scale. */
export interface NumericValue {
  readonly type: 'numeric'
  readonly text: string
}

/**
 * Exact operations: precision is only an upper bound (sums, differences and products are
 * exact, their digits never exceed it); rounding is half away from zero, as PostgreSQL's.
 */
const Exact = Decimal.clone({ precision: 1e9, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -9e15, toExpPos: 9e15, maxE: 9e15, minE: -9e15 })
type D = InstanceType<typeof Exact>

/** PostgreSQL's limits: 131072 digits before the point, 16383 after. */
const MAX_WEIGHT_DIGITS = 131072
const MAX_SCALE = 16383
/** Smallest significant digits of a quotient (PostgreSQL's NUMERIC_MIN_SIG_DIGITS), and the largest display scale. */
const MIN_SIG_DIGITS = 16
const MAX_DISPLAY_SCALE = 1000

const NUMERIC_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i

/** The NUMERIC of a Decimal at `scale` digits after the point (rounded half away from zero). */
function make(d: D, scale: number): NumericValue {
  if (scale > MAX_SCALE) scale = MAX_SCALE
  const r = d.toDecimalPlaces(scale, Decimal.ROUND_HALF_UP)
  if (!r.isZero() && r.e >= MAX_WEIGHT_DIGITS) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, 'value overflows numeric format')
  let text = r.toFixed(scale)
  if (text.startsWith('-') && r.isZero()) text = text.slice(1)
  return { type: 'numeric', text }
}

/** Digits after the point of a canonical numeric text. */
export function scaleOf(n: NumericValue): number {
  const dot = n.text.indexOf('.')
  return dot < 0 ? 0 : n.text.length - dot - 1
}

function dec(n: NumericValue): D {
  return new Exact(n.text)
}

/** Reads a NUMERIC from text as numeric_in does ('1.50' keeps its scale, '1e2' is 100); 22P02 otherwise. */
export function parseNumeric(text: string): NumericValue {
  if (!NUMERIC_TEXT.test(text)) fail(SqlState.INVALID_TEXT_REPRESENTATION, `invalid input syntax for type numeric: "${text}"`)
  const t = text.trim()
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(t)!
  const exponent = Number(m[3] ?? 0)
  const scale = Math.max(0, (m[2] ?? '').length - exponent)
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 1e6) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, 'value overflows numeric format')
  return make(new Exact(t), scale)
}

/** The NUMERIC equal to an integer. */
export function numericFromInt(v: bigint): NumericValue {
  return { type: 'numeric', text: v.toString() }
}

/** A float8 as NUMERIC, as PostgreSQL converts it: to 15 significant digits; NaN and infinities raise 22003. */
export function numericFromFloat(f: number): NumericValue {
  if (!Number.isFinite(f)) fail(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, `cannot convert ${Number.isNaN(f) ? 'NaN' : 'infinity'} to numeric`)
  const d = new Exact(f.toPrecision(15))
  // The digits of %.15g, trailing zeros dropped: its scale is what remains after the point.
  const plain = d.toFixed()
  const dot = plain.indexOf('.')
  return make(d, dot < 0 ? 0 : plain.length - dot - 1)
}

/** The nearest float8 to a NUMERIC. */
export function numericToFloat(n: NumericValue): number {
  return Number(n.text)
}

/** A NUMERIC rounded half away from zero to an integer; 22003 outside 64 bits. */
export function numericToInt(n: NumericValue): bigint {
  const r = dec(n).toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
  return BigInt(r.toFixed(0))
}

/** Whether a NUMERIC is an integer, and which (for key lookups on INT columns). */
export function numericAsExactInt(n: NumericValue): bigint | null {
  const d = dec(n)
  return d.isInteger() ? BigInt(d.toFixed(0)) : null
}

/** Compares two NUMERICs by value (1.5 = 1.50). */
export function compareNumeric(a: NumericValue, b: NumericValue): number {
  return dec(a).cmp(dec(b))
}

/** A string equal for equal NUMERIC values (1.5 and 1.50 alike), for grouping and DISTINCT. */
export function numericKey(n: NumericValue): string {
  const d = dec(n)
  return d.isZero() ? '0' : d.toString()
}

/** The arithmetic operators NUMERIC supports. */
export type NumericOp = '+' | '-' | '*' | '/' | '%'

/**
 * `a op b` with PostgreSQL's result scales: + and - the larger scale, * the sum of scales,
 * / at least 16 significant digits (select_div_scale), % the larger scale. Division by zero
 * raises 22012.
 */
export function numericArithmetic(op: NumericOp, a: NumericValue, b: NumericValue): NumericValue {
  const x = dec(a)
  const y = dec(b)
  const sa = scaleOf(a)
  const sb = scaleOf(b)
  switch (op) {
    case '+':
      return make(x.plus(y), Math.max(sa, sb))
    case '-':
      return make(x.minus(y), Math.max(sa, sb))
    case '*':
      return make(x.times(y), sa + sb)
    case '/': {
      if (y.isZero()) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
      const scale = divScale(x, y, sa, sb)
      return make(quotient(x, y, scale), scale)
    }
    case '%':
      if (y.isZero()) fail(SqlState.DIVISION_BY_ZERO, 'division by zero')
      return make(x.minus(quotient(x, y, 0, Decimal.ROUND_DOWN).times(y)), Math.max(sa, sb))
  }
}

/** x / y to `scale` places, rounded (half away from zero unless `rounding` says otherwise). */
function quotient(x: D, y: D, scale: number, rounding: Decimal.Rounding = Decimal.ROUND_HALF_UP): D {
  if (x.isZero()) return new Exact(0)
  // Digits the quotient has before the point (at most), plus the scale, plus guard digits;
  // truncated there, then rounded once at `scale` (a truncated guard digit decides rounding rightly).
  const digits = Math.max(1, x.e - y.e + 2 + scale + 2)
  const Div = Exact.clone({ precision: digits, rounding: Decimal.ROUND_DOWN })
  return new Exact(new Div(x).div(new Div(y))).toDecimalPlaces(scale, rounding)
}

/** PostgreSQL's select_div_scale: the quotient gets at least 16 significant digits, never fewer places than an operand. */
function divScale(x: D, y: D, sa: number, sb: number): number {
  const [w1, f1] = nbaseLead(x)
  const [w2, f2] = nbaseLead(y)
  let qweight = w1 - w2
  if (f1 <= f2) qweight--
  let scale = MIN_SIG_DIGITS - qweight * 4
  scale = Math.max(scale, sa, sb, 0)
  return Math.min(scale, MAX_DISPLAY_SCALE)
}

/** The weight (power of 10000) and value of a number's first base-10000 digit, as PostgreSQL stores it. */
function nbaseLead(d: D): [number, number] {
  if (d.isZero()) return [0, 0]
  const e = d.e // the first significant digit is at 10^e
  const weight = Math.floor(e / 4)
  const digits = d.abs().toFixed().replace('.', '').replace(/^0+/, '')
  const width = e - weight * 4 + 1
  const lead = Number(digits.slice(0, width).padEnd(width, '0'))
  return [weight, lead]
}

/** -n. */
export function negateNumeric(n: NumericValue): NumericValue {
  return make(dec(n).neg(), scaleOf(n))
}

/** |n|. */
export function absNumeric(n: NumericValue): NumericValue {
  return make(dec(n).abs(), scaleOf(n))
}

/**
 * `n` for a column NUMERIC(precision, scale): rounded to `scale` places, then 22003 when more
 * than precision - scale digits remain before the point. Without a precision, unchanged.
 */
export function numericForColumn(n: NumericValue, precision: number | undefined, scale: number | undefined, column: string): NumericValue {
  if (precision === undefined) return n
  const s = scale ?? 0
  const r = make(dec(n), s)
  const d = dec(r)
  if (!d.isZero() && d.e + 1 > precision - s) {
    fail(
      SqlState.NUMERIC_VALUE_OUT_OF_RANGE,
      `numeric field overflow: column ${column} (NUMERIC(${precision},${s})) must round to an absolute value less than ${s === precision ? '1' : `10^${precision - s}`}`,
    )
  }
  return r
}

/** Sum of NUMERICs (exact; the larger scale). */
export function sumNumeric(a: NumericValue, b: NumericValue): NumericValue {
  return numericArithmetic('+', a, b)
}

/** A NUMERIC as a decimal key part's text (scale does not matter in keys: 1.5 and 1.50 are one key). */
export function numericKeyText(n: NumericValue): string {
  return n.text
}

/** A NUMERIC from a decimal key part's text, at `scale` places when the column has one, else at the fewest places. */
export function numericFromKeyText(text: string, scale: number | undefined): NumericValue {
  const d = new Exact(text)
  if (scale !== undefined) return make(d, scale)
  const plain = d.toFixed()
  const dot = plain.indexOf('.')
  return make(d, dot < 0 ? 0 : plain.length - dot - 1)
}

/** round(n [, places]): half away from zero, to `places` digits after the point (negative: before it). */
export function roundNumeric(n: NumericValue, places = 0): NumericValue {
  return toPlaces(n, places, Decimal.ROUND_HALF_UP)
}

/** trunc(n [, places]): toward zero. */
export function truncNumeric(n: NumericValue, places = 0): NumericValue {
  return toPlaces(n, places, Decimal.ROUND_DOWN)
}

function toPlaces(n: NumericValue, places: number, rounding: Decimal.Rounding): NumericValue {
  const d = dec(n)
  if (places >= 0) return make(d.toDecimalPlaces(Math.min(places, MAX_SCALE), rounding), Math.min(places, MAX_SCALE))
  const unit = new Exact(10).pow(-places)
  return make(d.div(unit).toDecimalPlaces(0, rounding).times(unit), 0)
}

/** floor(n) and ceil(n): the integral NUMERIC below or above. */
export function floorNumeric(n: NumericValue, up = false): NumericValue {
  return make(dec(n).toDecimalPlaces(0, up ? Decimal.ROUND_CEIL : Decimal.ROUND_FLOOR), 0)
}

/** sign(n): -1, 0 or 1 as a NUMERIC. */
export function signNumeric(n: NumericValue): NumericValue {
  return { type: 'numeric', text: String(dec(n).cmp(0)) }
}

/** Whether a value is a NUMERIC. */
export function isNumericValue(v: unknown): v is NumericValue {
  return v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'numeric'
}

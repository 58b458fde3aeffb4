import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareBytes } from './bytes.js'
import { decodeKey, encodeKey, type KeyPart } from './key-codec.js'
import { StorageErrorCode } from './errors.js'
import { SeededRandom } from './testing/random.js'

const TYPE_RANK = (p: KeyPart): number => {
  if (p === null) return 0
  if (typeof p === 'bigint') return 1
  if (typeof p === 'number') return 2
  if (p instanceof Uint8Array) return 3
  if (typeof p === 'string') return 4
  return p ? 6 : 5
}

/** The order the codec promises, written independently of the codec. */
function comparePart(a: KeyPart, b: KeyPart): number {
  const ra = TYPE_RANK(a)
  const rb = TYPE_RANK(b)
  if (ra !== rb) return ra - rb
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'number' && typeof b === 'number') return compareFloat(a, b)
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b)
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b)
  return 0
}

function compareFloat(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b))
  if (a === 0 && b === 0) return Number(!Object.is(a, -0)) - Number(!Object.is(b, -0))
  return a < b ? -1 : a > b ? 1 : 0
}

function compareCodePoints(a: string, b: string): number {
  const ca = [...a].map((c) => c.codePointAt(0)!)
  const cb = [...b].map((c) => c.codePointAt(0)!)
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i]! - cb[i]!
  return ca.length - cb.length
}

function compareTuple(a: KeyPart[], b: KeyPart[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = comparePart(a[i]!, b[i]!)
    if (c !== 0) return c
  }
  return a.length - b.length
}

const FLOATS = [0, -0, 1, -1, 0.5, -0.5, 1e300, -1e300, 5e-324, -5e-324, Infinity, -Infinity, NaN, Math.PI]
const INTS = [0n, 1n, -1n, 127n, 128n, -128n, 255n, 256n, (1n << 63n) - 1n, -(1n << 63n), 1n << 32n, -(1n << 32n), (1n << 53n) - 1n, 1n << 53n, -(1n << 53n), -(1n << 53n) - 1n, 9007199254740993n]
const STRINGS = ['', 'a', 'ab', 'b', '\0', 'a\0', 'a\0b', '\u00ff', '\uffff', '\u{1f600}', '\ue000', 'ä']

function randomPart(r: SeededRandom): KeyPart {
  switch (r.int(7)) {
    case 0:
      return null
    case 1:
      return r.int(2) ? r.pick(INTS) : BigInt(r.int(2000) - 1000)
    case 2:
      return r.int(2) ? r.pick(FLOATS) : (r.next() - 0.5) * 10 ** r.int(20)
    case 3:
      return r.bytes(r.int(4), [0, 1, 2, 0xfe, 0xff])
    case 4:
      return r.int(2) ? r.pick(STRINGS) : [...Array(r.int(4))].map(() => r.pick(['a', '\0', 'z', '\u{1f600}', '\ue000'])).join('')
    default:
      return r.int(2) === 1
  }
}

function randomTuple(r: SeededRandom): KeyPart[] {
  return Array.from({ length: r.int(4) }, () => randomPart(r))
}

test('order of encodings equals order of tuples (property, 20k random pairs)', () => {
  const r = new SeededRandom(20261123)
  for (let i = 0; i < 20_000; i++) {
    const a = randomTuple(r)
    const b = r.int(4) === 0 ? [...a, randomPart(r)] : randomTuple(r)
    const want = Math.sign(compareTuple(a, b))
    const got = Math.sign(compareBytes(encodeKey(a), encodeKey(b)))
    assert.equal(got, want, `order of ${String(a)} vs ${String(b)}`)
  }
})

test('decode(encode(x)) is x (property)', () => {
  const r = new SeededRandom(7)
  for (let i = 0; i < 20_000; i++) {
    const t = randomTuple(r)
    const back = decodeKey(encodeKey(t))
    assert.equal(back.length, t.length)
    for (let j = 0; j < t.length; j++) {
      const x = t[j]!
      const y = back[j]!
      if (typeof x === 'number') assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))
      else assert.deepEqual(y, x)
    }
  }
})

test('floats: -Infinity < negatives < -0 < +0 < positives < +Infinity < NaN', () => {
  const ordered = [-Infinity, -1e300, -1, -5e-324, -0, 0, 5e-324, 1, 1e300, Infinity, NaN]
  for (let i = 1; i < ordered.length; i++) {
    assert.ok(compareBytes(encodeKey([ordered[i - 1]!]), encodeKey([ordered[i]!])) < 0, `${ordered[i - 1]} < ${ordered[i]}`)
  }
  assert.deepEqual(encodeKey([NaN]), encodeKey([-NaN]))
})

test('integers use the full signed 64-bit range', () => {
  const min = -(1n << 63n)
  const max = (1n << 63n) - 1n
  assert.deepEqual(decodeKey(encodeKey([min, max])), [min, max])
  assert.ok(compareBytes(encodeKey([min]), encodeKey([max])) < 0)
})

test('bad input raises ERR_INVALID_KEY', () => {
  const codeOf = (fn: () => unknown) => assert.throws(fn, (e: { code?: string }) => e.code === StorageErrorCode.INVALID_KEY)
  codeOf(() => encodeKey([1n << 63n]))
  codeOf(() => encodeKey(['\ud800']))
  codeOf(() => encodeKey([{} as unknown as KeyPart]))
  codeOf(() => decodeKey(Uint8Array.of(0x99)))
  codeOf(() => decodeKey(Uint8Array.of(0x10, 1, 2)))
  codeOf(() => decodeKey(Uint8Array.of(0x40, 0x61)))
  codeOf(() => decodeKey(Uint8Array.of(0x40, 0x00, 0x07)))
  codeOf(() => decodeKey(Uint8Array.of(0x40, 0xc3, 0x28, 0x00, 0x01)))
})

/** A decimal text as mantissa × 10^-scale, exactly (independent of the codec). */
function rational(text: string): { m: bigint; scale: number } {
  const [mant, exp] = text.toLowerCase().split('e') as [string, string | undefined]
  const [int, frac = ''] = mant.split('.') as [string, string | undefined]
  let m = BigInt((int === '' || int === '-' || int === '+' ? int + '0' : int) + frac)
  if (int.startsWith('-') && m === 0n) m = 0n
  let scale = frac.length - Number(exp ?? 0)
  if (scale < 0) {
    m *= 10n ** BigInt(-scale)
    scale = 0
  }
  return { m: int.startsWith('-') && m > 0n ? -m : m, scale }
}

function compareDecimal(a: string, b: string): number {
  const x = rational(a)
  const y = rational(b)
  const s = Math.max(x.scale, y.scale)
  const l = x.m * 10n ** BigInt(s - x.scale)
  const r = y.m * 10n ** BigInt(s - y.scale)
  return l < r ? -1 : l > r ? 1 : 0
}

function randomDecimal(r: SeededRandom): string {
  const digits = (n: number) => Array.from({ length: n }, () => String(r.int(10))).join('')
  const sign = r.int(2) ? '-' : ''
  switch (r.int(4)) {
    case 0:
      return `${sign}${digits(1 + r.int(6))}`
    case 1:
      return `${sign}${digits(1 + r.int(4))}.${digits(1 + r.int(6))}`
    case 2:
      return `${sign}0.${'0'.repeat(r.int(5))}${digits(1 + r.int(3))}`
    default:
      return `${sign}${digits(1 + r.int(3))}.${digits(r.int(3))}e${r.int(40) - 20}`
  }
}

test('decimals: byte order equals numeric order (property, 20k random pairs, negatives and zeros)', () => {
  const r = new SeededRandom(16005)
  for (let i = 0; i < 20_000; i++) {
    const a = randomDecimal(r)
    const b = r.int(8) === 0 ? a.replace(/(\.\d*)$/, '$10') : randomDecimal(r)
    const want = Math.sign(compareDecimal(a, b))
    const got = Math.sign(compareBytes(encodeKey([{ decimal: a }, 1n]), encodeKey([{ decimal: b }, 0n])))
    assert.equal(got === 0 ? 0 : got, want === 0 ? 1 : want, `order of ${a} vs ${b}`)
    const back = decodeKey(encodeKey([{ decimal: a }]))[0] as { decimal: string }
    assert.equal(compareDecimal(back.decimal, a), 0, `${a} decodes as ${back.decimal}`)
  }
})

test('decimals: 1.5 < 10 < 100, equal values encode alike, and decode normalized', () => {
  const ordered = ['-1000', '-100.5', '-100', '-10', '-1.5', '-0.001', '0', '0.001', '0.0011', '1.5', '10', '100', '1e20']
  for (let i = 1; i < ordered.length; i++) {
    assert.ok(compareBytes(encodeKey([{ decimal: ordered[i - 1]! }]), encodeKey([{ decimal: ordered[i]! }])) < 0, `${ordered[i - 1]} < ${ordered[i]}`)
  }
  assert.deepEqual(encodeKey([{ decimal: '1.50' }]), encodeKey([{ decimal: '15e-1' }]))
  assert.deepEqual(encodeKey([{ decimal: '-0.00' }]), encodeKey([{ decimal: '0' }]))
  assert.deepEqual(decodeKey(encodeKey([{ decimal: '-012.3400' }])), [{ decimal: '-0.1234e2' }])
  assert.deepEqual(decodeKey(encodeKey([{ decimal: '0.000' }])), [{ decimal: '0' }])
  const codeOf = (fn: () => unknown) => assert.throws(fn, (e: { code?: string }) => e.code === StorageErrorCode.INVALID_KEY)
  codeOf(() => encodeKey([{ decimal: 'abc' }]))
  codeOf(() => encodeKey([{ decimal: '.' }]))
  codeOf(() => decodeKey(Uint8Array.of(0x16, 0x80, 0, 0, 1, 0x31)))
})

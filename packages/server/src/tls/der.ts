// The few DER (ASN.1 distinguished encoding) forms an X.509 certificate is built from.

/** One encoded element: tag, length, contents. */
function tlv(tag: number, contents: Buffer): Buffer {
  const n = contents.length
  let length: Buffer
  if (n < 0x80) length = Buffer.of(n)
  else {
    const bytes: number[] = []
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
    length = Buffer.of(0x80 | bytes.length, ...bytes)
  }
  return Buffer.concat([Buffer.of(tag), length, contents])
}

/** SEQUENCE of `items`. */
export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
/** SET of `items` (callers pass one item, so no sorting is needed). */
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))
/** A context-specific constructed tag [n] around `inner` (EXPLICIT tagging). */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner)
/** A context-specific primitive tag [n] with raw `contents` (IMPLICIT tagging, e.g. a GeneralName). */
export const implicit = (n: number, contents: Buffer): Buffer => tlv(0x80 | n, contents)
/** OCTET STRING. */
export const octetString = (b: Buffer): Buffer => tlv(0x04, b)
/** BIT STRING with no unused bits. */
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.of(0), b]))
/** BOOLEAN. */
export const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.of(v ? 0xff : 0))
/** UTF8String. */
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'))

/** INTEGER from unsigned big-endian bytes (a leading zero is added when the top bit is set). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  const trimmed = bytes.subarray(i)
  return tlv(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed)
}

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number)
  const out = [40 * parts[0]! + parts[1]!]
  for (const p of parts.slice(2)) {
    const groups: number[] = []
    for (let v = p; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128)
      if (v < 128) break
    }
    out.push(...groups.map((g, j) => (j < groups.length - 1 ? g | 0x80 : g)))
  }
  return tlv(0x06, Buffer.from(out))
}

/** A time as X.509 wants it: UTCTime through 2049, GeneralizedTime after. */
export function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`))
}

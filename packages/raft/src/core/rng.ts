// Randomness is injected into the core so that a seed reproduces a whole run.

/** A source of random integers. */
export interface Rng {
  /** Returns an integer in [0, n). n is a positive integer below 2^32. */
  nextInt(n: number): number
}

/**
 * A small, fast, seeded generator (sfc32, seeded through splitmix32). Same seed, same
 * sequence, on every platform. Not cryptographic.
 */
export class SeededRng implements Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.nextUint32()
  }

  /** The next 32-bit unsigned integer of the sequence. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** An integer in [0, n), from the top bits of the next 32-bit value. */
  nextInt(n: number): number {
    if (!(n > 0)) throw new RangeError(`nextInt: n must be positive, got ${n}`)
    return Math.floor((this.nextUint32() / 4294967296) * n)
  }
}

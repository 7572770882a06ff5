/**
 * Seeded pseudo-random numbers: xoshiro128** (32-bit state words, fast in JS),
 * seeded through splitmix32 so nearby seeds give unrelated streams.
 * Same seed → same sequence on every platform (only 32-bit integer math and IEEE doubles).
 */

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // fold the integer part (up to 2^53) and any fraction into 32-bit words
    const lo = seed >>> 0;
    const hi = Math.floor(Math.abs(seed) / 4294967296) >>> 0;
    const frac = Math.floor((seed - Math.trunc(seed)) * 4294967296) >>> 0;
    let s = (lo ^ Math.imul(hi, 0x9e3779b9) ^ Math.imul(frac, 0x85ebca6b) ^ (seed < 0 ? 0x5bd1e995 : 0)) >>> 0;
    const next = (): number => {
      // splitmix32
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform double in [0, 1) with 53 bits of randomness. */
  nextDouble(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }

  /** Uniform double in (0, 1] (safe for log). */
  nextOpen(): number {
    return (this.nextU32() + 1) / 4294967296;
  }

  /** Unbiased uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
    if (n <= 4294967296) {
      const limit = 4294967296 - (4294967296 % n);
      for (;;) {
        const u = this.nextU32();
        if (u < limit) return u % n;
      }
    }
    return Math.floor(this.nextDouble() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Standard normal (Box–Muller, the second value of each pair is cached). */
  normal(): number {
    if (this.spare === this.spare) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    const u1 = this.nextOpen();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * u2;
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Fisher–Yates shuffle of a[0..length) in place; returns a. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return rng.shuffle(p);
}

/**
 * Cumulative distribution of a Zipf law over ranks 0..n-1: P(rank r) ∝ 1/(r+1)^s.
 * cdf[r] = P(rank ≤ r); cdf[n-1] is exactly 1.
 */
export function zipfCdf(n: number, s: number): Float64Array {
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`zipf needs n ≥ 1, got ${n}`);
  if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`zipf exponent must be ≥ 0, got ${s}`);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 0; r < n; r++) {
    acc += s === 0 ? 1 : Math.pow(r + 1, -s);
    cdf[r] = acc;
  }
  for (let r = 0; r < n; r++) cdf[r] /= acc;
  cdf[n - 1] = 1;
  return cdf;
}

/** Inverse-CDF sampling: the smallest r with cdf[r] > u, for u in [0, 1). */
export function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0, hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Zipf sampler over ranks 0..n-1 by inverse CDF table. */
export class ZipfSampler {
  readonly cdf: Float64Array;
  constructor(readonly n: number, readonly s: number) {
    this.cdf = zipfCdf(n, s);
  }
  /** P(rank r). */
  probability(r: number): number {
    return r === 0 ? this.cdf[0] : this.cdf[r] - this.cdf[r - 1];
  }
  sample(rng: Rng): number {
    return sampleCdf(this.cdf, rng.next());
  }
}

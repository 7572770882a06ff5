/**
 * The one seeded pseudo-random generator: xoshiro128** on the kernels' state (data/xoshiro128.ts,
 * a Uint32Array(4) seeded through splitmix32), so a model's generator and the state it hands a
 * kernel (fork()) are the same algorithm. Same seed → same sequence on every platform (only
 * 32-bit integer math and IEEE doubles).
 *
 * Two reductions to an integer range are kept because seeded results rely on both: `int` is
 * unbiased (rejection; the data layer's splits and synthetic data), `scaledInt` is the kernels'
 * multiply-shift ⌊u·n/2³²⌋ (bias < n/2³²; the factorization models' shuffles, the same reduction
 * the SGD/BPR kernels use in TypeScript, C++ and WebAssembly). Likewise `normal` draws u₁ from
 * (0, 1] and `normalScaled` from [0, 1) without 0 (the factorization models' initialisation).
 * Switching either family to the other would change every seeded split, fit and accuracy figure.
 */
import { partitionPoint } from './search.js';
import { xoshiroFloat, xoshiroInt, xoshiroNext, xoshiroState } from './xoshiro128.js';

export class Rng {
  /** the generator's state (xoshiro128**), advanced in place */
  readonly state: Uint32Array;
  private spare = NaN;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // fold the integer part (up to 2^53) and any fraction into one 32-bit word; a 32-bit seed s ≥ 0 is itself
    const lo = seed >>> 0;
    const hi = Math.floor(Math.abs(seed) / 4294967296) >>> 0;
    const frac = Math.floor((seed - Math.trunc(seed)) * 4294967296) >>> 0;
    this.state = xoshiroState((lo ^ Math.imul(hi, 0x9e3779b9) ^ Math.imul(frac, 0x85ebca6b) ^ (seed < 0 ? 0x5bd1e995 : 0)) >>> 0);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    return xoshiroNext(this.state);
  }

  /** Uniform double in [0, 1) with 32 bits of randomness. */
  next(): number {
    return xoshiroFloat(this.state);
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

  /** Uniform integer in [0, n) by the kernels' multiply-shift, for 0 < n ≤ 2^32 (see the class comment). */
  scaledInt(n: number): number {
    return xoshiroInt(this.state, n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Standard normal (Box–Muller with u₁ in (0, 1]; the second value of each pair is cached). */
  normal(): number {
    return this.spare === this.spare ? this.takeSpare() : this.boxMuller(this.nextOpen());
  }

  /** Standard normal (Box–Muller with u₁ = next() ≠ 0; see the class comment). */
  normalScaled(): number {
    if (this.spare === this.spare) return this.takeSpare();
    let u = 0;
    while (u === 0) u = this.next();
    return this.boxMuller(u);
  }

  private takeSpare(): number {
    const v = this.spare;
    this.spare = NaN;
    return v;
  }

  /** r·cos θ with r = √(−2 ln u₁), θ = 2π·next(); r·sin θ is cached for the next call */
  private boxMuller(u1: number): number {
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Fisher–Yates shuffle of a[0..length) in place (unbiased int); returns a. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Fisher–Yates shuffle of a[0..n) in place with scaledInt; returns a. */
  scaledShuffle(a: Int32Array, n = a.length): Int32Array {
    for (let i = n - 1; i > 0; i--) {
      const j = this.scaledInt(i + 1);
      const t = a[i]; a[i] = a[j]; a[j] = t;
    }
    return a;
  }

  /** A fresh kernel state seeded from this generator (e.g. bprEpoch's rng). */
  fork(): Uint32Array {
    return xoshiroState(this.nextU32());
  }
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

/** Inverse-CDF sampling: the smallest r with cdf[r] > u, for u in [0, 1) (the last rank when none). */
export function sampleCdf(cdf: Float64Array, u: number): number {
  return Math.min(partitionPoint(cdf, (c) => c > u), cdf.length - 1);
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

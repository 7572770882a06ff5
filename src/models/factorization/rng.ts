/**
 * Seeded random numbers for the factorization models: initialisation, shuffles,
 * negative sampling. One generator per fit, seeded from the model's `seed`, so a fit
 * is bit-identical run to run.
 */
import { xoshiroFloat, xoshiroInt, xoshiroNext, xoshiroState } from '../../kernels/xoshiro128.js';

export class Rng {
  readonly state: Uint32Array;
  private spare = NaN;

  constructor(seed: number) {
    this.state = xoshiroState(seed);
  }

  u32(): number { return xoshiroNext(this.state); }
  /** uniform [0, 1) */
  float(): number { return xoshiroFloat(this.state); }
  /** uniform integer [0, n) */
  int(n: number): number { return xoshiroInt(this.state, n); }

  /** standard normal (Box–Muller, both values used) */
  normal(): number {
    if (this.spare === this.spare) { const v = this.spare; this.spare = NaN; return v; }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** in-place Fisher–Yates shuffle of a[0..n) */
  shuffle(a: Int32Array, n = a.length): Int32Array {
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]; a[i] = a[j]; a[j] = t;
    }
    return a;
  }

  /** a fresh seed for a sub-generator (e.g. a kernel's own state) */
  fork(): Uint32Array {
    return xoshiroState(this.u32());
  }
}

/**
 * xoshiro128** (Blackman & Vigna) on a Uint32Array(4) state that callers own and
 * advance in place — kernels stay pure functions of their arguments, and a run is
 * reproducible from its seed. Seeded through splitmix32 so any 32-bit seed works
 * (including 0, which would be a dead state for xoshiro itself).
 */

/** A fresh generator state from a 32-bit seed. */
export function xoshiroState(seed: number): Uint32Array {
  const s = new Uint32Array(4);
  let x = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    // splitmix32
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    s[i] = (z ^ (z >>> 16)) >>> 0;
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/** Next 32-bit unsigned value; advances s. */
export function xoshiroNext(s: Uint32Array): number {
  const s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
  const m = Math.imul(s1, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
  const t = s1 << 9;
  const n2 = s2 ^ s0;
  const n3 = s3 ^ s1;
  s[1] = s1 ^ n2;
  s[0] = s0 ^ n3;
  s[2] = n2 ^ t;
  s[3] = (n3 << 11) | (n3 >>> 21);
  return result;
}

/** Uniform float in [0, 1) with 32 bits of randomness. */
export function xoshiroFloat(s: Uint32Array): number {
  return xoshiroNext(s) / 4294967296;
}

/** Uniform integer in [0, n) for 0 < n ≤ 2^32 (multiply-shift; bias < n/2^32, negligible here). */
export function xoshiroInt(s: Uint32Array, n: number): number {
  return Math.floor((xoshiroNext(s) / 4294967296) * n);
}

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

const MASK64 = (1n << 64n) - 1n;

/** splitmix64 (Steele, Lea & Flood 2014) on a 64-bit state held as a BigInt; returns [output, next state]. */
function splitmix64(x: bigint): [bigint, bigint] {
  const next = (x + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [z ^ (z >> 31n), next];
}

/**
 * The xoshiro128** states of `n` Hogwild threads, seeded from the caller's `state` by the rule of the
 * native core (native/core/src/hogwild.cpp), so the native and WebAssembly backends draw the same streams:
 *   base = (s0 | s1·2^32) XOR ((s2 | s3·2^32) · 0x9e3779b97f4a7c15)         (mod 2^64)
 *   thread k: x = base + k · 0xd1b54a32d192ed03; a, b = the next two splitmix64 outputs of x;
 *             state = [low a, high a, low b, high b] ([1, 0, 0, 0] instead of all zeros).
 * `state` is then advanced by four draws, so the next call seeds other streams.
 */
export function hogwildStreams(state: Uint32Array, n: number): Uint32Array[] {
  const lo = BigInt(state[0]) | (BigInt(state[1]) << 32n);
  const hi = BigInt(state[2]) | (BigInt(state[3]) << 32n);
  const base = lo ^ ((hi * 0x9e3779b97f4a7c15n) & MASK64);
  const streams: Uint32Array[] = [];
  for (let k = 0; k < n; k++) {
    const x = (base + BigInt(k) * 0xd1b54a32d192ed03n) & MASK64;
    const [a, x1] = splitmix64(x);
    const [b] = splitmix64(x1);
    const s = Uint32Array.of(Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n));
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    streams.push(s);
  }
  for (let k = 0; k < 4; k++) xoshiroNext(state);
  return streams;
}

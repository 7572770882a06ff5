/**
 * Inverted dropout (Srivastava et al. 2014) with a counter-based mask, so that every backend,
 * every row split and the backward pass draw the same mask without storing it:
 *
 *   u_i   = fmix32(key ⊕ fmix32((offset + i) mod 2³²)),   key = fmix32(seed ⊕ 0x9E3779B9)
 *   keep_i = u_i ≥ ⌊rate · 2³²⌋                             (unsigned; P(keep) = 1 − rate)
 *   y_i   = keep_i ? x_i / (1 − rate) : 0
 *
 * fmix32 is MurmurHash3's 32-bit finalizer (h ^= h>>>16; h *= 0x85EBCA6B; h ^= h>>>13;
 * h *= 0xC2B2AE35; h ^= h>>>16, multiplications mod 2³²). The backward of dropout is the same
 * kernel on ∂L/∂y with the same seed and offset (dx = dy·keep/(1 − rate)).
 */
import { sharedFloat32 } from '../../data/matrix.js';
import type { KernelDef } from '../kernelDef.js';
import { checkF32, checkFinite, checkInt } from '../shapes.js';

export interface DropoutArgs {
  x: Float32Array;
  /** probability of dropping an element, in [0, 1) */
  rate: number;
  /** uint32 */
  seed: number;
  /** uint32 counter of element 0 (default 0): calls on different tensors of one step use different offsets or seeds */
  offset?: number;
}

/** MurmurHash3's fmix32 (unsigned result). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The threshold below which u drops an element: ⌊rate · 2³²⌋. */
function dropoutThreshold(rate: number): number {
  return Math.min(0xffffffff, Math.floor(rate * 4294967296));
}

function dropoutReference(a: DropoutArgs, out: Float32Array, start: number, end: number): void {
  const key = fmix32((a.seed ^ 0x9e3779b9) >>> 0), offset = a.offset ?? 0;
  const threshold = dropoutThreshold(a.rate), scale = 1 / (1 - a.rate), x = a.x;
  for (let i = start; i < end; i++) {
    const u = fmix32((key ^ fmix32((offset + i) >>> 0)) >>> 0);
    out[i] = u >= threshold ? x[i] * scale : 0;
  }
}

export const dropoutKernel: KernelDef<DropoutArgs, Float32Array> = {
  name: 'dropout',
  validate: (a) => {
    checkF32('dropout', 'x', a.x);
    checkFinite('dropout', 'rate', a.rate);
    if (!(a.rate >= 0 && a.rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${a.rate}`);
    checkInt('dropout', 'seed', a.seed);
    if (a.seed > 0xffffffff) throw new RangeError(`dropout: seed must be a uint32, got ${a.seed}`);
    const offset = a.offset ?? 0;
    checkInt('dropout', 'offset', offset);
    if (offset > 0xffffffff) throw new RangeError(`dropout: offset must be a uint32, got ${offset}`);
  },
  rows: (a) => a.x.length,
  allocate: (a) => sharedFloat32(a.x.length),
  outputShape: (a) => a.x.length,
  reference: dropoutReference,
  flops: (a) => 2 * a.x.length,
};

/**
 * What a kernel's JS half needs of a wasm instance's linear memory (copy-in/copy-out, see ./index.ts): where the
 * free space starts, growing it, and a bump layout of 16-byte-aligned blocks. Browser-usable (no Node APIs).
 *
 * A kernel lays out every block it needs from `base` with a Layout, calls `ensure(layout.at)` once (growing the
 * memory detaches earlier views), then makes its views on the returned buffer. Blocks are 16-byte aligned and
 * padded to 16 bytes, so a kernel may run whole f32x4 vectors over a block whose length is not a multiple of 4.
 */

/** 16-byte alignment of a byte offset (offsets may exceed 2^31, so no bit operators). */
export const align16 = (n: number): number => Math.ceil(n / 16) * 16;

import type { BprEpochArgs } from '../../kernels/bprEpoch.js';
/** Bump allocator over linear memory from `at` (16-byte aligned blocks). */
export class Layout {
  constructor(public at: number) {}
  take(bytes: number): number {
    const p = this.at;
    this.at = align16(this.at + bytes);
    return p;
  }
}

export interface LinearMemory {
  /** first free byte (16-aligned) above the module's own data */
  readonly base: number;
  /**
   * The memory's buffer, grown to at least `bytes`; a RangeError naming `kernel` beyond wasm32's 4 GiB. Also
   * marks the memory above base as overwritten (drops whatever a kernel cached there between calls).
   */
  ensure(bytes: number, kernel: string): ArrayBuffer;
  /** count bytes copied in (WasmCopyStats.bytesIn) */
  countIn(bytes: number): void;
}

/** The blocks of a bprEpoch call, in the order both wasm modules lay them out (./core.ts sequential, ./hogwild.ts parallel). */
export interface BprEpochBlocks {
  indptr: number; indices: number; entryUser: number;
  /** whether `seen` has blocks of its own (verifyNegative with a seen matrix other than userItems); else sIndptr/sIndices alias indptr/indices */
  ownSeen: boolean; sIndptr: number; sIndices: number;
  /** the popularity items (aliases indices when `pop` is absent), and the negatives CDF (0 unless negatives 'table') */
  popAt: number; cdf: number;
  x: number; y: number;
}

/** Lays out bprEpoch's inputs and factors (a validated call; `pop`: the popularity items the module reads, if any). */
export function layBprEpoch(lay: Layout, a: BprEpochArgs, pop: Int32Array | undefined): BprEpochBlocks {
  const m = a.userItems, D = a.factors + 1, nz = m.indptr[m.rows];
  const seen = a.seen ?? m;
  const indptr = lay.take((m.rows + 1) * 4), indices = lay.take(nz * 4), entryUser = lay.take(nz * 4);
  const ownSeen = a.verifyNegative && seen !== m;
  const sIndptr = ownSeen ? lay.take((seen.rows + 1) * 4) : indptr, sIndices = ownSeen ? lay.take(seen.indptr[seen.rows] * 4) : indices;
  const popAt = pop ? lay.take(pop.length * 4) : indices;
  const cdf = a.negatives === 'table' ? lay.take(m.cols * 8) : 0;
  const x = lay.take(m.rows * D * 4), y = lay.take(m.cols * D * 4);
  return { indptr, indices, entryUser, ownSeen, sIndptr, sIndices, popAt, cdf, x, y };
}

/**
 * The epoch exports both wasm modules have (assembly/index.ts and assembly/hogwild.ts build them from
 * the same sources): the sgdEpoch 'svd' steps and the bprEpoch steps, over blocks laid out as above.
 */
export interface EpochExports {
  sgdSetup(
    f: number, user: number, item: number, rating: number, weight: number, order: number, bu: number, bi: number, pu: number, qi: number,
    yj: number, nIndptr: number, nIndices: number, scratch: number, items: number,
  ): void;
  sgdSvd(t0: number, t1: number, biased: number, globalMean: number,
    lrBu: number, lrBi: number, lrPu: number, lrQi: number, regBu: number, regBi: number, regPu: number, regQi: number): number;
  bprSetup(
    indptr: number, indices: number, entryUser: number, sIndptr: number, sIndices: number, pop: number, npop: number, cdf: number,
    x: number, y: number, f: number, items: number, nz: number, state: number,
  ): void;
  bprSteps(t0: number, t1: number, lr: number, reg: number, verify: number, mode: number): void;
}

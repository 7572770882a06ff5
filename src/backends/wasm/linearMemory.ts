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

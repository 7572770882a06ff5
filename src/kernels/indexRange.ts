/**
 * Whether every value of an index array lies in [0, limit): the kernels' validation asks it of whole
 * index arrays before every call (sgdEpoch's user/item/order, bprEpoch's items), on the calling
 * thread. In JavaScript that is ≈ 2 ns a value, 0.13 s for a 20M-example sgdEpoch: serial time
 * before an epoch whose steps run in parallel. A Node process where the native addon loads
 * registers the addon's scan (native/addon/index_range_args.h: vectorized, over the core's
 * threads) through useNativeIndexRangeCheck (src/backends/native/index.ts); the answer is the same
 * either way, so the check stays a pure function of its arguments. The kernels layer has no Node
 * imports (the browser loads it), hence the registration rather than an import.
 */

/** The scan a backend can register: true when every value of v lies in [0, limit). */
export type IndexRangeCheck = (v: Int32Array, limit: number) => boolean;

/** Below this many values the JavaScript loop is as fast as a native call. */
export const NATIVE_RANGE_CHECK_MIN = 1 << 20;

let native: IndexRangeCheck | null = null;

function inRangeJs(v: ArrayLike<number>, limit: number): boolean {
  for (let k = 0; k < v.length; k++) if (!(v[k] >= 0 && v[k] < limit)) return false;
  return true;
}

/** Whether every value of v lies in [0, limit). */
export function indicesInRange(v: ArrayLike<number>, limit: number): boolean {
  if (native && v instanceof Int32Array && v.length >= NATIVE_RANGE_CHECK_MIN) return native(v, limit);
  return inRangeJs(v, limit);
}

/** Registers (or, with null, removes) the native scan used for large Int32Arrays. */
export function useNativeIndexRangeCheck(check: IndexRangeCheck | null): void {
  native = check;
}

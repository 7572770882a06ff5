/**
 * Put every typed array reachable in a kernel's args (top level and one object level down,
 * which covers Dense/Csr/TopK fields) on shared memory, so pool workers read them without
 * copies. Arrays already shared are kept as they are.
 */
import { toShared } from '../data/matrix.js';

type Typed = Float32Array | Int32Array | Float64Array;

function isTyped(v: unknown): v is Typed {
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Float64Array;
}

function shareValue(v: unknown, depth: number): unknown {
  if (isTyped(v)) return toShared(v);
  if (depth > 0 && v && typeof v === 'object' && !ArrayBuffer.isView(v) && !Array.isArray(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = shareValue(x, depth - 1);
    return o;
  }
  return v;
}

export function shareArgs<A>(args: A): A {
  return shareValue(args, 2) as A;
}

export function isShared(v: unknown): boolean {
  return isTyped(v) && typeof SharedArrayBuffer === 'function' && v.buffer instanceof SharedArrayBuffer;
}

/**
 * Argument checks shared by the neural-network kernels: each throws a RangeError/TypeError that
 * names the kernel, the field and the offending value.
 */
export function checkInt(kernel: string, field: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${kernel}: ${field} must be an integer ≥ ${min}, got ${v}`);
}

export function checkFinite(kernel: string, field: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${kernel}: ${field} must be a finite number, got ${v}`);
}

export function checkF32(kernel: string, field: string, a: unknown, length?: number): void {
  if (!(a instanceof Float32Array)) throw new TypeError(`${kernel}: ${field} must be a Float32Array`);
  if (length !== undefined && a.length !== length) throw new RangeError(`${kernel}: ${field} has length ${a.length}, expected ${length}`);
}

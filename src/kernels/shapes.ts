/**
 * Argument checks shared by the kernels: each throws a RangeError/TypeError that
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

export function checkI32(kernel: string, field: string, a: unknown, length?: number): void {
  if (!(a instanceof Int32Array)) throw new TypeError(`${kernel}: ${field} must be an Int32Array`);
  if (length !== undefined && a.length !== length) throw new RangeError(`${kernel}: ${field} has length ${a.length}, expected ${length}`);
}

/** A Dense {rows, cols, data}: integer shape, data a Float32Array of exactly rows·cols; optionally a given shape. */
export function checkDense(kernel: string, field: string, d: unknown, rows?: number, cols?: number): void {
  const m = d as { rows?: unknown; cols?: unknown; data?: unknown } | null;
  if (!m || typeof m !== 'object') throw new TypeError(`${kernel}: ${field} must be a Dense {rows, cols, data}`);
  if (!Number.isInteger(m.rows) || (m.rows as number) < 0 || !Number.isInteger(m.cols) || (m.cols as number) < 0) {
    throw new RangeError(`${kernel}: ${field} has a bad shape ${String(m.rows)}×${String(m.cols)}`);
  }
  checkF32(kernel, `${field}.data`, m.data, (m.rows as number) * (m.cols as number));
  if (rows !== undefined && m.rows !== rows) throw new RangeError(`${kernel}: ${field} has ${String(m.rows)} rows, expected ${rows}`);
  if (cols !== undefined && m.cols !== cols) throw new RangeError(`${kernel}: ${field} has ${String(m.cols)} columns, expected ${cols}`);
}

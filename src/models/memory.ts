/**
 * Size checks for the arrays a model is about to allocate, so that a parameter far too large for
 * the machine (`factors=1e9`) is refused with the parameter, the sizes and the memory named,
 * instead of a raw "Invalid typed array length" or "Array buffer allocation failed".
 */
import { constants } from 'node:buffer';
import os from 'node:os';

/** An array a fit will allocate: what it is (with its shape), its length and its element size. */
export interface PlannedArray {
  what: string;
  values: number;
  bytesPerValue: 4 | 8;
}

function size(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : v.toPrecision(3)} ${units[u]}`;
}

/**
 * Throws a RangeError unless the arrays fit: each one within the largest typed array this
 * runtime makes, all of them together within the machine's memory. `cause` names the parameter
 * responsible (e.g. 'factors=1000000000').
 */
export function requireArrays(model: string, cause: string, arrays: readonly PlannedArray[]): void {
  for (const a of arrays) {
    if (a.values > constants.MAX_LENGTH) {
      throw new RangeError(`${model}: ${cause} needs ${a.what} of ${a.values} values (${size(a.values * a.bytesPerValue)}), beyond the largest array this runtime allocates (${constants.MAX_LENGTH} values): use a smaller value`);
    }
  }
  const bytes = arrays.reduce((s, a) => s + a.values * a.bytesPerValue, 0);
  if (bytes > os.totalmem()) {
    throw new RangeError(`${model}: ${cause} needs ${size(bytes)} for ${arrays.map((a) => a.what).join(', ')}, more than this machine's memory (${size(os.totalmem())}): use a smaller value`);
  }
}

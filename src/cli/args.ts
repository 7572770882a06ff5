/** Argument parsing helpers shared by CLI commands: each throws a one-line error naming the bad value. */
import { decimalNumber } from '../data/decimal.js';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export class UsageError extends Error {}

/**
 * An output file the command will write: its folder must exist and be writable, checked before
 * any work so the error comes first and names the path as the user gave it.
 */
export function checkOutputPath(file: string): void {
  const folder = path.dirname(path.resolve(file));
  try {
    accessSync(folder, constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write '${file}': ${(e as NodeJS.ErrnoException).code ?? 'error'} (its folder ${folder} is missing or not writable)`);
  }
}

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = decimalNumber(v);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = decimalNumber(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a non-negative number, got '${v}'`);
    return n;
  };
}

/** `--size 20000x64` → [20000, 64] */
export function parseSize(v: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--size must look like ROWSxCOLS (e.g. 20000x64), got '${v}'`);
  return [Number(m[1]), Number(m[2])];
}

/** `--params k=40,user_based=false,sim=pearson` → typed values */
export function parseParams(v: string | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (!v) return out;
  for (const part of v.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--params entries must be key=value, got '${part}'`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    out[key] = raw === 'true' ? true : raw === 'false' ? false : Number.isFinite(decimalNumber(raw)) ? Number(raw) : raw;
  }
  return out;
}

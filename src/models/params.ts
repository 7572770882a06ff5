/**
 * Hyper-parameters of every model: one table per model mapping each option
 * to its accepted names (camelCase for the library, Surprise/implicit spellings for the CLI's
 * `--params k=v`), type, default and bounds. Values may arrive as strings from the CLI.
 * A bad value is a RangeError naming the parameter as the caller spelled it.
 */
import { decimalNumber } from '../data/decimal.js';

export type ParamValue = number | string | boolean;

export interface ParamSpec {
  names: string[];
  type: 'int' | 'number' | 'bool' | 'enum';
  def?: ParamValue;
  /** inclusive lower bound */
  min?: number;
  /** exclusive lower bound */
  above?: number;
  choices?: string[];
  /** what the bound means, for the error message */
  must?: string;
}

export type ParamTable = Record<string, ParamSpec>;

export function readParams<T>(model: string, given: Record<string, unknown> | undefined, table: ParamTable): T {
  const byName = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) {
    byName.set(key, key);
    for (const n of spec.names) byName.set(n, key);
  }
  const out: Record<string, ParamValue | undefined> = {};
  const from: Record<string, string> = {};
  for (const [name, raw] of Object.entries(given ?? {})) {
    if (raw === undefined) continue;
    const key = byName.get(name);
    if (!key) {
      const known = Object.entries(table).map(([k, s]) => [k, ...s.names].join('/')).join(', ');
      throw new RangeError(`${model}: unknown parameter '${name}' (known: ${known})`);
    }
    if (from[key] !== undefined && from[key] !== name) throw new RangeError(`${model}: parameter '${name}' given twice (also as '${from[key]}')`);
    from[key] = name;
    out[key] = coerce(model, name, raw, table[key]);
  }
  for (const [key, spec] of Object.entries(table)) if (out[key] === undefined) out[key] = spec.def;
  return out as T;
}

function coerce(model: string, name: string, raw: unknown, spec: ParamSpec): ParamValue {
  const fail = (why: string): never => { throw new RangeError(`${model}: ${name} ${why}, got ${JSON.stringify(raw)}`); };
  if (spec.type === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === '1' || raw === 1) return true;
    if (raw === 'false' || raw === '0' || raw === 0) return false;
    return fail('must be true or false');
  }
  if (spec.type === 'enum') {
    const s = String(raw);
    if (!spec.choices!.includes(s)) fail(`must be one of ${spec.choices!.join('|')}`);
    return s;
  }
  // strings (the CLI's --params) are decimal literals only: '0x10' is not 16
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' ? decimalNumber(raw) : NaN;
  if (!Number.isFinite(v)) fail(typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw)) ? 'must be a decimal number' : 'must be a finite number');
  if (spec.type === 'int' && !Number.isInteger(v)) fail('must be an integer');
  if (spec.min !== undefined && v < spec.min) fail(spec.must ?? `must be ≥ ${spec.min}`);
  if (spec.above !== undefined && !(v > spec.above)) fail(spec.must ?? `must be > ${spec.above}`);
  return v;
}

/** Shared specs. */
export const factorsSpec = (def: number): ParamSpec => ({ names: ['n_factors', 'factors', 'k'], type: 'int', def, above: 0, must: 'must be a positive integer' });
export const seedSpec: ParamSpec = { names: ['seed', 'random_state', 'randomState'], type: 'int', def: 42, min: 0 };
export const nonNeg = (names: string[], def?: number): ParamSpec => ({ names, type: 'number', def, min: 0, must: 'must be ≥ 0' });
export const positive = (names: string[], def?: number): ParamSpec => ({ names, type: 'number', def, above: 0, must: 'must be > 0' });
export const count = (names: string[], def: number): ParamSpec => ({ names, type: 'int', def, min: 0, must: 'must be a non-negative integer' });
/**
 * deterministic: true (default) trains sequentially, bit-identical run to run and across backends;
 * false lets the SGD/BPR epochs run as Hogwild over the engine's threads where the backend has a
 * parallel kernel (native and wasm: bpr and svd; kernel option `parallel`), several times faster on large
 * data and not reproducible. Sharded and resumed precompute jobs refit in every process, so they
 * need the default.
 */
export const deterministicSpec: ParamSpec = { names: [], type: 'bool', def: true };

/**
 * Saving and loading the self-saving models with a training view (EASE, Mult-VAE, two-tower) in
 * the same AFFM file (factorization/format.ts, docs/model-format.md): the header carries the
 * model's hyper-parameters, its id maps and its own `meta`; the arrays carry its parameters and
 * the training matrix (`seenIndptr`, `seenIndices`, `seenData`: users × items, for filterSeen).
 * Every inconsistency found on load is an Error naming the file and the problem.
 */
import { IdMap } from '../data/idMap.js';
import type { Csr } from '../data/matrix.js';
import { readModelFile, writeModelFile, type ModelArray, type ModelFileHeader } from './factorization/format.js';
import type { ModelParams } from './types.js';
import { Trainset } from './trainset.js';

export interface SavedModel {
  header: ModelFileHeader;
  /** the training view rebuilt from the saved matrix and ids */
  ts: Trainset;
  params: ModelParams;
  meta: Record<string, unknown>;
  /** the model's own arrays (the training matrix's removed) */
  arrays: Record<string, ModelArray>;
  /** an Error naming the file */
  bad(why: string): Error;
  /** a model array of the given type and length (−1: any length) */
  need(name: string, length: number, type: 'f32' | 'i32'): ModelArray;
}

/** Write `kind` with the training view's ids and matrix, `meta` and the model's arrays. */
export function saveModelWithTrainset(path: string, kind: string, ts: Trainset, params: ModelParams, meta: Record<string, unknown>, arrays: Record<string, ModelArray>, factors = 0): void {
  const seen = ts.ur;
  writeModelFile(path, kind, {
    name: kind,
    dims: { users: ts.nUsers, items: ts.nItems, factors },
    params,
    meta: { ...meta, implicit: ts.implicit },
    userIds: ts.users.toJSON(),
    itemIds: ts.items.toJSON(),
  }, {
    ...arrays,
    seenIndptr: Int32Array.from(seen.indptr), seenIndices: seen.indices, seenData: seen.data,
  });
}

/** Read a file saved by saveModelWithTrainset and check that it holds `kind`. */
export function readModelWithTrainset(path: string, kind: string): SavedModel {
  const file = readModelFile(path);
  const bad = (why: string): Error => new Error(`affinity: cannot load model '${path}': ${why}`);
  if (file.kind !== kind) throw bad(`it holds a '${file.kind}' model, not '${kind}'`);
  const h = file.header;
  const nu = h.dims.users, ni = h.dims.items;
  if (!Number.isInteger(nu) || nu < 0 || !Number.isInteger(ni) || ni < 0) throw bad(`bad dims ${JSON.stringify(h.dims)}`);
  if (!Array.isArray(h.userIds) || h.userIds.length !== nu) throw bad(`userIds has ${h.userIds?.length} ids, dims say ${nu} users`);
  if (!Array.isArray(h.itemIds) || h.itemIds.length !== ni) throw bad(`itemIds has ${h.itemIds?.length} ids, dims say ${ni} items`);
  const users = IdMap.from(h.userIds), items = IdMap.from(h.itemIds);
  if (users.size !== nu || items.size !== ni) throw bad('duplicate ids in userIds/itemIds');
  const need = (name: string, length: number, type: 'f32' | 'i32'): ModelArray => {
    const a = file.arrays[name];
    if (!a) throw bad(`array '${name}' is missing`);
    if ((type === 'f32') !== (a instanceof Float32Array)) throw bad(`array '${name}' has the wrong type`);
    if (length >= 0 && a.length !== length) throw bad(`array '${name}' has ${a.length} values, expected ${length}`);
    return a;
  };
  const indptr = need('seenIndptr', nu + 1, 'i32') as Int32Array;
  if (indptr[0] !== 0) throw bad('training matrix indptr does not start at 0');
  for (let r = 0; r < nu; r++) if (indptr[r + 1] < indptr[r]) throw bad('training matrix indptr decreases');
  const nz = indptr[nu];
  const indices = need('seenIndices', nz, 'i32') as Int32Array;
  const data = need('seenData', nz, 'f32') as Float32Array;
  for (let p = 0; p < nz; p++) if (!(indices[p] >= 0 && indices[p] < ni)) throw bad(`training matrix column ${indices[p]} out of range`);
  if (nz === 0) throw bad('the training matrix is empty');
  const ur: Csr = { rows: nu, cols: ni, indptr, indices, data };
  const meta = (h.meta ?? {}) as Record<string, unknown>;
  const ts = new Trainset(ur, users, items, meta.implicit === true);
  const arrays = { ...file.arrays };
  delete arrays.seenIndptr; delete arrays.seenIndices; delete arrays.seenData;
  return { header: h, ts, params: (h.params ?? {}) as ModelParams, meta, arrays, bad, need };
}

/** Build a model from saved hyper-parameters, naming the file when they are invalid. */
export function modelFromSavedParams<M>(path: string, params: ModelParams, make: (p: ModelParams) => M): M {
  try {
    return make(params);
  } catch (e) {
    throw new Error(`affinity: cannot load model '${path}': its hyper-parameters are invalid (${(e as Error).message})`, { cause: e });
  }
}

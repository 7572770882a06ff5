/**
 * Saving and loading the self-saving models with a training view (EASE, Mult-VAE, two-tower,
 * SASRec, NeuMF) in the same AFFM file (factorization/format.ts, docs/model-format.md): the header carries the
 * model's hyper-parameters, its id maps and its own `meta`; the arrays carry its parameters and
 * the training matrix (`seenIndptr`, `seenIndices`, `seenData`: users × items, for filterSeen).
 * Every inconsistency found on load is an Error naming the file and the problem.
 */
import { IdMap } from '../data/idMap.js';
import type { Csr } from '../data/matrix.js';
import type { ArenaLayout } from '../nn/params.js';
import { readModelFile, writeModelFile, type ModelArray, type ModelFileHeader } from './factorization/format.js';
import type { ModelParams } from './types.js';
import { Trainset } from './trainset.js';

interface SavedModelWithSeen {
  header: ModelFileHeader;
  users: IdMap;
  items: IdMap;
  /** the training matrix (users × items) */
  seen: Csr;
  params: ModelParams;
  meta: Record<string, unknown>;
  /** the model's own arrays (the training matrix's removed) */
  arrays: Record<string, ModelArray>;
  /** an Error naming the file */
  bad(why: string): Error;
  /** a model array of the given type and length (−1: any length) */
  need(name: string, length: number, type: 'f32' | 'i32'): ModelArray;
}

export interface SavedModel extends SavedModelWithSeen {
  /** the training view rebuilt from the saved matrix and ids */
  ts: Trainset;
}

/** Write `kind` with the ids, the training matrix `seen` (users × items), `meta` and the model's arrays. */
function saveModelWithSeen(path: string, kind: string, users: IdMap, items: IdMap, seen: Csr, params: ModelParams, meta: Record<string, unknown>, arrays: Record<string, ModelArray>, factors = 0): void {
  writeModelFile(path, kind, {
    name: kind,
    dims: { users: users.size, items: items.size, factors },
    params,
    meta,
    userIds: users.toJSON(),
    itemIds: items.toJSON(),
  }, {
    ...arrays,
    seenIndptr: Int32Array.from(seen.indptr), seenIndices: seen.indices, seenData: seen.data,
  });
}

/** Write `kind` with the training view's ids and matrix, `meta` and the model's arrays. */
export function saveModelWithTrainset(path: string, kind: string, ts: Trainset, params: ModelParams, meta: Record<string, unknown>, arrays: Record<string, ModelArray>, factors = 0): void {
  saveModelWithSeen(path, kind, ts.users, ts.items, ts.ur, params, { ...meta, implicit: ts.implicit }, arrays, factors);
}

/** Read a file saved by saveModelWithSeen, check that it holds `kind`, and check its ids and training matrix. */
function readModelWithSeen(path: string, kind: string): SavedModelWithSeen {
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
  const seen: Csr = { rows: nu, cols: ni, indptr, indices, data };
  const meta = (h.meta ?? {}) as Record<string, unknown>;
  const arrays = { ...file.arrays };
  delete arrays.seenIndptr; delete arrays.seenIndices; delete arrays.seenData;
  return { header: h, users, items, seen, params: (h.params ?? {}) as ModelParams, meta, arrays, bad, need };
}

/** Read a file saved by saveModelWithTrainset and check that it holds `kind`. */
export function readModelWithTrainset(path: string, kind: string): SavedModel {
  const file = readModelWithSeen(path, kind);
  if (file.seen.indptr[file.seen.rows] === 0) throw file.bad('the training matrix is empty');
  return { ...file, ts: new Trainset(file.seen, file.users, file.items, file.meta.implicit === true) };
}

/**
 * The neural models (SASRec, NeuMF) keep their parameter arena as one f32 array `params` with its
 * layout in `meta.layout` (checked on load against the model the params build), besides the
 * training matrix (implicit) and their own arrays.
 */
export interface NeuralFile {
  params: ModelParams;
  meta: Record<string, unknown>;
  ts: Trainset;
  layout: ArenaLayout[];
  values: Float32Array;
  arrays: Record<string, ModelArray>;
}

export function saveNeural(path: string, kind: string, f: NeuralFile & { factors: number }): void {
  saveModelWithSeen(path, kind, f.ts.users, f.ts.items, f.ts.ur, f.params, { ...f.meta, layout: f.layout }, { params: f.values, ...f.arrays }, f.factors);
}

/** Read a neural model file of `kind`; every inconsistency is an Error naming the file. */
export function readNeural(path: string, kind: string): NeuralFile & { bad(why: string): Error } {
  const file = readModelWithSeen(path, kind);
  const layout = file.meta.layout as ArenaLayout[];
  if (!Array.isArray(layout)) throw file.bad('meta.layout (the parameter layout) is missing');
  return {
    params: file.params, meta: file.meta, ts: new Trainset(file.seen, file.users, file.items, true), layout,
    values: file.need('params', -1, 'f32') as Float32Array, arrays: file.arrays, bad: file.bad,
  };
}

/** Build a model from saved hyper-parameters, naming the file when they are invalid. */
export function modelFromSavedParams<M>(path: string, params: ModelParams, make: (p: ModelParams) => M): M {
  try {
    return make(params);
  } catch (e) {
    throw new Error(`affinity: cannot load model '${path}': its hyper-parameters are invalid (${(e as Error).message})`, { cause: e });
  }
}

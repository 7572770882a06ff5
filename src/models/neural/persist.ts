/**
 * Save/load of the neural models in the AFFM file (factorization/format.ts, docs/model-format.md):
 * the model kind ('sasrec', 'neumf'), the header's params (the constructor's options), the
 * parameter arena as one f32 array `params` with its layout in `meta.layout` (checked on load
 * against the model the params build), the training matrix (seen items), and per-model arrays.
 */
import type { Csr } from '../../data/matrix.js';
import { IdMap } from '../../data/idMap.js';
import type { ArenaLayout } from '../../nn/params.js';
import { readModelFile, writeModelFile, type ModelArray } from '../factorization/format.js';
import type { ModelParams } from '../types.js';

export interface NeuralFile {
  params: ModelParams;
  meta: Record<string, unknown>;
  users: IdMap;
  items: IdMap;
  seen: Csr;
  layout: ArenaLayout[];
  values: Float32Array;
  arrays: Record<string, ModelArray>;
}

export function saveNeural(path: string, kind: string, f: NeuralFile & { factors: number }): void {
  writeModelFile(path, kind, {
    name: kind,
    dims: { users: f.users.size, items: f.items.size, factors: f.factors },
    params: f.params,
    meta: { ...f.meta, layout: f.layout },
    userIds: f.users.toJSON(),
    itemIds: f.items.toJSON(),
  }, {
    params: f.values,
    seenIndptr: Int32Array.from(f.seen.indptr), seenIndices: f.seen.indices, seenData: f.seen.data,
    ...f.arrays,
  });
}

/** Read a neural model file of `kind`; every inconsistency is an Error naming the file. */
export function readNeural(path: string, kind: string): NeuralFile {
  const file = readModelFile(path);
  const bad = (why: string): Error => new Error(`affinity: cannot load model '${path}': ${why}`);
  if (file.kind !== kind) throw bad(`it holds a '${file.kind}' model, not '${kind}'`);
  const h = file.header;
  const nu = h.dims.users, ni = h.dims.items;
  if (!Array.isArray(h.userIds) || h.userIds.length !== nu) throw bad(`userIds has ${h.userIds?.length} ids, dims say ${nu} users`);
  if (!Array.isArray(h.itemIds) || h.itemIds.length !== ni) throw bad(`itemIds has ${h.itemIds?.length} ids, dims say ${ni} items`);
  const users = IdMap.from(h.userIds), items = IdMap.from(h.itemIds);
  if (users.size !== nu || items.size !== ni) throw bad('duplicate ids in userIds/itemIds');
  const need = (name: string, type: 'f32' | 'i32', len = -1): ModelArray => {
    const a = file.arrays[name];
    if (!a) throw bad(`array '${name}' is missing`);
    if ((type === 'f32') !== (a instanceof Float32Array)) throw bad(`array '${name}' has the wrong type`);
    if (len >= 0 && a.length !== len) throw bad(`array '${name}' has ${a.length} values, expected ${len}`);
    return a;
  };
  const indptr = need('seenIndptr', 'i32', nu + 1) as Int32Array;
  const nz = indptr[nu];
  const indices = need('seenIndices', 'i32', nz) as Int32Array;
  const data = need('seenData', 'f32', nz) as Float32Array;
  for (let r = 0; r < nu; r++) if (indptr[r + 1] < indptr[r]) throw bad('training matrix indptr decreases');
  for (let p = 0; p < nz; p++) if (!(indices[p] >= 0 && indices[p] < ni)) throw bad(`training matrix column ${indices[p]} out of range`);
  const meta = h.meta as Record<string, unknown>;
  const layout = meta.layout as ArenaLayout[];
  if (!Array.isArray(layout)) throw bad('meta.layout (the parameter layout) is missing');
  return {
    params: h.params as ModelParams, meta, users, items, seen: { rows: nu, cols: ni, indptr, indices, data }, layout,
    values: need('params', 'f32') as Float32Array, arrays: file.arrays,
  };
}

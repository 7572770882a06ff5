/**
 * Saving and loading any model, in the versioned AFFM file (docs/model-format.md):
 *
 * - factor models (svd, svdpp, nmf, als, als-explicit, bpr) save their fitted factors
 *   (factorization/base.ts), and the self-saving models (savedModel.ts: the neural ones) their
 *   fitted parameters: loading reads them back, no fitting.
 * - every other model (the neighbourhood models, slope-one, co-clustering, item-knn, user-knn,
 *   popularity, content-knn, feature-mf, hybrid, random) saves what its fit reads: the training
 *   interactions in input order (users, items, ratings, timestamps), the id maps, its
 *   hyper-parameters and its side information (header.meta.fit = 'refit'). Loading fits it again
 *   on exactly that. Their fits are deterministic (seeded, sequential), so the loaded model
 *   predicts and recommends exactly as the saved one (test/modelFile.test.ts checks every model);
 *   loading costs one fit of the model (for most of them a fraction of a second on ML-100k).
 *
 * Writes go to a temporary file renamed into place, so a failed save leaves no partial file.
 */
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { IdMap } from '../data/idMap.js';
import type { Interactions } from '../data/interactions.js';
import type { SideInfo } from '../data/sideInfo.js';
import type { RunContext } from '../engine/context.js';
import { attachSideInfo, takesSideInfo, type SideInfoInput } from './attachSideInfo.js';
import { FactorizationModel, factorizationModels, loadFactorizationModel, readModelFile } from './factorization/index.js';
import { writeModelFile, type ModelFile } from './factorization/format.js';
import { allModels } from './registry.js';
import { selfSavingLoaders } from './savedModel.js';
import type { Model, ModelParams } from './types.js';

/** What a saved model needs besides the fitted model: how it was made, for models saved by refit. */
export interface SaveOptions {
  /** the registry name the model was built with (default: model.name) */
  kind?: string;
  /** the params it was built with, as given to the factory */
  params?: ModelParams;
  /** the interactions it was fitted on (needed for every model but the factor models) */
  train?: Interactions;
  /** the side information it was given */
  sideInfo?: SideInfoInput;
}

export interface LoadedModel {
  model: Model;
  kind: string;
  /** the model's user and item ids (index → external id) */
  users: IdMap;
  items: IdMap;
  /** the training interactions (refit models: as saved; factor models: the saved training matrix, one row per (user, item)) */
  train: Interactions;
}

interface SideInfoJson { kind: 'item' | 'user'; ids: string[]; features: Array<[string, string[]]>; text: Array<[string, string]> }

const sideToJson = (s: SideInfo): SideInfoJson => ({ kind: s.kind, ids: s.ids, features: [...s.features], text: [...s.text] });
const sideFromJson = (j: SideInfoJson): SideInfo => ({ kind: j.kind, ids: j.ids, features: new Map(j.features), text: new Map(j.text) });

/** Write `path` through a temporary file in its folder; a failure names `file`, not the temporary name. */
function atomically(file: string, write: (tmp: string) => void): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    write(tmp);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot write '${file}': ${code ? `${code} (${(e as Error).message.split(',')[0].replace(/^\w+: /, '')})` : (e as Error).message}`, { cause: e });
  }
}

/** Save a fitted model (see the module comment for what each kind keeps). */
export function saveModel(model: Model, file: string, o: SaveOptions = {}): void {
  const kind = o.kind ?? model.name;
  const selfSaving = model as Model & { save?: (path: string) => void };
  if (model instanceof FactorizationModel || (selfSavingLoaders[kind] && typeof selfSaving.save === 'function')) {
    atomically(file, (tmp) => selfSaving.save!(tmp));
    return;
  }
  if (!allModels[kind]) throw new RangeError(`cannot save a '${kind}' model: not a registered model`);
  const x = o.train;
  if (!x) throw new RangeError(`cannot save a '${kind}' model without the interactions it was fitted on (train)`);
  const n = x.user.length;
  // timestamps as two float32 (hi + lo): exact for integer seconds up to 2^31 and far beyond
  let tsHi: Float32Array | undefined, tsLo: Float32Array | undefined;
  if (x.timestamp) {
    tsHi = new Float32Array(n); tsLo = new Float32Array(n);
    for (let t = 0; t < n; t++) { tsHi[t] = x.timestamp[t]; tsLo[t] = x.timestamp[t] - tsHi[t]; }
  }
  const side: Record<string, SideInfoJson> = {};
  if (o.sideInfo?.items) side.items = sideToJson(o.sideInfo.items);
  if (o.sideInfo?.users) side.users = sideToJson(o.sideInfo.users);
  atomically(file, (tmp) => writeModelFile(tmp, kind, {
    name: kind,
    dims: { users: x.users.size, items: x.items.size, factors: 0 },
    params: o.params ?? {},
    meta: { fit: 'refit', interactions: n, implicit: x.implicit, sideInfo: side },
    userIds: x.users.toJSON(),
    itemIds: x.items.toJSON(),
  }, {
    user: x.user, item: x.item, rating: x.rating,
    ...(tsHi && tsLo ? { timestampHi: tsHi, timestampLo: tsLo } : {}),
  }));
}

function bad(file: string, why: string): Error {
  return new Error(`affinity: cannot load model '${file}': ${why}`);
}

/** The training matrix of a factor model's file as interactions (one per stored (user, item)). */
function seenInteractions(f: ModelFile, users: IdMap, items: IdMap): Interactions {
  const indptr = f.arrays.seenIndptr as Int32Array, indices = f.arrays.seenIndices as Int32Array, data = f.arrays.seenData as Float32Array;
  const n = indices.length;
  const user = new Int32Array(n);
  for (let u = 0; u + 1 < indptr.length; u++) user.fill(u, indptr[u], indptr[u + 1]);
  return { users, items, user, item: Int32Array.from(indices), rating: Float32Array.from(data), implicit: false };
}

/**
 * Load a model saved by saveModel() (or a factor model's save()); `expect` names the kind the
 * caller wants (an error naming both when the file holds another). Refit models are fitted on
 * `ctx`'s engine.
 */
export async function loadModel(file: string, o: RunContext & { expect?: string } = {}): Promise<LoadedModel> {
  const f = readModelFile(file);
  if (o.expect !== undefined && f.kind !== o.expect) throw bad(file, `it holds a '${f.kind}' model, not '${o.expect}'`);
  const h = f.header;
  if (factorizationModels[f.kind]) {
    const model = loadFactorizationModel(file);
    return { model, kind: f.kind, users: model.userIds, items: model.itemIds, train: seenInteractions(f, model.userIds, model.itemIds) };
  }
  const loadSelf = selfSavingLoaders[f.kind];
  if (loadSelf) {
    const model = loadSelf(file); // checks the file's arrays, the training matrix included
    const users = IdMap.from(h.userIds), items = IdMap.from(h.itemIds);
    return { model, kind: f.kind, users, items, train: seenInteractions(f, users, items) };
  }
  const factory = allModels[f.kind];
  if (!factory) throw bad(file, `unknown model kind '${f.kind}' (known: ${Object.keys(allModels).sort().join(', ')})`);
  const meta = h.meta as { fit?: unknown; interactions?: unknown; implicit?: unknown; sideInfo?: Record<string, SideInfoJson> };
  if (meta.fit !== 'refit') throw bad(file, `a '${f.kind}' file must say meta.fit = 'refit'`);
  const users = IdMap.from(h.userIds), items = IdMap.from(h.itemIds);
  if (users.size !== h.userIds.length || items.size !== h.itemIds.length) throw bad(file, 'duplicate ids in userIds/itemIds');
  const n = meta.interactions;
  const user = f.arrays.user, item = f.arrays.item, rating = f.arrays.rating;
  if (!Number.isInteger(n) || !(user instanceof Int32Array) || !(item instanceof Int32Array) || !(rating instanceof Float32Array) ||
      user.length !== n || item.length !== n || rating.length !== n) {
    throw bad(file, `the interactions (user, item, rating) are missing or do not have meta.interactions = ${String(n)} values`);
  }
  for (let t = 0; t < user.length; t++) {
    if (!(user[t] >= 0 && user[t] < users.size)) throw bad(file, `interaction ${t}: user index ${user[t]} out of range`);
    if (!(item[t] >= 0 && item[t] < items.size)) throw bad(file, `interaction ${t}: item index ${item[t]} out of range`);
  }
  let timestamp: Float64Array | undefined;
  const hi = f.arrays.timestampHi, lo = f.arrays.timestampLo;
  if (hi || lo) {
    if (!(hi instanceof Float32Array) || !(lo instanceof Float32Array) || hi.length !== n || lo.length !== n) throw bad(file, 'timestampHi/timestampLo do not have one value per interaction');
    timestamp = new Float64Array(user.length);
    for (let t = 0; t < user.length; t++) timestamp[t] = hi[t] + lo[t];
  }
  const train: Interactions = { users, items, user, item, rating, timestamp, implicit: meta.implicit === true };
  let model: Model;
  try {
    model = factory(h.params as ModelParams);
  } catch (e) {
    throw bad(file, `its hyper-parameters are invalid (${(e as Error).message})`);
  }
  const side = meta.sideInfo ?? {};
  if ((side.items || side.users) && takesSideInfo(model)) {
    attachSideInfo(model, { items: side.items ? sideFromJson(side.items) : undefined, users: side.users ? sideFromJson(side.users) : undefined });
  }
  await model.fit(train, o);
  return { model, kind: f.kind, users, items, train };
}

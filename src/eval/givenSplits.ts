/**
 * Given splits: train/test files made elsewhere — MovieLens 100K's u1.base/u1.test … u5, or any
 * published split — evaluated instead of a protocol's splits, so results compare with numbers
 * published on those splits.
 *
 * Every file is read with the same options. All of them share one pair of id maps (ids numbered
 * in file order: train 1, test 1, train 2, …), so a test user or item is the training one when
 * its id is; each pair becomes one fold (seed 0, fold = its position) and evaluate() scores it
 * exactly as it scores a protocol's folds. The returned `data` (every file's interactions, one
 * after the other) is what the catalogue-wide metrics (coverage) count items over.
 */
import { IdMap } from '../data/idMap.js';
import type { Interactions } from '../data/interactions.js';
import { readInteractions, type ReadOptions } from '../data/readers.js';
import type { GivenPair, SeededSplit } from './evaluate.js';

export interface GivenSplits {
  data: Interactions;
  splits: SeededSplit[];
  /** per pair: test interactions whose (user, item) is also in the pair's training file */
  overlap: number[];
}

/** `x` re-indexed into `users`/`items` (ids they lack are added), e.g. a test file into a saved model's id space. */
export function remap(x: Interactions, users: IdMap, items: IdMap): Interactions {
  const n = x.user.length;
  const user = new Int32Array(n), item = new Int32Array(n);
  const uIds = x.users.ids().map((id) => users.add(id)), iIds = x.items.ids().map((id) => items.add(id));
  for (let t = 0; t < n; t++) { user[t] = uIds[x.user[t]]; item[t] = iIds[x.item[t]]; }
  return { users, items, user, item, rating: x.rating, timestamp: x.timestamp, implicit: x.implicit };
}

function concat(parts: Interactions[], users: IdMap, items: IdMap): Interactions {
  const n = parts.reduce((s, p) => s + p.user.length, 0);
  const user = new Int32Array(n), item = new Int32Array(n), rating = new Float32Array(n);
  const timed = parts.every((p) => p.timestamp);
  const timestamp = timed ? new Float64Array(n) : undefined;
  let off = 0;
  for (const p of parts) {
    user.set(p.user, off); item.set(p.item, off); rating.set(p.rating, off);
    if (timestamp) timestamp.set(p.timestamp!, off);
    off += p.user.length;
  }
  return { users, items, user, item, rating, timestamp, implicit: parts.every((p) => p.implicit) };
}

/** Read the pairs' files into one id space; every file must hold at least one interaction. */
export async function readGivenSplits(pairs: GivenPair[], read: ReadOptions = {}, onFile?: (file: string) => void): Promise<GivenSplits> {
  if (!pairs.length) throw new RangeError('no train/test files given');
  const users = new IdMap(), items = new IdMap();
  const splits: SeededSplit[] = [];
  const parts: Interactions[] = [];
  const overlap: number[] = [];
  for (const [f, pair] of pairs.entries()) {
    const side = async (file: string): Promise<Interactions> => {
      onFile?.(file);
      const x = remap(await readInteractions(file, { ...read, progress: read.progress ?? false }), users, items);
      if (x.user.length === 0) throw new RangeError(`${file} has no interactions`);
      parts.push(x);
      return x;
    };
    const train = await side(pair.train);
    const test = await side(pair.test);
    const seen = new Set<string>();
    for (let t = 0; t < train.user.length; t++) seen.add(`${train.user[t]} ${train.item[t]}`);
    let both = 0;
    for (let t = 0; t < test.user.length; t++) if (seen.has(`${test.user[t]} ${test.item[t]}`)) both++;
    overlap.push(both);
    splits.push({ train, test, seed: 0, fold: f });
  }
  return { data: concat(parts, users, items), splits, overlap };
}

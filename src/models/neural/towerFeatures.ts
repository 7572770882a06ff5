/**
 * The sparse inputs of the two towers, one column per feature:
 *
 *   user tower: [ side tokens of the user (u.user: 'age=25-34', 'gender=F', 'occupation=…',
 *                 'zip=<region>'), weight 1 each | the user's recent items, weight 1/|history| ]
 *   item tower: [ side tokens of the item ('genre=…', 'decade=…', and 'word=…' from its title or
 *                 text column), weight 1 each | the item's identity (only for items with training
 *                 interactions), weight 1 ]
 *
 * so the first layer of each tower (a SparseLinear) is the documents' input layer: the sum of
 * one embedding per present feature (and the mean of the history items' embeddings). A user or
 * item with no interactions is described by its side tokens alone.
 */
import type { Csr } from '../../data/matrix.js';
import { sharedFloat32, sharedInt32 } from '../../data/matrix.js';
import type { IdMap } from '../../data/idMap.js';
import { sideTokens, type SideInfo } from '../../data/sideInfo.js';

/** Token ids per row of an id map (row r's tokens: idx[ptr[r] .. ptr[r+1])), with the vocabulary. */
export interface TokenSets {
  vocab: string[];
  ptr: Int32Array;
  idx: Int32Array;
}

/**
 * The side tokens of every index of `ids` (deduplicated, in file order), from `info`; ids without a
 * row get none. `vocab` given: tokens outside it are dropped (a loaded model's vocabulary).
 */
export function tokenSets(ids: IdMap, info: SideInfo | undefined, text: boolean, vocab?: readonly string[]): TokenSets {
  const index = new Map<string, number>((vocab ?? []).map((t, j) => [t, j]));
  const grow = vocab === undefined;
  const lists: number[][] = [];
  for (let r = 0; r < ids.size; r++) {
    const toks = info ? [...new Set(sideTokens(info, String(ids.external(r)), { text }))] : [];
    const l: number[] = [];
    for (const t of toks) {
      let j = index.get(t);
      if (j === undefined && grow) { j = index.size; index.set(t, j); }
      if (j !== undefined) l.push(j);
    }
    lists.push(l);
  }
  const ptr = new Int32Array(ids.size + 1);
  lists.forEach((l, r) => { ptr[r + 1] = ptr[r] + l.length; });
  const idx = new Int32Array(ptr[ids.size]);
  lists.forEach((l, r) => idx.set(l, ptr[r]));
  return { vocab: vocab ? [...vocab] : [...index.keys()], ptr, idx };
}

/** One row of a tower's input: its columns and weights. */
export interface InputRow {
  cols: number[];
  weights: number[];
}

/** Rows as a Csr with `width` columns (indptr from 0, shared buffers for the kernels). */
export function rowsToCsr(rows: readonly InputRow[], width: number): Csr {
  const indptr = sharedInt32(rows.length + 1);
  rows.forEach((r, t) => { indptr[t + 1] = indptr[t] + r.cols.length; });
  const indices = sharedInt32(indptr[rows.length]), data = sharedFloat32(indptr[rows.length]);
  rows.forEach((r, t) => { indices.set(r.cols, indptr[t]); data.set(r.weights, indptr[t]); });
  return { rows: rows.length, cols: width, indptr, indices, data };
}

/** The user tower's input row: side tokens (weight 1) and history items (weight 1/|history|, offset by the token count). */
export function userRow(tokens: TokenSets, user: number, history: ArrayLike<number>, skip = -1): InputRow {
  const cols: number[] = [], weights: number[] = [];
  if (user >= 0 && user + 1 < tokens.ptr.length) {
    for (let t = tokens.ptr[user]; t < tokens.ptr[user + 1]; t++) { cols.push(tokens.idx[t]); weights.push(1); }
  }
  let n = 0;
  for (let t = 0; t < history.length; t++) if (history[t] !== skip) n++;
  const base = tokens.vocab.length;
  for (let t = 0; t < history.length; t++) if (history[t] !== skip) { cols.push(base + history[t]); weights.push(1 / n); }
  return { cols, weights };
}

/** The item tower's input row: side tokens (weight 1) and, when the item has training data, its identity column. */
export function itemRow(tokens: TokenSets, item: number, identity: boolean): InputRow {
  const cols: number[] = [], weights: number[] = [];
  for (let t = tokens.ptr[item]; t < tokens.ptr[item + 1]; t++) { cols.push(tokens.idx[t]); weights.push(1); }
  if (identity) { cols.push(tokens.vocab.length + item); weights.push(1); }
  return { cols, weights };
}

/**
 * What every factorization model shares: id maps, the user (P) and item (Q) factor
 * matrices, the training matrix (for filterSeen, fold-in and partial fits), recommend /
 * similarItems / similarUsers through the denseScoreTopK reference kernel, growth for new
 * ids, and save/load to the AFFM file (format.ts, docs/model-format.md).
 *
 * Indices: a model's user/item indices are those of the Interactions it was fitted on (it
 * keeps a copy of their IdMaps); fold-in and partialFit append new indices beyond them.
 * A user or item with no training interactions is "unknown" to the model.
 */
import type { Csr, Dense } from '../../data/matrix.js';
import { csrFromTriplets } from '../../data/matrix.js';
import { IdMap, type ExternalId } from '../../data/idMap.js';
import type { Interactions } from '../../data/interactions.js';
import type { FitOptions, Model, ModelParams, Prediction, RecommendOptions, Recommendations } from '../types.js';
import { denseScoreTopKReference } from '../../kernels/denseScoreTopK.js';
import { denseFrom, emptyTopK, type TopK } from '../../data/matrix.js';
import { getEngine } from '../../engine/processEngine.js';
import { readModelFile, writeModelFile, type ModelArray, type ModelFile } from './format.js';

export interface FoldInResult {
  /** the new user's (item's) index */
  index: number;
  /** interactions dropped because their item (user) is unknown to the model */
  ignored: number;
}

export interface FoldInOptions {
  /** external id for the new row (default `#<index>`) */
  id?: ExternalId;
}

export interface PartialFitResult {
  users: number;
  items: number;
  newUsers: number;
  newItems: number;
}

export interface Prepared {
  users: IdMap; items: IdMap; nUsers: number; nItems: number;
  globalMean: number; ratingMin: number; ratingMax: number;
  seen: Csr; userCount: Int32Array; itemCount: Int32Array;
}

/** true when every value is finite */
export function allFinite(a: Float32Array): boolean {
  for (let k = 0; k < a.length; k++) if (!Number.isFinite(a[k])) return false;
  return true;
}

export function emptyCsr(rows: number, cols: number): Csr {
  return { rows, cols, indptr: new Int32Array(rows + 1), indices: new Int32Array(0), data: new Float32Array(0) };
}

/**
 * A copy of `m` (grown to rows × cols) with the entries (u[k], i[k], v[k]) merged in:
 * 'replace' keeps the last value given for a pair, 'add' sums values into existing ones.
 */
export function mergeIntoCsr(m: Csr, rows: number, cols: number, u: ArrayLike<number>, i: ArrayLike<number>, v: ArrayLike<number>, mode: 'replace' | 'add'): Csr {
  const byRow = new Map<number, Map<number, number>>();
  for (let k = 0; k < u.length; k++) {
    let row = byRow.get(u[k]);
    if (!row) { row = new Map(); byRow.set(u[k], row); }
    row.set(i[k], mode === 'add' ? (row.get(i[k]) ?? 0) + v[k] : v[k]);
  }
  const oldNnz = m.indptr[m.rows];
  let extra = 0;
  for (const row of byRow.values()) extra += row.size;
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(oldNnz + extra);
  const data = new Float32Array(oldNnz + extra);
  let w = 0;
  for (let r = 0; r < rows; r++) {
    indptr[r] = w;
    const add = byRow.get(r);
    const s = r < m.rows ? m.indptr[r] : 0, e = r < m.rows ? m.indptr[r + 1] : 0;
    if (!add) {
      for (let p = s; p < e; p++) { indices[w] = m.indices[p]; data[w] = m.data[p]; w++; }
      continue;
    }
    const merged = new Map<number, number>();
    for (let p = s; p < e; p++) merged.set(m.indices[p], m.data[p]);
    for (const [c, val] of add) merged.set(c, mode === 'add' ? (merged.get(c) ?? 0) + val : val);
    const cs = [...merged.keys()].sort((a, b) => a - b);
    for (const c of cs) { indices[w] = c; data[w] = merged.get(c)!; w++; }
  }
  indptr[rows] = w;
  return { rows, cols, indptr, indices: indices.slice(0, w), data: data.slice(0, w) };
}

export function rowCounts(m: Csr): Int32Array {
  const out = new Int32Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = m.indptr[r + 1] - m.indptr[r];
  return out;
}

export function colCounts(m: Csr): Int32Array {
  const out = new Int32Array(m.cols);
  const nz = m.indptr[m.rows];
  for (let p = 0; p < nz; p++) out[m.indices[p]]++;
  return out;
}

/** grow a row-major array of `rows × cols` to `newRows × cols`, new rows from init(row, col) */
export function growRows(a: Float32Array, cols: number, newRows: number, init?: (r: number, c: number) => number): Float32Array {
  const oldRows = cols > 0 ? a.length / cols : 0;
  if (newRows <= oldRows) return a;
  const out = new Float32Array(newRows * cols);
  out.set(a);
  if (init) for (let r = oldRows; r < newRows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = init(r, c);
  return out;
}

export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('affinity: fit aborted');
}

/** yield to the event loop between epochs so a fit does not starve timers and I/O */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export abstract class FactorizationModel implements Model {
  /** the model kind: 'svd', 'svdpp', 'nmf', 'als', 'als-explicit', 'bpr' */
  abstract readonly name: string;
  abstract readonly predictsRatings: boolean;

  protected users = new IdMap();
  protected items = new IdMap();
  protected nUsers = 0;
  protected nItems = 0;
  /** users × dimU */
  protected P: Float32Array = new Float32Array(0);
  /** items × dimI */
  protected Q: Float32Array = new Float32Array(0);
  protected dimU = 0;
  protected dimI = 0;
  /** users × items training matrix (ratings / confidences as given) */
  protected seen: Csr = emptyCsr(0, 0);
  protected userCount: Int32Array = new Int32Array(0);
  protected itemCount: Int32Array = new Int32Array(0);
  protected fitted = false;
  protected globalMean = 0;
  protected ratingMin = 0;
  protected ratingMax = 0;
  private scoringCache: Dense | null = null;

  abstract fit(train: Interactions, opts?: FitOptions): Promise<void>;
  abstract predict(user: number, item: number): Prediction;
  abstract foldInUser(items: number[], ratings?: number[], opts?: FoldInOptions): FoldInResult;
  abstract foldInItem(users: number[], ratings?: number[], opts?: FoldInOptions): FoldInResult;
  abstract partialFit(newInteractions: Interactions, opts?: FitOptions): Promise<PartialFitResult>;

  /** hyper-parameters as saved in the file header (and accepted back by the constructor) */
  abstract get params(): ModelParams;

  get isFitted(): boolean { return this.fitted; }
  get userIds(): IdMap { return this.users; }
  get itemIds(): IdMap { return this.items; }
  get userCountTotal(): number { return this.nUsers; }
  get itemCountTotal(): number { return this.nItems; }

  /** users × factors (a live view; do not write into it). BPR's has implicit's extra bias column (all 1). */
  get userFactors(): Dense {
    return { rows: this.nUsers, cols: this.dimU, data: this.P };
  }
  /** items × factors (a live view). BPR's has implicit's extra item-bias column. */
  get itemFactors(): Dense {
    return { rows: this.nItems, cols: this.dimI, data: this.Q };
  }

  userKnown(u: number): boolean {
    return Number.isInteger(u) && u >= 0 && u < this.nUsers && this.userCount[u] > 0;
  }
  itemKnown(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.nItems && this.itemCount[i] > 0;
  }

  protected requireFitted(what: string): void {
    if (!this.fitted) throw new Error(`${this.name}: ${what} before fit()`);
  }

  // ---- scoring for recommend: score(u, i) = query(u) · scoringItems()[i] + offset(u)

  /** the user's query vector (length = scoringItems().cols) */
  protected abstract userQuery(u: number): Float32Array;
  /** item vectors recommend() scores against; default the item factors */
  protected buildScoringItems(): Dense { return this.itemFactors; }
  protected scoreOffset(_u: number): number { return 0; }
  protected scoringItems(): Dense {
    if (!this.scoringCache) this.scoringCache = this.buildScoringItems();
    return this.scoringCache;
  }
  /** call after any parameter change */
  protected invalidate(): void { this.scoringCache = null; }

  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    this.requireFitted('recommend()');
    if (!Number.isInteger(k) || k <= 0) throw new RangeError(`${this.name}: k must be a positive integer, got ${k}`);
    if (!this.userKnown(user)) return { ids: new Int32Array(0), scores: new Float32Array(0) };
    const keysAll = this.scoringItems();
    const q = this.userQuery(user);
    const queries: Dense = { rows: 1, cols: q.length, data: q };
    const filterSeen = opts.filterSeen ?? true;
    const s = this.seen.indptr[user], e = this.seen.indptr[user + 1];
    let keys = keysAll, map: Int32Array | null = null, exclude: Csr | undefined;
    if (opts.items) {
      const cand = Int32Array.from(opts.items as ArrayLike<number>);
      for (const c of cand) if (!(Number.isInteger(c) && c >= 0 && c < this.nItems)) throw new RangeError(`${this.name}: candidate item ${c} out of range [0, ${this.nItems})`);
      const seenSet = filterSeen ? new Set(this.seen.indices.subarray(s, e)) : null;
      const keep = seenSet ? cand.filter((c) => !seenSet.has(c)) : cand;
      map = keep;
      const d = keysAll.cols;
      const data = new Float32Array(keep.length * d);
      for (let t = 0; t < keep.length; t++) data.set(keysAll.data.subarray(keep[t] * d, keep[t] * d + d), t * d);
      keys = { rows: keep.length, cols: d, data };
    } else if (filterSeen && e > s) {
      exclude = { rows: 1, cols: this.nItems, indptr: Int32Array.of(0, e - s), indices: this.seen.indices.slice(s, e), data: new Float32Array(e - s) };
    }
    if (keys.rows === 0) return { ids: new Int32Array(0), scores: new Float32Array(0) };
    const out = emptyTopK(1, Math.min(k, keys.rows));
    denseScoreTopKReference({ queries, keys, k: out.k, metric: 'dot', exclude }, out, 0, 1);
    let n = 0;
    while (n < out.k && out.ids[n] >= 0) n++;
    const ids = new Int32Array(n), scores = new Float32Array(n);
    const off = this.scoreOffset(user);
    for (let t = 0; t < n; t++) {
      ids[t] = map ? map[out.ids[t]] : out.ids[t];
      scores[t] = out.scores[t] + off;
    }
    return { ids, scores };
  }

  /**
   * recommend() for many users in one denseScoreTopK call through the engine (the fast
   * backends' path for batch precompute). Equals recommend(u, k, opts) per user; calls with
   * a candidate list (opts.items) fall back to per-user recommend().
   */
  async recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    this.requireFitted('recommendBatch()');
    if (!Number.isInteger(k) || k <= 0) throw new RangeError(`${this.name}: k must be a positive integer, got ${k}`);
    if (opts.items) return Array.from(users, (u) => this.recommend(u, k, opts));
    const keys = this.scoringItems();
    const d = keys.cols;
    const known = Array.from(users).filter((u) => this.userKnown(u));
    const n = known.length;
    const results = new Map<number, Recommendations>();
    if (n > 0 && keys.rows > 0) {
      const queries = denseFrom(n, d);
      for (let t = 0; t < n; t++) queries.data.set(this.userQuery(known[t]), t * d);
      let exclude: Csr | undefined;
      if (opts.filterSeen ?? true) {
        const indptr = new Int32Array(n + 1);
        for (let t = 0; t < n; t++) indptr[t + 1] = indptr[t] + (this.seen.indptr[known[t] + 1] - this.seen.indptr[known[t]]);
        const indices = new Int32Array(indptr[n]);
        for (let t = 0; t < n; t++) indices.set(this.seen.indices.subarray(this.seen.indptr[known[t]], this.seen.indptr[known[t] + 1]), indptr[t]);
        exclude = { rows: n, cols: keys.rows, indptr, indices, data: new Float32Array(indices.length) };
      }
      const top = await getEngine().run('denseScoreTopK', { queries, keys, k: Math.min(k, keys.rows), metric: 'dot', exclude });
      for (let t = 0; t < n; t++) {
        const o = t * top.k;
        let m = 0;
        while (m < top.k && top.ids[o + m] >= 0) m++;
        const off = this.scoreOffset(known[t]);
        const ids = top.ids.slice(o, o + m), scores = new Float32Array(m);
        for (let j = 0; j < m; j++) scores[j] = top.scores[o + j] + off;
        results.set(known[t], { ids, scores });
      }
    }
    const empty = (): Recommendations => ({ ids: new Int32Array(0), scores: new Float32Array(0) });
    return Array.from(users, (u) => results.get(u) ?? empty());
  }

  /** similarItems() for many items in one denseScoreTopK call (cosine over item factors, self excluded). */
  async similarItemsBatch(items: Int32Array, k: number): Promise<Recommendations[]> {
    this.requireFitted('similarItemsBatch()');
    if (!Number.isInteger(k) || k <= 0) throw new RangeError(`${this.name}: k must be a positive integer, got ${k}`);
    const m = this.itemFactors, d = m.cols, n = items.length;
    for (const i of items) if (!(Number.isInteger(i) && i >= 0 && i < this.nItems)) throw new RangeError(`${this.name}: item ${i} out of range [0, ${this.nItems})`);
    const kk = Math.min(k, m.rows - 1);
    if (kk <= 0 || n === 0) return Array.from(items, () => ({ ids: new Int32Array(0), scores: new Float32Array(0) }));
    const queries = denseFrom(n, d);
    for (let t = 0; t < n; t++) queries.data.set(m.data.subarray(items[t] * d, items[t] * d + d), t * d);
    const indptr = new Int32Array(n + 1);
    for (let t = 0; t < n; t++) indptr[t + 1] = t + 1;
    const exclude: Csr = { rows: n, cols: m.rows, indptr, indices: Int32Array.from(items), data: new Float32Array(n) };
    const top = await getEngine().run('denseScoreTopK', { queries, keys: m, k: kk, metric: 'cosine', exclude });
    return Array.from(items, (_, t) => ({ ids: top.ids.slice(t * kk, t * kk + kk), scores: top.scores.slice(t * kk, t * kk + kk) }));
  }

  /** the k items most similar to `item` by cosine of the item factors (itself excluded) */
  similarItems(item: number, k: number): Recommendations {
    this.requireFitted('similarItems()');
    if (!(Number.isInteger(item) && item >= 0 && item < this.nItems)) throw new RangeError(`${this.name}: item ${item} out of range [0, ${this.nItems})`);
    return this.similar(this.itemFactors, item, k);
  }

  /** the k users most similar to `user` by cosine of the user factors (itself excluded) */
  similarUsers(user: number, k: number): Recommendations {
    this.requireFitted('similarUsers()');
    if (!(Number.isInteger(user) && user >= 0 && user < this.nUsers)) throw new RangeError(`${this.name}: user ${user} out of range [0, ${this.nUsers})`);
    return this.similar(this.userFactors, user, k);
  }

  private similar(m: Dense, row: number, k: number): Recommendations {
    if (!Number.isInteger(k) || k <= 0) throw new RangeError(`${this.name}: k must be a positive integer, got ${k}`);
    const d = m.cols;
    const queries: Dense = { rows: 1, cols: d, data: m.data.slice(row * d, row * d + d) };
    const kk = Math.min(k, m.rows - 1);
    if (kk <= 0) return { ids: new Int32Array(0), scores: new Float32Array(0) };
    const exclude: Csr = { rows: 1, cols: m.rows, indptr: Int32Array.of(0, 1), indices: Int32Array.of(row), data: new Float32Array(1) };
    const out = emptyTopK(1, kk);
    denseScoreTopKReference({ queries, keys: m, k: kk, metric: 'cosine', exclude }, out, 0, 1);
    return { ids: out.ids, scores: out.scores };
  }

  // ---- growth and id mapping

  /** extra per-row arrays of the subclass to grow with users/items */
  protected growExtra(_side: 'user' | 'item', _newRows: number): void {}
  /** initial value of a new user/item factor (row r, column c) */
  protected abstract initNew(side: 'user' | 'item', r: number, c: number): number;

  protected growUsers(n: number): void {
    if (n <= this.nUsers) return;
    this.P = growRows(this.P, this.dimU, n, (r, c) => this.initNew('user', r, c));
    const uc = new Int32Array(n); uc.set(this.userCount); this.userCount = uc;
    this.growExtra('user', n);
    this.nUsers = n;
    this.seen = mergeIntoCsr(this.seen, n, this.nItems, [], [], [], 'add');
    this.invalidate();
  }

  protected growItems(n: number): void {
    if (n <= this.nItems) return;
    this.Q = growRows(this.Q, this.dimI, n, (r, c) => this.initNew('item', r, c));
    const ic = new Int32Array(n); ic.set(this.itemCount); this.itemCount = ic;
    this.growExtra('item', n);
    this.nItems = n;
    this.seen = mergeIntoCsr(this.seen, this.nUsers, n, [], [], [], 'add');
    this.invalidate();
  }

  /** the interactions of x in this model's index space; ids new to the model are added to its maps */
  protected mapInteractions(x: Interactions): { user: Int32Array; item: Int32Array; rating: Float32Array } {
    const n = x.user.length;
    const user = new Int32Array(n), item = new Int32Array(n);
    const sameUsers = x.users === this.users, sameItems = x.items === this.items;
    for (let k = 0; k < n; k++) {
      user[k] = sameUsers ? x.user[k] : this.users.add(x.users.external(x.user[k]));
      item[k] = sameItems ? x.item[k] : this.items.add(x.items.external(x.item[k]));
    }
    return { user, item, rating: x.rating };
  }

  /** merge interactions into the training matrix and counts (rows must exist) */
  protected addToSeen(user: ArrayLike<number>, item: ArrayLike<number>, rating: ArrayLike<number>, mode: 'replace' | 'add'): void {
    this.seen = mergeIntoCsr(this.seen, this.nUsers, this.nItems, user, item, rating, mode);
    this.userCount = rowCounts(this.seen);
    this.itemCount = colCounts(this.seen);
  }

  /** a new row's external id */
  protected newId(map: IdMap, opts?: FoldInOptions): void {
    const id = opts?.id ?? `#${map.size}`;
    if (map.has(id)) throw new RangeError(`${this.name}: id '${id}' already exists`);
    map.add(id);
  }

  /** common start of fit(): the training matrix, counts, mean and rating range (this model untouched) */
  protected prepare(train: Interactions): Prepared {
    const n = train.user.length;
    if (n === 0) throw new RangeError(`${this.name}: no training interactions`);
    const users = train.users.clone(), items = train.items.clone();
    const nUsers = users.size, nItems = items.size;
    let sum = 0, lo = Infinity, hi = -Infinity;
    for (let k = 0; k < n; k++) {
      const r = train.rating[k];
      if (!Number.isFinite(r)) throw new RangeError(`${this.name}: rating at interaction ${k} is ${r}`);
      sum += r; if (r < lo) lo = r; if (r > hi) hi = r;
    }
    const seen = csrFromTriplets(nUsers, nItems, train.user, train.item, train.rating);
    return { users, items, nUsers, nItems, globalMean: sum / n, ratingMin: lo, ratingMax: hi, seen, userCount: rowCounts(seen), itemCount: colCounts(seen) };
  }

  /** swap a successful fit's data in */
  protected commit(p: Prepared, P: Float32Array, Q: Float32Array, dimU: number, dimI: number): void {
    this.users = p.users; this.items = p.items; this.nUsers = p.nUsers; this.nItems = p.nItems;
    this.globalMean = p.globalMean; this.ratingMin = p.ratingMin; this.ratingMax = p.ratingMax;
    this.seen = p.seen; this.userCount = p.userCount; this.itemCount = p.itemCount;
    this.P = P; this.Q = Q; this.dimU = dimU; this.dimI = dimI;
    this.fitted = true;
    this.invalidate();
  }

  protected clip(x: number): number {
    return x < this.ratingMin ? this.ratingMin : x > this.ratingMax ? this.ratingMax : x;
  }

  // ---- persistence

  /** subclass arrays to save besides P, Q and the training matrix */
  protected extraArrays(): Record<string, ModelArray> { return {}; }
  protected restoreExtra(_arrays: Record<string, ModelArray>): void {}
  protected extraMeta(): Record<string, unknown> { return {}; }
  protected restoreMeta(_meta: Record<string, unknown>): void {}

  /** Save to the AFFM binary format (docs/model-format.md). */
  save(path: string): void {
    this.requireFitted('save()');
    writeModelFile(path, this.name, {
      name: this.name,
      dims: { users: this.nUsers, items: this.nItems, factors: this.dimU },
      params: this.params,
      meta: { dimU: this.dimU, dimI: this.dimI, globalMean: this.globalMean, ratingMin: this.ratingMin, ratingMax: this.ratingMax, ...this.extraMeta() },
      userIds: this.users.toJSON(),
      itemIds: this.items.toJSON(),
    }, {
      P: this.P, Q: this.Q,
      seenIndptr: Int32Array.from(this.seen.indptr), seenIndices: this.seen.indices, seenData: this.seen.data,
      ...this.extraArrays(),
    });
  }

  /** @internal fill this (freshly constructed) model from a decoded file */
  restoreFrom(file: ModelFile, path: string): this {
    const bad = (why: string): Error => new Error(`affinity: cannot load model '${path}': ${why}`);
    const h = file.header;
    const meta = h.meta as Record<string, number>;
    const nu = h.dims.users, ni = h.dims.items;
    if (!Array.isArray(h.userIds) || h.userIds.length !== nu) throw bad(`userIds has ${h.userIds?.length} ids, dims say ${nu} users`);
    if (!Array.isArray(h.itemIds) || h.itemIds.length !== ni) throw bad(`itemIds has ${h.itemIds?.length} ids, dims say ${ni} items`);
    const need = (name: string, len: number, type: 'f32' | 'i32'): ModelArray => {
      const a = file.arrays[name];
      if (!a) throw bad(`array '${name}' is missing`);
      if ((type === 'f32') !== (a instanceof Float32Array)) throw bad(`array '${name}' has the wrong type`);
      if (len >= 0 && a.length !== len) throw bad(`array '${name}' has ${a.length} values, expected ${len}`);
      return a;
    };
    this.users = IdMap.from(h.userIds);
    this.items = IdMap.from(h.itemIds);
    if (this.users.size !== nu || this.items.size !== ni) throw bad('duplicate ids in userIds/itemIds');
    this.nUsers = nu; this.nItems = ni;
    this.dimU = meta.dimU; this.dimI = meta.dimI;
    this.P = need('P', nu * this.dimU, 'f32') as Float32Array;
    this.Q = need('Q', ni * this.dimI, 'f32') as Float32Array;
    const indptr = need('seenIndptr', nu + 1, 'i32') as Int32Array;
    const nz = indptr[nu];
    const indices = need('seenIndices', nz, 'i32') as Int32Array;
    const data = need('seenData', nz, 'f32') as Float32Array;
    for (let p = 0; p < nz; p++) if (!(indices[p] >= 0 && indices[p] < ni)) throw bad(`training matrix column ${indices[p]} out of range`);
    for (let r = 0; r < nu; r++) if (indptr[r + 1] < indptr[r]) throw bad('training matrix indptr decreases');
    this.seen = { rows: nu, cols: ni, indptr, indices, data };
    this.userCount = rowCounts(this.seen);
    this.itemCount = colCounts(this.seen);
    this.globalMean = meta.globalMean; this.ratingMin = meta.ratingMin; this.ratingMax = meta.ratingMax;
    this.restoreMeta(h.meta);
    this.restoreExtra(file.arrays);
    this.fitted = true;
    this.invalidate();
    return this;
  }
}

/** Read a model file and check it holds `kind`; build the model with make(params) and fill it. */
export function loadModel<M extends FactorizationModel>(path: string, kind: string, make: (params: ModelParams) => M): M {
  const file = readModelFile(path);
  if (file.kind !== kind) throw new Error(`affinity: cannot load model '${path}': it holds a '${file.kind}' model, not '${kind}'`);
  let model: M;
  try {
    model = make(file.header.params as ModelParams);
  } catch (e) {
    throw new Error(`affinity: cannot load model '${path}': its hyper-parameters are invalid (${(e as Error).message})`);
  }
  return model.restoreFrom(file, path);
}

/** check a restored Float32Array's length */
export function needArray(arrays: Record<string, ModelArray>, name: string, len: number): Float32Array {
  const a = arrays[name];
  if (!(a instanceof Float32Array) || a.length !== len) throw new Error(`affinity: cannot load model: array '${name}' is missing or has ${a?.length} values, expected ${len}`);
  return a;
}

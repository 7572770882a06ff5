/**
 * What every factorization model shares: the user (P) and item (Q) factor matrices, the
 * training view (its id maps and training matrix, for filterSeen, fold-in and partial fits),
 * recommend / similarItems / similarUsers through the denseScoreTopK kernel on the engine
 * (recommend and similarItems with runSync, the batch forms with run), one fold-in /
 * partialFit skeleton with per-model hooks, growth for new ids, and save/load to the AFFM file
 * (format.ts, docs/model-format.md).
 *
 * Derived state (the scoring matrix, SVD++'s effective user factors) is computed lazily by
 * derive() and dropped in one place, change(), which every update of the parameters or the
 * training matrix goes through (fit's commit, restore, fold-in, partialFit).
 *
 * Indices: a model's user/item indices are those of the Interactions it was fitted on (it
 * keeps a copy of their IdMaps); fold-in and partialFit append new indices beyond them.
 * A user or item with no training interactions is "unknown" to the model.
 */
import type { Csr, Dense } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import { IdMap, type ExternalId } from '../../data/idMap.js';
import { FLOAT32_MAX, type Interactions } from '../../data/interactions.js';
import { resolveContext, type Context, type RunContext } from '../../engine/context.js';
import type { FitOptions, ModelParams, RecommendOptions, Recommendations } from '../types.js';
import { ModelBase } from '../base.js';
import { candidateList, candidateMask, checkIndex, checkK, excludeRows, fromTopK, noRecommendations } from '../ranking.js';
import { Trainset } from '../trainset.js';
import { requireArrays, type PlannedArray } from '../memory.js';
import { readModelFile, writeModelFile, type ModelArray, type ModelFile } from './format.js';

export interface FoldInResult {
  /** the new user's (item's) index */
  index: number;
  /** interactions dropped because their item (user) is unknown to the model */
  ignored: number;
}

/** Options of foldInUser/foldInItem: the new row's id, and the engine context its kernels run on. */
export interface FoldInOptions extends RunContext {
  /** external id for the new row (default `#<index>`) */
  id?: ExternalId;
}

export interface PartialFitResult {
  users: number;
  items: number;
  newUsers: number;
  newItems: number;
}

export type Side = 'user' | 'item';

/** true when every value is finite */
export function allFinite(a: Float32Array): boolean {
  for (let k = 0; k < a.length; k++) if (!Number.isFinite(a[k])) return false;
  return true;
}

/**
 * A copy of `m` (grown to rows × cols) with the entries (u[k], i[k], v[k]) merged in:
 * 'replace' keeps the last value given for a pair, 'add' sums values into existing ones.
 */
function mergeIntoCsr(m: Csr, rows: number, cols: number, u: ArrayLike<number>, i: ArrayLike<number>, v: ArrayLike<number>, mode: 'replace' | 'add'): Csr {
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

/** grow a row-major array of `rows × cols` to `newRows × cols`, new rows from init(row, col) */
function growRows(a: Float32Array, cols: number, newRows: number, init?: (r: number, c: number) => number): Float32Array {
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

/** The sorted distinct values of a. */
function distinct(a: ArrayLike<number>): number[] {
  return [...new Set(Array.from(a))].sort((x, y) => x - y);
}

/** A factor model; its name is the model kind: 'svd', 'svdpp', 'nmf', 'als', 'als-explicit', 'bpr'. */
export abstract class FactorizationModel extends ModelBase {
  /** users × dimU */
  protected P: Float32Array = new Float32Array(0);
  /** items × dimI */
  protected Q: Float32Array = new Float32Array(0);
  protected dimU = 0;
  protected dimI = 0;
  /** μ and the rating range as fitted (fold-in and partialFit keep them) */
  protected globalMean = 0;
  protected ratingMin = 0;
  protected ratingMax = 0;
  private readonly derived = new Map<string, unknown>();

  /** hyper-parameters as saved in the file header (and accepted back by the constructor) */
  abstract get params(): ModelParams;

  get isFitted(): boolean { return this.ts !== null; }
  get userIds(): IdMap { return this.ts?.users ?? new IdMap(); }
  get itemIds(): IdMap { return this.ts?.items ?? new IdMap(); }
  get userCountTotal(): number { return this.nUsers; }
  get itemCountTotal(): number { return this.nItems; }
  protected get nUsers(): number { return this.ts?.nUsers ?? 0; }
  protected get nItems(): number { return this.ts?.nItems ?? 0; }
  /** users × items training matrix (ratings / confidences as given) */
  protected get seen(): Csr { return this.trainset().ur; }

  /** users × factors (a live view; do not write into it). BPR's has implicit's extra bias column (all 1). */
  get userFactors(): Dense {
    return { rows: this.nUsers, cols: this.dimU, data: this.P };
  }
  /** items × factors (a live view). BPR's has implicit's extra item-bias column. */
  get itemFactors(): Dense {
    return { rows: this.nItems, cols: this.dimI, data: this.Q };
  }

  userKnown(u: number): boolean {
    return this.ts?.knowsUser(u) ?? false;
  }
  itemKnown(i: number): boolean {
    return this.ts?.knowsItem(i) ?? false;
  }

  protected requireFitted(what: string): void {
    this.trainset(what);
  }

  // ---- derived state

  /** the value of `build` until the next change() */
  protected derive<T>(key: string, build: () => T): T {
    if (!this.derived.has(key)) this.derived.set(key, build());
    return this.derived.get(key) as T;
  }

  /** run an update of the parameters or the training matrix; derived state is dropped before and after */
  protected change<T>(update: () => T): T {
    this.derived.clear();
    try {
      return update();
    } finally {
      this.derived.clear();
    }
  }

  // ---- scoring for recommend: score(u, i) = query(u) · scoringItems()[i] + offset(u)

  /** the user's query vector (length = scoringItems().cols) */
  protected abstract userQuery(u: number): Float32Array;
  /** item vectors recommend() scores against; default the item factors */
  protected buildScoringItems(): Dense { return this.itemFactors; }
  protected scoreOffset(_u: number): number { return 0; }
  protected scoringItems(): Dense {
    return this.derive('scoringItems', () => this.buildScoringItems());
  }

  /** The k best candidates of one user (ranking.ts), scored by denseScoreTopK on the calling thread (engine.runSync). */
  recommend(user: number, k: number, opts: RecommendOptions = {}): Recommendations {
    this.requireFitted('recommend()');
    checkK(this.name, k);
    if (!this.userKnown(user)) return noRecommendations();
    const ctx = resolveContext(opts);
    const all = this.scoringItems();
    const queries: Dense = { rows: 1, cols: all.cols, data: this.userQuery(user) };
    let keys = all, map: Int32Array | undefined, exclude: Csr | undefined;
    if (opts.items) {
      // the candidates' rows only; the kernel's key t is item map[t]
      map = candidateList(candidateMask(this.name, this.nItems, this.trainset().userItems(user), opts));
      keys = rowsOf(all, map);
    } else if (opts.filterSeen ?? true) {
      exclude = excludeRows(this.seen, [user]);
    }
    if (keys.rows === 0) return noRecommendations();
    const top = ctx.engine.runSync('denseScoreTopK', { queries, keys, k: Math.min(k, keys.rows), metric: 'dot', exclude }, { signal: ctx.signal });
    return fromTopK(top, 0, map, this.scoreOffset(user));
  }

  /**
   * recommend() for many users in one denseScoreTopK call through the engine (the fast
   * backends' path for batch precompute), on the context given in opts. Equals
   * recommend(u, k, opts) per user; calls with a candidate list (opts.items) fall back to
   * per-user recommend().
   */
  async recommendBatch(users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
    this.requireFitted('recommendBatch()');
    checkK(this.name, k);
    if (opts.items) return Array.from(users, (u) => this.recommend(u, k, opts));
    const ctx = resolveContext(opts);
    const keys = this.scoringItems();
    const d = keys.cols;
    const known = Array.from(users).filter((u) => this.userKnown(u));
    const n = known.length;
    const results = new Map<number, Recommendations>();
    if (n > 0 && keys.rows > 0) {
      const queries = denseFrom(n, d);
      for (let t = 0; t < n; t++) queries.data.set(this.userQuery(known[t]), t * d);
      const exclude = opts.filterSeen ?? true ? excludeRows(this.seen, known) : undefined;
      const top = await ctx.engine.run('denseScoreTopK', { queries, keys, k: Math.min(k, keys.rows), metric: 'dot', exclude }, { backend: ctx.backend, signal: ctx.signal });
      for (let t = 0; t < n; t++) results.set(known[t], fromTopK(top, t, undefined, this.scoreOffset(known[t])));
    }
    return Array.from(users, (u) => results.get(u) ?? noRecommendations());
  }

  /** similarItems() for many items in one denseScoreTopK call through the engine (cosine over item factors, self excluded). */
  async similarItemsBatch(items: Int32Array, k: number, context: RunContext = {}): Promise<Recommendations[]> {
    this.requireFitted('similarItemsBatch()');
    checkK(this.name, k);
    for (const i of items) checkIndex(this.name, 'item', i, this.nItems);
    const m = this.itemFactors;
    const kk = Math.min(k, m.rows - 1);
    if (kk <= 0 || items.length === 0) return Array.from(items, noRecommendations);
    const ctx = resolveContext(context);
    const top = await ctx.engine.run('denseScoreTopK', similarArgs(m, items, kk), { backend: ctx.backend, signal: ctx.signal });
    return Array.from(items, (_, t) => fromTopK(top, t));
  }

  /** the k items most similar to `item` by cosine of the item factors (itself excluded) */
  similarItems(item: number, k: number, context: RunContext = {}): Recommendations {
    this.requireFitted('similarItems()');
    checkIndex(this.name, 'item', item, this.nItems);
    return this.similar(this.itemFactors, item, k, context);
  }

  /** the k users most similar to `user` by cosine of the user factors (itself excluded) */
  similarUsers(user: number, k: number, context: RunContext = {}): Recommendations {
    this.requireFitted('similarUsers()');
    checkIndex(this.name, 'user', user, this.nUsers);
    return this.similar(this.userFactors, user, k, context);
  }

  private similar(m: Dense, row: number, k: number, context: RunContext): Recommendations {
    checkK(this.name, k);
    const kk = Math.min(k, m.rows - 1);
    if (kk <= 0) return noRecommendations();
    const ctx = resolveContext(context);
    const top = ctx.engine.runSync('denseScoreTopK', similarArgs(m, [row], kk), { signal: ctx.signal });
    return fromTopK(top, 0);
  }

  // ---- fold-in and partial fits: one skeleton, per-model hooks

  /** the values of a fold-in's interactions (default: as given, or 1 each) */
  protected foldInValues(what: string, idx: number[], values: number[] | undefined): number[] {
    if (values && values.length !== idx.length) throw new RangeError(`${this.name}: ${what}: ${values.length} ratings for ${idx.length} ids`);
    return values ?? idx.map(() => 1);
  }
  /** how a new value meets an existing one for the same pair: summed (implicit) or replacing it */
  protected abstract readonly mergeMode: 'add' | 'replace';
  /** reset row r of a new user/item before it is fitted (default: keep its initial values) */
  protected clearRow(_side: Side, _r: number): void {}
  /** re-fit the factors of `rows` of one side from their training rows, the other side fixed */
  protected abstract refitRows(side: Side, rows: number[], ctx: Context): void;
  /** partialFit's re-fit of the affected users, then the affected items */
  protected refit(users: number[], items: number[], ctx: Context): void {
    this.refitRows('user', users, ctx);
    this.refitRows('item', items, ctx);
  }

  /** Factors for a new user from its interactions (unknown item indices are ignored and counted), items fixed. */
  foldInUser(items: number[], ratings?: number[], opts: FoldInOptions = {}): FoldInResult {
    return this.foldIn('user', items, ratings, opts);
  }

  /** Factors for a new item from the users who interacted with it, users fixed. */
  foldInItem(users: number[], ratings?: number[], opts: FoldInOptions = {}): FoldInResult {
    return this.foldIn('item', users, ratings, opts);
  }

  private foldIn(side: Side, partners: number[], ratings: number[] | undefined, opts: FoldInOptions): FoldInResult {
    const what = side === 'user' ? 'foldInUser' : 'foldInItem';
    this.requireFitted(`${what}()`);
    const values = this.foldInValues(what, partners, ratings);
    const keep: number[] = [], kept: number[] = [];
    partners.forEach((x, t) => { if (side === 'user' ? this.itemKnown(x) : this.userKnown(x)) { keep.push(x); kept.push(values[t]); } });
    const ctx = resolveContext(opts);
    return this.change(() => {
      const ts = this.trainset();
      this.newId(side === 'user' ? ts.users : ts.items, opts);
      const index = side === 'user' ? this.nUsers : this.nItems;
      if (side === 'user') this.growUsers(index + 1); else this.growItems(index + 1);
      this.clearRow(side, index);
      const own = keep.map(() => index);
      if (side === 'user') this.addToSeen(own, keep, kept); else this.addToSeen(keep, own, kept);
      this.refitRows(side, [index], ctx);
      return { index, ignored: partners.length - keep.length };
    });
  }

  /**
   * Add interactions (mapped by external id; new ids grow the model), then re-fit the affected
   * users (items fixed) and the affected items (users fixed); μ stays as fitted.
   */
  async partialFit(x: Interactions, opts: FitOptions = {}): Promise<PartialFitResult> {
    this.requireFitted('partialFit()');
    const ctx = resolveContext(opts);
    return this.change(() => {
      const oldU = this.nUsers, oldI = this.nItems;
      const m = this.mapInteractions(x);
      this.growUsers(this.userIds.size);
      this.growItems(this.itemIds.size);
      for (let u = oldU; u < this.nUsers; u++) this.clearRow('user', u);
      for (let i = oldI; i < this.nItems; i++) this.clearRow('item', i);
      this.addToSeen(m.user, m.item, m.rating);
      const us = distinct(m.user), is = distinct(m.item);
      this.refit(us, is, ctx);
      return { users: us.length, items: is.length, newUsers: this.nUsers - oldU, newItems: this.nItems - oldI };
    });
  }

  // ---- growth and id mapping

  /** extra per-row arrays of the subclass to grow with users/items */
  protected growExtra(_side: Side, _newRows: number): void {}
  /** initial value of a new user/item factor (row r, column c) */
  protected abstract initNew(side: Side, r: number, c: number): number;

  private growUsers(n: number): void {
    if (n <= this.nUsers) return;
    this.P = growRows(this.P, this.dimU, n, (r, c) => this.initNew('user', r, c));
    this.growExtra('user', n);
    this.setSeen(mergeIntoCsr(this.seen, n, this.nItems, [], [], [], 'add'));
  }

  private growItems(n: number): void {
    if (n <= this.nItems) return;
    this.Q = growRows(this.Q, this.dimI, n, (r, c) => this.initNew('item', r, c));
    this.growExtra('item', n);
    this.setSeen(mergeIntoCsr(this.seen, this.nUsers, n, [], [], [], 'add'));
  }

  /** the interactions of x in this model's index space; ids new to the model are added to its maps */
  private mapInteractions(x: Interactions): { user: Int32Array; item: Int32Array; rating: Float32Array } {
    const n = x.user.length;
    const users = this.userIds, items = this.itemIds;
    const user = new Int32Array(n), item = new Int32Array(n);
    const sameUsers = x.users === users, sameItems = x.items === items;
    for (let k = 0; k < n; k++) {
      user[k] = sameUsers ? x.user[k] : users.add(x.users.external(x.user[k]));
      item[k] = sameItems ? x.item[k] : items.add(x.items.external(x.item[k]));
    }
    return { user, item, rating: x.rating };
  }

  /** merge interactions into the training matrix (rows must exist) */
  private addToSeen(user: ArrayLike<number>, item: ArrayLike<number>, rating: ArrayLike<number>): void {
    this.setSeen(mergeIntoCsr(this.seen, this.nUsers, this.nItems, user, item, rating, this.mergeMode));
  }

  private setSeen(ur: Csr): void {
    const ts = this.trainset();
    this.ts = new Trainset(ur, ts.users, ts.items, ts.implicit);
  }

  /** a new row's external id */
  private newId(map: IdMap, opts: FoldInOptions): void {
    const id = opts.id ?? `#${map.size}`;
    if (map.has(id)) throw new RangeError(`${this.name}: id '${id}' already exists`);
    map.add(id);
  }

  /** the arrays a fit allocates whose size the parameters set: P and Q (subclasses add theirs) */
  protected fitArrays(users: number, items: number): PlannedArray[] {
    const c = this.factorColumns;
    return [
      { what: `the user factors (${users} × ${c} float32)`, values: users * c, bytesPerValue: 4 },
      { what: `the item factors (${items} × ${c} float32)`, values: items * c, bytesPerValue: 4 },
    ];
  }

  /** common start of fit(): the training view (with copies of the id maps), this model untouched */
  protected prepare(train: Interactions): Trainset {
    if (train.user.length === 0) throw new RangeError(`${this.name}: no training interactions`);
    // what the fit allocates must fit before it does (a clear error for factors=1e9)
    requireArrays(this.name, `factors=${String(this.params.factors)}`, this.fitArrays(train.users.size, train.items.size));
    for (let k = 0; k < train.rating.length; k++) {
      if (!Number.isFinite(train.rating[k])) throw new RangeError(`${this.name}: rating at interaction ${k} is ${train.rating[k]}`);
    }
    return Trainset.of(train, this.name, { copyIds: true });
  }

  /** swap a successful fit's data in */
  protected commit(ts: Trainset, P: Float32Array, Q: Float32Array, dimU: number, dimI: number): void {
    this.change(() => {
      this.ts = ts;
      this.globalMean = ts.globalMean; this.ratingMin = ts.ratingMin; this.ratingMax = ts.ratingMax;
      this.P = P; this.Q = Q; this.dimU = dimU; this.dimI = dimI;
    });
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
      userIds: this.userIds.toJSON(),
      itemIds: this.itemIds.toJSON(),
    }, {
      P: this.P, Q: this.Q,
      seenIndptr: Int32Array.from(this.seen.indptr), seenIndices: this.seen.indices, seenData: this.seen.data,
      ...this.extraArrays(),
    });
  }

  /** columns of P and Q a fit of this model produces (BPR: one more, its item-bias column) */
  protected get factorColumns(): number {
    return Number(this.params.factors);
  }

  /**
   * @internal fill this (freshly constructed) model from a decoded file. The checksum only says
   * the bytes are as written; every field the model reads is checked here (types, shapes, index
   * ranges, finite values), so a hand-made or buggy file is refused naming the field instead of
   * loading into a model that scores nonsense.
   */
  restoreFrom(file: ModelFile, path: string): this {
    const bad = (why: string): Error => new Error(`affinity: cannot load model '${path}': ${why}`);
    const h = file.header;
    const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
    const count = (v: unknown, what: string, min = 0): number => {
      if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= min)) throw bad(`${what} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
      return v;
    };
    const finite = (v: unknown, what: string): number => {
      if (!(typeof v === 'number' && Number.isFinite(v))) throw bad(`${what} must be a finite number, got ${JSON.stringify(v)}`);
      return v;
    };
    if (!isObject(h.dims)) throw bad('the header has no dims object');
    if (!isObject(h.meta)) throw bad('the header has no meta object');
    const meta = h.meta;
    const nu = count(h.dims.users, 'dims.users'), ni = count(h.dims.items, 'dims.items');
    const dimU = count(meta.dimU, 'meta.dimU', 1), dimI = count(meta.dimI, 'meta.dimI', 1);
    const columns = this.factorColumns;
    if (dimU !== columns || dimI !== columns) throw bad(`meta.dimU ${dimU} and meta.dimI ${dimI} must both be ${columns}, the factor columns of a '${this.name}' model with params.factors ${String(this.params.factors)}`);
    if (count(h.dims.factors, 'dims.factors', 1) !== dimU) throw bad(`dims.factors ${h.dims.factors} differs from meta.dimU ${dimU}`);
    const globalMean = finite(meta.globalMean, 'meta.globalMean');
    const ratingMin = finite(meta.ratingMin, 'meta.ratingMin'), ratingMax = finite(meta.ratingMax, 'meta.ratingMax');
    if (ratingMin > ratingMax) throw bad(`meta.ratingMin ${ratingMin} is above meta.ratingMax ${ratingMax}`);
    // ratings are float32 (beyond ±FLT_MAX a score is ±Infinity), and the mean of the training
    // ratings lies between their least and greatest (up to the rounding of sum / count)
    if (!(Math.abs(ratingMin) <= FLOAT32_MAX && Math.abs(ratingMax) <= FLOAT32_MAX)) throw bad(`meta.ratingMin ${ratingMin} and meta.ratingMax ${ratingMax} must lie within the float32 range ±${FLOAT32_MAX}`);
    const slack = 1e-9 * Math.max(1, Math.abs(ratingMin), Math.abs(ratingMax));
    if (!(globalMean >= ratingMin - slack && globalMean <= ratingMax + slack)) throw bad(`meta.globalMean ${globalMean} lies outside [meta.ratingMin ${ratingMin}, meta.ratingMax ${ratingMax}]`);
    const ids = (v: unknown, what: string, n: number): Array<string | number> => {
      if (!Array.isArray(v)) throw bad(`${what} must be an array of ids`);
      if (v.length !== n) throw bad(`${what} has ${v.length} ids, dims say ${n}`);
      const t = v.findIndex((id) => typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id)));
      if (t >= 0) throw bad(`${what}[${t}] is ${JSON.stringify(v[t])}, not a string or a finite number`);
      return v as Array<string | number>;
    };
    const users = IdMap.from(ids(h.userIds, 'userIds', nu)), items = IdMap.from(ids(h.itemIds, 'itemIds', ni));
    if (users.size !== nu || items.size !== ni) throw bad('duplicate ids in userIds/itemIds');
    const need = (name: string, len: number, type: 'f32' | 'i32'): ModelArray => {
      const a = file.arrays[name];
      if (!a) throw bad(`array '${name}' is missing`);
      if ((type === 'f32') !== (a instanceof Float32Array)) throw bad(`array '${name}' has the wrong type`);
      if (a.length !== len) throw bad(`array '${name}' has ${a.length} values, expected ${len}`);
      if (a instanceof Float32Array) for (let t = 0; t < a.length; t++) if (!Number.isFinite(a[t])) throw bad(`array '${name}' holds ${a[t]} at ${t}`);
      return a;
    };
    const P = need('P', nu * dimU, 'f32') as Float32Array;
    const Q = need('Q', ni * dimI, 'f32') as Float32Array;
    const indptr = need('seenIndptr', nu + 1, 'i32') as Int32Array;
    if (indptr[0] !== 0) throw bad(`training matrix indptr starts at ${indptr[0]}, not 0`);
    for (let r = 0; r < nu; r++) if (indptr[r + 1] < indptr[r]) throw bad(`training matrix indptr decreases at row ${r}`);
    const nz = indptr[nu];
    const indices = need('seenIndices', nz, 'i32') as Int32Array;
    const data = need('seenData', nz, 'f32') as Float32Array;
    for (let r = 0; r < nu; r++) {
      for (let p = indptr[r]; p < indptr[r + 1]; p++) {
        if (!(indices[p] >= 0 && indices[p] < ni)) throw bad(`training matrix column ${indices[p]} out of range [0, ${ni}) in row ${r}`);
        if (p > indptr[r] && indices[p] <= indices[p - 1]) throw bad(`training matrix row ${r} is not sorted by column (${indices[p - 1]} then ${indices[p]})`);
      }
    }
    this.change(() => {
      this.ts = new Trainset({ rows: nu, cols: ni, indptr, indices, data }, users, items);
      this.P = P; this.Q = Q; this.dimU = dimU; this.dimI = dimI;
      this.globalMean = globalMean; this.ratingMin = ratingMin; this.ratingMax = ratingMax;
      try {
        this.restoreMeta(h.meta);
        this.restoreExtra(file.arrays);
      } catch (e) {
        this.ts = null;
        throw bad((e as Error).message.replace(/^affinity: cannot load model: /, ''));
      }
    });
    return this;
  }
}

/** Read a model file and check it holds `kind`; build the model with make(params) and fill it. */
export function loadModel<M extends FactorizationModel>(path: string, kind: string, make: (params: ModelParams) => M): M {
  const file = readModelFile(path);
  if (file.kind !== kind) throw new Error(`affinity: cannot load model '${path}': it holds a '${file.kind}' model, not '${kind}'`);
  const params = file.header.params as unknown;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new Error(`affinity: cannot load model '${path}': the header has no params object`);
  let model: M;
  try {
    model = make(file.header.params as ModelParams);
  } catch (e) {
    throw new Error(`affinity: cannot load model '${path}': its hyper-parameters are invalid (${(e as Error).message})`, { cause: e });
  }
  return model.restoreFrom(file, path);
}

/** check a restored Float32Array's type, length and values (restoreFrom names the file in the error) */
export function needArray(arrays: Record<string, ModelArray>, name: string, len: number): Float32Array {
  const a = arrays[name];
  if (!(a instanceof Float32Array) || a.length !== len) throw new Error(`affinity: cannot load model: array '${name}' is missing or has ${a?.length} values, expected ${len}`);
  for (let t = 0; t < a.length; t++) if (!Number.isFinite(a[t])) throw new Error(`affinity: cannot load model: array '${name}' holds ${a[t]} at ${t}`);
  return a;
}

/** `rows` of m, in that order, as a new matrix */
function rowsOf(m: Dense, rows: Int32Array): Dense {
  const d = m.cols;
  const data = new Float32Array(rows.length * d);
  for (let t = 0; t < rows.length; t++) data.set(m.data.subarray(rows[t] * d, rows[t] * d + d), t * d);
  return { rows: rows.length, cols: d, data };
}

/** denseScoreTopK's args for the rows' nearest rows of m by cosine, each row excluding itself */
function similarArgs(m: Dense, rows: ArrayLike<number>, k: number) {
  const n = rows.length, d = m.cols;
  const queries = denseFrom(n, d);
  for (let t = 0; t < n; t++) queries.data.set(m.data.subarray(rows[t] * d, rows[t] * d + d), t * d);
  const indptr = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) indptr[t + 1] = t + 1;
  const exclude: Csr = { rows: n, cols: m.rows, indptr, indices: Int32Array.from(rows), data: new Float32Array(n) };
  return { queries, keys: m, k, metric: 'cosine' as const, exclude };
}

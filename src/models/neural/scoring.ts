/**
 * Ranking for the neural models whose scores are one dot product per (user, item): each user's
 * query row against every item's key row (Mult-VAE: [h | 1]·[W | b]ᵀ, the decoder's last layer;
 * two-tower: the user tower's output against the item tower's; SASRec: the last position's
 * hidden state against the item embeddings), through the denseScoreTopK kernel with
 * ranking.ts's candidates: a candidate list (opts.items) restricts the keys, and filterSeen
 * (default true) excludes each row's seen items. One user runs on the calling thread
 * (engine.runSync), a batch through the engine.
 */
import type { Csr, Dense, TopK } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import { resolveContext, type RunContext } from '../../engine/context.js';
import type { RecommendOptions, Recommendations } from '../types.js';
import { candidateList, candidateMask, checkK, excludeRows, fromTopK, noRecommendations } from '../ranking.js';

/** One query row ranked on the calling thread (engine.runSync); `seen` = the items filterSeen drops. */
export function rankQuery(model: string, query: Float32Array, keys: Dense, seen: ArrayLike<number>, k: number, opts: RecommendOptions): Recommendations {
  const ctx = resolveContext(opts);
  const queries: Dense = { rows: 1, cols: keys.cols, data: query };
  let use = keys, map: Int32Array | undefined, exclude: Csr | undefined;
  if (opts.items) {
    map = candidateList(candidateMask(model, keys.rows, seen, opts));
    use = rowsOf(keys, map);
  } else if ((opts.filterSeen ?? true) && seen.length > 0) {
    exclude = { rows: 1, cols: keys.rows, indptr: Int32Array.of(0, seen.length), indices: Int32Array.from(seen), data: new Float32Array(seen.length) };
  }
  if (use.rows === 0) return noRecommendations();
  const top = ctx.engine.runSync('denseScoreTopK', { queries, keys: use, k: Math.min(k, use.rows), metric: 'dot', exclude }, { signal: ctx.signal });
  return fromTopK(top, 0, map);
}

/**
 * Every query row ranked in one denseScoreTopK call through the engine (the context's backend);
 * row t's seen items are row seenRows[t] of `seen`. A candidate list falls back to rankQuery per row.
 */
export async function rankQueries(model: string, queries: Dense, keys: Dense, seen: Csr, seenRows: ArrayLike<number>, k: number, opts: RecommendOptions): Promise<Recommendations[]> {
  if (queries.rows === 0) return [];
  if (opts.items) {
    return Array.from({ length: queries.rows }, (_, t) => rankQuery(model, queries.data.subarray(t * queries.cols, (t + 1) * queries.cols), keys, seen.indices.subarray(seen.indptr[seenRows[t]], seen.indptr[seenRows[t] + 1]), k, opts));
  }
  const ctx = resolveContext(opts);
  const exclude = opts.filterSeen ?? true ? excludeRows(seen, seenRows) : undefined;
  const top = await ctx.engine.run('denseScoreTopK', { queries, keys, k: Math.min(k, keys.rows), metric: 'dot', exclude }, { backend: ctx.backend, signal: ctx.signal });
  return Array.from({ length: queries.rows }, (_, t) => fromTopK(top, t));
}

/**
 * A model whose user representation is one stored vector per user (SASRec), scored through
 * rankQuery/rankQueries with the training matrix's rows as the seen items.
 */
export interface DotScorer {
  model: string;
  /** the training matrix (users × items): seen items, and a user is known when its row is not empty */
  seen: Csr;
  /** users × d: the user representations */
  users: Dense;
  /** items × d */
  items: Dense;
}

function known(s: DotScorer, u: number): boolean {
  return u >= 0 && u < s.seen.rows && s.seen.indptr[u + 1] > s.seen.indptr[u];
}

/** One user's top k (unknown user: none). */
export function recommendByDot(s: DotScorer, user: number, k: number, opts: RecommendOptions = {}): Recommendations {
  checkK(s.model, k);
  if (!known(s, user)) return noRecommendations();
  const d = s.users.cols;
  return rankQuery(s.model, s.users.data.slice(user * d, (user + 1) * d), s.items, s.seen.indices.subarray(s.seen.indptr[user], s.seen.indptr[user + 1]), k, opts);
}

/** recommendByDot for many users in one denseScoreTopK call through the engine (a candidate list: per user). */
export async function recommendBatchByDot(s: DotScorer, users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
  checkK(s.model, k);
  if (opts.items) return Array.from(users, (u) => recommendByDot(s, u, k, opts));
  const rows = Int32Array.from(Array.from(users).filter((u) => known(s, u)));
  const results = new Map<number, Recommendations>();
  if (rows.length > 0 && s.items.rows > 0) {
    const lists = await rankQueries(s.model, rowsOf(s.users, rows), s.items, s.seen, rows, k, opts);
    for (let t = 0; t < rows.length; t++) results.set(rows[t], lists[t]);
  }
  return Array.from(users, (u) => results.get(u) ?? noRecommendations());
}

/**
 * The k rows of m most similar by cosine to each of `rows` (itself excluded): similar items from
 * item embeddings. `sync`: one call on the calling thread (engine.runSync), else through the engine.
 */
export function similarItemsByCosine(m: Dense, rows: Int32Array, k: number, ctx: RunContext, sync: true): Recommendations[];
export function similarItemsByCosine(m: Dense, rows: Int32Array, k: number, ctx: RunContext, sync: false): Promise<Recommendations[]>;
export function similarItemsByCosine(m: Dense, rows: Int32Array, k: number, context: RunContext, sync: boolean): Recommendations[] | Promise<Recommendations[]> {
  const kk = Math.min(k, m.rows - 1);
  if (kk <= 0 || rows.length === 0) return sync ? Array.from(rows, noRecommendations) : Promise.resolve(Array.from(rows, noRecommendations));
  const n = rows.length;
  const indptr = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) indptr[t + 1] = t + 1;
  const exclude: Csr = { rows: n, cols: m.rows, indptr, indices: Int32Array.from(rows), data: new Float32Array(n) };
  const args = { queries: rowsOf(m, rows), keys: m, k: kk, metric: 'cosine' as const, exclude };
  const ctx = resolveContext(context);
  const lists = (top: TopK) => Array.from(rows, (_, t) => fromTopK(top, t));
  if (sync) return lists(ctx.engine.runSync('denseScoreTopK', args, { signal: ctx.signal }));
  return ctx.engine.run('denseScoreTopK', args, { backend: ctx.backend, signal: ctx.signal }).then(lists);
}

/** `rows` of m, in that order, as a new matrix. */
function rowsOf(m: Dense, rows: Int32Array): Dense {
  const d = m.cols, out = denseFrom(rows.length, d);
  for (let t = 0; t < rows.length; t++) out.data.set(m.data.subarray(rows[t] * d, rows[t] * d + d), t * d);
  return out;
}

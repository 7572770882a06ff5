/**
 * Ranking by a dot product, score(u, i) = query(u) · items[i], for neural models whose user
 * representation is one vector (SASRec: the last position's hidden state): the same paths as the
 * factor models — the denseScoreTopK kernel with the seen items excluded (ranking.ts), on the
 * calling thread for one user (engine.runSync), through the engine for a batch.
 */
import type { Csr, Dense, TopK } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import { resolveContext, type RunContext } from '../../engine/context.js';
import { candidateList, candidateMask, checkK, excludeRows, fromTopK, noRecommendations } from '../ranking.js';
import type { RecommendOptions, Recommendations } from '../types.js';

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

function userRow(s: DotScorer, u: number): Float32Array {
  const d = s.users.cols;
  return s.users.data.slice(u * d, (u + 1) * d);
}

/** The rows `rows` of m (in that order) as a new matrix. */
function rowsOf(m: Dense, rows: Int32Array): Dense {
  const d = m.cols, out = denseFrom(rows.length, d);
  for (let t = 0; t < rows.length; t++) out.data.set(m.data.subarray(rows[t] * d, rows[t] * d + d), t * d);
  return out;
}

/** One user's top k (unknown user: none). */
export function recommendByDot(s: DotScorer, user: number, k: number, opts: RecommendOptions = {}): Recommendations {
  checkK(s.model, k);
  if (!known(s, user)) return noRecommendations();
  const ctx = resolveContext(opts);
  const queries: Dense = { rows: 1, cols: s.users.cols, data: userRow(s, user) };
  let keys = s.items, map: Int32Array | undefined, exclude: Csr | undefined;
  if (opts.items) {
    map = candidateList(candidateMask(s.model, s.items.rows, s.seen.indices.subarray(s.seen.indptr[user], s.seen.indptr[user + 1]), opts));
    keys = rowsOf(s.items, map);
  } else if (opts.filterSeen ?? true) {
    exclude = excludeRows(s.seen, [user]);
  }
  if (keys.rows === 0) return noRecommendations();
  const top = ctx.engine.runSync('denseScoreTopK', { queries, keys, k: Math.min(k, keys.rows), metric: 'dot', exclude }, { signal: ctx.signal });
  return fromTopK(top, 0, map);
}

/** recommendByDot for many users in one denseScoreTopK call through the engine (a candidate list: per user). */
export async function recommendBatchByDot(s: DotScorer, users: Int32Array, k: number, opts: RecommendOptions = {}): Promise<Recommendations[]> {
  checkK(s.model, k);
  if (opts.items) return Array.from(users, (u) => recommendByDot(s, u, k, opts));
  const ctx = resolveContext(opts);
  const rows = Int32Array.from(Array.from(users).filter((u) => known(s, u)));
  const results = new Map<number, Recommendations>();
  if (rows.length > 0 && s.items.rows > 0) {
    const queries = rowsOf(s.users, rows);
    const exclude = opts.filterSeen ?? true ? excludeRows(s.seen, rows) : undefined;
    const top = await ctx.engine.run('denseScoreTopK', { queries, keys: s.items, k: Math.min(k, s.items.rows), metric: 'dot', exclude }, { backend: ctx.backend, signal: ctx.signal });
    for (let t = 0; t < rows.length; t++) results.set(rows[t], fromTopK(top, t));
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

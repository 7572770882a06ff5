/**
 * Ranking for the neural models whose scores are one dot product per (user, item): each user's
 * query row against every item's key row (Mult-VAE: [h | 1]·[W | b]ᵀ, the decoder's last layer;
 * two-tower: the user tower's output against the item tower's), through the denseScoreTopK
 * kernel with ranking.ts's candidates: a candidate list (opts.items) restricts the keys, and
 * filterSeen (default true) excludes each row's seen items.
 */
import type { Csr, Dense } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import { resolveContext } from '../../engine/context.js';
import type { RecommendOptions, Recommendations } from '../types.js';
import { candidateList, candidateMask, excludeRows, fromTopK, noRecommendations } from '../ranking.js';

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

/** `rows` of m, in that order, as a new matrix. */
function rowsOf(m: Dense, rows: Int32Array): Dense {
  const d = m.cols, out = denseFrom(rows.length, d);
  for (let t = 0; t < rows.length; t++) out.data.set(m.data.subarray(rows[t] * d, rows[t] * d + d), t * d);
  return out;
}

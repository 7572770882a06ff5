/**
 * Maximal Marginal Relevance re-ranking (Carbonell & Goldstein 1998): from a scored candidate list,
 * build the top k greedily, each step taking
 *
 *   argmax_{i ∉ S}  λ · score(i) − (1 − λ) · max_{j ∈ S} sim(i, j)      (max over an empty S = 0)
 *
 * λ = 1 keeps the original order; smaller λ trades relevance for diversity. With `normalize`
 * (default true) scores are first min-max scaled to [0, 1] over the candidates (all 1 when
 * constant) so λ weighs comparable quantities. Ties go to the earlier candidate.
 */
import type { Recommendations } from '../models/types.js';

export interface MmrOptions {
  /** trade-off in [0, 1] (default 0.5) */
  lambda?: number;
  normalize?: boolean;
}

export function mmrRerank(ids: ArrayLike<number>, scores: ArrayLike<number>, k: number, sim: (a: number, b: number) => number, o: MmrOptions = {}): Recommendations {
  const lambda = o.lambda ?? 0.5;
  if (!(lambda >= 0 && lambda <= 1)) throw new RangeError(`lambda must be in [0, 1], got ${lambda}`);
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (ids.length !== scores.length) throw new RangeError(`ids (${ids.length}) and scores (${scores.length}) differ in length`);
  const n = ids.length;
  const s = Float64Array.from(scores);
  if (o.normalize !== false && n > 0) {
    let lo = Infinity, hi = -Infinity;
    for (const v of s) { if (v < lo) lo = v; if (v > hi) hi = v; }
    for (let j = 0; j < n; j++) s[j] = hi > lo ? (s[j] - lo) / (hi - lo) : 1;
  }
  const taken = new Uint8Array(n);
  const maxSim = new Float64Array(n); // max sim to the chosen set so far
  const outIds: number[] = [], outScores: number[] = [];
  while (outIds.length < Math.min(k, n)) {
    let best = -1, bv = -Infinity;
    for (let j = 0; j < n; j++) {
      if (taken[j]) continue;
      const v = lambda * s[j] - (1 - lambda) * (outIds.length > 0 ? maxSim[j] : 0);
      if (v > bv) { bv = v; best = j; }
    }
    taken[best] = 1;
    outIds.push(ids[best]);
    outScores.push(scores[best]);
    for (let j = 0; j < n; j++) if (!taken[j]) { const x = sim(ids[j], ids[best]); if (outIds.length === 1 || x > maxSim[j]) maxSim[j] = x; }
  }
  return { ids: Int32Array.from(outIds), scores: Float32Array.from(outScores) };
}

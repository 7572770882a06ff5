/**
 * The curriculum (easy → hard pacing) and popularity balancing of the factorization models
 * (factorization/sgd.ts), for the neural models' training examples (Mult-VAE: users; two-tower:
 * interactions). Same parameter names and formulas:
 *
 *   curriculum 'item-popularity' | 'user-activity' | 'loss' ranks the examples easiest first
 *     (examples of popular items / of active users / with the lowest current loss first);
 *     epoch e (0-based) trains on the easiest fraction
 *       linear: c(e) = s + (1 − s)·min(1, e / E)      root: c(e) = √(s² + (1 − s²)·min(1, e / E))
 *     (s = curriculum_start, E = curriculum_epochs, default ⌈epochs/2⌉), shuffled.
 *   balance_gamma γ > 0 weights each interaction (u, i) by pop_i^−γ, normalized to mean 1 over the
 *     training interactions (pop_i = training users of item i).
 */
import type { ParamTable } from '../params.js';

export type Curriculum = 'none' | 'item-popularity' | 'user-activity' | 'loss';

export interface CurriculumParams {
  curriculum: Curriculum;
  curriculumPacing: 'linear' | 'root';
  curriculumStart: number;
  curriculumEpochs: number;
  balanceGamma: number;
}

/** The parameter specs, as the factorization models spell them. */
export const curriculumParamTable: ParamTable = {
  curriculum: { names: [], type: 'enum', def: 'none', choices: ['none', 'item-popularity', 'user-activity', 'loss'] },
  curriculumPacing: { names: ['curriculum_pacing', 'pacing'], type: 'enum', def: 'linear', choices: ['linear', 'root'] },
  curriculumStart: { names: ['curriculum_start'], type: 'number', def: 0.3, above: 0, must: 'must be in (0, 1]' },
  curriculumEpochs: { names: ['curriculum_epochs'], type: 'int', def: 0, min: 0, must: 'must be a non-negative integer' },
  balanceGamma: { names: ['balance_gamma', 'gamma'], type: 'number', def: 0, min: 0, must: 'must be ≥ 0' },
};

export function checkCurriculum(model: string, p: CurriculumParams): void {
  if (p.curriculumStart > 1) throw new RangeError(`${model}: curriculum_start must be in (0, 1], got ${p.curriculumStart}`);
}

/** The fraction of the ranked examples epoch e (0-based) of `epochs` trains on. */
export function curriculumFraction(p: CurriculumParams, e: number, epochs: number): number {
  if (p.curriculum === 'none') return 1;
  const E = p.curriculumEpochs > 0 ? p.curriculumEpochs : Math.ceil(epochs / 2);
  const t = Math.min(1, e / E), s = p.curriculumStart;
  return p.curriculumPacing === 'root' ? Math.sqrt(s * s + (1 - s * s) * t) : s + (1 - s) * t;
}

/** Indices 0 … key.length − 1 by increasing key (ties: lower index first). */
export function easiestFirst(key: Float64Array): Int32Array {
  const order = Int32Array.from({ length: key.length }, (_, i) => i);
  return order.sort((a, b) => key[a] - key[b] || a - b);
}

/** w_t = pop(items[t])^−γ, normalized to mean 1 over t (γ = 0: null, no weighting). */
export function popularityWeights(items: ArrayLike<number>, itemCount: Int32Array, gamma: number): Float32Array | null {
  if (!(gamma > 0) || items.length === 0) return null;
  const w = new Float32Array(items.length);
  let s = 0;
  for (let t = 0; t < items.length; t++) { w[t] = Math.pow(Math.max(1, itemCount[items[t]]), -gamma); s += w[t]; }
  const mean = s / items.length;
  for (let t = 0; t < w.length; t++) w[t] /= mean;
  return w;
}

/**
 * Curriculum pacing and popularity balancing, shared by the SGD factor models (sgd.ts) and the
 * neural models (neural/sasrec.ts, neural/neumf.ts).
 *
 * Curriculum (easy → hard): the training examples are ranked once by a difficulty key, easiest
 * first; epoch e (0-based) trains on the easiest fraction
 *   linear: c(e) = s + (1 − s)·min(1, e / E)      root: c(e) = √(s² + (1 − s²)·min(1, e / E))
 * of them (s = curriculumStart, E = curriculumEpochs, default ⌈epochs / 2⌉).
 *
 * Popularity balancing: each example of item i weighs w_i = pop_i^−γ, normalised to mean 1 over
 * the examples (γ = balanceGamma; 0 = off), so the long tail counts more in the loss.
 */
import type { ParamTable } from './params.js';
import { count, nonNeg } from './params.js';

export type CurriculumPacing = 'linear' | 'root';

export interface PacingOptions {
  curriculumPacing: CurriculumPacing;
  curriculumStart: number;
  curriculumEpochs: number;
}

/** The parameter specs of the pacing and of balanceGamma (the curriculum's own choices differ per model). */
export function pacingParams(): ParamTable {
  return {
    curriculumPacing: { names: ['curriculum_pacing', 'pacing'], type: 'enum', def: 'linear', choices: ['linear', 'root'] },
    curriculumStart: { names: ['curriculum_start'], type: 'number', def: 0.3, above: 0, must: 'must be in (0, 1]' },
    curriculumEpochs: count(['curriculum_epochs'], 0),
    balanceGamma: nonNeg(['balance_gamma', 'gamma'], 0),
  };
}

/** RangeError unless curriculumStart ≤ 1 (the table checks > 0). */
export function checkPacing(model: string, o: PacingOptions): void {
  if (o.curriculumStart > 1) throw new RangeError(`${model}: curriculumStart must be in (0, 1], got ${o.curriculumStart}`);
}

/** c(e): the fraction of the ranked examples used in epoch e (0-based) of `epochs`. */
export function curriculumFraction(e: number, epochs: number, o: PacingOptions): number {
  const E = o.curriculumEpochs > 0 ? o.curriculumEpochs : Math.ceil(epochs / 2);
  const t = Math.min(1, e / E), s = o.curriculumStart;
  return o.curriculumPacing === 'root' ? Math.sqrt(s * s + (1 - s * s) * t) : s + (1 - s) * t;
}

/** Indices 0 … n−1 by increasing key (ties by index). */
export function sortByKey(key: Float64Array): Int32Array {
  const idx = new Int32Array(key.length);
  for (let k = 0; k < idx.length; k++) idx[k] = k;
  return idx.sort((a, b) => key[a] - key[b] || a - b);
}

/** w_k = pop(item_k)^−γ normalised to mean 1 over the examples; undefined when γ = 0. */
export function popularityWeights(item: ArrayLike<number>, itemCount: Int32Array, gamma: number): Float32Array | undefined {
  if (!gamma) return undefined;
  const w = new Float32Array(item.length);
  let s = 0;
  for (let k = 0; k < item.length; k++) { w[k] = Math.pow(itemCount[item[k]], -gamma); s += w[k]; }
  const mean = s / item.length;
  for (let k = 0; k < w.length; k++) w[k] /= mean;
  return w;
}

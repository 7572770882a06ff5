/**
 * Baseline estimates b_ui = μ + b_u + b_i (Koren 2010, section 2.1), fitted as Surprise does
 * (optimize_baselines.pyx), for BaselineOnly, KNNBaseline and the pearson-baseline similarity.
 *
 * ALS (default; n_epochs 10, reg_i 10, reg_u 15) — each epoch, items then users:
 *   b_i = Σ_{u ∈ U_i} (r_ui − μ − b_u) / (reg_i + |U_i|)
 *   b_u = Σ_{i ∈ I_u} (r_ui − μ − b_i) / (reg_u + |I_u|)
 *
 * SGD (n_epochs 20, reg 0.02, learning_rate 0.005) — each epoch, over every rating (users in index
 * order, each user's items in index order; Surprise walks its trainset in the same nested way):
 *   e = r_ui − (μ + b_u + b_i);  b_u += γ (e − λ b_u);  b_i += γ (e − λ b_i)
 */
import type { Trainset } from '../trainset.js';
import { readParams, type ParamTable } from '../params.js';
import type { SimilarityBaselines } from '../../kernels/sparseSimilarityTopK.js';

export interface BaselineOptions {
  method: 'als' | 'sgd';
  /** default 10 for ALS, 20 for SGD */
  nEpochs?: number;
  regU: number;
  regI: number;
  reg: number;
  learningRate: number;
}

export interface Baselines {
  bu: Float64Array;
  bi: Float64Array;
}

/** Parameter table entries for the baseline options (Surprise's bsl_options names). */
export const baselineParamTable: ParamTable = {
  method: { names: ['bsl_method'], type: 'enum', def: 'als', choices: ['als', 'sgd'] },
  nEpochs: { names: ['n_epochs', 'bsl_n_epochs'], type: 'int', min: 1, must: 'must be a positive integer' },
  regU: { names: ['reg_u'], type: 'number', def: 15, min: 0, must: 'must be ≥ 0' },
  regI: { names: ['reg_i'], type: 'number', def: 10, min: 0, must: 'must be ≥ 0' },
  reg: { names: ['bsl_reg'], type: 'number', def: 0.02, min: 0, must: 'must be ≥ 0' },
  learningRate: { names: ['learning_rate', 'lr'], type: 'number', def: 0.005, above: 0, must: 'must be > 0' },
};

/** The baseline options when none are given (Surprise's bsl_options defaults: ALS, reg_u 15, reg_i 10). */
export const DEFAULT_BASELINE_OPTIONS: BaselineOptions = readParams<BaselineOptions>('baselines', {}, baselineParamTable);

/**
 * The baselines the pearson-baseline similarity needs, oriented for the compared entities:
 * rows = users (userBased) or items, columns = the co-raters.
 */
export function similarityBaselines(t: Trainset, b: Baselines, userBased: boolean): SimilarityBaselines {
  return { globalMean: t.globalMean, rowBias: userBased ? b.bu : b.bi, colBias: userBased ? b.bi : b.bu };
}

export function computeBaselines(t: Trainset, o: BaselineOptions, signal?: AbortSignal): Baselines {
  const bu = new Float64Array(t.nUsers), bi = new Float64Array(t.nItems);
  const mu = t.globalMean;
  const { ur, ir } = t;
  if (o.method === 'als') {
    const epochs = o.nEpochs ?? 10;
    for (let e = 0; e < epochs; e++) {
      signal?.throwIfAborted();
      for (let i = 0; i < t.nItems; i++) {
        const a = ir.indptr[i], b = ir.indptr[i + 1];
        let dev = 0;
        for (let p = a; p < b; p++) dev += ir.data[p] - mu - bu[ir.indices[p]];
        bi[i] = dev / (o.regI + (b - a));
      }
      for (let u = 0; u < t.nUsers; u++) {
        const a = ur.indptr[u], b = ur.indptr[u + 1];
        let dev = 0;
        for (let p = a; p < b; p++) dev += ur.data[p] - mu - bi[ur.indices[p]];
        bu[u] = dev / (o.regU + (b - a));
      }
    }
  } else {
    const epochs = o.nEpochs ?? 20;
    const lr = o.learningRate, reg = o.reg;
    for (let e = 0; e < epochs; e++) {
      signal?.throwIfAborted();
      for (let u = 0; u < t.nUsers; u++) {
        for (let p = ur.indptr[u], pe = ur.indptr[u + 1]; p < pe; p++) {
          const i = ur.indices[p];
          const err = ur.data[p] - (mu + bu[u] + bi[i]);
          bu[u] += lr * (err - reg * bu[u]);
          bi[i] += lr * (err - reg * bi[i]);
        }
      }
    }
  }
  return { bu, bi };
}

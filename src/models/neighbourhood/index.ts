/**
 * The neighbourhood model family, by CLI name. Params use Surprise's option names
 * (k, min_k, sim, user_based, shrinkage, min_support, n_epochs, seed, method, …);
 * unknown names are refused with the list of known ones.
 */
import type { ModelFactory } from '../types.js';
import { BaselineOnly } from './baselineOnly.js';
import { KnnModel } from './knn.js';
import { SlopeOne } from './slopeOne.js';
import { CoClustering } from './coClustering.js';
import { ImplicitKnn } from './implicitKnn.js';
import { NormalPredictor } from './normalPredictor.js';

export const neighbourhoodModels: Record<string, ModelFactory> = {
  baseline: (p) => new BaselineOnly(p),
  'knn-basic': (p) => new KnnModel('basic', p),
  'knn-means': (p) => new KnnModel('means', p),
  'knn-zscore': (p) => new KnnModel('zscore', p),
  'knn-baseline': (p) => new KnnModel('baseline', p),
  'slope-one': (p) => new SlopeOne(p),
  'co-clustering': (p) => new CoClustering(p),
  'item-knn': (p) => new ImplicitKnn('item', p),
  'user-knn': (p) => new ImplicitKnn('user', p),
  random: (p) => new NormalPredictor(p),
};

export { BaselineOnly, KnnModel, SlopeOne, CoClustering, ImplicitKnn, NormalPredictor };
export { computeBaselines, similarityBaselines, DEFAULT_BASELINE_OPTIONS, type Baselines, type BaselineOptions } from './baselines.js';

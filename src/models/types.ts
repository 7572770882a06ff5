/**
 * The model contract. Models work on dense indices (the Interactions' IdMaps); the
 * library/CLI layers translate external ids. Id maps are shared between a dataset and its
 * splits, so a user/item index may exist with no training data: such a user or item is
 * "unknown" to the model, which falls back (global mean, baseline) and says so.
 */
import type { Interactions } from '../data/interactions.js';
import type { RunContext } from '../engine/context.js';

export interface Prediction {
  /** estimated rating (clipped to the training rating range for explicit models) */
  estimate: number;
  /** true when the model fell back because the user/item is unknown or has too few neighbours */
  impossible: boolean;
  /** why it fell back, e.g. 'user unknown', 'not enough neighbours' */
  reason?: string;
}

export interface Recommendations {
  ids: Int32Array;
  scores: Float32Array;
}

/** Options of recommend/recommendBatch: what to rank, and the engine context (engine, backend, signal) to rank on. */
export interface RecommendOptions extends RunContext {
  /** drop items the user interacted with in training (default true) */
  filterSeen?: boolean;
  /** restrict candidates to these item indices */
  items?: ArrayLike<number>;
}

/** What an epoch report adds to the loss, for models that have it (the neural models). */
export interface EpochInfo {
  /** the most epochs this fit runs (early stopping may end it sooner) */
  epochs?: number;
  /** the validation metric of this epoch (higher is better), when fit has a validation set */
  metric?: number;
  /** its name, e.g. 'ndcg@10' */
  metricName?: string;
  /** the epoch whose parameters the model keeps so far */
  bestEpoch?: number;
  seconds?: number;
}

/** Options of fit: a progress callback, a validation set, and the engine context (engine, backend, signal) the heavy kernels run on. */
export interface FitOptions extends RunContext {
  /** called after each epoch/iteration with its loss, where the model has one */
  onEpoch?: (epoch: number, loss: number, info?: EpochInfo) => void;
  /**
   * Held-out interactions of the training users, a subset of the training interactions (e.g.
   * each user's second-last item under leave-last). Models that early-stop (sasrec, neumf) keep
   * them out of their training targets and stop on their ranking of them; other models ignore it.
   */
  validation?: Interactions;
}

export interface Model {
  readonly name: string;
  /** true when predict() returns ratings (RMSE-able); false for implicit/ranking-only models */
  readonly predictsRatings: boolean;
  fit(train: Interactions, opts?: FitOptions): Promise<void>;
  predict(user: number, item: number): Prediction;
  recommend(user: number, k: number, opts?: RecommendOptions): Recommendations;
  similarItems?(item: number, k: number): Recommendations;
  /**
   * Optional batch forms, for models whose scoring is one heavy kernel call (factor models:
   * denseScoreTopK through the engine). Result t must equal recommend(users[t], k, opts).
   */
  recommendBatch?(users: Int32Array, k: number, opts?: RecommendOptions): Promise<Recommendations[]>;
  similarItemsBatch?(items: Int32Array, k: number, ctx?: RunContext): Promise<Recommendations[]>;
  similarUsers?(user: number, k: number): Recommendations;
}

export type ModelParams = Record<string, string | number | boolean>;
export type ModelFactory = (params?: ModelParams) => Model;

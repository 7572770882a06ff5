/**
 * Cold-start, content-based and hybrid models:
 *   popularity   — most interacted items, optionally time-decayed           (Popularity)
 *   content-knn  — TF-IDF item profiles from side info, cosine to the user's profile (ContentKNN)
 *   hybrid       — switching by history length, or min-max-normalized blending of two models (Hybrid)
 *   feature-mf   — LightFM-style factorization over identity + side features (FeatureMF)
 * Side information reaches a model through attachSideInfo(model, {items, users}) or the
 * params items=FILE / users=FILE (see ../attachSideInfo.ts).
 */
import type { ModelFactory } from '../types.js';
import { Popularity } from './popularity.js';
import { ContentKNN } from './contentKnn.js';
import { Hybrid } from './hybrid.js';
import { FeatureMF } from './featureMf.js';

export { Popularity, type PopularityParams } from './popularity.js';
export { ContentKNN, buildItemProfiles, profileScore, weightedMeanProfile, csrRowCosine, type ContentKnnParams, type ItemProfiles } from './contentKnn.js';
export { Hybrid, normalizedScores, resolveModelFactory, type HybridOptions } from './hybrid.js';
export { FeatureMF, type FeatureMfParams } from './featureMf.js';

export const contentModels: Record<string, ModelFactory> = {
  popularity: (params) => new Popularity(params),
  'content-knn': (params) => new ContentKNN(params),
  hybrid: (params) => new Hybrid(params ?? {}),
  'feature-mf': (params) => new FeatureMF(params),
};

/**
 * Every model but the hybrid, by CLI name: the models a Hybrid can be built from. It does not
 * import the hybrid, so hybrid.ts can import it statically (registry.ts adds the hybrid).
 */
import type { ModelFactory } from './types.js';
import { neighbourhoodModels } from './neighbourhood/index.js';
import { factorizationModels } from './factorization/index.js';
import { ContentKNN } from './content/contentKnn.js';
import { FeatureMF } from './content/featureMf.js';
import { Popularity } from './content/popularity.js';
import { EASE } from './ease.js';
import { neuralModels } from './neural/index.js';

export const componentModels: Record<string, ModelFactory> = {
  ...neighbourhoodModels,
  ...factorizationModels,
  popularity: (params) => new Popularity(params),
  'content-knn': (params) => new ContentKNN(params),
  'feature-mf': (params) => new FeatureMF(params),
  ease: (params) => new EASE(params),
  ...neuralModels,
};

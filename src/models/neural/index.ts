/**
 * Neural recommenders on the nn core (src/nn): Mult-VAE (Liang et al. 2018) and the two-tower
 * cold-start DNN. `neuralModels` maps their CLI names to factories taking `--params k=v` maps.
 */
import type { ModelFactory } from '../types.js';
import { MultVAE } from './multVae.js';
import { TwoTower } from './twoTower.js';

export { MultVAE, type MultVaeParams } from './multVae.js';
export { TwoTower, type TwoTowerParams } from './twoTower.js';
export type { CurriculumParams } from './curriculum.js';

export const neuralModels: Record<string, ModelFactory> = {
  multvae: (params) => new MultVAE(params),
  'two-tower': (params) => new TwoTower(params),
};

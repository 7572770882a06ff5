/**
 * Neural recommenders on the nn core (src/nn): SASRec (Kang & McAuley 2018), NeuMF (He et al.
 * 2017), Mult-VAE (Liang et al. 2018) and the two-tower cold-start DNN. `neuralModels` maps their CLI names to factories taking `--params k=v` maps.
 */
import type { ModelFactory } from '../types.js';
import { MultVAE } from './multVae.js';
import { NeuMF } from './neumf.js';
import { SASRec } from './sasrec.js';
import { TwoTower } from './twoTower.js';

export { MultVAE, type MultVaeParams } from './multVae.js';
export { TwoTower, type TwoTowerParams } from './twoTower.js';
export { SASRec, type SasrecOptions, type SasrecLoss, type SequenceCurriculum } from './sasrec.js';
export { NeuMF, type NeumfOptions, type PairCurriculum } from './neumf.js';
export type { CurriculumParams } from './curriculum.js';

export const neuralModels: Record<string, ModelFactory> = {
  sasrec: (params) => new SASRec(params),
  neumf: (params) => new NeuMF(params),
  multvae: (params) => new MultVAE(params),
  'two-tower': (params) => new TwoTower(params),
};

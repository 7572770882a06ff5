/**
 * The models that save and load themselves (their fitted parameters, no refit: sasrec, neumf, ease, multvae, two-tower):
 * their loaders by the kind their file names, and loadSavedModel, which reads any of them or a
 * factorization model. modelFile.ts's loadModel (any kind at all, with ids and training matrix)
 * uses the same table.
 */
import { loadFactorizationModel, readModelFile } from './factorization/index.js';
import { EASE } from './ease.js';
import { MultVAE } from './neural/multVae.js';
import { NeuMF } from './neural/neumf.js';
import { SASRec } from './neural/sasrec.js';
import { TwoTower } from './neural/twoTower.js';
import type { Model } from './types.js';

/** kind → loader of the models whose save() writes their own fitted parameters */
export const selfSavingLoaders: Readonly<Record<string, (path: string) => Model>> = {
  sasrec: (p) => SASRec.load(p),
  neumf: (p) => NeuMF.load(p),
  ease: (p) => EASE.load(p),
  multvae: (p) => MultVAE.load(p),
  'two-tower': (p) => TwoTower.load(p),
};

/** The model saved in `path`, a factorization or self-saving kind; a clear error for an unknown kind or a bad file. */
export function loadSavedModel(path: string): Model {
  const kind = readModelFile(path).kind;
  const load = selfSavingLoaders[kind];
  return load ? load(path) : loadFactorizationModel(path);
}

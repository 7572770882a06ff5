/**
 * Load any saved model (the AFFM file, docs/model-format.md) by the kind written in it: the
 * factorization models' kinds, and 'ease', 'multvae', 'two-tower'.
 */
import type { Model } from './types.js';
import { factorizationModels, loadFactorizationModel, readModelFile } from './factorization/index.js';
import { EASE } from './ease.js';
import { MultVAE } from './neural/multVae.js';
import { TwoTower } from './neural/twoTower.js';

const neuralLoaders: Record<string, (path: string) => Model> = {
  ease: (p) => EASE.load(p),
  multvae: (p) => MultVAE.load(p),
  'two-tower': (p) => TwoTower.load(p),
};

/** The model saved at `path`, whatever its kind (an Error naming the file for an unknown kind or a bad file). */
export function loadSavedModel(path: string): Model {
  const kind = readModelFile(path).kind;
  const load = neuralLoaders[kind];
  return load ? load(path) : loadFactorizationModel(path);
}

/** The kinds loadSavedModel reads: every factorization model's and the neural models'. */
export function savedModelKinds(): string[] {
  return [...Object.keys(factorizationModels), ...Object.keys(neuralLoaders)];
}

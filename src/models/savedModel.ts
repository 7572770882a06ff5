/**
 * Load any saved model (an AFFM file, docs/model-format.md) by the kind its file names: the
 * factorization models' loader, or the neural models' own (sasrec, neumf).
 */
import { loadFactorizationModel, readModelFile } from './factorization/index.js';
import { NeuMF } from './neural/neumf.js';
import { SASRec } from './neural/sasrec.js';
import type { Model } from './types.js';

const neuralLoaders: Record<string, (path: string) => Model> = {
  sasrec: SASRec.load,
  neumf: NeuMF.load,
};

/** The model saved in `path`; a clear error for an unknown kind or a bad file. */
export function loadSavedModel(path: string): Model {
  const kind = readModelFile(path).kind;
  const load = neuralLoaders[kind];
  return load ? load(path) : loadFactorizationModel(path);
}

/**
 * Matrix-factorization models: SVD, SVD++, NMF (Surprise's algorithms), ALS (implicit's),
 * explicit ALS (ALS-WR) and BPR (implicit's). `factorizationModels` maps the CLI/registry
 * names to factories taking `--params k=v` maps (Surprise/implicit spellings accepted, e.g.
 * n_factors or factors, n_epochs or iterations, lr_all or learning_rate, reg_all or
 * regularization, alpha, use_cg, seed).
 */
import type { ModelFactory, ModelParams } from '../types.js';
import { ALS, ExplicitALS } from './als.js';
import { BPR } from './bpr.js';
import { NMF, SVD, SVDpp } from './sgd.js';
import type { FactorizationModel } from './base.js';
import { readModelFile } from './format.js';

export { ALS, ExplicitALS, type AlsOptions, type ExplicitAlsOptions } from './als.js';
export { BPR, type BprOptions } from './bpr.js';
export { SVD, SVDpp, NMF, type SgdOptions, type Curriculum, type SgdOrder } from './sgd.js';
export { FactorizationModel, type FoldInResult, type FoldInOptions, type PartialFitResult } from './base.js';
export { MODEL_MAGIC, MODEL_FORMAT_VERSION, readModelFile, readModelHeader, decodeModelFile } from './format.js';

export const factorizationModels: Record<string, ModelFactory> = {
  svd: (p?: ModelParams) => new SVD(p),
  svdpp: (p?: ModelParams) => new SVDpp(p),
  nmf: (p?: ModelParams) => new NMF(p),
  als: (p?: ModelParams) => new ALS(p),
  'als-explicit': (p?: ModelParams) => new ExplicitALS(p),
  bpr: (p?: ModelParams) => new BPR(p),
};

const loaders: Record<string, (path: string) => FactorizationModel> = {
  svd: SVD.load, svdpp: SVDpp.load, nmf: NMF.load, als: ALS.load, 'als-explicit': ExplicitALS.load, bpr: BPR.load,
};

/** Load any factorization model file, whatever its kind. */
export function loadFactorizationModel(path: string): FactorizationModel {
  const kind = readModelFile(path).kind;
  const load = loaders[kind];
  if (!load) throw new Error(`affinity: cannot load model '${path}': unknown model kind '${kind}' (known: ${Object.keys(loaders).join(', ')})`);
  return load(path);
}

import { defineKernel } from './registry.js';
import {
  allocateDenseScoreTopK, denseScoreTopKFlops, denseScoreTopKReference, validateDenseScoreTopK,
  type DenseScoreTopKArgs,
} from './denseScoreTopK.js';
import type { TopK } from '../data/matrix.js';

export const denseScoreTopKKernel = defineKernel<DenseScoreTopKArgs, TopK>({
  name: 'denseScoreTopK',
  validate: validateDenseScoreTopK,
  rows: (a) => a.queries.rows,
  allocate: allocateDenseScoreTopK,
  reference: denseScoreTopKReference,
  flops: denseScoreTopKFlops,
});

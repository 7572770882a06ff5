import { defineKernel } from './registry.js';
import {
  allocateSparseSimilarityTopK, sparseSimilarityTopKFlops, sparseSimilarityTopKReference, validateSparseSimilarityTopK, withPreparedSimilarity,
  type SparseSimilarityTopKArgs,
} from './sparseSimilarityTopK.js';
import type { TopK } from '../data/matrix.js';

/**
 * Registered as 'sparseSimilarityTopK'. Callers splitting one job into many row blocks should pass
 * args through withPreparedSimilarity() first, so the transpose and weighting are computed once.
 */
export const sparseSimilarityTopKKernel = defineKernel<SparseSimilarityTopKArgs, TopK>({
  name: 'sparseSimilarityTopK',
  validate: validateSparseSimilarityTopK,
  rows: (a) => a.matrix.rows,
  allocate: allocateSparseSimilarityTopK,
  reference: sparseSimilarityTopKReference,
  prepare: withPreparedSimilarity,
  flops: sparseSimilarityTopKFlops,
});

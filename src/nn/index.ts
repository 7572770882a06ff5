/**
 * The neural-network core: layers with explicit forward and backward on the engine's kernels,
 * parameters in one arena, Adam/AdamW with clipping and schedules, and the training loop. Used by
 * the neural models; not a general tensor library.
 */
export { Runtime } from './runtime.js';
export { ParamArena, Param, addDenseGrad, type ParamSpec, type Init, type ArenaLayout, type SparseGrad } from './params.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { SparseLinear, type SparseLinearOptions } from './layers/sparseLinear.js';
export { LayerNorm } from './layers/layerNorm.js';
export { Dropout } from './layers/dropout.js';
export { MultiHeadSelfAttention, type SequenceBatch, type AttentionOptions } from './layers/attention.js';
export { TRANSFORMER_LAYOUTS, TransformerBlock, type TransformerBlockOptions, type TransformerLayout } from './layers/transformer.js';
export { Adam, NonFiniteGradientError, warmupLinearDecay, type AdamOptions, type StepReport } from './optimizer.js';
export { trainLoop, shuffledBatches, TrainingError, type TrainLoopOptions, type TrainResult, type EpochReport } from './train.js';

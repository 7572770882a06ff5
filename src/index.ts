/** affinity — the library entry point. */
// data: matrices, id maps, interactions, readers, splits, synthetic data, side information
export * from './data/index.js';
export { readItemFeatures, readUserFeatures } from './data/sideInfo.js';
// engine and backends
export { Engine, type EngineOptions, type RunOptions, type CallOptions, type RunResult, type RunRecord, type BackendRanker } from './engine/engine.js';
export { getEngine, closeEngine } from './engine/processEngine.js';
export { resolveContext, type RunContext, type Context } from './engine/context.js';
export { machineInfo, type MachineInfo } from './engine/machine.js';
export { registerBackend, unregisterBackend, probeAll, probeBackend, backendNames, type BackendStatus, type RegisterOptions } from './backends/registry.js';
export type { Backend, BackendProbe } from './backends/types.js';
// kernels (the contract and the reference implementations)
export {
  getKernel, kernelNames, kernels, isKernelName,
  type KernelDef, type KernelImpl, type KernelImpls, type KernelSupport, type KernelCallOptions, type KernelName, type KernelArgs, type KernelOutput,
} from './kernels/contract.js';
export { denseScoreTopKReference, type DenseScoreTopKArgs, type DenseMetric } from './kernels/denseScoreTopK.js';
export { sparseSimilarityTopKReference, similarityMatrixDense, SIMILARITY_METRICS, type SparseSimilarityTopKArgs, type SimilarityMetric } from './kernels/sparseSimilarityTopK.js';
export { alsHalfStepReference, gramian, type AlsHalfStepArgs } from './kernels/alsHalfStep.js';
export { TopKHeap } from './kernels/topk.js';
export type { GemmArgs, Transpose } from './kernels/gemm.js';
export type { Activation, BiasActivationArgs, ActivationBackwardArgs, ColumnSumsArgs } from './kernels/nn/activation.js';
export type { LayerNormArgs, LayerNormOut, LayerNormBackwardArgs, LayerNormParamGradArgs, LayerNormParamGradOut } from './kernels/nn/layerNorm.js';
export type { MaskedSoftmaxArgs, SoftmaxBackwardArgs } from './kernels/nn/softmax.js';
export type { SoftmaxCrossEntropyArgs, SigmoidCrossEntropyArgs, LossOut } from './kernels/nn/losses.js';
export { groupByIndex, type EmbeddingGatherArgs, type SegmentSumArgs } from './kernels/nn/embedding.js';
export type { DropoutArgs } from './kernels/nn/dropout.js';
export type { AdamUpdateArgs } from './kernels/nn/adam.js';
export type { SpdSolveArgs } from './kernels/nn/spdSolve.js';
export type { ElementwiseArgs } from './kernels/nn/elementwise.js';
// the neural-network core
export * as nn from './nn/index.js';
// models
export type { Model, ModelFactory, ModelParams, Prediction, Recommendations, RecommendOptions, FitOptions, EpochInfo } from './models/types.js';
export { allModels, modelNames } from './models/registry.js';
export { saveModel, loadModel, type SaveOptions, type LoadedModel } from './models/modelFile.js';
export { Trainset } from './models/trainset.js';
export { attachSideInfo, takesSideInfo, type SideInfoAware, type SideInfoInput } from './models/attachSideInfo.js';
export * from './models/neighbourhood/index.js';
export * from './models/factorization/index.js';
export * from './models/content/index.js';
export { EASE, type EaseParams } from './models/ease.js';
export * from './models/neural/index.js';
export { recommendsForHistory, type History, type HistoryRecommender } from './models/history.js';
export { loadSavedModel } from './models/savedModel.js';
// evaluation, exploration, batch precompute
export * from './eval/index.js';
export { precompute, precomputeToFile, type PrecomputeOptions, type Summary as PrecomputeSummary } from './pipeline/precompute.js';
// the precompute past one machine: a partitioned dataset, its shards (a Kubernetes Indexed Job), the BullMQ queue
export { precomputeDatasetShard, openSavedModel, type DatasetShardJobOptions, type DatasetShardResult, type SavedModel } from './pipeline/datasetShard.js';
export { verifyDataset, readManifest, DatasetInputError, type DatasetManifest, type DatasetSpec, type PartReceipt, type PartFile, type DatasetCheck } from './pipeline/dataset.js';
export { parseRedisUrl, type RedisTarget, type RedisEnv } from './pipeline/redisUrl.js';
export { enqueuePrecompute, runShardWorker, type EnqueueOptions, type EnqueueResult, type QueueProgress, type ShardWorkerOptions } from './pipeline/queue.js';
export * from './explore/index.js';

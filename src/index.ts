/** affinity — the library entry point. */
export * from './data/matrix.js';
export { IdMap, type ExternalId } from './data/idMap.js';
export * from './data/interactions.js';
export { getEngine, closeEngine, Engine, type RunOptions, type RunResult, type BackendRanker } from './engine/engine.js';
export { machineInfo, type MachineInfo } from './engine/machine.js';
export { registerBackend, unregisterBackend, probeAll, probeBackend, backendNames, type BackendStatus } from './backends/registry.js';
export type { Backend, BackendProbe, KernelImpl, KernelCallOptions } from './backends/types.js';
export { getKernel, kernelNames, defineKernel, type KernelDef } from './kernels/index.js';
export { denseScoreTopKReference, type DenseScoreTopKArgs, type DenseMetric } from './kernels/denseScoreTopK.js';
export { TopKHeap } from './kernels/topk.js';
export type { Model, ModelFactory, ModelParams, Prediction, Recommendations, RecommendOptions, FitOptions } from './models/types.js';

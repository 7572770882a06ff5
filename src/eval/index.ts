export * from './metrics.js';
export { evaluate, parseProtocol, scoreFold, type EvaluateOptions, type EvaluateResult, type FoldResult, type Protocol } from './evaluate.js';

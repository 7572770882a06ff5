export * from './metrics.js';
export {
  evaluate, parseProtocol, formatProtocol, makeSplits, parseMetrics, checkModel, scoreFold, scoreLists, modelLists, meanStd, usersWithoutTest, isSeeded,
  type EvaluateOptions, type EvaluateResult, type FoldResult, type Protocol, type SeededSplit, type SplitInfo, type ColdStartSummaryRow,
  type ListSource, type ScoreContext, type ScoreResult, type GivenPair,
} from './evaluate.js';
export { readGivenSplits, type GivenSplits } from './givenSplits.js';
export { sampleNegatives, sampledLists, sampledKey, type SampledNegatives } from './sampledNegatives.js';
export { heldoutUsersSplit, type HeldoutUsers, type HeldoutUsersOptions } from './heldoutUsers.js';

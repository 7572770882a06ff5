/** The data layer: matrices, id maps, interaction tables, readers/writers, splits, synthetic data, seeded randomness. */
export * from './matrix.js';
export { buildCsr, transposeCsr } from './csrBuild.js';
export * from './idMap.js';
export * from './interactions.js';
export * from './readers.js';
export { writeInteractionsParquet } from './parquet.js';
export { writeInteractionsArrow } from './arrow.js';
export * from './splits.js';
export { leaveLastSplit, type LeaveLastSplit } from './leaveLast.js';
export * from './synthetic.js';
export * from './random.js';
export { splitRecord, csvField, float32Text } from './csvLine.js';

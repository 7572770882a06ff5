export { runBench, suiteCases, type Suite, type RunBenchOptions } from './suites.js';
export { markdownTable, summarize, type BenchRecord } from './harness.js';

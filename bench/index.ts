export { runBench, suiteCases, allCases, customCases, type Suite, type RunBenchOptions, type BenchCase } from './suites.js';
export { markdownTable, summarize, measure, timeRepeated, formatThroughput, type BenchRecord } from './harness.js';
export { ANCHORS, annotate, anchorsMarkdown, type Anchor } from './anchors.js';
export { barChart, lineChart } from './svg.js';
export { compareRecords, compareMarkdown, loadResults, parseResults, geometricMeanRatio, inputOf, machineDifferences, type CompareRow, type ResultFile } from './compare.js';
export { writeReport, reportMarkdown, type BenchResult } from './report.js';
export { updateReadme, replaceSection, readmeSection } from './readme.js';

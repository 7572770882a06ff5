#!/usr/bin/env node
/** `node dist/bench/updateReadme.js bench/results/quick.json [README.md]`: rewrite the README's bench section. */
import path from 'node:path';
import { loadResults } from './compare.js';
import { repoRoot } from './data.js';
import { updateReadme } from './readme.js';
import type { BenchResult } from './report.js';

const [file, readme = path.join(repoRoot(), 'README.md')] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/updateReadme.js RESULTS.json [README.md]\n');
  process.exit(2);
}
const r = loadResults(file) as unknown as BenchResult;
if (!r.date || !r.machine) {
  process.stderr.write(`${file} has no date/machine: pass a file written by \`affinity bench --out\`\n`);
  process.exit(2);
}
updateReadme(readme, { ...r, suite: r.suite ?? path.basename(file, '.json') });
console.log(`updated ${readme} from ${file}`);

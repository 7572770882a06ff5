#!/usr/bin/env node
// Runs the uvu suites over the compiled tests and ends with one line `N passed, N failed, N skipped`.
//   node scripts/run-tests.mjs              unit tests (dist/test/*.test.js except accuracy.*)
//   node scripts/run-tests.mjs --accuracy   the accuracy suite against ../shared/data (accuracy.*.test.js)
// Exit status is non-zero on any failure, or when the runner crashed before printing its totals.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const accuracy = process.argv.includes('--accuracy');
const testDir = path.join(root, 'dist', 'test');
if (!existsSync(testDir)) {
  console.error(`affinity: ${testDir} is missing; run \`npm run build:ts\` first`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
const args = accuracy
  ? [uvu, 'dist/test', '^accuracy\\..*\\.test\\.js$']
  : [uvu, 'dist/test', '\\.test\\.js$', '-i', '^accuracy\\.'];

const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (b) => {
  process.stdout.write(b);
  out += b.toString();
});
child.on('close', (code) => {
  // uvu's own totals: "Total: N", "Passed: N", "Skipped: N" (with ANSI colours)
  // eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => {
    const m = new RegExp(`${label}:\\s+(\\d+)`).exec(plain);
    return m ? Number(m[1]) : null;
  };
  const total = num('Total'), passed = num('Passed'), skipped = num('Skipped') ?? 0;
  if (total === null || passed === null) {
    console.log(`0 passed, 1 failed`);
    console.error(`affinity: the test runner exited with code ${code} before printing its totals`);
    process.exit(1);
  }
  const failed = total - passed - skipped;
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 || code !== 0 ? 1 : 0);
});

#!/usr/bin/env node
// Runs the uvu suites over the compiled tests and ends with one line `N passed, N failed, N skipped`.
//   node scripts/run-tests.mjs              unit tests (dist/test/*.test.js except accuracy.*)
//   node scripts/run-tests.mjs --accuracy   the accuracy suite against ../shared/data (accuracy.*.test.js)
//   node scripts/run-tests.mjs --dir DIR    the suites in DIR instead of dist/test
// Exit status is non-zero on any failure, or when the runner crashed before printing its totals.
//
// Skips: a test that cannot run here is skipped with test/helpers/skip.ts, which prints
// `SKIP <name>: <reason>` and registers the test as skipped, so uvu counts it as skipped, not
// passed. This runner counts the SKIP lines too, and fails the run when they do not match uvu's
// skipped count: a SKIP line printed by a test that then passes would otherwise pass unnoticed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const accuracy = process.argv.includes('--accuracy');
// --dir DIR: run the suites of another folder (test/runner.test.ts checks the totals this way)
const dirArg = process.argv.indexOf('--dir');
const testDir = dirArg > 0 ? path.resolve(process.argv[dirArg + 1]) : path.join(root, 'dist', 'test');
if (!existsSync(testDir)) {
  console.error(`affinity: ${testDir} is missing; run \`npm run build:ts\` first`);
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
const args = accuracy
  ? [uvu, testDir, '^accuracy\\..*\\.test\\.js$']
  : [uvu, testDir, '\\.test\\.js$', '-i', '^accuracy\\.'];

const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (b) => {
  process.stdout.write(b);
  out += b.toString();
});
child.on('close', (code) => {
  // uvu's own totals: "Total: N" (tests that ran), "Passed: N", "Skipped: N" (with ANSI colours)
  // eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => {
    const m = new RegExp(`${label}:\\s+(\\d+)`).exec(plain);
    return m ? Number(m[1]) : null;
  };
  const total = num('Total'), passed = num('Passed'), skipped = num('Skipped') ?? 0;
  if (total === null || passed === null) {
    console.log('0 passed, 1 failed, 0 skipped');
    console.error(`affinity: the test runner exited with code ${code} before printing its totals`);
    process.exit(1);
  }
  // uvu's Total counts the tests that ran: skipped ones are not in it
  const failed = total - passed;
  const skipLines = plain.split('\n').filter((l) => /(?:^|[\s•])SKIP [^:\n]+:/.test(l));
  const mismatch = skipLines.length !== skipped;
  if (mismatch) {
    console.error(`affinity: ${skipLines.length} SKIP line(s) printed but uvu counted ${skipped} skipped test(s); ` +
      'skip with skip()/testOrSkip() from test/helpers/skip.ts, which does both. The SKIP lines:\n' + skipLines.map((l) => `  ${l.trim()}`).join('\n'));
  }
  console.log(`${passed} passed, ${failed + (mismatch ? 1 : 0)} failed, ${skipped} skipped`);
  process.exit(failed > 0 || mismatch || code !== 0 ? 1 : 0);
});

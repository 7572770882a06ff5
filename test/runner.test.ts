/**
 * scripts/run-tests.mjs counts skipped tests as skipped: a test skipped with helpers/skip.ts is
 * counted in "N skipped" (not passed), and a SKIP line printed by a test that then passes fails
 * the run. Runs the runner on small generated suites in a temporary folder.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// compiled to dist/test/: the repo root is two levels up
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const uvuUrl = pathToFileURL(path.join(root, 'node_modules', 'uvu', 'dist', 'index.mjs')).href;
const assertUrl = pathToFileURL(path.join(root, 'node_modules', 'uvu', 'assert', 'index.mjs')).href;
const skipUrl = pathToFileURL(path.join(here, 'helpers', 'skip.js')).href;

function runSuites(files: Record<string, string>): { status: number | null; last: string; stderr: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'affinity-runner-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'run-tests.mjs'), '--dir', dir], { cwd: root, encoding: 'utf8' });
    const lines = r.stdout.trim().split('\n');
    return { status: r.status, last: lines[lines.length - 1], stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const header = `import { test } from '${uvuUrl}';\nimport * as assert from '${assertUrl}';\nimport { skip, testOrSkip } from '${skipUrl}';\n`;

test('skip() and testOrSkip() are counted as skipped, not passed', () => {
  const r = runSuites({
    'a.test.js': `${header}
test('runs', () => { assert.is(1, 1); });
skip(test, 'needs a GPU', 'no device here');
const withData = testOrSkip(test, 'data absent');
withData('one', () => {});
withData('two', () => {});
testOrSkip(test, null)('present', () => { assert.ok(true); });
test.run();
`,
  });
  assert.is(r.last, '2 passed, 0 failed, 3 skipped', r.stderr);
  assert.is(r.status, 0);
});

test('a SKIP line from a test that passes anyway fails the run, naming the line', () => {
  const r = runSuites({
    'b.test.js': `${header}
test('quietly does nothing', () => { console.log('SKIP thing: not here'); });
test.run();
`,
  });
  assert.is(r.last, '1 passed, 1 failed, 0 skipped');
  assert.is(r.status, 1);
  assert.match(r.stderr, /1 SKIP line\(s\) printed but uvu counted 0 skipped/);
  assert.match(r.stderr, /SKIP thing: not here/);
});

test('failures are counted apart from skips', () => {
  const r = runSuites({
    'c.test.js': `${header}
test('fails', () => { assert.is(1, 2); });
skip(test, 'later', 'why');
test.run();
`,
  });
  assert.is(r.last, '0 passed, 1 failed, 1 skipped');
  assert.is(r.status, 1);
});

test.run();

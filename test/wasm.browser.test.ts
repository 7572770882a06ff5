/**
 * Runs the browser smoke test (test/browser/smoke.mjs: the wasm core in headless Chromium, checked against the
 * reference kernels on denseScoreTopK, sparseSimilarityTopK and alsHalfStep) as part of the suite. Where Chromium
 * or the build outputs are missing, the script prints `SKIP browser: <reason>` and this test passes, printing it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// compiled to dist/test/: the repo root is two levels up
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('wasm core in headless Chromium matches the reference (or skips with the reason)', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'test', 'browser', 'smoke.mjs')], { cwd: root, encoding: 'utf8', timeout: 150_000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const skip = /^SKIP browser: .*/m.exec(text);
  if (skip) {
    console.log(skip[0]);
    assert.is(r.status, 0);
    return;
  }
  assert.is(r.status, 0, `smoke.mjs exited ${r.status}:\n${text}`);
  assert.match(text, /^browser: PASS/m);
  assert.match(text, /sparseSimilarityTopK pearson k=6: ok/);
  assert.match(text, /alsHalfStep implicit cholesky f=8: .* ok/);
  assert.match(text, /gemm 2×\(21×300·\(19×300\)ᵀ\) α=0.5 β=2: ok/);
});

test.run();

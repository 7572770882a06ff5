/**
 * Library misuse must be an error or a harmless no-op, never a crash: a caller that overwrites the
 * index arrays of a native call (CSR indptr/indices, example ids, visiting order) with
 * out-of-range values while the call runs. The addon validates those arrays on the JS thread and
 * then runs the kernel on a pool thread; it copies them first (native/addon/kernel_args.h,
 * own_indices), so the kernel reads what was validated and the call's output is exactly an
 * undisturbed call's.
 *
 * Likewise arrays on ordinary ArrayBuffers transferred away (and their memory freed) mid-call: the
 * backend hands the addon copies on shared memory (src/backends/native/pinnedCalls.ts), and the
 * call rejects naming the output it could not deliver.
 *
 * Each kernel runs in a child (test/helpers/mutateDuringNativeCall.ts): an addon that read the
 * caller's arrays in place died there of SIGSEGV. Without a built addon: `SKIP native mutation`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skip } from './helpers/skip.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeBackend } from '../src/backends/native/index.js';
import { PINNED_KERNELS } from '../src/backends/native/pinnedCalls.js';

const probe = await nativeBackend.probe();
const child = fileURLToPath(new URL('./helpers/mutateDuringNativeCall.js', import.meta.url));

test('every kernel of the native backend is called through pinnedCalls (so its arrays cannot be taken away mid-call)', () => {
  const missing = Object.keys(nativeBackend.kernels).filter((k) => !PINNED_KERNELS.includes(k));
  assert.equal(missing, [], `kernels without a list of written arrays in pinnedCalls.ts: ${missing.join(', ')}`);
});

if (!probe.available) {
  skip(test, 'native mutation', probe.reason);
} else {
  for (const kernel of ['dense', 'sparse', 'sparse-blocked', 'als', 'sgd', 'bpr']) {
    test(`native ${kernel}: index arrays overwritten with out-of-range values mid-call — no crash, the output of an undisturbed call`, () => {
      const r = spawnSync(process.execPath, [child, kernel], { encoding: 'utf8', timeout: 120_000 });
      assert.is(r.signal, null, `${kernel}: the child died of ${r.signal} (stderr: ${r.stderr.slice(-400)})`);
      assert.is(r.status, 0, `${kernel}: exit ${r.status} (stderr: ${r.stderr.slice(-400)})`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { midRun: boolean; same: boolean; error?: string; attempts: number };
      assert.ok(res.midRun, `${kernel}: the call never was seen part-way (in ${res.attempts} attempts of growing size), so nothing was overwritten while it ran`);
      assert.is(res.error, undefined, `${kernel}: the call rejected`);
      assert.ok(res.same, `${kernel}: the output differs from an undisturbed call's`);
    });
  }
  for (const kernel of ['detach-dense', 'detach-sgd', 'detach-spdsolve']) {
    test(`native ${kernel.slice(7)}: its arrays (ordinary ArrayBuffers) transferred away and collected mid-call — no crash, a rejection naming the lost output`, () => {
      const r = spawnSync(process.execPath, ['--expose-gc', child, kernel], { encoding: 'utf8', timeout: 120_000 });
      assert.is(r.signal, null, `${kernel}: the child died of ${r.signal} (stderr: ${r.stderr.slice(-400)})`);
      assert.is(r.status, 0, `${kernel}: exit ${r.status} (stderr: ${r.stderr.slice(-400)})`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { midRun: boolean; error?: string };
      assert.ok(res.midRun, `${kernel}: the call had ended before its arrays were taken away`);
      assert.match(res.error ?? '', /(outIds|bu|out) was detached or resized while the call ran/);
    });
  }
}

test.run();

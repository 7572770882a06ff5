/**
 * Small native calls run on the calling thread (the addon's `inline` option, chosen by the native
 * backend by the call's flops: NATIVE_INLINE_FLOPS). The same kernel code runs either way, so an
 * inline call must give the queued call's output bit for bit; it settles before the call returns;
 * a kernel error rejects the same way; the option is validated like every other.
 *
 * Without a built addon the file prints `SKIP native inline: <reason>` and runs one test on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNativeAddon, nativeBackend, runsInline, NATIVE_INLINE_FLOPS, type NativeAddon } from '../src/backends/native/index.js';
import { denseFrom, sharedFloat32 } from '../src/data/matrix.js';
import { gridDense, gridValues } from './helpers/nnCheck.js';
import { skip } from './helpers/skip.js';

const probe = await nativeBackend.probe();
const loaded = loadNativeAddon();
const addon = ('addon' in loaded ? loaded.addon : null) as NativeAddon | null;

if (!probe.available || !addon) {
  skip(test, 'native inline', probe.reason);
  test('native inline: the skip reason says what is missing', () => { assert.ok(probe.reason.length > 0); });
} else {
  const call = addon as unknown as Record<string, (o: Record<string, unknown>) => Promise<void>>;

  /** The options object with fresh outputs (the named arrays zeroed copies), run queued and inline. */
  async function bothWays(kernel: string, options: Record<string, unknown>, written: string[]): Promise<void> {
    const run = async (inline: boolean) => {
      const o: Record<string, unknown> = { ...options, threads: 1 };
      for (const w of written) o[w] = (options[w] as Float32Array).slice();
      if (inline) o.inline = true;
      await call[kernel](o);
      return written.map((w) => o[w] as Float32Array);
    };
    const queued = await run(false), inline = await run(true);
    for (let i = 0; i < written.length; i++) {
      assert.equal(Array.from(inline[i]), Array.from(queued[i]), `${kernel}.${written[i]}: inline differs from queued`);
    }
  }

  test('native inline: gemm, biasActivation, layerNorm, softmaxCrossEntropy and adamUpdate give the queued call\'s bits', async () => {
    const a = gridDense(7, 5, 1), b = gridDense(5, 6, 2);
    await bothWays('gemm', {
      transA: 'N', transB: 'N', m: 7, n: 6, k: 5, batch: 1, alpha: 1, beta: 0,
      a: a.data, lda: 5, strideA: 35, b: b.data, ldb: 6, strideB: 30, c: sharedFloat32(42), ldc: 6, strideC: 42, rowStart: 0, rowEnd: 7,
    }, ['c']);
    const x = gridDense(9, 16, 3, -3, 3);
    await bothWays('biasActivation', { rows: 9, cols: 16, x: x.data, bias: gridValues(16, 4), activation: 'gelu', out: sharedFloat32(144) }, ['out']);
    await bothWays('layerNorm', {
      rows: 9, cols: 16, x: x.data, gamma: gridValues(16, 5, 0.5, 1.5), beta: gridValues(16, 6),
      y: sharedFloat32(144), mean: sharedFloat32(9), rstd: sharedFloat32(9),
    }, ['y', 'mean', 'rstd']);
    await bothWays('softmaxCrossEntropy', {
      rows: 9, cols: 16, logits: x.data, targets: Int32Array.of(0, 3, -1, 15, 7, 7, 2, 9, 1), gradScale: 0.25,
      loss: sharedFloat32(9), grad: sharedFloat32(144),
    }, ['loss', 'grad']);
    await bothWays('adamUpdate', {
      dim: 4, params: gridValues(40, 1), grads: gridValues(12, 2), m: gridValues(40, 3, -0.01, 0.01), v: gridValues(40, 4, 0, 0.01),
      rowIds: Int32Array.of(7, 2, 5), step: 3, lr: 0.01,
    }, ['params', 'm', 'v']);
  });

  test('native inline: the output is written before the call returns (no worker hand-off)', () => {
    const out = sharedFloat32(6);
    const pending = call.elementwise({ op: 'axpby', x: Float32Array.of(1, 2, 3, 4, 5, 6), y: Float32Array.of(1, 1, 1, 1, 1, 1), alpha: 2, beta: 3, out, inline: true });
    assert.equal(Array.from(out), [5, 7, 9, 11, 13, 15]);
    return pending;
  });

  test('native inline: a kernel error rejects as a queued call\'s does (spdSolve pivot)', async () => {
    for (const inline of [false, true]) {
      let err: unknown = null;
      try {
        await call.spdSolve({ n: 2, a: Float32Array.of(1, 0, 2, 1), out: sharedFloat32(4), ...(inline ? { inline } : {}) });
      } catch (e) { err = e; }
      assert.ok(err instanceof Error, `inline ${inline}: expected an error, got ${String(err)}`);
      assert.match((err as Error).message, /^spdSolve: the matrix is not positive definite \(pivot 1 is -3\)$/);
    }
  });

  test('native inline: `inline` must be a boolean', () => {
    assert.throws(
      () => call.elementwise({ op: 'axpby', x: Float32Array.of(1), y: Float32Array.of(2), out: sharedFloat32(1), inline: 1 }),
      (e: unknown) => e instanceof TypeError && /^elementwise: inline must be a boolean$/.test(e.message),
    );
  });

  test('native inline: the backend runs a call inline by its flops over the rows asked for', () => {
    const small = { m: 8, n: 8, k: 8, a: sharedFloat32(64), b: sharedFloat32(64) };
    const big = { m: 512, n: 512, k: 512, a: sharedFloat32(512 * 512), b: sharedFloat32(512 * 512) };
    assert.ok(runsInline('gemm', small, 0, 8), 'an 8×8×8 gemm (1,024 flops) runs inline');
    assert.not.ok(runsInline('gemm', big, 0, 512), 'a 512³ gemm does not');
    // one row of the big product is 2·512·512 = 524,288 flops: below the threshold
    assert.ok(2 * 512 * 512 < NATIVE_INLINE_FLOPS && runsInline('gemm', big, 0, 1), 'one row of it does');
    const x = denseFrom(4000, 64);
    assert.not.ok(runsInline('layerNorm', { x, gamma: sharedFloat32(64), beta: sharedFloat32(64) }, 0, 4000), 'a 4000×64 layer norm (2·10⁶ flops) is queued');
  });
}

test.run();

/**
 * The CUDA backend's gemm and neural-network kernels beyond the conformance tests
 * (kernels.nn.conformance.test.ts and kernels.gemm.test.ts run them against the references on a
 * GPU): the module binds them with the native addon's options objects and refuses every bad call
 * on the JS thread with the native addon's errors (wherever affinity_cuda.node loads, device or
 * not); the backend lists them, says in its probe what each covers, and declines (supports) the
 * calls its module cannot run (gemm without cuBLAS, spdSolve without cuSOLVER or beyond
 * limits.maxSpdSolveN), so the engine runs those elsewhere. On a GPU: a row range writes only its
 * rows, and spdSolve names the pivot of a matrix that is not positive definite as the native
 * backend does.
 *
 * Without the module the file prints `SKIP cuda nn: <reason>`; without a device, the GPU tests
 * print `SKIP cuda nn on the GPU: <reason>`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skip } from './helpers/skip.js';
import {
  cudaBackend, cudaGemmUnsupported, cudaSpdSolveUnsupported, loadCudaAddon, type CudaAddon, type CudaLimits,
} from '../src/backends/native/cuda.js';
import { NN_KERNELS } from '../src/backends/native/nnCalls.js';
import { denseFrom, type Dense } from '../src/data/matrix.js';
import { Engine } from '../src/engine/engine.js';
import { expectBadNnCallsRefused, thrown } from './helpers/nnBadCalls.js';
import { gridDense, gridValues, runReference } from './helpers/nnCheck.js';

const probe = await cudaBackend.probe();
const loaded = loadCudaAddon();
const addon = ('addon' in loaded ? loaded.addon : null) as CudaAddon | null;

const limitsOf = (over: Partial<CudaLimits>): CudaLimits => ({
  maxIndex: 2 ** 31 - 1, maxAlsFactors: 1024, alsSolvers: ['cg'], similarityMetrics: ['dot'], minComputeCapability: 80, ...over,
});

test('cuda backend: gemm and spdSolve are declined where the module lacks cuBLAS/cuSOLVER, and spdSolve beyond maxSpdSolveN', () => {
  assert.match(cudaGemmUnsupported(limitsOf({ gemm: false }))!, /built without cuBLAS/);
  assert.match(cudaGemmUnsupported(limitsOf({}))!, /built without cuBLAS/, 'a module that predates gemm');
  assert.is(cudaGemmUnsupported(limitsOf({ gemm: true })), null);
  const a = (n: number) => ({ a: { rows: n, cols: n, data: new Float32Array(0) } });
  assert.match(cudaSpdSolveUnsupported(limitsOf({ spdSolve: false, maxSpdSolveN: 100 }), a(3))!, /built without cuSOLVER/);
  assert.match(cudaSpdSolveUnsupported(limitsOf({ spdSolve: true, maxSpdSolveN: 100 }), a(101))!, /n = 101 exceeds the CUDA kernel's 100/);
  assert.is(cudaSpdSolveUnsupported(limitsOf({ spdSolve: true, maxSpdSolveN: 100 }), a(100)), null);
});

if (!addon) {
  skip(test, 'cuda nn', probe.reason);
  test('cuda nn: the skip reason says what is missing', () => { assert.ok(probe.reason.length > 0); });
} else {
  const mod = addon;
  const call = addon as unknown as Record<string, (o: unknown) => Promise<void>>;

  test('cuda nn: the module binds gemm and every neural-network kernel, and the backend lists them with their limits', () => {
    assert.type(mod.limits.gemm, 'boolean');
    assert.type(mod.limits.spdSolve, 'boolean');
    assert.ok(Number.isInteger(mod.limits.maxSpdSolveN) && mod.limits.maxSpdSolveN! > 0, `maxSpdSolveN ${mod.limits.maxSpdSolveN}`);
    // gemm and spdSolve are listed only where the module was built with cuBLAS / cuSOLVER; the probe says why not
    const built: Record<string, boolean> = { gemm: mod.limits.gemm!, spdSolve: mod.limits.spdSolve! };
    const notBuilt = (probe.details?.notBuilt ?? {}) as Record<string, string>;
    for (const k of [...NN_KERNELS, 'gemm'] as const) {
      assert.type(call[k], 'function', `affinity_cuda.node ${k}`);
      if (built[k] === false) {
        assert.is(cudaBackend.kernels[k], undefined, `cudaBackend.kernels.${k} listed without its library`);
        assert.match(notBuilt[k], /built without cu(BLAS|SOLVER)/);
      } else {
        assert.type(cudaBackend.kernels[k], 'function', `cudaBackend.kernels.${k}`);
      }
    }
    const words = probe.details?.kernelLimits as Record<string, string>;
    if (mod.limits.gemm) assert.match(words.gemm, /cuBLAS sgemm/);
    if (mod.limits.spdSolve) assert.match(words.spdSolve, /cuSOLVER/);
  });

  test('cuda nn: bad buffers, shapes, scalars and indices are refused before the worker runs, with the native addon\'s errors', () => {
    expectBadNnCallsRefused(call);
  });

  test('cuda gemm: bad options are refused before the worker runs', () => {
    const f = (n: number) => new Float32Array(n);
    const good = { m: 2, n: 3, k: 4, a: f(8), lda: 4, b: f(12), ldb: 3, c: f(6), ldc: 3, rowStart: 0, rowEnd: 2 };
    const cases: Array<[Record<string, unknown>, 'TypeError' | 'RangeError', RegExp]> = [
      [{ a: f(7) }, 'RangeError', /^gemm: a has length 7, needs/],
      [{ c: new Float64Array(6) }, 'TypeError', /c must be a Float32Array/],
      [{ transA: 'X' }, 'RangeError', /transA must be 'N' or 'T', got 'X'/],
      [{ rowEnd: 3 }, 'RangeError', /row/],
      [{ threads: 0 }, 'RangeError', /threads must be in \[1, /],
      [{ batch: 2, strideA: 8, strideB: 0 }, 'TypeError', /strideC is required when batch > 1/],
    ];
    for (const [over, type, message] of cases) {
      const e = thrown(() => call.gemm({ ...good, ...over }));
      assert.is(e.constructor.name, type, `${message}: ${e.constructor.name}: ${e.message}`);
      assert.match(e.message, message);
    }
  });

  test('cuda nn: the engine declines what the module cannot run and runs it on another backend', async () => {
    const e = new Engine(1);
    const a: Dense = { rows: 3, cols: 3, data: Float32Array.of(4, 0, 0, 1, 3, 0, 0, 1, 2) };
    const r = await e.runDetailed('spdSolve', { a });
    if (!probe.available || !mod.limits.spdSolve) assert.is.not(r.backend, 'cuda', `spdSolve ran on ${r.backend}`);
    const want = runReference('spdSolve', { a });
    for (let i = 0; i < 9; i++) assert.ok(Math.abs(r.out.data[i] - want.data[i]) <= 1e-5, `spdSolve on ${r.backend}: [${i}]`);
    await e.close();
  });

  if (!probe.available) {
    skip(test, 'cuda nn on the GPU', probe.reason);
  } else {
    test('cuda nn: a row range writes only its rows', async () => {
      const x = gridDense(9, 7, 3, -2, 2);
      const args = { x, bias: gridValues(7, 4), activation: 'gelu' as const };
      const out: Dense = { rows: 9, cols: 7, data: new Float32Array(63).fill(-123) };
      await cudaBackend.kernels.biasActivation!(args, out, 3, 6);
      const want = runReference('biasActivation', args);
      for (let i = 0; i < 63; i++) {
        const inside = i >= 21 && i < 42;
        if (inside) assert.ok(Math.abs(out.data[i] - want.data[i]) <= 1e-5 * (1 + Math.abs(want.data[i])), `element ${i}`);
        else assert.is(out.data[i], -123, `element ${i} outside rows [3, 6) was written`);
      }
    });

    if (mod.limits.spdSolve) {
      test('cuda nn: spdSolve of a matrix that is not positive definite rejects with a RangeError naming the pivot', async () => {
        const a: Dense = { rows: 2, cols: 2, data: Float32Array.of(1, 0, 2, 1) };
        let err: unknown = null;
        try {
          await cudaBackend.kernels.spdSolve!({ a }, denseFrom(2, 2), 0, 2);
        } catch (e) { err = e; }
        assert.ok(err instanceof RangeError, `expected a RangeError, got ${String(err)}`);
        assert.match((err as Error).message, /^spdSolve: the matrix is not positive definite \(pivot 1 is -3\)$/);
      });
    } else {
      skip(test, 'cuda spdSolve on the GPU', 'this affinity_cuda.node was built without cuSOLVER');
    }
  }
}

test.run();

/**
 * The `wasm` backend through the engine and its Piscina pool: the splittable kernels (denseScoreTopK,
 * sparseSimilarityTopK, alsHalfStep) cut into row-range tasks, each run by a pool worker's own wasm instance
 * (copy-in/copy-out of its rows), stitched into one shared output, must give the reference's result:
 *   sparseSimilarityTopK — equal ids and scores; denseScoreTopK — scores within 1e-4 relative, ids equal except
 *   at near-ties (exact score within 1e-4 of the reference's); alsHalfStep — within 1e-3 of each row's largest factor.
 * That the work ran in the workers (not on this thread) is checked with this thread's instance: its copy counters
 * do not move during the pooled calls. Skipped, with the reason printed, when the wasm build is missing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import type { KernelArgs, KernelName, KernelOutput } from '../src/kernels/contract.js';
import { loadAffinityWasm } from '../src/backends/wasm/index.js';
import { csrFromTriplets, denseFrom, type Csr, type Dense } from '../src/data/matrix.js';
import { allocateDenseScoreTopK, denseScoreTopKReference, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import {
  allocateSparseSimilarityTopK, sparseSimilarityTopKReference, withPreparedSimilarity, type SparseSimilarityTopKArgs,
} from '../src/kernels/sparseSimilarityTopK.js';
import { allocateAlsHalfStep, alsHalfStepReference, gramian, type AlsHalfStepArgs } from '../src/kernels/alsHalfStep.js';
import { randomDense, mulberry32 } from './helpers/random.js';
import { skip } from './helpers/skip.js';

const wasm = loadAffinityWasm();

function randomCsr(rows: number, cols: number, density: number, seed: number): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (rnd() < 0.05) continue; // some empty rows
    for (let j = 0; j < cols; j++) if (rnd() < density) { r.push(i); c.push(j); v.push(1 + Math.floor(rnd() * 5)); }
  }
  return csrFromTriplets(rows, cols, r, c, v);
}

if (wasm instanceof Error) {
  skip(test, 'wasm engine', wasm.message);
  test('wasm engine: skipped with a reason', () => { assert.ok(wasm.message.length > 0); });
} else {
  const engine = new Engine(2);
  const local = wasm;
  /** Runs `kernel` pinned to wasm through the pool; asserts it ran there, not on this thread. */
  async function pooled<K extends KernelName>(kernel: K, args: KernelArgs<K>): Promise<KernelOutput<K>> {
    const before = local.stats();
    const r = await engine.runDetailed(kernel, args, { backend: 'wasm' });
    assert.is(r.backend, 'wasm');
    assert.equal(r.failures, []);
    assert.equal(local.stats(), before, `${kernel}: ran in pool workers, not on the calling thread`);
    return r.out;
  }

  test.after(async () => { await engine.close(); });

  test('denseScoreTopK through the pool (dot and cosine, exclusions, excludeSelf) matches the reference', async () => {
    const keys = randomDense(1500, 48, 1);
    const exclude = randomCsr(1500, 1500, 0.01, 2);
    for (const metric of ['dot', 'cosine'] as const) {
      const a: DenseScoreTopKArgs = { queries: keys, keys, k: 25, metric, excludeSelf: true, exclude };
      const got = await pooled('denseScoreTopK', a);
      const ref = allocateDenseScoreTopK(a);
      denseScoreTopKReference(a, ref, 0, 1500);
      for (let i = 0; i < ref.ids.length; i++) {
        const rs = ref.scores[i];
        assert.ok(Math.abs(got.scores[i] - rs) <= 1e-4 * Math.max(1, Math.abs(rs)), `${metric} slot ${i}: ${got.scores[i]} vs ${rs}`);
        if (got.ids[i] === ref.ids[i]) continue;
        const r = Math.floor(i / 25), j = got.ids[i];
        let s = 0, nq = 0, nk = 0;
        for (let f = 0; f < 48; f++) { const x = keys.data[r * 48 + f], y = keys.data[j * 48 + f]; s += x * y; nq += x * x; nk += y * y; }
        if (metric === 'cosine') s /= Math.sqrt(nq) * Math.sqrt(nk);
        assert.ok(Math.abs(s - rs) <= 1e-4 * Math.max(1, Math.abs(rs)), `${metric} slot ${i}: id ${j} is not a near-tie of ${ref.ids[i]}`);
      }
    }
  });

  test('sparseSimilarityTopK through the pool (cosine, pearson, jaccard; prepared once) equals the reference', async () => {
    const m = randomCsr(2000, 1000, 0.03, 3);
    for (const metric of ['cosine', 'pearson', 'jaccard'] as const) {
      const a: SparseSimilarityTopKArgs = withPreparedSimilarity({ matrix: m, metric, k: 20 });
      const got = await pooled('sparseSimilarityTopK', a);
      const ref = allocateSparseSimilarityTopK(a);
      sparseSimilarityTopKReference(a, ref, 0, m.rows);
      assert.equal([...got.ids], [...ref.ids], `${metric} ids`);
      assert.equal([...got.scores], [...ref.scores], `${metric} scores`);
    }
  });

  test('alsHalfStep through the pool (implicit CG and Cholesky, explicit Cholesky) matches the reference', async () => {
    const f = 32;
    const m = randomCsr(2000, 600, 0.03, 4);
    const rnd = mulberry32(5);
    const other: Dense = denseFrom(600, f, Array.from({ length: 600 * f }, () => (rnd() - 0.5) * 0.2));
    const initial: Dense = denseFrom(2000, f, Array.from({ length: 2000 * f }, () => (rnd() - 0.5) * 0.2));
    const conf: Csr = { ...m, data: Float32Array.from(m.data, (v) => 1 + 10 * v) };
    const cases: AlsHalfStepArgs[] = [
      { mode: 'implicit', solver: 'cg', cgSteps: 3, matrix: conf, other, gram: gramian(other), regularization: 0.1, initial },
      { mode: 'implicit', solver: 'cholesky', matrix: conf, other, gram: gramian(other), regularization: 0.1 },
      { mode: 'explicit', solver: 'cholesky', matrix: m, other, regularization: 0.05 },
    ];
    for (const a of cases) {
      const got = await pooled('alsHalfStep', a);
      const ref = allocateAlsHalfStep(a);
      alsHalfStepReference(a, ref, 0, m.rows);
      for (let r = 0; r < m.rows; r++) {
        let scale = 0;
        for (let k = 0; k < f; k++) scale = Math.max(scale, Math.abs(ref.data[r * f + k]));
        for (let k = 0; k < f; k++) {
          const err = Math.abs(got.data[r * f + k] - ref.data[r * f + k]) / Math.max(scale, 1e-6);
          if (!(err <= 1e-3)) assert.unreachable(`${a.mode} ${a.solver}: row ${r} factor ${k}: ${got.data[r * f + k]} vs ${ref.data[r * f + k]}`);
        }
      }
    }
  });
}

test.run();
